use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow(task_queue = "greetings")]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
