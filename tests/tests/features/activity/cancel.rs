//! features/activity: the three cancellation types. The workflow cancels the activity right
//! after scheduling it; what the activity is told, and when the workflow goes on, differ.

use super::ONE_MINUTE;
use crate::common::{self, count, event_type, history, RunningWorker};
use crate::{check_history, start_worker};
use chronicle::client::WorkflowExecutionError;
use chronicle::prelude::*;
use chronicle::{ActivityCancellationType, Replayer};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::unique_id;
use std::time::Instant;

/// How an activity's cancellation test ended for the activity, as it signals the workflow.
const CANCELLED: &str = "cancelled";
const NOT_CANCELLED: &str = "not cancelled";
/// The activity was cancelled, but the workflow did not go on while it still ran.
const CANCELLED_AFTER_WAIT: &str = "cancelled, and the workflow waited for the activity's end";

/// The workflow of the three cancellation scenarios: starts `heartbeat_until_cancelled` with
/// the given cancellation type, cancels it, and checks what the activity then reports.
#[derive(Default)]
struct CancelWorkflow {
    /// What the activity reported by signal.
    activity_result: Option<String>,
    /// Set once the workflow's await of the cancelled activity returned.
    unblocked: bool,
}

#[workflow]
impl CancelWorkflow {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        mode: ActivityCancellationType,
    ) -> WorkflowResult<String> {
        let activity = ctx
            .activity(heartbeat_until_cancelled, ())
            .schedule_to_close(ONE_MINUTE)
            .heartbeat_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::no_retries())
            .cancellation_type(mode)
            .start();
        // The smallest timer: the activity is scheduled in one task, cancelled in the next.
        ctx.sleep(Duration::from_millis(1)).await?;
        activity.cancel();
        match activity.await {
            Err(failure) if failure.is_canceled() => {}
            other => {
                return Err(WorkflowError::new(format!(
                    "expected the activity to be cancelled, got {other:?}"
                )))
            }
        }
        ctx.update(|s| s.unblocked = true);
        ctx.wait_until(|s| s.activity_result.is_some()).await?;
        Ok(ctx.state(|s| s.activity_result.clone().unwrap_or_default()))
    }

    #[signal(name = "activity-result")]
    fn activity_result(&mut self, result: String) {
        self.activity_result = Some(result);
    }

    #[query]
    fn unblocked(&self) -> bool {
        self.unblocked
    }
}

/// Heartbeats every 200 ms, for at most a minute, until cancelled; then signals the workflow
/// whether it was (and, if it was, whether the workflow had gone on meanwhile, as `TryCancel`
/// must). With `Abandon` no cancellation ever comes: once the workflow has moved on,
/// it keeps heartbeating long enough for two heartbeats to be answered before it reports.
#[activity]
async fn heartbeat_until_cancelled(ctx: ActivityContext) -> Result<(), ActivityError> {
    let client = ctx
        .data::<Client>()
        .ok_or_else(|| ActivityError::non_retryable("the worker has no client"))?;
    let workflow = client.handle::<CancelWorkflow>(&ctx.info().workflow_id);
    let started = Instant::now();
    let mut unblocked_at: Option<Instant> = None;
    let mut result = NOT_CANCELLED;
    while started.elapsed() < ONE_MINUTE {
        ctx.heartbeat(&());
        tokio::select! {
            _ = ctx.cancelled() => {
                result = CANCELLED;
                break;
            }
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
        match unblocked_at {
            // Heartbeats are sent at most every 4 s (0.8 × the heartbeat timeout): 9 s after the
            // workflow moved on, at least two have been answered since.
            Some(at) if at.elapsed() > Duration::from_secs(9) => break,
            Some(_) => {}
            None => {
                if workflow
                    .query(CancelWorkflow::unblocked, ())
                    .await
                    .unwrap_or(false)
                {
                    unblocked_at = Some(Instant::now());
                }
            }
        }
    }
    // TryCancel resolves the activity in the workflow at once: the workflow has gone on
    // while the activity, cancelled, still runs.
    if result == CANCELLED && !workflow_moved_on(&ctx, &workflow).await {
        result = CANCELLED_AFTER_WAIT;
    }
    workflow
        .signal(CancelWorkflow::activity_result, result.to_string())
        .await
        .map_err(|e| ActivityError::non_retryable(e.to_string()))?;
    if result != NOT_CANCELLED {
        // Reported as cancelled (the workflow asked for it).
        return Err(ActivityError::retryable("cancelled as asked"));
    }
    Ok(())
}

/// Whether the workflow says it went past its await of the activity, asked until half of
/// [`common::WAIT`] has passed (a timeout, not a panic: this runs in the activity). It keeps
/// heartbeating meanwhile, so a workflow that waits sees this report, not a heartbeat timeout.
async fn workflow_moved_on(
    ctx: &ActivityContext,
    workflow: &chronicle::WorkflowHandle<CancelWorkflow>,
) -> bool {
    let unblocked = chronicle_tests::wait_for("the workflow to go on", common::WAIT, || async {
        ctx.heartbeat(&());
        workflow
            .query(CancelWorkflow::unblocked, ())
            .await
            .unwrap_or(false)
    });
    tokio::time::timeout(common::WAIT / 2, unblocked)
        .await
        .is_ok()
}

async fn run_cancel_workflow(
    prefix: &str,
    scenario: &str,
    mode: ActivityCancellationType,
) -> (
    chronicle::WorkflowHandle<CancelWorkflow>,
    Result<String, WorkflowExecutionError>,
) {
    let client = common::client().await;
    let queue = chronicle_tests::unique_task_queue(prefix);
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<CancelWorkflow>()
            .register_activity(heartbeat_until_cancelled)
            .data(client.clone()),
    );
    let handle = client
        .start(CancelWorkflow::run, mode, unique_id(prefix), &queue)
        .await
        .unwrap();
    let result = handle.result().await;
    check_history(
        &handle,
        scenario,
        Replayer::new().register_workflow::<CancelWorkflow>(),
    )
    .await;
    worker.stop().await;
    (handle, result)
}

/// The id of the first event of `kind`, if any.
fn first_event(history: &chronicle::History, kind: EventType) -> Option<i64> {
    history
        .events()
        .iter()
        .find(|e| event_type(e) == kind)
        .map(|e| e.event_id)
}

#[tokio::test]
async fn activity_cancel_try_cancel() {
    let (handle, result) = run_cancel_workflow(
        "try-cancel",
        "activity/cancel_try_cancel",
        ActivityCancellationType::TryCancel,
    )
    .await;
    assert_eq!(
        result.unwrap(),
        CANCELLED,
        "the activity saw the cancellation"
    );
    let history = history(&handle).await;
    let requested = first_event(&history, EventType::ActivityTaskCancelRequested)
        .expect("the cancel request is recorded");
    // The workflow went on at once: the activity's report came by signal, after the request,
    // and the activity's own end (reported as cancelled) was never waited for.
    let signaled = first_event(&history, EventType::WorkflowExecutionSignaled).unwrap();
    assert!(requested < signaled);
}

#[tokio::test]
async fn activity_cancel_abandon() {
    let (handle, result) = run_cancel_workflow(
        "abandon",
        "activity/cancel_abandon",
        ActivityCancellationType::Abandon,
    )
    .await;
    assert_eq!(
        result.unwrap(),
        NOT_CANCELLED,
        "an abandoned activity is never told"
    );
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::ActivityTaskCancelRequested),
        0,
        "nothing is sent to the server"
    );
}

/// Waits for the cancellation, then takes a while to clean up before it reports.
#[activity]
async fn slow_to_cancel(ctx: ActivityContext) -> Result<(), ActivityError> {
    loop {
        ctx.heartbeat(&());
        tokio::select! {
            _ = ctx.cancelled() => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // the clean-up
    Err(ActivityError::retryable("cancelled after cleaning up"))
}

#[derive(Default)]
struct WaitCancelWorkflow;

#[workflow]
impl WaitCancelWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let activity = ctx
            .activity(slow_to_cancel, ())
            .schedule_to_close(ONE_MINUTE)
            .heartbeat_timeout(Duration::from_secs(2))
            .retry_policy(RetryPolicy::no_retries())
            .cancellation_type(ActivityCancellationType::WaitCancellationCompleted)
            .start();
        ctx.sleep(Duration::from_millis(1)).await?;
        activity.cancel();
        match activity.await {
            Err(failure) if failure.is_canceled() => Ok(CANCELLED.to_string()),
            other => Ok(format!("unexpected: {other:?}")),
        }
    }
}

#[tokio::test]
async fn activity_cancel_wait_cancel() {
    let (client, queue, worker) = start_worker("wait-cancel", |w| {
        w.register_workflow::<WaitCancelWorkflow>()
            .register_activity(slow_to_cancel)
    })
    .await;
    let handle = client
        .start(
            WaitCancelWorkflow::run,
            (),
            unique_id("wait-cancel"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), CANCELLED);

    // The request went to the server, the activity reported its end, and only the workflow
    // task after that report resolved the activity.
    let history = history(&handle).await;
    let requested = first_event(&history, EventType::ActivityTaskCancelRequested).unwrap();
    let canceled = first_event(&history, EventType::ActivityTaskCanceled)
        .expect("the activity's cancellation is recorded");
    assert!(requested < canceled);
    let completed_tasks: Vec<i64> = history
        .events()
        .iter()
        .filter(|e| event_type(e) == EventType::WorkflowTaskCompleted)
        .map(|e| e.event_id)
        .collect();
    // Tasks: the schedule, the timer's (with the cancel request), and the one completing the
    // workflow, which must come after the activity's report.
    assert_eq!(completed_tasks.len(), 3, "{completed_tasks:?}");
    assert!(
        completed_tasks[2] > canceled,
        "{completed_tasks:?} {canceled}"
    );
    check_history(
        &handle,
        "activity/cancel_wait_cancel",
        Replayer::new().register_workflow::<WaitCancelWorkflow>(),
    )
    .await;
    worker.stop().await;
}
