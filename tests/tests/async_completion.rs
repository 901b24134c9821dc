//! Async activity completion end to end: an activity hands out its task token (or ids) and
//! says it will complete later; the worker frees its slot; a client completes, fails,
//! heartbeats or cancels it, and the workflow sees that.

mod common;

use chronicle::client::{AsyncActivityId, WorkflowExecutionError};
use chronicle::prelude::*;
use chronicle::{ActivityCancellationType, CancellationReason};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue, wait_for_some};
use common::{client, count, history, RunningWorker, WAIT};
use std::collections::HashMap;
use std::sync::Mutex;

/// What an `approve` attempt handed out, by workflow id.
#[derive(Debug, Clone)]
struct Handout {
    task_token: Vec<u8>,
    run_id: String,
    activity_id: String,
}

static HANDOUTS: Mutex<Option<HashMap<String, Handout>>> = Mutex::new(None);

fn handout(workflow_id: &str) -> Option<Handout> {
    HANDOUTS
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|h| h.get(workflow_id).cloned())
}

async fn wait_for_handout(workflow_id: &str) -> Handout {
    wait_for_some("the activity to hand out its token", WAIT, || {
        let found = handout(workflow_id);
        async move { found }
    })
    .await
}

/// Hands its token and ids to the test and leaves the completion to a client.
#[activity]
async fn approve(ctx: ActivityContext, request: String) -> Result<String, ActivityError> {
    // Progress recorded just before handing off still reaches the server.
    ctx.heartbeat(&format!("handed out {request}"));
    let info = ctx.info();
    HANDOUTS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .insert(
            info.workflow_id.clone(),
            Handout {
                task_token: info.task_token.clone(),
                run_id: info.run_id.clone(),
                activity_id: info.activity_id.clone(),
            },
        );
    Err(ctx.will_complete_async().into())
}

#[derive(Default)]
struct Approval;

#[workflow]
impl Approval {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, request: String) -> WorkflowResult<String> {
        Ok(ctx
            .activity(approve, request)
            .start_to_close(Duration::from_secs(60))
            .heartbeat_timeout(Duration::from_secs(20))
            .retry_policy(RetryPolicy::default().maximum_attempts(1))
            // A cancel waits for the client's answer, which the heartbeat test gives.
            .cancellation_type(ActivityCancellationType::WaitCancellationCompleted)
            .await?)
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Approval>()
        .register_activity(approve)
        // One slot: a second activity can only start if the first one freed it.
        .configure(|o| o.max_concurrent_activities = 1)
}

#[tokio::test]
async fn a_client_completes_an_activity_by_task_token() {
    let client = client().await;
    let queue = unique_task_queue("async-token");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let first = client
        .start(
            Approval::run,
            "first".to_string(),
            unique_id("async-token"),
            &queue,
        )
        .await
        .unwrap();
    let second = client
        .start(
            Approval::run,
            "second".to_string(),
            unique_id("async-token"),
            &queue,
        )
        .await
        .unwrap();
    // Both attempts ran on a worker with one slot: the first freed it without finishing.
    let first_out = wait_for_handout(first.workflow_id()).await;
    let second_out = wait_for_handout(second.workflow_id()).await;

    client
        .async_activity(second_out.task_token)
        .complete(&"approved second")
        .await
        .unwrap();
    assert_eq!(second.result().await.unwrap(), "approved second");
    client
        .async_activity(first_out.task_token.as_slice())
        .complete(&"approved first")
        .await
        .unwrap();
    assert_eq!(first.result().await.unwrap(), "approved first");
    // The worker itself reported nothing: one completion, from the client.
    assert_eq!(
        count(&history(&first).await, EventType::ActivityTaskCompleted),
        1
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_client_completes_an_activity_by_workflow_and_activity_id() {
    let client = client().await;
    let queue = unique_task_queue("async-ids");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let latest = client
        .start(
            Approval::run,
            "a".to_string(),
            unique_id("async-ids"),
            &queue,
        )
        .await
        .unwrap();
    let pinned = client
        .start(
            Approval::run,
            "b".to_string(),
            unique_id("async-ids"),
            &queue,
        )
        .await
        .unwrap();
    let latest_out = wait_for_handout(latest.workflow_id()).await;
    let pinned_out = wait_for_handout(pinned.workflow_id()).await;

    // Without a run id: the workflow's latest run.
    client
        .async_activity(AsyncActivityId::by_ids(
            latest.workflow_id(),
            &latest_out.activity_id,
        ))
        .complete(&"by ids")
        .await
        .unwrap();
    assert_eq!(latest.result().await.unwrap(), "by ids");
    // With the run id.
    client
        .async_activity(
            AsyncActivityId::by_ids(pinned.workflow_id(), &pinned_out.activity_id)
                .run_id(&pinned_out.run_id),
        )
        .complete(&"by ids and run")
        .await
        .unwrap();
    assert_eq!(pinned.result().await.unwrap(), "by ids and run");

    // Completing again: the server no longer waits for it.
    let again = client
        .async_activity(AsyncActivityId::by_ids(
            latest.workflow_id(),
            &latest_out.activity_id,
        ))
        .complete(&"twice")
        .await
        .unwrap_err();
    assert_eq!(
        again.status().map(|s| s.code()),
        Some(tonic::Code::NotFound),
        "{again}"
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_client_fails_an_activity_by_task_token() {
    let client = client().await;
    let queue = unique_task_queue("async-fail");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(
            Approval::run,
            "doomed".to_string(),
            unique_id("async-fail"),
            &queue,
        )
        .await
        .unwrap();
    let out = wait_for_handout(handle.workflow_id()).await;
    client
        .async_activity(out.task_token)
        .fail(ActivityError::non_retryable("rejected by reviewer").with_type("Rejected"))
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    let WorkflowExecutionError::Failed(failure) = &error else {
        panic!("expected a failure, got {error}");
    };
    let root = failure.root_cause();
    assert_eq!(root.message(), "rejected by reviewer");
    assert_eq!(root.error_type(), Some("Rejected"));
    worker.stop().await;
}

#[tokio::test]
async fn a_client_heartbeats_by_id_and_learns_of_the_cancel_request() {
    let client = client().await;
    let queue = unique_task_queue("async-heartbeat");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(
            Approval::run,
            "slow".to_string(),
            unique_id("async-heartbeat"),
            &queue,
        )
        .await
        .unwrap();
    let out = wait_for_handout(handle.workflow_id()).await;
    let activity = client.async_activity(AsyncActivityId::by_ids(
        handle.workflow_id(),
        &out.activity_id,
    ));

    let details = || {
        let handle = handle.clone();
        async move {
            let description = handle.describe().await.unwrap();
            let pending = description.pending_activities.first()?;
            pending.last_heartbeat_time?;
            let details = pending.heartbeat_details.first()?;
            Some(chronicle_core::payload::decode::<String>(details, "details").unwrap())
        }
    };
    // What the worker's attempt recorded before it handed off...
    let recorded = wait_for_some("the attempt's heartbeat", WAIT, details).await;
    assert_eq!(recorded, "handed out slow");
    // ...then the client's heartbeat.
    assert_eq!(activity.heartbeat(&"half way").await.unwrap(), None);
    assert_eq!(details().await.as_deref(), Some("half way"));

    // The workflow is canceled, and with it its activity: the next heartbeat says so.
    handle.cancel().await.unwrap();
    let reason = wait_for_some("the heartbeat to report the cancel request", WAIT, || {
        let activity = activity.clone();
        async move { activity.heartbeat(&"still here").await.unwrap() }
    })
    .await;
    assert_eq!(reason, CancellationReason::CancelRequested);
    activity.report_canceled().await.unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(
        matches!(error, WorkflowExecutionError::Canceled),
        "expected a canceled workflow, got {error}"
    );
    worker.stop().await;
}
