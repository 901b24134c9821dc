use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }

    #[run]
    pub async fn run_again(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

fn main() {}
