//! features/child_workflow: the four cancellation types. The parent starts a child that ignores
//! cancellation until told to exit, and is then canceled itself (the originals cancel the
//! context the child was started in: for Chronicle that is the workflow's own cancellation, or
//! `ChildWorkflow::cancel`). What the child is sent, and when the parent's wait for it ends,
//! differ by type; the parent's history says when, counted in workflow tasks.

use crate::common::{count, event_type, history, RunningWorker, WAIT};
use crate::{check_history, replays, start_worker};
use chronicle::client::WorkflowStatus;
use chronicle::prelude::*;
use chronicle::{ChildWorkflowCancellationType, ParentClosePolicy, Replayer, WorkflowHandle};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, wait_for};
use serde::{Deserialize, Serialize};
use ChildWorkflowCancellationType as T;

/// What the parent returns when its wait for the child ended canceled.
const CANCELLED: &str = "cancelled";

/// The timer the parent starts once its wait for the child ended.
const WAIT_ENDED_TIMER: Duration = Duration::from_secs(1);

/// Waits for the `exit` signal and returns its input; a cancel request does not stop it, so
/// the tests see whether one arrived while it still runs.
#[derive(Default)]
struct CancelChild {
    exit: bool,
}

#[workflow]
impl CancelChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        ctx.non_cancellable(ctx.wait_until(|s| s.exit)).await?;
        Ok(input)
    }

    #[signal]
    fn exit(&mut self) {
        self.exit = true;
    }
}

/// How the context the child was started in gets canceled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
enum Trigger {
    /// A client cancels the parent workflow (the PHP original's "main scope").
    CancelParent,
    /// The parent's `close` signal makes it cancel the child through its handle (the PHP
    /// original's cancelled inner scope).
    CloseSignal,
}

/// Starts the child with the cancellation type and waits for its result, which the trigger
/// cancels; returns `cancelled` if the wait ended canceled, else the child's result.
#[derive(Default)]
struct CancelParent {
    started: bool,
    close: bool,
}

#[workflow]
impl CancelParent {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        input: (ChildWorkflowCancellationType, Trigger, String),
    ) -> WorkflowResult<String> {
        let (cancellation_type, trigger, child_input) = input;
        let child = ctx
            .child_workflow(CancelChild::run, child_input)
            .workflow_id(format!("{}-child", ctx.info().workflow_id))
            .cancellation_type(cancellation_type)
            // The child outlives the parent, so the test sees what it was sent; the run
            // timeout ends it should a test fail before telling it to exit.
            .parent_close_policy(ParentClosePolicy::Abandon)
            .run_timeout(Duration::from_secs(120))
            .start()
            .await?;
        ctx.update(|s| s.started = true);
        if trigger == Trigger::CloseSignal {
            ctx.wait_until(|s| s.close).await?;
            child.cancel();
        }
        let outcome = match child.result().await {
            Ok(result) => result,
            Err(e) if e.is_canceled() => CANCELLED.to_string(),
            Err(e) => return Err(e.into()),
        };
        // Not closing in the task the wait ended in, as the PHP original: the server drops a
        // cancel request whose sender has closed, so the child would never get it. The
        // timer's start also marks, in history, the task the wait ended in.
        // (The timer is made inside the shield: `ctx.sleep` starts it when called, so
        // `non_cancellable(ctx.sleep(..))` would not shield it.)
        ctx.non_cancellable(async { ctx.sleep(WAIT_ENDED_TIMER).await })
            .await?;
        Ok(outcome)
    }

    #[query]
    fn started(&self) -> bool {
        self.started
    }

    #[signal]
    fn close(&mut self) {
        self.close = true;
    }
}

fn replayer() -> Replayer {
    Replayer::new().register_workflow::<CancelParent>()
}

async fn worker(prefix: &str) -> (Client, String, RunningWorker) {
    start_worker(prefix, |w| {
        w.register_workflow::<CancelParent>()
            .register_workflow::<CancelChild>()
    })
    .await
}

/// One parent and its child.
struct Case {
    parent: WorkflowHandle<CancelParent>,
    child: WorkflowHandle<CancelChild>,
    input: String,
}

impl Case {
    /// Starts the parent, waits until its code holds the started child, and triggers the
    /// cancellation.
    async fn cancelled(client: &Client, queue: &str, kind: T, trigger: Trigger) -> Self {
        let input = format!("{kind:?} by {trigger:?}");
        let id = unique_id("child-cancel");
        let parent = client
            .start(
                CancelParent::run,
                (kind, trigger, input.clone()),
                &id,
                queue,
            )
            .await
            .unwrap();
        wait_for("the parent to hold its started child", WAIT, || async {
            parent
                .query(CancelParent::started, ())
                .await
                .unwrap_or(false)
        })
        .await;
        match trigger {
            Trigger::CancelParent => parent.cancel().await.unwrap(),
            Trigger::CloseSignal => parent.signal(CancelParent::close, ()).await.unwrap(),
        }
        Case {
            parent,
            child: client.handle::<CancelChild>(&format!("{id}-child")),
            input,
        }
    }

    /// The parent's history, once it has closed.
    async fn parent_history(&self) -> Vec<EventType> {
        history(&self.parent)
            .await
            .events()
            .iter()
            .map(event_type)
            .collect()
    }

    async fn child_cancel_requests(&self) -> usize {
        count(
            &history(&self.child).await,
            EventType::WorkflowExecutionCancelRequested,
        )
    }

    async fn child_is_running(&self) -> bool {
        let status = self.child.describe().await.unwrap().status;
        matches!(status, WorkflowStatus::Running)
    }

    /// Tells the child to exit; it completes with its input, not canceled.
    async fn child_exits(&self) {
        self.child.signal(CancelChild::exit, ()).await.unwrap();
        assert_eq!(self.child.result().await.unwrap(), self.input);
    }
}

/// How many workflow tasks the parent completed from its first event of `from` to its timer's
/// start, which marks the end of its wait for the child (`None` if either is missing): 1
/// means the task that saw the event was the one in which the wait ended.
fn tasks_until_wait_ended(events: &[EventType], from: EventType) -> Option<usize> {
    let start = events.iter().position(|e| *e == from)?;
    let end = events.iter().position(|e| *e == EventType::TimerStarted)?;
    Some(
        events[start..end.max(start)]
            .iter()
            .filter(|e| **e == EventType::WorkflowTaskCompleted)
            .count(),
    )
}

/// The event that triggered the cancellation in the parent's history.
fn trigger_event(trigger: Trigger) -> EventType {
    match trigger {
        Trigger::CancelParent => EventType::WorkflowExecutionCancelRequested,
        Trigger::CloseSignal => EventType::WorkflowExecutionSignaled,
    }
}

/// `Abandon`: the parent's wait ends canceled at once, the child is sent nothing and, told
/// to exit, completes with its input (the PHP original runs both triggers; so does this).
#[tokio::test]
async fn child_workflow_cancel_abandon() {
    let (client, queue, worker) = worker("child-cancel-abandon").await;
    for trigger in [Trigger::CancelParent, Trigger::CloseSignal] {
        let case = Case::cancelled(&client, &queue, T::Abandon, trigger).await;
        assert_eq!(
            case.parent.result().await.unwrap(),
            CANCELLED,
            "{trigger:?}"
        );
        let events = case.parent_history().await;
        let ended = tasks_until_wait_ended(&events, trigger_event(trigger));
        assert_eq!(ended, Some(1), "{events:?}");
        assert!(!events.contains(&EventType::RequestCancelExternalWorkflowExecutionInitiated));
        // The parent is closed, so nothing more can reach the child from it.
        assert!(case.child_is_running().await);
        assert_eq!(case.child_cancel_requests().await, 0, "{trigger:?}");
        case.child_exits().await;
        if trigger == Trigger::CancelParent {
            check_history(&case.parent, "child_workflow/cancel_abandon", replayer()).await;
        } else {
            replays(&case.parent, replayer()).await;
        }
    }
    worker.stop().await;
}

/// `TryCancel`: the parent's wait ends canceled at once, in the task that sends the child
/// its cancel request, which the child then receives.
#[tokio::test]
async fn child_workflow_cancel_try_cancel() {
    let (client, queue, worker) = worker("child-cancel-try").await;
    let trigger = Trigger::CancelParent;
    let case = Case::cancelled(&client, &queue, T::TryCancel, trigger).await;
    assert_eq!(case.parent.result().await.unwrap(), CANCELLED);
    let events = case.parent_history().await;
    let ended = tasks_until_wait_ended(&events, trigger_event(trigger));
    assert_eq!(ended, Some(1), "{events:?}");
    let sent = tasks_until_wait_ended(
        &events,
        EventType::RequestCancelExternalWorkflowExecutionInitiated,
    );
    assert_eq!(
        sent,
        Some(0),
        "the request goes with the wait's end: {events:?}"
    );
    // If the server recorded the delivery, it came after the wait had ended.
    let timer = events.iter().position(|e| *e == EventType::TimerStarted);
    let delivered = events
        .iter()
        .position(|e| *e == EventType::ExternalWorkflowExecutionCancelRequested);
    assert!(delivered.is_none_or(|d| Some(d) > timer), "{events:?}");
    wait_for("the child to receive the cancel request", WAIT, || async {
        case.child_cancel_requests().await == 1
    })
    .await;
    assert!(case.child_is_running().await);
    case.child_exits().await;
    check_history(&case.parent, "child_workflow/cancel_try_cancel", replayer()).await;
    worker.stop().await;
}

/// `WaitCancellationCompleted`: the child is asked to cancel, ignores it, and the parent
/// waits for its end and gets its result, not a cancellation.
#[tokio::test]
async fn child_workflow_cancel_wait_completed() {
    let (client, queue, worker) = worker("child-cancel-completed").await;
    let case = Case::cancelled(
        &client,
        &queue,
        T::WaitCancellationCompleted,
        Trigger::CancelParent,
    )
    .await;
    wait_for("the child to receive the cancel request", WAIT, || async {
        case.child_cancel_requests().await == 1
    })
    .await;
    // The request was delivered and the parent still waits.
    wait_for("the parent to see the request delivered", WAIT, || async {
        count(
            &history(&case.parent).await,
            EventType::ExternalWorkflowExecutionCancelRequested,
        ) == 1
    })
    .await;
    let status = case.parent.describe().await.unwrap().status;
    assert!(matches!(status, WorkflowStatus::Running), "{status:?}");
    case.child_exits().await;
    assert_eq!(case.parent.result().await.unwrap(), case.input);
    let events = case.parent_history().await;
    assert_eq!(
        tasks_until_wait_ended(&events, EventType::ChildWorkflowExecutionCompleted),
        Some(1),
        "the child's end resolved the wait: {events:?}"
    );
    check_history(
        &case.parent,
        "child_workflow/cancel_wait_completed",
        replayer(),
    )
    .await;
    worker.stop().await;
}

/// `WaitCancellationRequested`: the parent's wait ends canceled once the server has delivered
/// the request (a task later than the one that sent it), and the child has received it.
#[tokio::test]
async fn child_workflow_cancel_wait_requested() {
    let (client, queue, worker) = worker("child-cancel-requested").await;
    let trigger = Trigger::CancelParent;
    let case = Case::cancelled(&client, &queue, T::WaitCancellationRequested, trigger).await;
    assert_eq!(case.parent.result().await.unwrap(), CANCELLED);
    let events = case.parent_history().await;
    let ended = tasks_until_wait_ended(&events, trigger_event(trigger));
    assert_eq!(ended, Some(2), "{events:?}");
    assert_eq!(
        tasks_until_wait_ended(&events, EventType::ExternalWorkflowExecutionCancelRequested),
        Some(1),
        "the delivery resolved the wait: {events:?}"
    );
    // Delivered means the child has it; it still runs, and completes when told to.
    assert_eq!(case.child_cancel_requests().await, 1);
    assert!(case.child_is_running().await);
    case.child_exits().await;
    check_history(
        &case.parent,
        "child_workflow/cancel_wait_requested",
        replayer(),
    )
    .await;
    worker.stop().await;
}
