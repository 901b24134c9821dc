use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
