//! A worker process for the local activity crash test: `local_activity_worker ADDRESS TASK_QUEUE`.
//!
//! Serves `LocalCrashWorkflow`, whose local activity `crash_step` prints
//! `LOCAL ACTIVITY STARTED <workflow id>` and then never finishes, so that the test can kill the
//! process in the middle of it. Prints `READY` once it is polling.

use chronicle::prelude::*;

#[activity]
async fn crash_step(ctx: ActivityContext, _input: String) -> Result<String, ActivityError> {
    println!("LOCAL ACTIVITY STARTED {}", ctx.info().workflow_id);
    std::future::pending::<()>().await;
    Ok("unreachable".to_string())
}

#[derive(Default)]
struct LocalCrashWorkflow;

/// The same workflow as in `tests/tests/local_activities.rs`.
#[workflow(name = "LocalCrashWorkflow")]
impl LocalCrashWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        Ok(ctx
            .local_activity(crash_step, input)
            .start_to_close(Duration::from_secs(600))
            .await?)
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, task_queue] = args.as_slice() else {
        anyhow::bail!("usage: local_activity_worker ADDRESS TASK_QUEUE");
    };
    let client = Client::connect(ConnectionOptions::default().address(address.clone())).await?;
    let worker = Worker::new(&client, task_queue)
        .register_workflow::<LocalCrashWorkflow>()
        .register_activity(crash_step);
    println!("READY");
    worker.run_until_signal().await?;
    Ok(())
}
