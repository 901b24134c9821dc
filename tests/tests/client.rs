//! The client: start options, describe, cancel, terminate, history as the CLI writes it.

mod common;

use chronicle::client::{ClientError, IdReusePolicy, WorkflowExecutionError, WorkflowStatus};
use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{server, unique_id, unique_task_queue};
use common::{client, history, wait_for_event, RunningWorker, WAIT};

#[activity]
async fn always_fails(_ctx: ActivityContext) -> Result<(), ActivityError> {
    Err(ActivityError::retryable("still broken").with_type("Broken"))
}

#[derive(Default)]
struct StuckWorkflow;

#[workflow]
impl StuckWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.activity(always_fails, ())
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?;
        Ok(())
    }
}

#[derive(Default)]
struct SleepyWorkflow;

#[workflow]
impl SleepyWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, seconds: u64) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(seconds)).await?;
        Ok("woke up".to_string())
    }
}

fn worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(
        Worker::new(client, queue)
            .register_workflow::<StuckWorkflow>()
            .register_workflow::<SleepyWorkflow>()
            .register_activity(always_fails),
    )
}

#[tokio::test]
async fn describe_shows_pending_activity_attempts_and_terminate_ends_the_run() {
    let client = client().await;
    let queue = unique_task_queue("describe");
    let worker = worker(&client, &queue);
    let handle = client
        .start(StuckWorkflow::run, (), unique_id("stuck"), &queue)
        .await
        .unwrap();
    let pending = chronicle_tests::wait_for_some("a second attempt", WAIT, || async {
        let description = handle.describe().await.ok()?;
        let activity = description.pending_activities.into_iter().next()?;
        (activity.attempt >= 2).then_some(activity)
    })
    .await;
    assert_eq!(pending.activity_type, "always_fails");
    let last_failure = pending.last_failure.expect("a failed attempt");
    assert_eq!(last_failure.message(), "still broken");
    assert_eq!(last_failure.error_type(), Some("Broken"));

    let description = handle.describe().await.unwrap();
    assert_eq!(description.status, WorkflowStatus::Running);
    assert_eq!(description.workflow_type, "StuckWorkflow");

    handle.terminate("giving up").await.unwrap();
    match handle.result().await {
        Err(WorkflowExecutionError::Terminated { reason }) => assert_eq!(reason, "giving up"),
        other => panic!("expected termination, got {other:?}"),
    }
    assert_eq!(
        handle.describe().await.unwrap().status,
        WorkflowStatus::Terminated
    );
    worker.stop().await;
}

#[tokio::test]
async fn cancel_is_recorded_in_the_history() {
    let client = client().await;
    let queue = unique_task_queue("cancel");
    let worker = worker(&client, &queue);
    let handle = client
        .start(SleepyWorkflow::run, 60, unique_id("cancel"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::TimerStarted).await;
    handle.cancel().await.unwrap();
    wait_for_event(&handle, EventType::WorkflowExecutionCancelRequested).await;
    // The timer returns the cancellation, and `?` ends the run as canceled.
    let result = handle.result().await;
    assert!(
        matches!(
            result,
            Err(chronicle::client::WorkflowExecutionError::Canceled)
        ),
        "{result:?}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn id_reuse_policy_and_execution_timeout() {
    let client = client().await;
    let queue = unique_task_queue("policies");
    let worker = worker(&client, &queue);
    let id = unique_id("once");
    let first = client
        .start(SleepyWorkflow::run, 1, &id, &queue)
        .id_reuse_policy(IdReusePolicy::RejectDuplicate)
        .await
        .unwrap();
    assert_eq!(first.result().await.unwrap(), "woke up");
    let again = client
        .start(SleepyWorkflow::run, 1, &id, &queue)
        .id_reuse_policy(IdReusePolicy::RejectDuplicate)
        .await;
    assert!(
        matches!(again, Err(ClientError::AlreadyStarted { .. })),
        "{again:?}"
    );

    let slow = client
        .start(SleepyWorkflow::run, 60, unique_id("timeout"), &queue)
        .execution_timeout(Duration::from_secs(2))
        .await
        .unwrap();
    assert!(matches!(
        slow.result().await,
        Err(WorkflowExecutionError::TimedOut)
    ));
    worker.stop().await;
}

#[tokio::test]
async fn fetched_history_is_the_json_the_temporal_cli_writes() {
    let client = client().await;
    let queue = unique_task_queue("history");
    let worker = worker(&client, &queue);
    let id = unique_id("history");
    let handle = client
        .start(SleepyWorkflow::run, 1, &id, &queue)
        .await
        .unwrap();
    handle.result().await.unwrap();

    let ours: serde_json::Value = serde_json::from_str(&history(&handle).await.to_json()).unwrap();
    let output = tokio::process::Command::new("temporal")
        .args([
            "workflow",
            "show",
            "--workflow-id",
            &id,
            "--output",
            "json",
            "--address",
        ])
        .arg(&server().await.address)
        .output()
        .await
        .expect("run the temporal CLI");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cli: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(ours, cli);
    worker.stop().await;
}
