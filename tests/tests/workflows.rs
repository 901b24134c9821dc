//! Workflow code end to end: durable timers, concurrency, deterministic races, panics.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, history, task_failure_message, wait_for_event, RunningWorker};
use futures::future::{join_all, select, Either};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::UNIX_EPOCH;

#[derive(Default)]
struct TimerWorkflow;

#[workflow]
impl TimerWorkflow {
    /// Sleeps and reports how much workflow time passed, in milliseconds.
    #[run]
    async fn run(ctx: WorkflowContext<Self>, millis: u64) -> WorkflowResult<u64> {
        let before = ctx.now();
        ctx.sleep(Duration::from_millis(millis)).await?;
        let after = ctx.now();
        Ok(after.duration_since(before).unwrap_or_default().as_millis() as u64)
    }
}

#[tokio::test]
async fn durable_timer_fires_and_advances_workflow_time() {
    let client = client().await;
    let queue = unique_task_queue("timer");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<TimerWorkflow>());
    let handle = client
        .start(TimerWorkflow::run, 1500, unique_id("timer"), &queue)
        .await
        .unwrap();
    let elapsed = handle.result().await.unwrap();
    assert!(elapsed >= 1500, "workflow time advanced by {elapsed} ms");
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::TimerStarted), 1);
    assert_eq!(count(&history, EventType::TimerFired), 1);
    worker.stop().await;
}

#[activity]
async fn double(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    Ok(n * 2)
}

#[activity]
async fn slow_double(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(n * 2)
}

#[derive(Default)]
struct ParallelWorkflow;

#[workflow]
impl ParallelWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, inputs: Vec<u32>) -> WorkflowResult<Vec<u32>> {
        let calls = inputs.into_iter().map(|n| ctx.activity(double, n).start());
        let results = join_all(calls).await;
        results
            .into_iter()
            .map(|r| r.map_err(WorkflowError::from))
            .collect()
    }
}

#[tokio::test]
async fn parallel_activities_are_scheduled_in_one_task_and_joined() {
    let client = client().await;
    let queue = unique_task_queue("parallel");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<ParallelWorkflow>()
            .register_activity(double),
    );
    let handle = client
        .start(
            ParallelWorkflow::run,
            vec![1, 2, 3, 4],
            unique_id("parallel"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        vec![2, 4, 6, 8],
        "results in call order"
    );
    let history = history(&handle).await;
    let events = history.events();
    let first_completed = events
        .iter()
        .position(|e| common::event_type(e) == EventType::WorkflowTaskCompleted)
        .unwrap();
    let scheduled_together = events[first_completed + 1..]
        .iter()
        .take_while(|e| common::event_type(e) == EventType::ActivityTaskScheduled)
        .count();
    assert_eq!(
        scheduled_together, 4,
        "all four commands went out with the first task"
    );
    worker.stop().await;
}

#[derive(Default)]
struct RaceWorkflow;

#[workflow]
impl RaceWorkflow {
    /// Races a slow activity against a timer; the loser is canceled.
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let activity = ctx
            .activity(slow_double, 21)
            .start_to_close(Duration::from_secs(30))
            .start();
        let timer = ctx.sleep(Duration::from_millis(500));
        match select(activity, timer).await {
            Either::Left((result, timer)) => {
                timer.cancel();
                Ok(format!("activity won with {}", result?))
            }
            Either::Right((fired, activity)) => {
                fired?;
                activity.cancel();
                let outcome = activity.await;
                Ok(format!(
                    "timer won; activity canceled: {}",
                    outcome.err().is_some_and(|e| e.is_canceled())
                ))
            }
        }
    }
}

#[tokio::test]
async fn racing_a_timer_against_an_activity_cancels_the_loser() {
    let client = client().await;
    let queue = unique_task_queue("race");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<RaceWorkflow>()
            .register_activity(slow_double),
    );
    let handle = client
        .start(RaceWorkflow::run, (), unique_id("race"), &queue)
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        "timer won; activity canceled: true"
    );
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::TimerFired), 1);
    assert_eq!(count(&history, EventType::ActivityTaskCancelRequested), 1);
    worker.stop().await;
}

static PANIC_IN_WORKFLOW: AtomicBool = AtomicBool::new(true);

#[derive(Default)]
struct PanickyWorkflow;

#[workflow]
impl PanickyWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.activity(double, 1).await?;
        if PANIC_IN_WORKFLOW.load(Ordering::SeqCst) {
            panic!("bug in workflow code");
        }
        Ok("fixed".to_string())
    }
}

#[tokio::test]
async fn panic_in_workflow_code_fails_the_task_not_the_workflow_or_worker() {
    let client = client().await;
    let queue = unique_task_queue("panic");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<PanickyWorkflow>()
            .register_activity(double),
    );
    let handle = client
        .start(PanickyWorkflow::run, (), unique_id("panic"), &queue)
        .await
        .unwrap();
    let failed = wait_for_event(&handle, EventType::WorkflowTaskFailed).await;
    let message = task_failure_message(&failed);
    assert!(
        message.contains("workflow code panicked: bug in workflow code"),
        "{message}"
    );
    assert!(
        !handle.describe().await.unwrap().status.is_closed(),
        "the workflow is still running"
    );

    // "Deploy the fix": the same worker picks up the retried task and completes the workflow.
    PANIC_IN_WORKFLOW.store(false, Ordering::SeqCst);
    assert_eq!(handle.result().await.unwrap(), "fixed");
    worker.stop().await;
}

#[derive(Default)]
struct InfoWorkflow;

#[workflow]
impl InfoWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<(String, String, u32, bool)> {
        let info = ctx.info();
        let started_after_epoch = info.start_time > UNIX_EPOCH && ctx.now() >= info.start_time;
        Ok((
            info.workflow_id.clone(),
            info.workflow_type.clone(),
            info.attempt,
            started_after_epoch,
        ))
    }
}

#[tokio::test]
async fn workflow_sees_its_own_info() {
    let client = client().await;
    let queue = unique_task_queue("info");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<InfoWorkflow>());
    let id = unique_id("info");
    let handle = client
        .start(InfoWorkflow::run, (), &id, &queue)
        .await
        .unwrap();
    let (workflow_id, workflow_type, attempt, times_ok) = handle.result().await.unwrap();
    assert_eq!(
        (workflow_id, workflow_type.as_str(), attempt, times_ok),
        (id, "InfoWorkflow", 1, true)
    );
    worker.stop().await;
}
