//! A running activity attempt is told why it must stop, through its heartbeats: the workflow's
//! cancel request, `temporal activity pause` and `temporal activity reset` (the real CLI). The
//! attempt then ends as the other SDKs end it: canceled; failed with `ActivityPause` so the
//! server holds it until it is unpaused; failed with `ActivityReset` so the server starts it
//! again from attempt 1.

mod common;

use chronicle::client::{ActivityState, WorkflowExecutionError};
use chronicle::prelude::*;
use chronicle::{ActivityCancellationType, CancellationReason};
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{server, unique_id, unique_task_queue, wait_for, wait_for_some};
use common::{client, history, RunningWorker, WAIT};
use std::collections::HashMap;
use std::sync::Mutex;

/// What the attempts of one workflow's activity saw: (attempt, why it was asked to stop).
type Runs = Vec<(u32, Option<CancellationReason>)>;

static RUNS: Mutex<Option<HashMap<String, Runs>>> = Mutex::new(None);

fn runs(workflow_id: &str) -> Runs {
    RUNS.lock()
        .unwrap()
        .as_ref()
        .and_then(|r| r.get(workflow_id).cloned())
        .unwrap_or_default()
}

fn record(workflow_id: &str, update: impl FnOnce(&mut Runs)) {
    let mut runs = RUNS.lock().unwrap();
    update(
        runs.get_or_insert_with(HashMap::new)
            .entry(workflow_id.to_string())
            .or_default(),
    );
}

/// Heartbeats until it is told to stop, then returns an error. Once an attempt of the workflow
/// has been stopped, the next one succeeds at once, with its attempt number.
#[activity]
async fn stoppable(ctx: ActivityContext) -> Result<u32, ActivityError> {
    let info = ctx.info().clone();
    let stopped_before = runs(&info.workflow_id).iter().any(|(_, r)| r.is_some());
    record(&info.workflow_id, |runs| runs.push((info.attempt, None)));
    if stopped_before {
        return Ok(info.attempt);
    }
    let mut progress = 0u32;
    loop {
        progress += 1;
        ctx.heartbeat(&progress);
        tokio::select! {
            reason = ctx.cancelled() => {
                assert_eq!(ctx.cancellation_reason(), Some(reason));
                record(&info.workflow_id, |runs| {
                    if let Some(last) = runs.last_mut() {
                        last.1 = Some(reason);
                    }
                });
                return Err(ActivityError::non_retryable(format!("stopped: {reason}")));
            }
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

#[derive(Default)]
struct Stoppable;

#[workflow]
impl Stoppable {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(stoppable, ())
            .start_to_close(Duration::from_secs(60))
            // Heartbeats go out every 0.8 s: a pause or reset reaches the attempt within that.
            .heartbeat_timeout(Duration::from_secs(1))
            .retry_policy(
                RetryPolicy::default()
                    .initial_interval(Duration::from_millis(100))
                    .maximum_interval(Duration::from_millis(200)),
            )
            .cancellation_type(ActivityCancellationType::WaitCancellationCompleted)
            .await?)
    }
}

fn worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(
        Worker::new(client, queue)
            .register_workflow::<Stoppable>()
            .register_activity(stoppable),
    )
}

/// Runs `temporal activity <command>` on the activity of `workflow_id`.
async fn activity_cli(command: &str, workflow_id: &str) {
    let output = tokio::process::Command::new("temporal")
        .args(["activity", command, "--activity-id", "1", "--workflow-id"])
        .arg(workflow_id)
        .arg("--address")
        .arg(&server().await.address)
        .output()
        .await
        .expect("run the temporal CLI");
    assert!(
        output.status.success(),
        "temporal activity {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn wait_for_runs(workflow_id: &str, what: &str, done: impl Fn(&Runs) -> bool) {
    wait_for(what, WAIT, || {
        let seen = done(&runs(workflow_id));
        async move { seen }
    })
    .await
}

#[tokio::test]
async fn a_paused_activity_sees_why_and_the_server_holds_it_until_unpaused() {
    let client = client().await;
    let queue = unique_task_queue("pause");
    let worker = worker(&client, &queue);
    let id = unique_id("pause");
    let handle = client.start(Stoppable::run, (), &id, &queue).await.unwrap();
    wait_for_runs(&id, "attempt 1 to run", |r| r.len() == 1).await;

    activity_cli("pause", &id).await;
    wait_for_runs(&id, "the attempt to see the pause", |r| {
        r == &[(1, Some(CancellationReason::Paused))]
    })
    .await;
    // Reported as a retryable `ActivityPause` failure: the server keeps it, paused.
    let pending = wait_for_some("the activity to be paused", WAIT, || {
        let handle = handle.clone();
        async move {
            let description = handle.describe().await.unwrap();
            description
                .pending_activities
                .into_iter()
                .find(|a| a.state == ActivityState::Paused && a.last_failure.is_some())
        }
    })
    .await;
    let failure = pending.last_failure.unwrap();
    assert_eq!(failure.error_type(), Some("ActivityPause"));
    assert!(!failure.non_retryable());
    assert_eq!(
        failure.cause().map(|c| c.message().to_string()),
        Some("stopped: activity paused".to_string())
    );
    assert_eq!(runs(&id).len(), 1, "a paused activity does not run again");

    activity_cli("unpause", &id).await;
    assert_eq!(handle.result().await.unwrap(), 2);
    worker.stop().await;
}

#[tokio::test]
async fn a_reset_activity_sees_why_and_is_reported_so_the_server_runs_it_again() {
    let client = client().await;
    let queue = unique_task_queue("reset");
    let worker = worker(&client, &queue);
    let id = unique_id("reset");
    let handle = client.start(Stoppable::run, (), &id, &queue).await.unwrap();
    // Reset during attempt 1. The server (1.32) sets the attempt count back to 1 at once: the
    // heartbeats of a later attempt would then be answered NotFound (their task token names
    // another attempt), and that attempt would see `NotFound`.
    wait_for_runs(&id, "attempt 1 to run", |r| r.len() == 1).await;

    activity_cli("reset", &id).await;
    // The attempt saw the reset and was reported failed with `ActivityReset`; the server
    // counted that failure against the restarted count and ran attempt 2.
    assert_eq!(handle.result().await.unwrap(), 2);
    assert_eq!(runs(&id), [(1, Some(CancellationReason::Reset)), (2, None)]);
    let last_failure = history(&handle)
        .await
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.last_failure.clone(),
            _ => None,
        })
        .map(chronicle::Failure::from_proto)
        .expect("the started event carries the reset attempt's failure");
    assert_eq!(last_failure.error_type(), Some("ActivityReset"));
    assert!(!last_failure.non_retryable());
    worker.stop().await;
}

#[tokio::test]
async fn a_cancel_request_reaches_the_attempt_which_ends_canceled() {
    let client = client().await;
    let queue = unique_task_queue("cancel-reason");
    let worker = worker(&client, &queue);
    let id = unique_id("cancel-reason");
    let handle = client.start(Stoppable::run, (), &id, &queue).await.unwrap();
    wait_for_runs(&id, "attempt 1 to run", |r| r.len() == 1).await;

    handle.cancel().await.unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(error, WorkflowExecutionError::Canceled),
        "expected a canceled workflow, got {error}"
    );
    assert_eq!(runs(&id), [(1, Some(CancellationReason::CancelRequested))]);
    worker.stop().await;
}
