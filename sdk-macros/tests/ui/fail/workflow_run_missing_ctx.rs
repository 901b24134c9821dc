use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
