//! The smallest Chronicle program: a workflow that calls one activity.
//!
//! `cargo run -p examples --bin hello` prints `Hello, World!`
//! (`worker` / `start [NAME]` subcommands run the two halves separately).

use examples::hello::{worker, HelloWorkflow, TASK_QUEUE};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::run_example(worker, |client, args| async move {
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
    })
    .await
}
