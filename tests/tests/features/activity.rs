//! features/activity: running, retrying, cancelling (three ways) and heartbeating activities,
//! several at once, and what a worker shutdown does to the ones still running.

use crate::common::{self, count, event_type, history, wait_for_event, RunningWorker, WAIT};
use crate::{check_history, start_worker};
use chronicle::client::WorkflowExecutionError;
use chronicle::prelude::*;
use chronicle::{Failure, FailureKind, Replayer};
use chronicle_core::proto::enums::{EventType, TimeoutType};
use chronicle_core::proto::failure::failure::FailureInfo;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{unique_id, wait_for};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

#[path = "activity/cancel.rs"]
mod cancel;

const ONE_MINUTE: Duration = Duration::from_secs(60);

// ---- basic_no_workflow_timeout ----------------------------------------------------------------

#[activity]
async fn echo(_ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok("echo".to_string())
}

#[derive(Default)]
struct BasicWorkflow;

#[workflow]
impl BasicWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        // One activity with only a start-to-close timeout, one with only a schedule-to-close:
        // with no workflow timeout the server has nothing to fill the others from.
        ctx.activity(echo, ()).start_to_close(ONE_MINUTE).await?;
        Ok(ctx.activity(echo, ()).schedule_to_close(ONE_MINUTE).await?)
    }
}

#[tokio::test]
async fn activity_basic_no_workflow_timeout() {
    let (client, queue, worker) = start_worker("basic-no-timeout", |w| {
        w.register_workflow::<BasicWorkflow>()
            .register_activity(echo)
    })
    .await;
    // No execution timeout set on the start.
    let handle = client
        .start(
            BasicWorkflow::run,
            (),
            unique_id("basic-no-timeout"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "echo");

    let history = history(&handle).await;
    let started = history.started_attributes().expect("a started event");
    assert!(
        started
            .workflow_execution_timeout
            .as_ref()
            .is_none_or(|t| t.seconds == 0 && t.nanos == 0),
        "{:?}",
        started.workflow_execution_timeout
    );
    assert_eq!(count(&history, EventType::ActivityTaskCompleted), 2);
    check_history(
        &handle,
        "activity/basic_no_workflow_timeout",
        Replayer::new().register_workflow::<BasicWorkflow>(),
    )
    .await;
    worker.stop().await;
}

// ---- heartbeating -----------------------------------------------------------------------------

static HEARTBEATS_SEEN: AtomicBool = AtomicBool::new(false);

/// Long enough that a loaded test machine does not miss it by accident: heartbeats go out every
/// 1.6 s (0.8 × the timeout).
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

/// Heartbeats its progress in a tight loop (every millisecond) until the test has seen the
/// progress on the server; returns how many times it heartbeated.
#[activity]
async fn tight_heartbeats(ctx: ActivityContext) -> Result<u64, ActivityError> {
    let mut calls = 0u64;
    while !HEARTBEATS_SEEN.load(Ordering::SeqCst) {
        calls += 1;
        ctx.heartbeat(&calls);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(calls)
}

#[derive(Default)]
struct HeartbeatWorkflow;

#[workflow]
impl HeartbeatWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(ctx
            .activity(tight_heartbeats, ())
            .start_to_close(ONE_MINUTE)
            .heartbeat_timeout(HEARTBEAT_TIMEOUT)
            .retry_policy(RetryPolicy::no_retries())
            .await?)
    }
}

/// The progress in the pending activity's last heartbeat, and when it came.
async fn heartbeat_progress(
    handle: &chronicle::WorkflowHandle<HeartbeatWorkflow>,
) -> Option<(u64, SystemTime)> {
    let description = handle.describe().await.ok()?;
    let activity = description.pending_activities.first()?;
    let progress =
        chronicle::payload::decode(activity.heartbeat_details.first()?, "details").ok()?;
    Some((progress, activity.last_heartbeat_time?))
}

#[tokio::test]
async fn activity_heartbeating() {
    let (client, queue, worker) = start_worker("heartbeating", |w| {
        w.register_workflow::<HeartbeatWorkflow>()
            .register_activity(tight_heartbeats)
    })
    .await;
    let handle = client
        .start(
            HeartbeatWorkflow::run,
            (),
            unique_id("heartbeating"),
            &queue,
        )
        .await
        .unwrap();
    // The details reach the server while it runs, and keep coming for longer than three
    // heartbeat timeouts: the activity is not timed out although it calls `heartbeat`
    // thousands of times, which the throttle turns into a few calls a second.
    let first_seen = SystemTime::now();
    let (first, _) =
        chronicle_tests::wait_for_some("heartbeat details", WAIT, || heartbeat_progress(&handle))
            .await;
    wait_for(
        "heartbeats for over three heartbeat timeouts",
        WAIT,
        || async {
            heartbeat_progress(&handle)
                .await
                .is_some_and(|(progress, at)| {
                    progress > first
                        && at
                            .duration_since(first_seen)
                            .is_ok_and(|d| d > 3 * HEARTBEAT_TIMEOUT)
                })
        },
    )
    .await;
    HEARTBEATS_SEEN.store(true, Ordering::SeqCst);
    let calls = handle.result().await.unwrap();
    assert!(calls > 1_000, "{calls}");
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::ActivityTaskCompleted), 1);
    check_history(
        &handle,
        "activity/heartbeating",
        Replayer::new().register_workflow::<HeartbeatWorkflow>(),
    )
    .await;
    worker.stop().await;
}

// ---- retry_on_error ---------------------------------------------------------------------------

#[activity]
async fn always_fail_activity(ctx: ActivityContext) -> Result<(), ActivityError> {
    Err(ActivityError::retryable(format!(
        "activity attempt {} failed",
        ctx.info().attempt
    )))
}

/// The retry policy of the scenario: 5 attempts, (almost) no backoff.
fn five_quick_attempts() -> RetryPolicy {
    RetryPolicy::default()
        .initial_interval(Duration::from_millis(1))
        .backoff_coefficient(1.0)
        .maximum_attempts(5)
}

#[derive(Default)]
struct RetryWorkflow;

#[workflow]
impl RetryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(ctx
            .activity(always_fail_activity, ())
            .schedule_to_close(ONE_MINUTE)
            .retry_policy(five_quick_attempts())
            .await?)
    }
}

// The same workflow under the names of the recorded Go and Java histories.
#[activity(name = "AlwaysFailActivity")]
async fn go_always_fail() -> Result<(), ActivityError>;
#[activity(name = "AlwaysFail")]
async fn java_always_fail() -> Result<(), ActivityError>;

#[derive(Default)]
struct GoRetryWorkflow;

#[workflow(name = "Workflow")]
impl GoRetryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(ctx
            .activity(go_always_fail, ())
            .schedule_to_close(ONE_MINUTE)
            .retry_policy(five_quick_attempts())
            .await?)
    }
}

#[derive(Default)]
struct JavaRetryWorkflow;

#[workflow(name = "SimpleWorkflow")]
impl JavaRetryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(ctx
            .activity(java_always_fail, ())
            .schedule_to_close(ONE_MINUTE)
            .retry_policy(five_quick_attempts())
            .await?)
    }
}

fn recorded_history(name: &str) -> chronicle::History {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/features/activity/retry_on_error")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    // The features repository stores a list of histories (one per run); this one has one.
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let first = value
        .as_array()
        .and_then(|runs| runs.first())
        .cloned()
        .expect("a list of histories");
    chronicle::History::from_json_value(first).unwrap()
}

#[tokio::test]
async fn activity_retry_on_error() {
    let (client, queue, worker) = start_worker("retry-on-error", |w| {
        w.register_workflow::<RetryWorkflow>()
            .register_activity(always_fail_activity)
    })
    .await;
    let handle = client
        .start(RetryWorkflow::run, (), unique_id("retry-on-error"), &queue)
        .execution_timeout(ONE_MINUTE)
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    let WorkflowExecutionError::Failed(failure) = &error else {
        panic!("expected the workflow to fail, got {error}");
    };
    // The workflow fails with the activity's failure, whose cause is attempt 5's error.
    assert_eq!(failure.kind(), FailureKind::Activity, "{failure}");
    let cause = failure.cause().expect("the activity's error");
    assert_eq!(cause.message(), "activity attempt 5 failed");
    check_history(
        &handle,
        "activity/retry_on_error",
        Replayer::new().register_workflow::<RetryWorkflow>(),
    )
    .await;
    worker.stop().await;

    // The histories recorded by Go and Java: the same events, except the activity ids, which
    // each SDK picks its own way ("5" in Go, a UUID in Java, "1" in Chronicle) and which every
    // SDK compares on replay. So they replay up to the schedule and stop there, naming it.
    for (file, replayer) in [
        (
            "history.go.v1.5.0.json",
            Replayer::new().register_workflow::<GoRetryWorkflow>(),
        ),
        (
            "history.java.1.0.6.json",
            Replayer::new().register_workflow::<JavaRetryWorkflow>(),
        ),
    ] {
        let recorded = recorded_history(file);
        let error = replayer
            .replay(&recorded, file)
            .expect_err("the activity ids differ");
        let nondeterminism = error.nondeterminism().unwrap_or_else(|| panic!("{error}"));
        assert_eq!(nondeterminism.event_id, 5, "{error}");
        assert!(error.to_string().contains("activity_id=1"), "{error}");
    }
}

// ---- running_concurrently ---------------------------------------------------------------------

#[activity]
async fn double(_ctx: ActivityContext, x: u32) -> Result<u32, ActivityError> {
    Ok(2 * x)
}

#[derive(Default)]
struct ConcurrentWorkflow;

#[workflow]
impl ConcurrentWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<u32>> {
        let calls = (1..=3).map(|x| ctx.activity(double, x).start_to_close(ONE_MINUTE).start());
        let mut results = Vec::new();
        for result in futures::future::join_all(calls).await {
            results.push(result?);
        }
        Ok(results)
    }
}

#[tokio::test]
async fn activity_running_concurrently() {
    let (client, queue, worker) = start_worker("concurrently", |w| {
        w.register_workflow::<ConcurrentWorkflow>()
            .register_activity(double)
    })
    .await;
    let handle = client
        .start(
            ConcurrentWorkflow::run,
            (),
            unique_id("concurrently"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), [2, 4, 6]);

    // The first task's completion scheduled all three: they follow it directly.
    let history = history(&handle).await;
    let kinds: Vec<EventType> = history.events().iter().map(event_type).collect();
    assert_eq!(
        kinds[3..7],
        [
            EventType::WorkflowTaskCompleted,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskScheduled,
            EventType::ActivityTaskScheduled,
        ],
        "{kinds:?}"
    );
    assert_eq!(count(&history, EventType::ActivityTaskCompleted), 3);
    check_history(
        &handle,
        "activity/running_concurrently",
        Replayer::new().register_workflow::<ConcurrentWorkflow>(),
    )
    .await;
    worker.stop().await;
}

// ---- shutdown ---------------------------------------------------------------------------------

static CANCEL_SUCCESS_RUNNING: AtomicBool = AtomicBool::new(false);
static CANCEL_FAILURE_RUNNING: AtomicBool = AtomicBool::new(false);

#[activity]
async fn cancel_success(ctx: ActivityContext) -> Result<(), ActivityError> {
    CANCEL_SUCCESS_RUNNING.store(true, Ordering::SeqCst);
    ctx.cancelled().await;
    Ok(())
}

#[activity]
async fn cancel_failure(ctx: ActivityContext) -> Result<(), ActivityError> {
    CANCEL_FAILURE_RUNNING.store(true, Ordering::SeqCst);
    ctx.cancelled().await;
    Err(ActivityError::retryable("worker is shutting down"))
}

#[activity]
async fn cancel_ignore(_ctx: ActivityContext) -> Result<(), ActivityError> {
    tokio::time::sleep(Duration::from_secs(15)).await;
    Ok(())
}

fn timeout_type(failure: &Failure) -> Option<TimeoutType> {
    match &failure.as_proto().failure_info {
        Some(FailureInfo::TimeoutFailureInfo(info)) => {
            TimeoutType::try_from(info.timeout_type).ok()
        }
        _ => None,
    }
}

#[derive(Default)]
struct ShutdownWorkflow;

#[workflow]
impl ShutdownWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let once = RetryPolicy::no_retries();
        let success = ctx
            .activity(cancel_success, ())
            .schedule_to_close(Duration::from_secs(30))
            .retry_policy(once.clone())
            .start();
        let failure = ctx
            .activity(cancel_failure, ())
            .schedule_to_close(Duration::from_secs(30))
            .retry_policy(once.clone())
            .start();
        let ignore = ctx
            .activity(cancel_ignore, ())
            .schedule_to_close(Duration::from_millis(300))
            .retry_policy(once)
            .start();

        success
            .await
            .map_err(|e| WorkflowError::new(format!("expected success, got {e}")))?;
        match failure.await {
            // Chronicle reports an attempt stopped by a shutdown as a `WorkerShutdown` failure
            // caused by the activity's own error: the activity's message is in the chain.
            Err(e)
                if e.failure()
                    .chain()
                    .iter()
                    .any(|f| f.message() == "worker is shutting down") => {}
            other => {
                return Err(WorkflowError::new(format!(
                    "expected 'worker is shutting down', got {other:?}"
                )))
            }
        }
        match ignore.await {
            Err(e) if timeout_type(&e.cause()) == Some(TimeoutType::ScheduleToClose) => {}
            other => {
                return Err(WorkflowError::new(format!(
                    "expected a ScheduleToClose timeout, got {other:?}"
                )))
            }
        }
        Ok("done".to_string())
    }
}

fn shutdown_worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(
        Worker::new(client, queue)
            .register_workflow::<ShutdownWorkflow>()
            .register_activity(cancel_success)
            .register_activity(cancel_failure)
            .register_activity(cancel_ignore)
            .configure(|o| o.shutdown_timeout = Duration::from_secs(1)),
    )
}

#[tokio::test]
async fn activity_shutdown() {
    let client = common::client().await;
    let queue = chronicle_tests::unique_task_queue("activity-shutdown");
    let first = shutdown_worker(&client, &queue);
    let handle = client
        .start(
            ShutdownWorkflow::run,
            (),
            unique_id("activity-shutdown"),
            &queue,
        )
        .await
        .unwrap();
    wait_for_event(&handle, EventType::ActivityTaskScheduled).await;
    wait_for("both graceful activities to run", WAIT, || {
        let running = CANCEL_SUCCESS_RUNNING.load(Ordering::SeqCst)
            && CANCEL_FAILURE_RUNNING.load(Ordering::SeqCst);
        async move { running }
    })
    .await;
    first.stop().await;
    let second = shutdown_worker(&client, &queue);
    assert_eq!(handle.result().await.unwrap(), "done");

    let history = history(&handle).await;
    let failed = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => a.failure.clone(),
            _ => None,
        })
        .map(Failure::from_proto)
        .expect("cancel_failure's failure");
    assert_eq!(failed.error_type(), Some("WorkerShutdown"));
    assert_eq!(
        failed.root_cause().message(),
        "worker is shutting down",
        "{failed}"
    );
    assert_eq!(count(&history, EventType::ActivityTaskTimedOut), 1);
    check_history(
        &handle,
        "activity/shutdown",
        Replayer::new().register_workflow::<ShutdownWorkflow>(),
    )
    .await;
    second.stop().await;
}
