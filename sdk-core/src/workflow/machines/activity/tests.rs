//! The activity machine against its transition table.

use super::*;
use crate::failure::FailureKind;
use crate::history::builder::event;
use crate::proto::history::{
    ActivityTaskCancelRequestedEventAttributes, ActivityTaskCanceledEventAttributes,
    ActivityTaskCompletedEventAttributes, ActivityTaskFailedEventAttributes,
    ActivityTaskScheduledEventAttributes, ActivityTaskStartedEventAttributes,
};
use ActivityCancellationType as T;
use ActivityState as S;

fn machine(cancellation_type: ActivityCancellationType) -> ActivityMachine {
    ActivityMachine::new(
        1,
        "greet".into(),
        vec![],
        ActivityOptions {
            cancellation_type,
            ..Default::default()
        },
        "q",
        Location::caller(),
    )
}

fn scheduled(id: &str, ty: &str) -> HistoryEvent {
    event(
        5,
        Attributes::ActivityTaskScheduledEventAttributes(ActivityTaskScheduledEventAttributes {
            activity_id: id.into(),
            activity_type: Some(ActivityType { name: ty.into() }),
            ..Default::default()
        }),
    )
}

fn started() -> HistoryEvent {
    event(
        6,
        Attributes::ActivityTaskStartedEventAttributes(ActivityTaskStartedEventAttributes {
            scheduled_event_id: 5,
            ..Default::default()
        }),
    )
}

fn completed() -> HistoryEvent {
    event(
        7,
        Attributes::ActivityTaskCompletedEventAttributes(ActivityTaskCompletedEventAttributes {
            scheduled_event_id: 5,
            ..Default::default()
        }),
    )
}

fn failed() -> HistoryEvent {
    event(
        7,
        Attributes::ActivityTaskFailedEventAttributes(ActivityTaskFailedEventAttributes {
            scheduled_event_id: 5,
            failure: Some(Failure::application("boom", "E").into_proto()),
            ..Default::default()
        }),
    )
}

fn cancel_requested() -> HistoryEvent {
    event(
        8,
        Attributes::ActivityTaskCancelRequestedEventAttributes(
            ActivityTaskCancelRequestedEventAttributes {
                scheduled_event_id: 5,
                ..Default::default()
            },
        ),
    )
}

fn canceled() -> HistoryEvent {
    event(
        9,
        Attributes::ActivityTaskCanceledEventAttributes(ActivityTaskCanceledEventAttributes {
            scheduled_event_id: 5,
            ..Default::default()
        }),
    )
}

/// One step of a row: a command event to match, an event to apply, or the code's cancel,
/// with whether the machine accepts it.
enum Step {
    Match(HistoryEvent, bool),
    Event(HistoryEvent, bool),
    Cancel(Cancel),
}

#[test]
fn transitions_follow_the_table() {
    use Step::*;
    let sched = || Match(scheduled("1", "greet"), true);
    // (cancellation type, steps, final state, resolved)
    let table: Vec<(T, Vec<Step>, S, bool)> = vec![
        (T::TryCancel, vec![sched()], S::Scheduled, false),
        (
            T::TryCancel,
            vec![Cancel(super::Cancel::Withdraw)],
            S::Done,
            true,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(started(), true)],
            S::Started,
            false,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(completed(), true)],
            S::Done,
            true,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(started(), true), Event(failed(), true)],
            S::Done,
            true,
        ),
        (
            T::TryCancel,
            vec![sched(), Cancel(super::Cancel::Send)],
            S::CancelIssued,
            true,
        ),
        (
            T::WaitCancellationCompleted,
            vec![
                sched(),
                Cancel(super::Cancel::Send),
                Match(cancel_requested(), true),
            ],
            S::CancelIssued,
            false,
        ),
        (
            T::WaitCancellationCompleted,
            vec![
                sched(),
                Cancel(super::Cancel::Send),
                Event(started(), true),
                Event(canceled(), true),
            ],
            S::Done,
            true,
        ),
        (
            T::TryCancel,
            vec![
                sched(),
                Cancel(super::Cancel::Send),
                Event(completed(), true),
            ],
            S::Done,
            true,
        ),
        (
            T::Abandon,
            vec![sched(), Cancel(super::Cancel::Nothing)],
            S::Abandoned,
            true,
        ),
        (
            T::Abandon,
            vec![
                sched(),
                Cancel(super::Cancel::Nothing),
                Event(started(), true),
                Event(completed(), true),
            ],
            S::Done,
            true,
        ),
        // Not in the table: rejected.
        (
            T::TryCancel,
            vec![Match(scheduled("1", "other"), false)],
            S::Created,
            false,
        ),
        (
            T::TryCancel,
            vec![Match(scheduled("2", "greet"), false)],
            S::Created,
            false,
        ),
        (
            T::TryCancel,
            vec![Event(completed(), false)],
            S::Created,
            false,
        ),
        (
            T::TryCancel,
            vec![sched(), Match(cancel_requested(), false)],
            S::Scheduled,
            false,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(canceled(), false)],
            S::Scheduled,
            false,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(completed(), true), Event(failed(), false)],
            S::Done,
            true,
        ),
        (
            T::TryCancel,
            vec![sched(), Event(completed(), true), Event(started(), false)],
            S::Done,
            true,
        ),
    ];
    for (i, (kind, steps, state, resolved)) in table.into_iter().enumerate() {
        let mut m = machine(kind);
        for (j, step) in steps.into_iter().enumerate() {
            match step {
                Match(e, ok) => assert_eq!(m.matches_command_event(&e), ok, "row {i} step {j}"),
                Event(e, ok) => assert_eq!(m.on_event(&e).is_ok(), ok, "row {i} step {j}"),
                Cancel(c) => assert_eq!(m.cancel(), c, "row {i} step {j}"),
            }
        }
        assert_eq!(
            (m.state, m.result.is_resolved()),
            (state, resolved),
            "row {i}"
        );
    }
}

#[test]
fn a_failure_keeps_its_cause_and_the_command_follows_the_state() {
    let mut m = machine(T::TryCancel);
    assert!(m.matches_command_event(&scheduled("1", "greet")));
    assert_eq!(m.scheduled_event_id, 5);
    assert!(m.on_event(&failed()).is_ok());
    let failure = m.result.peek().cloned().unwrap().unwrap_err();
    assert_eq!(failure.kind(), FailureKind::Activity);
    assert_eq!(failure.root_cause().message(), "boom");

    let mut m = machine(T::TryCancel);
    m.matches_command_event(&scheduled("1", "greet"));
    m.cancel();
    let command = m.command();
    assert_eq!(
        command.command_type,
        CommandType::RequestCancelActivityTask as i32
    );
    assert_eq!(m.describe(), "RequestCancelActivityTask(activity_id=1)");
}
