use chronicle::prelude::*;

pub struct HelloWorkflow {
    pub greeting: String,
}

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
