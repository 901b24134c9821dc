//! Surviving worker restarts by replay, and catching code changes that break running workflows.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, client_with, history, task_failure_message, wait_for_event, RunningWorker};
use std::sync::atomic::{AtomicU32, Ordering};

static STEPS_RUN: AtomicU32 = AtomicU32::new(0);

#[activity]
async fn step(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    STEPS_RUN.fetch_add(1, Ordering::SeqCst);
    Ok(format!("{name} done"))
}

#[derive(Default)]
struct TwoStepWorkflow;

#[workflow]
impl TwoStepWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<String>> {
        let first = ctx.activity(step, "first".to_string()).await?;
        ctx.sleep(Duration::from_secs(2)).await?;
        let second = ctx.activity(step, "second".to_string()).await?;
        Ok(vec![first, second])
    }
}

#[tokio::test]
async fn a_new_worker_finishes_a_workflow_by_replaying_its_history() {
    let queue = unique_task_queue("restart");
    let client_one = client_with(|o| o.identity("worker-one")).await;
    let worker_one = RunningWorker::spawn(
        Worker::new(&client_one, &queue)
            .register_workflow::<TwoStepWorkflow>()
            .register_activity(step),
    );
    let handle = client_one
        .start(TwoStepWorkflow::run, (), unique_id("restart"), &queue)
        .await
        .unwrap();
    // Stop the first worker while the workflow sleeps between its steps.
    wait_for_event(&handle, EventType::TimerStarted).await;
    worker_one.stop().await;
    let steps_before = STEPS_RUN.load(Ordering::SeqCst);

    let client_two = client_with(|o| o.identity("worker-two")).await;
    let worker_two = RunningWorker::spawn(
        Worker::new(&client_two, &queue)
            .register_workflow::<TwoStepWorkflow>()
            .register_activity(step),
    );
    assert_eq!(
        handle.result().await.unwrap(),
        vec!["first done", "second done"]
    );
    assert_eq!(
        STEPS_RUN.load(Ordering::SeqCst) - steps_before,
        1,
        "replay does not run the first step again"
    );

    let identities: Vec<String> = history(&handle)
        .await
        .events()
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a.identity.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(identities.first().map(String::as_str), Some("worker-one"));
    assert_eq!(identities.last().map(String::as_str), Some("worker-two"));
    worker_two.stop().await;
}

#[activity]
async fn reserve(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

#[activity]
async fn charge(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Ok(())
}

/// Version 1: reserve, wait, done.
#[derive(Default)]
struct OrderV1;

#[workflow(name = "OrderWorkflow")]
impl OrderV1 {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(reserve, ()).await?;
        ctx.sleep(Duration::from_secs(2)).await?;
        Ok(())
    }
}

/// Version 2 changed the first step: incompatible with runs started by version 1.
#[derive(Default)]
struct OrderV2;

#[workflow(name = "OrderWorkflow")]
impl OrderV2 {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(charge, ()).await?;
        ctx.sleep(Duration::from_secs(2)).await?;
        Ok(())
    }
}

#[tokio::test]
async fn changed_workflow_code_is_reported_as_nondeterminism() {
    let client = client().await;
    let queue = unique_task_queue("nondeterminism");
    let v1 = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<OrderV1>()
            .register_activity(reserve),
    );
    let handle = client
        .start(OrderV1::run, (), unique_id("order"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::TimerStarted).await;
    v1.stop().await;

    let v2 = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<OrderV2>()
            .register_activity(charge),
    );
    let failed = wait_for_event(&handle, EventType::WorkflowTaskFailed).await;
    let message = task_failure_message(&failed);
    assert!(
        message.contains("nondeterminism at event 5")
            && message.contains("history has ActivityTaskScheduled(activity_id=1, type=reserve)")
            && message.contains(
                "the workflow code issued ScheduleActivityTask(activity_id=1, type=charge)"
            )
            && message.contains("tests/tests/replay.rs:"),
        "{message}"
    );
    match &failed.attributes {
        Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => assert_eq!(
            a.cause,
            chronicle_core::proto::enums::WorkflowTaskFailedCause::NonDeterministicError as i32
        ),
        _ => unreachable!(),
    }
    assert!(
        !handle.describe().await.unwrap().status.is_closed(),
        "nondeterminism fails the task, not the workflow"
    );
    handle.terminate("test done").await.unwrap();
    v2.stop().await;
}
