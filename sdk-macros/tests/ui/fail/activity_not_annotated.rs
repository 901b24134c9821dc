//! A plain `async fn` passed where an activity is expected.
use chronicle::prelude::*;

pub async fn compose_greeting(name: String) -> Result<String, ActivityError> {
    Ok(name)
}

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx.activity(compose_greeting, name).await?)
    }
}

fn main() {}
