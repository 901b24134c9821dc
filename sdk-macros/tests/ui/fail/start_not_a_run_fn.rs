//! A function that is not a workflow's `#[run]` passed to `client.start`.
use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

pub fn greet(name: String) -> String {
    name
}

pub async fn start(client: &Client) {
    let _ = client
        .start::<HelloWorkflow, _, _>(greet, (), "hello-1", "greetings")
        .await;
}

fn main() {}
