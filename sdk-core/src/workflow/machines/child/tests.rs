//! The child workflow machine against its transition table.

use super::*;
use crate::history::builder::event;
use crate::proto::history::{
    ChildWorkflowExecutionCompletedEventAttributes, ChildWorkflowExecutionStartedEventAttributes,
    ChildWorkflowExecutionTerminatedEventAttributes,
    StartChildWorkflowExecutionFailedEventAttributes,
    StartChildWorkflowExecutionInitiatedEventAttributes,
};
use ChildState as S;

fn machine() -> ChildMachine {
    let request = ChildWorkflowRequest {
        workflow_type: "Child".into(),
        ..Default::default()
    };
    ChildMachine::new(request, "kid".into(), "q", "default", Location::caller())
}

fn initiated(ty: &str) -> HistoryEvent {
    event(
        5,
        Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(
            StartChildWorkflowExecutionInitiatedEventAttributes {
                workflow_id: "kid".into(),
                workflow_type: Some(WorkflowType { name: ty.into() }),
                ..Default::default()
            },
        ),
    )
}

fn started() -> HistoryEvent {
    event(
        6,
        Attributes::ChildWorkflowExecutionStartedEventAttributes(
            ChildWorkflowExecutionStartedEventAttributes {
                initiated_event_id: 5,
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: "kid".into(),
                    run_id: "r".into(),
                }),
                ..Default::default()
            },
        ),
    )
}

fn start_failed() -> HistoryEvent {
    event(
        6,
        Attributes::StartChildWorkflowExecutionFailedEventAttributes(
            StartChildWorkflowExecutionFailedEventAttributes {
                initiated_event_id: 5,
                ..Default::default()
            },
        ),
    )
}

fn completed() -> HistoryEvent {
    event(
        7,
        Attributes::ChildWorkflowExecutionCompletedEventAttributes(
            ChildWorkflowExecutionCompletedEventAttributes {
                initiated_event_id: 5,
                ..Default::default()
            },
        ),
    )
}

fn terminated() -> HistoryEvent {
    event(
        7,
        Attributes::ChildWorkflowExecutionTerminatedEventAttributes(
            ChildWorkflowExecutionTerminatedEventAttributes {
                initiated_event_id: 5,
                ..Default::default()
            },
        ),
    )
}

enum Step {
    Match(HistoryEvent, bool),
    /// The event, whether it is accepted, and whether it asks for the cancel to be sent.
    Event(HistoryEvent, bool, bool),
    Cancel(Cancel),
}

#[test]
fn transitions_follow_the_table() {
    use Step::*;
    let init = || Match(initiated("Child"), true);
    // (steps, final state, start resolved, result resolved)
    let table: Vec<(Vec<Step>, S, bool, bool)> = vec![
        (vec![init()], S::Initiated, false, false),
        (vec![Cancel(super::Cancel::Withdraw)], S::Done, true, true),
        (
            vec![init(), Event(started(), true, false)],
            S::Started,
            true,
            false,
        ),
        (
            vec![init(), Event(start_failed(), true, false)],
            S::Done,
            true,
            true,
        ),
        (
            vec![
                init(),
                Event(started(), true, false),
                Event(completed(), true, false),
            ],
            S::Done,
            true,
            true,
        ),
        (
            vec![
                init(),
                Event(started(), true, false),
                Event(terminated(), true, false),
            ],
            S::Done,
            true,
            true,
        ),
        // Canceled while initiated: the cancel goes out once it has started.
        (
            vec![
                init(),
                Cancel(super::Cancel::Nothing),
                Event(started(), true, true),
            ],
            S::Started,
            true,
            false,
        ),
        (
            vec![
                init(),
                Event(started(), true, false),
                Cancel(super::Cancel::Send),
            ],
            S::Started,
            true,
            false,
        ),
        // Not in the table: rejected.
        (
            vec![Match(initiated("Other"), false)],
            S::Created,
            false,
            false,
        ),
        (
            vec![init(), Event(completed(), false, false)],
            S::Initiated,
            false,
            false,
        ),
        (
            vec![
                init(),
                Event(started(), true, false),
                Event(started(), false, false),
            ],
            S::Started,
            true,
            false,
        ),
        (
            vec![
                init(),
                Event(start_failed(), true, false),
                Event(completed(), false, false),
            ],
            S::Done,
            true,
            true,
        ),
    ];
    for (i, (steps, state, start, result)) in table.into_iter().enumerate() {
        let mut m = machine();
        for (j, step) in steps.into_iter().enumerate() {
            match step {
                Match(e, ok) => assert_eq!(m.matches_command_event(&e), ok, "row {i} step {j}"),
                Event(e, ok, send) => match m.on_event(&e) {
                    Ok(effects) => {
                        assert!(ok, "row {i} step {j} accepted");
                        assert_eq!(effects.send_cancel, send, "row {i} step {j}");
                    }
                    Err(_) => assert!(!ok, "row {i} step {j} rejected"),
                },
                Cancel(c) => assert_eq!(m.cancel(), c, "row {i} step {j}"),
            }
        }
        let resolved = (m.started.is_resolved(), m.result.is_resolved());
        assert_eq!((m.state, resolved), (state, (start, result)), "row {i}");
    }
}

#[test]
fn a_failure_names_the_parent_namespace_and_the_cancel_request_only_a_child_takes() {
    let mut m = machine();
    m.matches_command_event(&initiated("Child"));
    m.on_event(&started()).unwrap();
    m.on_event(&terminated()).unwrap();
    let failure = m.result.peek().cloned().unwrap().unwrap_err().into_proto();
    let Some(FailureInfo::ChildWorkflowExecutionFailureInfo(info)) = failure.failure_info else {
        panic!("not a child failure: {failure:?}");
    };
    assert_eq!(
        (info.namespace.as_str(), info.initiated_event_id),
        ("default", 5)
    );
    let request = m.cancel_request();
    assert!(request.child_only);
    assert_eq!(
        (request.workflow_id.as_str(), request.run_id.as_str()),
        ("kid", "r")
    );
}
