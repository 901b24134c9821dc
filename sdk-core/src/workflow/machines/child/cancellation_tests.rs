//! Child cancellation types through the whole engine: what the parent sends and when its wait
//! for the child ends, on histories written with the test kit.

use crate::failure::FailureKind;
use crate::history::builder::{task, HistoryBuilder};
use crate::payload::Payload;
use crate::proto::command::command::Attributes as CommandAttributes;
use crate::proto::enums::CommandType;
use crate::workflow::run::{RunContext, TaskCompletion, WorkflowRun};
use crate::workflow::{
    ChildWorkflowCancellationType, ChildWorkflowRequest, RunHandle, WorkflowExit, WorkflowFactory,
    WorkflowInstance,
};
use futures::FutureExt;
use std::future::poll_fn;
use std::time::Duration;
use ChildWorkflowCancellationType as T;
use CommandType as C;

/// Starts child `kid`, cancels it once started, waits for its result, then sleeps a second
/// (so later child events still reach the run) and ends with the child's outcome.
struct Parent(ChildWorkflowCancellationType);

impl WorkflowFactory for Parent {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        let cancellation_type = self.0;
        WorkflowInstance::new(
            async move {
                let request = ChildWorkflowRequest {
                    workflow_type: "Child".into(),
                    workflow_id: Some("kid".into()),
                    cancellation_type,
                    ..Default::default()
                };
                let child = run.start_child_at(request, std::panic::Location::caller());
                if poll_fn(|cx| child.poll_start(cx)).await.is_ok() {
                    child.cancel();
                    // A second cancel changes nothing.
                    child.cancel();
                }
                let result = poll_fn(|cx| child.poll_result(cx)).await;
                let _ = run.start_timer(Duration::from_secs(1)).await;
                match result {
                    Ok(payloads) => WorkflowExit::Completed(payloads),
                    Err(failure) => WorkflowExit::Failed(failure),
                }
            }
            .boxed_local(),
        )
    }
}

fn commands(ty: ChildWorkflowCancellationType, history: HistoryBuilder) -> TaskCompletion {
    let history = history.next_task();
    let events = history.events();
    let context = RunContext {
        workflow_id: "wf".into(),
        run_id: "run".into(),
        namespace: "default".into(),
        default_activity_options: Default::default(),
    };
    WorkflowRun::new(events, context)
        .and_then(|mut run| run.process(&Parent(ty), events))
        .unwrap_or_else(|e| panic!("{ty:?}: {e}"))
        .unwrap_or_else(|| panic!("{ty:?}: no task to answer"))
}

fn types(completion: &TaskCompletion) -> Vec<CommandType> {
    completion
        .commands
        .iter()
        .map(|c| CommandType::try_from(c.command_type).unwrap_or(C::Unspecified))
        .collect()
}

/// The child has started.
fn started() -> HistoryBuilder {
    task().child_initiated("kid", "Child").child_started("kid")
}

/// The parent's task after the start sent the cancel request; the server delivered it.
fn delivered() -> HistoryBuilder {
    started()
        .completed_task()
        .child_cancel_initiated("kid")
        .child_cancel_delivered("kid")
}

#[test]
fn canceling_a_started_child_sends_and_resolves_as_its_type_says() {
    // (type, history, commands of the task to answer)
    let table: Vec<(T, HistoryBuilder, Vec<C>)> = vec![
        // Abandon: nothing sent, the wait ends at once (the timer follows).
        (T::Abandon, started(), vec![C::StartTimer]),
        // TryCancel: the request goes out and the wait ends at once.
        (
            T::TryCancel,
            started(),
            vec![C::RequestCancelExternalWorkflowExecution, C::StartTimer],
        ),
        // The two waits send the request and wait.
        (
            T::WaitCancellationRequested,
            started(),
            vec![C::RequestCancelExternalWorkflowExecution],
        ),
        (
            T::WaitCancellationCompleted,
            started(),
            vec![C::RequestCancelExternalWorkflowExecution],
        ),
        // Delivered: that ends the first wait only.
        (
            T::WaitCancellationRequested,
            delivered(),
            vec![C::StartTimer],
        ),
        (T::WaitCancellationCompleted, delivered(), vec![]),
        // The child's end ends the second.
        (
            T::WaitCancellationCompleted,
            delivered().child_canceled("kid"),
            vec![C::StartTimer],
        ),
        // A child that ends before the request is delivered ends the first wait too.
        (
            T::WaitCancellationRequested,
            started()
                .completed_task()
                .child_cancel_initiated("kid")
                .child_canceled("kid"),
            vec![C::StartTimer],
        ),
    ];
    for (i, (ty, history, expected)) in table.into_iter().enumerate() {
        assert_eq!(types(&commands(ty, history)), expected, "row {i} ({ty:?})");
    }
}

#[test]
fn a_child_resolved_early_still_accepts_its_later_events() {
    // TryCancel: resolved at the cancel, the child's delivery and end arrive while the parent
    // sleeps; the run replays through them and fails with the canceled child.
    let history = started()
        .completed_task()
        .child_cancel_initiated("kid")
        .timer_started("1", Duration::from_secs(1))
        .child_cancel_delivered("kid")
        .child_canceled("kid")
        .timer_fired("1");
    let completion = commands(T::TryCancel, history);
    assert_eq!(types(&completion), [C::FailWorkflowExecution]);
    let Some(CommandAttributes::FailWorkflowExecutionCommandAttributes(a)) =
        &completion.commands[0].attributes
    else {
        panic!("not a failure: {:?}", completion.commands[0]);
    };
    let failure = crate::failure::Failure::from_proto(a.failure.clone().unwrap_or_default());
    assert_eq!(failure.kind(), FailureKind::ChildWorkflow, "{failure:?}");
    assert_eq!(failure.root_cause().kind(), FailureKind::Canceled);
    // Abandon: the same events, without the cancel request.
    let history = started()
        .completed_task()
        .timer_started("1", Duration::from_secs(1))
        .child_canceled("kid")
        .timer_fired("1");
    assert_eq!(
        types(&commands(T::Abandon, history)),
        [C::FailWorkflowExecution]
    );
}

#[test]
fn the_workflows_cancellation_reaches_an_initiated_child_by_its_type() {
    let requested = || task().child_initiated("kid", "Child").cancel_requested();
    // Abandon and TryCancel end the wait (and the start) at once; the timer is canceled
    // before it is sent, since the workflow is canceled.
    for ty in [T::Abandon, T::TryCancel] {
        assert_eq!(
            types(&commands(ty, requested())),
            [C::FailWorkflowExecution],
            "{ty:?}"
        );
    }
    // The waits send the request once the child has started.
    for ty in [T::WaitCancellationRequested, T::WaitCancellationCompleted] {
        assert_eq!(types(&commands(ty, requested())), [], "{ty:?}");
        let history = requested().completed_task().child_started("kid");
        assert_eq!(
            types(&commands(ty, history)),
            [C::RequestCancelExternalWorkflowExecution],
            "{ty:?}"
        );
    }
}
