//! Workflows and activities shared by the end-to-end tests and the worker binaries they run
//! as separate processes (`src/bin/`), so that both sides name the same types.

use chronicle::prelude::*;
use std::io::Write;

/// Runs for `millis`, heartbeating, and stops early when cancelled. Prints
/// `activity started <workflow id>` when it starts and `activity cancelled <workflow id>` when
/// it sees a cancellation, for the test driving the worker process to wait on. Retried
/// attempts (attempt 2 on) finish at once.
#[activity]
pub async fn slow_step(ctx: ActivityContext, millis: u64) -> Result<u32, ActivityError> {
    let workflow_id = ctx.info().workflow_id.clone();
    let attempt = ctx.info().attempt;
    say(&format!("activity started {workflow_id}"));
    if attempt > 1 {
        return Ok(attempt);
    }
    let work = async {
        let until = tokio::time::Instant::now() + Duration::from_millis(millis);
        while tokio::time::Instant::now() < until {
            ctx.heartbeat(&attempt);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        biased;
        _ = ctx.cancelled() => {
            say(&format!("activity cancelled {workflow_id}"));
            Err(ActivityError::retryable("cancelled"))
        }
        _ = work => Ok(attempt),
    }
}

fn say(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// One `slow_step` of `millis`; returns the attempt that finished it.
#[derive(Default)]
pub struct SlowWorkflow;

#[workflow]
impl SlowWorkflow {
    /// Runs the step with a heartbeat timeout, so that a lost attempt is noticed in seconds.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, millis: u64) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(slow_step, millis)
            .start_to_close(Duration::from_secs(120))
            .heartbeat_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?)
    }
}

/// A worker for [`SlowWorkflow`] on `task_queue`.
pub fn slow_worker(client: &Client, task_queue: &str) -> Worker {
    Worker::new(client, task_queue)
        .register_workflow::<SlowWorkflow>()
        .register_activity(slow_step)
}
