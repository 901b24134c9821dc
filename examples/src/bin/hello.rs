//! The smallest Chronicle program: a workflow that calls one activity.
//!
//! `cargo run -p examples --bin hello` prints `Hello, World!`
//! (`worker` / `start [NAME]` subcommands run the two halves separately).

use chronicle::prelude::*;

/// Composes the greeting (the side effect of this example).
#[activity]
async fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

/// Greets someone through an activity.
#[derive(Default)]
pub struct HelloWorkflow;

#[workflow]
impl HelloWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .activity(compose_greeting, name)
            .start_to_close(Duration::from_secs(10))
            .await?;
        Ok(greeting)
    }
}

const TASK_QUEUE: &str = "hello";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::run_example(
        |client| {
            Worker::new(client, TASK_QUEUE)
                .register_workflow::<HelloWorkflow>()
                .register_activity(compose_greeting)
        },
        |client, args| async move {
            let name = args.first().cloned().unwrap_or_else(|| "World".to_string());
            let handle = client
                .start(
                    HelloWorkflow::run,
                    name,
                    examples::workflow_id("hello"),
                    TASK_QUEUE,
                )
                .await?;
            println!("{}", handle.result().await?);
            Ok(())
        },
    )
    .await
}
