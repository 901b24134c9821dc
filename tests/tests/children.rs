//! Child workflows and external workflows end to end: awaiting a child, its failure reaching
//! the parent with its cause, parent close policies, cancelling a child, signalling and
//! cancelling other workflows; every history replays.

mod common;

use chronicle::client::WorkflowExecutionError;
use chronicle::prelude::*;
use chronicle::{ParentClosePolicy, Replayer, WorkflowHandle};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, history, wait_for_event, RunningWorker};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Charge {
    Ok(u64),
    Decline,
}

/// Charges an amount: returns a receipt, or fails with the card's reason.
#[derive(Default)]
struct ChargeWorkflow;

#[workflow]
impl ChargeWorkflow {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, charge: Charge) -> WorkflowResult<String> {
        match charge {
            Charge::Ok(cents) => Ok(format!("charged {cents}")),
            Charge::Decline => {
                Err(WorkflowError::new("card declined").with_type("PaymentDeclined"))
            }
        }
    }
}

/// Waits until released (or canceled), then returns who released it.
#[derive(Default)]
struct Waiter {
    released_by: Option<String>,
}

#[workflow]
impl Waiter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.released_by.is_some()).await?;
        Ok(ctx.state(|s| s.released_by.clone().unwrap_or_default()))
    }

    #[signal]
    fn release(&mut self, by: String) {
        self.released_by = Some(by);
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Plan {
    /// Charge through a child and return its receipt.
    Charge(Charge),
    /// Start a Waiter child with this close policy and return without waiting for it.
    LeaveChild(ParentClosePolicy, String),
    /// Start a Waiter child, cancel it, and report how it ended.
    CancelChild,
    /// Start a Waiter child, signal it, and return its result.
    SignalChild,
    /// Release the Waiter with this id (not a child).
    SignalOther(String),
    /// Ask the workflow with this id (not a child) to cancel.
    CancelOther(String),
}

#[derive(Default)]
struct Parent;

#[workflow]
impl Parent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, plan: Plan) -> WorkflowResult<String> {
        let child_id = format!("{}-child", ctx.info().workflow_id);
        match plan {
            Plan::Charge(charge) => Ok(ctx
                .child_workflow(ChargeWorkflow::run, charge)
                .workflow_id(child_id)
                .await?),
            Plan::LeaveChild(policy, id) => {
                let child = ctx
                    .child_workflow(Waiter::run, ())
                    .workflow_id(id)
                    .parent_close_policy(policy)
                    .start()
                    .await?;
                Ok(child.run_id().unwrap_or_default().to_string())
            }
            Plan::CancelChild => {
                let child = ctx
                    .child_workflow(Waiter::run, ())
                    .workflow_id(child_id)
                    .start()
                    .await?;
                child.cancel();
                match child.result().await {
                    Err(e) if e.is_canceled() => Ok("child canceled".to_string()),
                    other => Ok(format!("unexpected: {other:?}")),
                }
            }
            Plan::SignalChild => {
                let child = ctx
                    .child_workflow(Waiter::run, ())
                    .workflow_id(child_id)
                    .start()
                    .await?;
                child.signal(Waiter::release, "parent".to_string()).await?;
                Ok(child.result().await?)
            }
            Plan::SignalOther(id) => {
                ctx.external_workflow::<Waiter>(id)
                    .signal(Waiter::release, "a stranger".to_string())
                    .await?;
                Ok("signaled".to_string())
            }
            Plan::CancelOther(id) => {
                ctx.external_workflow::<Waiter>(id).cancel().await?;
                Ok("cancel requested".to_string())
            }
        }
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Parent>()
        .register_workflow::<ChargeWorkflow>()
        .register_workflow::<Waiter>()
}

/// Runs a Parent with `plan` to its end and checks its history replays.
async fn run_parent(
    client: &Client,
    queue: &str,
    plan: Plan,
) -> (
    WorkflowHandle<Parent>,
    Result<String, WorkflowExecutionError>,
) {
    let handle = client
        .start(Parent::run, plan, unique_id("parent"), queue)
        .await
        .unwrap();
    let result = handle.result().await;
    let history = history(&handle).await;
    Replayer::new()
        .register_workflow::<Parent>()
        .replay(&history, "parent")
        .unwrap();
    (handle, result)
}

#[tokio::test]
async fn a_parent_awaits_its_childs_result_and_gets_its_failure_with_the_cause() {
    let client = client().await;
    let queue = unique_task_queue("children");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    let (handle, result) = run_parent(&client, &queue, Plan::Charge(Charge::Ok(1250))).await;
    assert_eq!(result.unwrap(), "charged 1250");
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::StartChildWorkflowExecutionInitiated),
        1
    );
    assert_eq!(
        count(&history, EventType::ChildWorkflowExecutionCompleted),
        1
    );

    let (_, result) = run_parent(&client, &queue, Plan::Charge(Charge::Decline)).await;
    let failure = result.unwrap_err();
    let message = failure.to_string();
    assert!(
        message.contains("Child Workflow execution failed: card declined (PaymentDeclined)"),
        "{message}"
    );
    let root = failure.failure().unwrap().root_cause();
    assert_eq!(root.error_type(), Some("PaymentDeclined"));
    worker.stop().await;
}

/// Runs a parent that leaves a Waiter child behind with `policy`, then waits for the child.
async fn left_child_result(
    client: &Client,
    queue: &str,
    policy: ParentClosePolicy,
) -> Result<String, WorkflowExecutionError> {
    let child_id = unique_id("left-child");
    run_parent(client, queue, Plan::LeaveChild(policy, child_id.clone()))
        .await
        .1
        .unwrap();
    client.handle::<Waiter>(&child_id).result().await
}

#[tokio::test]
async fn parent_close_policies_abandon_terminate_and_request_cancel_the_child() {
    let client = client().await;
    let queue = unique_task_queue("close-policies");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    // Abandon: the child outlives the parent and can still be released.
    let abandoned = unique_id("abandoned");
    let (_, result) = run_parent(
        &client,
        &queue,
        Plan::LeaveChild(ParentClosePolicy::Abandon, abandoned.clone()),
    )
    .await;
    let child_run = result.unwrap();
    let child = client.handle::<Waiter>(&abandoned);
    assert_eq!(child.describe().await.unwrap().run_id, child_run);
    child
        .signal(Waiter::release, "the test".to_string())
        .await
        .unwrap();
    assert_eq!(child.result().await.unwrap(), "the test");

    // Terminate (the default): the child ends with the parent.
    let error = left_child_result(&client, &queue, ParentClosePolicy::Terminate)
        .await
        .unwrap_err();
    assert!(
        matches!(error, WorkflowExecutionError::Terminated { .. }),
        "{error}"
    );

    // RequestCancel: the child is asked to cancel, and its wait ends as canceled.
    let error = left_child_result(&client, &queue, ParentClosePolicy::RequestCancel)
        .await
        .unwrap_err();
    assert!(matches!(error, WorkflowExecutionError::Canceled), "{error}");
    worker.stop().await;
}

#[tokio::test]
async fn a_parent_cancels_and_signals_its_children() {
    let client = client().await;
    let queue = unique_task_queue("child-control");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let (handle, result) = run_parent(&client, &queue, Plan::CancelChild).await;
    assert_eq!(result.unwrap(), "child canceled");
    let history = history(&handle).await;
    assert_eq!(
        count(
            &history,
            EventType::RequestCancelExternalWorkflowExecutionInitiated
        ),
        1
    );
    assert_eq!(
        count(&history, EventType::ChildWorkflowExecutionCanceled),
        1
    );

    let (_, result) = run_parent(&client, &queue, Plan::SignalChild).await;
    assert_eq!(result.unwrap(), "parent");
    worker.stop().await;
}

#[tokio::test]
async fn a_workflow_signals_and_cancels_workflows_that_are_not_its_children() {
    let client = client().await;
    let queue = unique_task_queue("external");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    let waiter_id = unique_id("waiter");
    let waiter = client
        .start(Waiter::run, (), &waiter_id, &queue)
        .await
        .unwrap();
    wait_for_event(&waiter, EventType::WorkflowTaskCompleted).await;
    let (_, result) = run_parent(&client, &queue, Plan::SignalOther(waiter_id)).await;
    assert_eq!(result.unwrap(), "signaled");
    assert_eq!(waiter.result().await.unwrap(), "a stranger");

    let waiter_id = unique_id("waiter");
    let waiter = client
        .start(Waiter::run, (), &waiter_id, &queue)
        .await
        .unwrap();
    wait_for_event(&waiter, EventType::WorkflowTaskCompleted).await;
    let (_, result) = run_parent(&client, &queue, Plan::CancelOther(waiter_id)).await;
    assert_eq!(result.unwrap(), "cancel requested");
    let error = waiter.result().await.unwrap_err();
    assert!(matches!(error, WorkflowExecutionError::Canceled), "{error}");

    // Nobody runs under this id: the signal fails, and the parent fails with the reason.
    let (_, result) = run_parent(&client, &queue, Plan::SignalOther(unique_id("nobody"))).await;
    let message = result.unwrap_err().to_string();
    assert!(message.contains("could not be signaled"), "{message}");
    worker.stop().await;
}
