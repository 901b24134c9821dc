//! features/child_workflow: starting children, their handles and results, signalling them,
//! retrying them, and the ways executing one fails (its own error, a duplicate id,
//! termination, a timeout). The four cancellation types (`cancel_*`) are in
//! `child_workflow/cancel.rs`.

use crate::common::{count, event_type, history, wait_for_event};
use crate::{check_history, start_worker};
use chronicle::client::WorkflowExecutionError;
use chronicle::prelude::*;
use chronicle::{Failure, FailureKind, Replayer};
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::failure::failure::FailureInfo;
use chronicle_tests::unique_id;
use serde::{Deserialize, Serialize};

#[path = "child_workflow/cancel.rs"]
mod cancel;

const CHILD_WORKFLOW_INPUT: &str = "Test";
const UNBLOCK_MESSAGE: &str = "unblock";

/// Returns its input.
#[derive(Default)]
struct EchoChild;

#[workflow]
impl EchoChild {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        Ok(input)
    }
}

/// Waits for the `unblock` signal and returns its message.
#[derive(Default)]
struct BlockedChild {
    unblock_message: Option<String>,
}

#[workflow]
impl BlockedChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.unblock_message.is_some()).await?;
        Ok(ctx.state(|s| s.unblock_message.clone().unwrap_or_default()))
    }

    #[signal]
    fn unblock(&mut self, message: String) {
        self.unblock_message = Some(message);
    }
}

/// Always fails, as the scenario's child: an application failure with a type, details and
/// no retries; or, with `attempt_message`, naming its attempt.
#[derive(Default)]
struct FailingChild;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Details {
    foo: String,
}

#[workflow(name = "ChildWorkflow")]
impl FailingChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, attempt_message: bool) -> WorkflowResult<()> {
        if attempt_message {
            return Err(WorkflowError::new(format!(
                "child attempt {} failed",
                ctx.info().attempt
            )));
        }
        let details = chronicle::payload::encode(&Details {
            foo: "bar".to_string(),
        })
        .map_err(|e| WorkflowError::new(e.to_string()))?;
        Err(Failure::application("Test message", "TestError")
            .with_non_retryable(true)
            .with_details(vec![details])
            .into())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Scenario {
    /// Execute the echo child and return its result.
    Result,
    /// Start the blocked child, signal it, return its result.
    Signal,
    /// Start the echo child; return its workflow id and run id, then its result.
    Start,
    /// Start the blocked child; return its ids from the handle, then signal it through the
    /// handle and return its result.
    Handle,
    /// Execute the failing child.
    ThrowsOnExecute,
    /// Execute the failing child with a retry policy of 3 attempts.
    Retry,
    /// Start two blocked children with the same id.
    ThrowsOnStart,
    /// Start the blocked child, publish its ids, and return how awaiting its result ended.
    ThrowsOnTermination,
    /// Execute the blocked child with a 1 ms execution timeout and a single attempt.
    ThrowsOnTimeout,
}

impl Scenario {
    /// The scenario's folder in the features repository.
    fn name(&self) -> &'static str {
        match self {
            Scenario::Result => "child_workflow/result",
            Scenario::Signal => "child_workflow/signal",
            Scenario::Start => "child_workflow/start",
            Scenario::Handle => "child_workflow/handle",
            Scenario::ThrowsOnExecute => "child_workflow/throws_on_execute",
            Scenario::Retry => "child_workflow/retry",
            Scenario::ThrowsOnStart => "child_workflow/throws_on_start",
            Scenario::ThrowsOnTermination => "child_workflow/throws_on_termination",
            Scenario::ThrowsOnTimeout => "child_workflow/throws_on_timeout",
        }
    }
}

/// The parent of every scenario of the group.
#[derive(Default)]
struct Parent {
    child: Option<(String, String)>,
}

#[workflow(name = "Workflow")]
impl Parent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, scenario: Scenario) -> WorkflowResult<Vec<String>> {
        let child_id = format!("{}-child", ctx.info().workflow_id);
        match scenario {
            Scenario::Result => Ok(vec![
                ctx.child_workflow(EchoChild::run, CHILD_WORKFLOW_INPUT.to_string())
                    .await?,
            ]),
            Scenario::Signal => {
                let child = ctx.child_workflow(BlockedChild::run, ()).start().await?;
                child
                    .signal(BlockedChild::unblock, UNBLOCK_MESSAGE.to_string())
                    .await?;
                Ok(vec![child.result().await?])
            }
            Scenario::Start => {
                let child = ctx
                    .child_workflow(EchoChild::run, CHILD_WORKFLOW_INPUT.to_string())
                    .workflow_id(child_id)
                    .start()
                    .await?;
                let ids = vec![
                    child.workflow_id().to_string(),
                    child.run_id().unwrap_or_default().to_string(),
                ];
                let result = child.result().await?;
                Ok([ids, vec![result]].concat())
            }
            Scenario::Handle => {
                let child = ctx
                    .child_workflow(BlockedChild::run, ())
                    .workflow_id(child_id)
                    .start()
                    .await?;
                let ids = vec![
                    child.workflow_id().to_string(),
                    child.run_id().unwrap_or_default().to_string(),
                ];
                child
                    .signal(
                        BlockedChild::unblock,
                        "from the parent's handle".to_string(),
                    )
                    .await?;
                Ok([ids, vec![child.result().await?]].concat())
            }
            Scenario::ThrowsOnExecute => {
                ctx.child_workflow(FailingChild::run, false).await?;
                Ok(vec![])
            }
            Scenario::Retry => {
                ctx.child_workflow(FailingChild::run, true)
                    .workflow_id(child_id)
                    .retry_policy(
                        RetryPolicy::default()
                            .initial_interval(Duration::from_millis(1))
                            .backoff_coefficient(1.0)
                            .maximum_attempts(3),
                    )
                    .await?;
                Ok(vec![])
            }
            Scenario::ThrowsOnStart => {
                let first = ctx
                    .child_workflow(BlockedChild::run, ())
                    .workflow_id(child_id.clone())
                    .start()
                    .await?;
                let second = ctx
                    .child_workflow(BlockedChild::run, ())
                    .workflow_id(child_id)
                    .start()
                    .await;
                let outcome = match second {
                    Ok(_) => "the second start succeeded".to_string(),
                    Err(e) => e.to_string(),
                };
                first
                    .signal(BlockedChild::unblock, "done".to_string())
                    .await?;
                first.result().await?;
                Ok(vec![outcome])
            }
            Scenario::ThrowsOnTermination => {
                let child = ctx
                    .child_workflow(BlockedChild::run, ())
                    .workflow_id(child_id)
                    .start()
                    .await?;
                let ids = (
                    child.workflow_id().to_string(),
                    child.run_id().unwrap_or_default().to_string(),
                );
                ctx.update(|s| s.child = Some(ids));
                match child.result().await {
                    Ok(result) => Ok(vec![format!("the child completed: {result}")]),
                    Err(e) => Ok(vec![format!("{:?}", e.cause().kind()), e.to_string()]),
                }
            }
            Scenario::ThrowsOnTimeout => {
                ctx.child_workflow(BlockedChild::run, ())
                    .execution_timeout(Duration::from_millis(1))
                    .retry_policy(RetryPolicy::no_retries())
                    .await?;
                Ok(vec![])
            }
        }
    }

    #[query]
    fn child(&self) -> Option<(String, String)> {
        self.child.clone()
    }
}

fn replayer() -> Replayer {
    Replayer::new().register_workflow::<Parent>()
}

async fn worker(prefix: &str) -> (Client, String, crate::common::RunningWorker) {
    start_worker(prefix, |w| {
        w.register_workflow::<Parent>()
            .register_workflow::<EchoChild>()
            .register_workflow::<BlockedChild>()
            .register_workflow::<FailingChild>()
    })
    .await
}

/// Runs the parent for `scenario` to its end; checks its history replays.
async fn run_parent(
    scenario: Scenario,
) -> (
    chronicle::WorkflowHandle<Parent>,
    Result<Vec<String>, WorkflowExecutionError>,
) {
    let prefix = format!("child-{scenario:?}").to_lowercase();
    let scenario_name = scenario.name();
    let (client, queue, worker) = worker(&prefix).await;
    let handle = client
        .start(Parent::run, scenario, unique_id(&prefix), &queue)
        .await
        .unwrap();
    let result = handle.result().await;
    check_history(&handle, scenario_name, replayer()).await;
    worker.stop().await;
    (handle, result)
}

/// The failure a parent failed with.
fn failed(result: Result<Vec<String>, WorkflowExecutionError>) -> Failure {
    match result {
        Err(WorkflowExecutionError::Failed(failure)) => failure,
        other => panic!("expected the parent to fail, got {other:?}"),
    }
}

/// The child workflow type named by a child workflow failure.
fn child_type(failure: &Failure) -> Option<String> {
    match &failure.as_proto().failure_info {
        Some(FailureInfo::ChildWorkflowExecutionFailureInfo(info)) => {
            info.workflow_type.as_ref().map(|t| t.name.clone())
        }
        _ => None,
    }
}

#[tokio::test]
async fn child_workflow_result() {
    let (_, result) = run_parent(Scenario::Result).await;
    assert_eq!(result.unwrap(), [CHILD_WORKFLOW_INPUT]);
}

#[tokio::test]
async fn child_workflow_signal() {
    let (_, result) = run_parent(Scenario::Signal).await;
    assert_eq!(result.unwrap(), [UNBLOCK_MESSAGE]);
}

#[tokio::test]
async fn child_workflow_start() {
    let (client, queue, worker) = worker("child-start").await;
    let handle = client
        .start(
            Parent::run,
            Scenario::Start,
            unique_id("child-start"),
            &queue,
        )
        .await
        .unwrap();
    let result = handle.result().await.unwrap();
    let [child_id, child_run, child_result] = result.as_slice() else {
        panic!("{result:?}");
    };
    assert_eq!(child_result, CHILD_WORKFLOW_INPUT);
    // The ids the start gave are the child's: its first run, as the server knows it.
    let child = client.untyped_handle(child_id.clone());
    let description = child.describe().await.unwrap();
    assert_eq!(&description.run_id, child_run);
    assert_eq!(description.workflow_type, "EchoChild");
    let child_history = child.fetch_history().await.unwrap();
    let started = child_history.started_attributes().unwrap();
    assert_eq!(&started.first_execution_run_id, child_run);

    // The start command became these two events, in this order.
    let history = history(&handle).await;
    let kinds: Vec<EventType> = history.events().iter().map(event_type).collect();
    let initiated = kinds
        .iter()
        .position(|k| *k == EventType::StartChildWorkflowExecutionInitiated)
        .expect("the start is recorded");
    assert_eq!(kinds[initiated - 1], EventType::WorkflowTaskCompleted);
    assert!(kinds[initiated..].contains(&EventType::ChildWorkflowExecutionStarted));
    check_history(&handle, "child_workflow/start", replayer()).await;
    worker.stop().await;
}

#[tokio::test]
async fn child_workflow_handle() {
    // A started child's handle has its workflow id, its first run's id, `result()` and
    // `signal()` (Rust's types allow nothing else on it): the parent uses each one.
    let (client, queue, worker) = worker("child-handle").await;
    let handle = client
        .start(
            Parent::run,
            Scenario::Handle,
            unique_id("child-handle"),
            &queue,
        )
        .await
        .unwrap();
    let result = handle.result().await.unwrap();
    let [child_id, child_run, child_result] = result.as_slice() else {
        panic!("{result:?}");
    };
    assert_eq!(child_id, &format!("{}-child", handle.workflow_id()));
    assert_eq!(child_result, "from the parent's handle");
    let child = client.untyped_handle(child_id.clone());
    assert_eq!(&child.describe().await.unwrap().run_id, child_run);
    let started = child.fetch_history().await.unwrap();
    assert_eq!(
        started
            .started_attributes()
            .map(|a| &a.first_execution_run_id),
        Some(child_run)
    );
    check_history(&handle, "child_workflow/handle", replayer()).await;
    worker.stop().await;
}

#[tokio::test]
async fn child_workflow_throws_on_execute() {
    let (handle, result) = run_parent(Scenario::ThrowsOnExecute).await;
    let failure = failed(result);
    // The parent's failure is the child's failure, naming the child's type, caused by the
    // child's application failure with everything it carried.
    assert_eq!(failure.kind(), FailureKind::ChildWorkflow, "{failure}");
    assert_eq!(child_type(&failure).as_deref(), Some("ChildWorkflow"));
    let cause = failure.cause().expect("the child's failure");
    assert_eq!(cause.kind(), FailureKind::Application);
    assert!(cause.message().contains("Test message"), "{cause}");
    assert_eq!(cause.error_type(), Some("TestError"));
    assert!(cause.non_retryable());
    let details: Details = cause.details().expect("details").unwrap();
    assert_eq!(details.foo, "bar");
    let description = handle.describe().await.unwrap();
    assert_eq!(description.workflow_type, "Workflow");
}

#[tokio::test]
async fn child_workflow_retry() {
    let (handle, result) = run_parent(Scenario::Retry).await;
    let failure = failed(result);
    // Three attempts ran: the failure that reached the parent is the third's.
    assert_eq!(failure.kind(), FailureKind::ChildWorkflow, "{failure}");
    let cause = failure.cause().expect("the child's failure");
    assert_eq!(cause.message(), "child attempt 3 failed", "{failure}");
    // The child's latest run is its third attempt.
    let child = crate::common::client()
        .await
        .untyped_handle(format!("{}-child", handle.workflow_id()));
    let started = child.fetch_history().await.unwrap();
    assert_eq!(started.started_attributes().map(|a| a.attempt), Some(3));
}

#[tokio::test]
async fn child_workflow_throws_on_start() {
    let (handle, result) = run_parent(Scenario::ThrowsOnStart).await;
    let outcome = result.unwrap();
    assert!(
        outcome[0].contains("could not start: WorkflowAlreadyExists"),
        "the second start fails as already started: {outcome:?}"
    );
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::StartChildWorkflowExecutionFailed),
        1
    );
}

#[tokio::test]
async fn child_workflow_throws_on_termination() {
    let (client, queue, worker) = worker("child-terminated").await;
    let handle = client
        .start(
            Parent::run,
            Scenario::ThrowsOnTermination,
            unique_id("child-terminated"),
            &queue,
        )
        .await
        .unwrap();
    let (child_id, child_run) = chronicle_tests::wait_for_some(
        "the parent to publish its child",
        crate::common::WAIT,
        || {
            let handle = handle.clone();
            async move { handle.query(Parent::child, ()).await.ok().flatten() }
        },
    )
    .await;
    client
        .untyped_handle(child_id)
        .for_run(child_run)
        .terminate("the scenario terminates the child")
        .await
        .unwrap();
    let outcome = handle.result().await.unwrap();
    assert_eq!(outcome[0], "Terminated", "{outcome:?}");
    wait_for_event(&handle, EventType::ChildWorkflowExecutionTerminated).await;
    check_history(&handle, "child_workflow/throws_on_termination", replayer()).await;
    worker.stop().await;
}

#[tokio::test]
async fn child_workflow_throws_on_timeout() {
    let (handle, result) = run_parent(Scenario::ThrowsOnTimeout).await;
    let failure = failed(result);
    assert_eq!(failure.kind(), FailureKind::ChildWorkflow, "{failure}");
    assert_eq!(
        failure.cause().map(|c| c.kind()),
        Some(FailureKind::Timeout),
        "{failure}"
    );
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::ChildWorkflowExecutionTimedOut),
        1
    );
}
