//! `#[workflow(name = ..)]`, a run function calling an activity, and starting it from a client.
use chronicle::prelude::*;
use chronicle::WorkflowDefinition;

#[activity]
async fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

/// Says hello.
#[derive(Default)]
pub struct HelloWorkflow {
    greeted: u32,
}

#[workflow(name = "Greeter")]
impl HelloWorkflow {
    const GREETING: &'static str = "Hello";

    /// Runs the workflow.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx.activity(compose_greeting, name).await?)
    }

    /// A helper that stays an ordinary method.
    pub fn greeted(&self) -> u32 {
        self.greeted
    }
}

#[allow(dead_code)]
async fn start(client: &Client) {
    let _ = client
        .start(HelloWorkflow::run, "World".to_string(), "hello-1", "greetings")
        .await;
}

fn main() {
    assert_eq!(<HelloWorkflow as WorkflowDefinition>::NAME, "Greeter");
    assert_eq!(HelloWorkflow::default().greeted(), 0);
    assert_eq!(HelloWorkflow::GREETING, "Hello");
    let payloads =
        <HelloWorkflow as WorkflowDefinition>::encode_input(&"World".to_string()).unwrap();
    let error = <HelloWorkflow as WorkflowDefinition>::decode_input(Vec::new()).unwrap_err();
    assert_eq!(error.to_string(), "Greeter expects 1 argument(s) but received 0");
    let name = <HelloWorkflow as WorkflowDefinition>::decode_input(payloads).unwrap();
    assert_eq!(name, "World");
}
