use chronicle::prelude::*;

#[activity]
pub async fn compose_greeting(
    _ctx: ActivityContext,
    name: String,
) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, _name: String) -> WorkflowResult<String> {
        Ok(ctx.activity(compose_greeting, 42).await?)
    }
}

fn main() {}
