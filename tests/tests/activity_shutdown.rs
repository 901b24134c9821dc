//! Worker shutdown, activity side: after the grace period, every running attempt is told to
//! stop (`cancelled()` resolves with `WorkerShutdown`, heartbeating or not), and an attempt
//! that then ends with an error is reported as a retryable `WorkerShutdown` failure, so the
//! server retries it on another worker at once instead of after its timeout.

mod common;

use chronicle::prelude::*;
use chronicle::CancellationReason;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{unique_id, unique_task_queue, wait_for};
use common::{client, history, RunningWorker, WAIT};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Why attempt 1 of each workflow's job stopped, by workflow id (`None` while it runs).
static FIRST_ATTEMPTS: Mutex<Option<HashMap<String, Option<CancellationReason>>>> =
    Mutex::new(None);

fn first_attempt(workflow_id: &str) -> Option<Option<CancellationReason>> {
    FIRST_ATTEMPTS
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|m| m.get(workflow_id).copied())
}

fn set_first_attempt(workflow_id: &str, reason: Option<CancellationReason>) {
    FIRST_ATTEMPTS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(workflow_id.to_string(), reason);
}

/// Attempt 1 waits, without heartbeats, until it is told to stop; later attempts finish.
#[activity]
async fn long_job(ctx: ActivityContext) -> Result<u32, ActivityError> {
    let info = ctx.info();
    if info.attempt > 1 {
        return Ok(info.attempt);
    }
    set_first_attempt(&info.workflow_id, None);
    let reason = ctx.cancelled().await;
    set_first_attempt(&info.workflow_id, Some(reason));
    Err(ActivityError::non_retryable(format!("stopped: {reason}")))
}

#[derive(Default)]
struct Job;

#[workflow]
impl Job {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(long_job, ())
            // Far longer than the test: only the shutdown report makes the retry quick.
            .start_to_close(Duration::from_secs(300))
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?)
    }
}

fn worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(
        Worker::new(client, queue)
            .register_workflow::<Job>()
            .register_activity(long_job)
            .configure(|o| o.shutdown_timeout = Duration::from_secs(1)),
    )
}

#[tokio::test]

async fn activities_still_running_after_the_grace_period_are_retried_elsewhere_at_once() {
    let client = client().await;
    let queue = unique_task_queue("activity-shutdown");
    let first = worker(&client, &queue);
    let id = unique_id("activity-shutdown");
    let handle = client.start(Job::run, (), &id, &queue).await.unwrap();
    wait_for("attempt 1 to run on the first worker", WAIT, || {
        let running = first_attempt(&id) == Some(None);
        async move { running }
    })
    .await;

    let second = worker(&client, &queue);
    let stopping = Instant::now();
    first.stop().await;
    assert_eq!(
        first_attempt(&id),
        Some(Some(CancellationReason::WorkerShutdown))
    );
    assert_eq!(handle.result().await.unwrap(), 2);
    let elapsed = stopping.elapsed();
    assert!(
        elapsed < Duration::from_secs(20),
        "retried after {elapsed:?}: the shutdown was not reported"
    );
    let last_failure = history(&handle)
        .await
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.last_failure.clone(),
            _ => None,
        })
        .map(chronicle::Failure::from_proto)
        .expect("attempt 2 records attempt 1's failure");
    assert_eq!(last_failure.error_type(), Some("WorkerShutdown"));
    assert!(
        !last_failure.non_retryable(),
        "retryable, whatever the activity returned"
    );
    second.stop().await;
}
