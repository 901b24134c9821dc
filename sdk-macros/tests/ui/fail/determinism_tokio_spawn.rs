use chronicle::prelude::*;

#[derive(Default)]
pub struct Spawner;

#[workflow]
impl Spawner {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        let task = tokio::spawn(async { 1 + 1 });
        let _ = task.await;
        Ok(())
    }
}

fn main() {}
