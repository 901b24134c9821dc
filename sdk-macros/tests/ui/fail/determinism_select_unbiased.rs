use chronicle::prelude::*;

/// Stands in for tokio, which these tests do not depend on: only the macro's name matters.
mod tokio {
    macro_rules! select {
        ($(_ = $future:expr => $value:expr),* $(,)?) => {{
            $(let _ = $future;)*
            "first"
        }};
    }
    pub(crate) use select;
}

#[derive(Default)]
pub struct Racer;

#[workflow]
impl Racer {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let winner = tokio::select! {
            _ = ctx.sleep(Duration::from_secs(1)) => "short",
            _ = ctx.sleep(Duration::from_secs(2)) => "long",
        };
        Ok(winner.to_string())
    }
}

fn main() {}
