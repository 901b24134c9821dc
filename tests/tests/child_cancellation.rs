//! Child workflow cancellation types end to end: what the parent sends when it cancels a child,
//! and when its wait for the child's result ends. The child cleans up after a cancel request
//! until the test lets it finish, so every "at once" and every "wait" is observable.

mod common;

use chronicle::client::WorkflowStatus;
use chronicle::prelude::*;
use chronicle::{ChildWorkflowCancellationType, ParentClosePolicy, Replayer, WorkflowHandle};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue, wait_for, wait_for_some};
use common::{client, count, history, wait_for_event, RunningWorker, WAIT};
use ChildWorkflowCancellationType as T;

/// Waits for a cancel request, then "cleans up" until signaled to finish, and completes.
#[derive(Default)]
struct Stubborn {
    finish: bool,
}

#[workflow]
impl Stubborn {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.cancel_requested().await;
        ctx.non_cancellable(ctx.wait_until(|s| s.finish)).await?;
        Ok("cleaned up".to_string())
    }

    #[signal]
    fn finish(&mut self) {
        self.finish = true;
    }
}

/// Starts a Stubborn child with the cancellation type, cancels it, records how the wait for
/// its result ended, and completes with that once the test says so.
#[derive(Default)]
struct Canceler {
    outcome: Option<String>,
    done: bool,
}

#[workflow]
impl Canceler {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        input: (ChildWorkflowCancellationType, String),
    ) -> WorkflowResult<String> {
        let (cancellation_type, child_id) = input;
        let child = ctx
            .child_workflow(Stubborn::run, ())
            .workflow_id(child_id)
            .cancellation_type(cancellation_type)
            // The child outlives the parent, so the test sees what it was sent.
            .parent_close_policy(ParentClosePolicy::Abandon)
            .start()
            .await?;
        child.cancel();
        let outcome = match child.result().await {
            Ok(result) => format!("completed: {result}"),
            Err(e) if e.is_canceled() => "canceled".to_string(),
            Err(e) => format!("failed: {e}"),
        };
        ctx.update(|s| s.outcome = Some(outcome.clone()));
        ctx.wait_until(|s| s.done).await?;
        Ok(outcome)
    }

    #[query]
    fn outcome(&self) -> Option<String> {
        self.outcome.clone()
    }

    #[signal]
    fn done(&mut self) {
        self.done = true;
    }
}

struct Case {
    parent: WorkflowHandle<Canceler>,
    child: WorkflowHandle<Stubborn>,
}

impl Case {
    async fn start(client: &Client, queue: &str, cancellation_type: T) -> Self {
        let child_id = unique_id("stubborn");
        let parent = client
            .start(
                Canceler::run,
                (cancellation_type, child_id.clone()),
                unique_id("canceler"),
                queue,
            )
            .await
            .unwrap();
        Case {
            parent,
            child: client.handle::<Stubborn>(&child_id),
        }
    }

    /// The parent's outcome, once its wait for the child ended.
    async fn outcome(&self) -> String {
        wait_for_some("the parent's wait for its child to end", WAIT, || async {
            self.parent
                .query(Canceler::outcome, ())
                .await
                .ok()
                .flatten()
        })
        .await
    }

    async fn child_was_asked_to_cancel(&self) {
        // The child exists once the parent has seen it start.
        wait_for_event(&self.parent, EventType::ChildWorkflowExecutionStarted).await;
        wait_for_event(&self.child, EventType::WorkflowExecutionCancelRequested).await;
    }

    async fn child_is_running(&self) -> bool {
        let status = self.child.describe().await.unwrap().status;
        matches!(status, WorkflowStatus::Running)
    }

    /// Lets the parent complete, and checks its history replays.
    async fn finish_parent(&self, expected: &str) {
        self.parent.signal(Canceler::done, ()).await.unwrap();
        assert_eq!(self.parent.result().await.unwrap(), expected);
        Replayer::new()
            .register_workflow::<Canceler>()
            .replay(&history(&self.parent).await, "parent")
            .unwrap();
    }

    async fn parent_count(&self, kind: EventType) -> usize {
        count(&history(&self.parent).await, kind)
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Canceler>()
        .register_workflow::<Stubborn>()
}

#[tokio::test]
async fn abandon_resolves_at_once_and_sends_the_child_nothing() {
    let client = client().await;
    let queue = unique_task_queue("child-abandon");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let case = Case::start(&client, &queue, T::Abandon).await;
    assert_eq!(case.outcome().await, "canceled");
    case.finish_parent("canceled").await;
    // The parent closed without ever asking: the child was never told.
    assert_eq!(
        case.parent_count(EventType::RequestCancelExternalWorkflowExecutionInitiated)
            .await,
        0
    );
    assert!(case.child_is_running().await);
    assert_eq!(
        count(
            &history(&case.child).await,
            EventType::WorkflowExecutionCancelRequested
        ),
        0
    );
    case.child.terminate("test over").await.unwrap();
    worker.stop().await;
}

#[tokio::test]
async fn try_cancel_resolves_at_once_and_the_child_is_asked_to_cancel() {
    let client = client().await;
    let queue = unique_task_queue("child-try-cancel");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let case = Case::start(&client, &queue, T::TryCancel).await;
    assert_eq!(case.outcome().await, "canceled");
    case.child_was_asked_to_cancel().await;
    // The parent did not wait for the child's cleanup.
    assert!(case.child_is_running().await);
    case.child.signal(Stubborn::finish, ()).await.unwrap();
    assert_eq!(case.child.result().await.unwrap(), "cleaned up");
    case.finish_parent("canceled").await;
    assert_eq!(
        case.parent_count(EventType::RequestCancelExternalWorkflowExecutionInitiated)
            .await,
        1
    );
    worker.stop().await;
}

#[tokio::test]
async fn wait_cancellation_requested_resolves_once_the_request_is_delivered() {
    let client = client().await;
    let queue = unique_task_queue("child-wait-requested");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let case = Case::start(&client, &queue, T::WaitCancellationRequested).await;
    assert_eq!(case.outcome().await, "canceled");
    // By the time the wait ended, the server had delivered the request; the child still
    // cleans up.
    assert_eq!(
        case.parent_count(EventType::ExternalWorkflowExecutionCancelRequested)
            .await,
        1
    );
    assert!(case.child_is_running().await);
    case.child.signal(Stubborn::finish, ()).await.unwrap();
    assert_eq!(case.child.result().await.unwrap(), "cleaned up");
    case.finish_parent("canceled").await;
    worker.stop().await;
}

#[tokio::test]
async fn wait_cancellation_completed_waits_for_the_childs_end_and_gets_it() {
    let client = client().await;
    let queue = unique_task_queue("child-wait-completed");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let case = Case::start(&client, &queue, T::WaitCancellationCompleted).await;
    case.child_was_asked_to_cancel().await;
    // The request was delivered to the parent too, and it still waits.
    wait_for("the parent to see the delivered request", WAIT, || async {
        case.parent_count(EventType::ExternalWorkflowExecutionCancelRequested)
            .await
            == 1
    })
    .await;
    assert_eq!(
        case.parent.query(Canceler::outcome, ()).await.unwrap(),
        None
    );
    case.child.signal(Stubborn::finish, ()).await.unwrap();
    // The child chose to complete: that is the parent's result, not a cancellation.
    assert_eq!(case.outcome().await, "completed: cleaned up");
    case.finish_parent("completed: cleaned up").await;
    worker.stop().await;
}
