use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> String {
        format!("Hello, {name}!")
    }
}

fn main() {}
