use chronicle::prelude::*;

#[derive(Default)]
pub struct Napper;

#[workflow]
impl Napper {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(())
    }
}

fn main() {}
