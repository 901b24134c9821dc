//! Cancellation end to end: a client's cancel request reaches the workflow code and its
//! activities, cleanup runs in a non-cancellable scope, and the workflow ends as canceled or
//! carries on, as its code decides. Plus the activity cancellation types.

mod common;

use chronicle::client::{ActivityState, WorkflowExecutionError};
use chronicle::prelude::*;
use chronicle::ActivityCancellationType;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, event_type, history, wait_for_event, RunningWorker};
use std::sync::atomic::{AtomicUsize, Ordering};

static PACKERS_STOPPED: AtomicUsize = AtomicUsize::new(0);
static STOCK_RELEASED: AtomicUsize = AtomicUsize::new(0);

/// Packs forever, heartbeating, until told to cancel.
#[activity]
async fn pack(ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    loop {
        ctx.heartbeat(&order);
        tokio::select! {
            biased;
            _ = ctx.cancelled() => {
                PACKERS_STOPPED.fetch_add(1, Ordering::SeqCst);
                return Err(ActivityError::non_retryable("stopped packing"));
            }
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

#[activity]
async fn release_stock(_ctx: ActivityContext, order: String) -> Result<String, ActivityError> {
    STOCK_RELEASED.fetch_add(1, Ordering::SeqCst);
    Ok(format!("released {order}"))
}

/// The recorded history replays with the same code.
fn replays(history: &chronicle_core::history::History) {
    chronicle::Replayer::new()
        .register_workflow::<Shipment>()
        .register_workflow::<Patient>()
        .register_workflow::<Eager>()
        .register_workflow::<CancelsItsActivity>()
        .replay(history, "cancellation test")
        .unwrap();
}

fn pack_call(
    ctx: &WorkflowContext<impl Sized>,
    order: String,
    cancellation: ActivityCancellationType,
) -> chronicle::workflow::ActivityCall<pack> {
    ctx.activity(pack, order)
        .start_to_close(Duration::from_secs(60))
        .heartbeat_timeout(Duration::from_secs(2))
        .cancellation_type(cancellation)
}

/// Packs an order; when canceled, releases the stock and ends as canceled.
#[derive(Default)]
struct Shipment;

#[workflow]
impl Shipment {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, order: String) -> WorkflowResult<String> {
        let packed = pack_call(
            &ctx,
            order.clone(),
            ActivityCancellationType::WaitCancellationCompleted,
        )
        .await;
        match packed {
            Err(e) if e.is_canceled() => {
                ctx.non_cancellable(ctx.activity(release_stock, order))
                    .await?;
                Err(Canceled.into())
            }
            other => Ok(other?),
        }
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Shipment>()
        .register_workflow::<Patient>()
        .register_workflow::<Eager>()
        .register_workflow::<CancelsItsActivity>()
        .register_activity(pack)
        .register_activity(release_stock)
}

#[tokio::test]
async fn a_cancel_request_stops_the_activity_runs_cleanup_and_ends_the_workflow_canceled() {
    let client = client().await;
    let queue = unique_task_queue("cancel-shipment");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(
            Shipment::run,
            "order-1".to_string(),
            unique_id("shipment"),
            &queue,
        )
        .await
        .unwrap();
    // A started activity shows in history only once it ends: ask the server instead.
    chronicle_tests::wait_for("the packing activity to run", common::WAIT, || async {
        let description = handle.describe().await.unwrap();
        description
            .pending_activities
            .iter()
            .any(|a| a.state == ActivityState::Started && a.last_heartbeat_time.is_some())
    })
    .await;
    let stopped_before = PACKERS_STOPPED.load(Ordering::SeqCst);
    handle.cancel().await.unwrap();

    let error = handle.result().await.unwrap_err();
    assert!(matches!(error, WorkflowExecutionError::Canceled), "{error}");
    assert!(PACKERS_STOPPED.load(Ordering::SeqCst) > stopped_before);
    assert!(STOCK_RELEASED.load(Ordering::SeqCst) >= 1);

    let history = history(&handle).await;
    let kinds: Vec<EventType> = history.events().iter().map(event_type).collect();
    let position = |kind| kinds.iter().position(|k| *k == kind).unwrap();
    // The workflow waited for the activity to acknowledge, then cleaned up, then ended.
    assert!(
        position(EventType::WorkflowExecutionCancelRequested)
            < position(EventType::ActivityTaskCancelRequested)
    );
    assert!(position(EventType::ActivityTaskCanceled) < position(EventType::ActivityTaskCompleted));
    assert_eq!(kinds.last(), Some(&EventType::WorkflowExecutionCanceled));
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    replays(&history);
    worker.stop().await;
}

/// Sleeps; when canceled, cleans up and completes normally instead.
#[derive(Default)]
struct Patient;

#[workflow]
impl Patient {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        match ctx.sleep(Duration::from_secs(3600)).await {
            Ok(()) => Ok("slept".to_string()),
            Err(Canceled) => {
                assert!(ctx.is_cancel_requested());
                let released = ctx
                    .non_cancellable(ctx.activity(release_stock, "patient".to_string()))
                    .await?;
                Ok(format!("carried on: {released}"))
            }
        }
    }
}

#[tokio::test]
async fn a_workflow_may_carry_on_after_a_cancel_request() {
    let client = client().await;
    let queue = unique_task_queue("cancel-patient");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Patient::run, (), unique_id("patient"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::TimerStarted).await;
    handle.cancel().await.unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        "carried on: released patient"
    );
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::TimerCanceled), 1);
    assert_eq!(count(&history, EventType::WorkflowExecutionCompleted), 1);
    replays(&history);
    worker.stop().await;
}

/// Schedules an activity as its very first step.
#[derive(Default)]
struct Eager;

#[workflow]
impl Eager {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(ctx.activity(release_stock, "eager".to_string()).await?)
    }
}

#[tokio::test]
async fn a_workflow_canceled_before_it_ran_schedules_nothing_and_ends_canceled() {
    let client = client().await;
    let queue = unique_task_queue("cancel-early");
    let handle = client
        .start(Eager::run, (), unique_id("eager"), &queue)
        .await
        .unwrap();
    handle.cancel().await.unwrap();
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let error = handle.result().await.unwrap_err();
    assert!(matches!(error, WorkflowExecutionError::Canceled), "{error}");
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::ActivityTaskScheduled), 0);
    replays(&history);
    worker.stop().await;
}

/// Starts `pack` with the given cancellation type, cancels it once it runs, and reports what
/// the future returned.
#[derive(Default)]
struct CancelsItsActivity;

#[workflow]
impl CancelsItsActivity {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        cancellation: ActivityCancellationType,
    ) -> WorkflowResult<String> {
        let packing = pack_call(&ctx, "order-2".to_string(), cancellation).start();
        ctx.sleep(Duration::from_secs(1)).await?;
        packing.cancel();
        let outcome = packing.await;
        Ok(match outcome {
            Err(e) if e.is_canceled() => "canceled".to_string(),
            other => format!("{other:?}"),
        })
    }
}

#[tokio::test]
async fn activity_cancellation_types_behave_as_temporal_defines_them() {
    let client = client().await;
    let queue = unique_task_queue("cancel-types");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    for (cancellation, expect_request, expect_canceled_event_before_end) in [
        (ActivityCancellationType::TryCancel, true, false),
        (
            ActivityCancellationType::WaitCancellationCompleted,
            true,
            true,
        ),
        (ActivityCancellationType::Abandon, false, false),
    ] {
        let handle = client
            .start(
                CancelsItsActivity::run,
                cancellation,
                unique_id("cancel-types"),
                &queue,
            )
            .await
            .unwrap();
        assert_eq!(
            handle.result().await.unwrap(),
            "canceled",
            "{cancellation:?}"
        );
        let history = history(&handle).await;
        let kinds: Vec<EventType> = history.events().iter().map(event_type).collect();
        assert_eq!(
            kinds.contains(&EventType::ActivityTaskCancelRequested),
            expect_request,
            "{cancellation:?}: {kinds:?}"
        );
        if expect_canceled_event_before_end {
            let canceled = kinds
                .iter()
                .position(|k| *k == EventType::ActivityTaskCanceled);
            let completed = kinds
                .iter()
                .position(|k| *k == EventType::WorkflowExecutionCompleted);
            assert!(canceled.is_some() && canceled < completed, "{kinds:?}");
        }
        replays(&history);
    }
    worker.stop().await;
}
