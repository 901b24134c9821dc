use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(format!("Hello, {name}!"))
    }
}

pub async fn start(client: &Client) {
    let _ = client
        .start(HelloWorkflow::run, 42u32, "hello-1", "greetings")
        .await;
}

fn main() {}
