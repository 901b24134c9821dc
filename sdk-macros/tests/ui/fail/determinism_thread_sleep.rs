use chronicle::prelude::*;

#[derive(Default)]
pub struct Blocker;

#[workflow]
impl Blocker {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        std::thread::sleep(Duration::from_millis(10));
        Ok(())
    }
}

fn main() {}
