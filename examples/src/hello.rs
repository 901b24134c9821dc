//! The smallest workflow: one activity call.

use chronicle::prelude::*;

/// Composes the greeting (the side effect of this example).
#[activity]
pub async fn compose_greeting(
    _ctx: ActivityContext,
    name: String,
) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

/// Greets someone through an activity.
#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .activity(compose_greeting, name)
            .start_to_close(Duration::from_secs(10))
            .await?;
        Ok(greeting)
    }
}

/// The task queue the hello worker polls.
pub const TASK_QUEUE: &str = "hello";

/// A worker for the hello workflow and its activity.
pub fn worker(client: &Client) -> Worker {
    Worker::new(client, TASK_QUEUE)
        .register_workflow::<HelloWorkflow>()
        .register_activity(compose_greeting)
}
