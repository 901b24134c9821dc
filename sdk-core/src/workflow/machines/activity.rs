//! Activities scheduled by workflow code.
//!
//! | state              | on                                                  | goes to      | effect                      |
//! |--------------------|-----------------------------------------------------|--------------|-----------------------------|
//! | Created            | `ActivityTaskScheduled` matching the command        | Scheduled    | remembers the event id      |
//! | Created            | code cancels before it is sent                      | Done         | command withdrawn, canceled |
//! | Scheduled          | `ActivityTaskStarted`                               | Started      |                             |
//! | Scheduled/Started  | `…Completed` / `…Failed` / `…TimedOut`              | Done         | resolves                    |
//! | Scheduled/Started  | code cancels                                        | CancelIssued | `RequestCancelActivityTask`*|
//! | Scheduled/Started  | code cancels, `Abandon`                             | Abandoned    | resolves as canceled        |
//! | CancelIssued       | `ActivityTaskCancelRequested` matching the cancel   | CancelIssued |                             |
//! | CancelIssued       | `ActivityTaskStarted` (written when the attempt ends)| CancelIssued |                            |
//! | CancelIssued       | `…Canceled` / `…Completed` / `…Failed` / `…TimedOut`| Done         | resolves if not yet         |
//! | Abandoned          | any event of the activity                           | Abandoned/Done |                           |
//!
//! Any other event reporting on the activity fails the task.
//!
//! \* with [`ActivityCancellationType::TryCancel`] the future resolves as canceled at once; with
//! `WaitCancellationCompleted` when the server confirms; `Abandon` resolves at once and sends
//! nothing.

use super::{unexpected, Cancel, Cancellable, CommandMachine, Effects};
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{
    command, Command, RequestCancelActivityTaskCommandAttributes,
    ScheduleActivityTaskCommandAttributes,
};
use crate::proto::common::ActivityType;
use crate::proto::enums::{CommandType, RetryState};
use crate::proto::failure::{self as pb, failure::FailureInfo};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::taskqueue::TaskQueue;
use crate::retry_policy::RetryPolicy;
use crate::workflow::error::TaskFailure;
use crate::workflow::options::{ActivityCancellationType, ActivityOptions};
use crate::workflow::slot::Slot;
use std::panic::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivityState {
    Created,
    Scheduled,
    Started,
    CancelIssued,
    /// Canceled with `Abandon`: the activity runs on, and its events change nothing.
    Abandoned,
    Done,
}

pub(crate) struct ActivityMachine {
    pub activity_id: String,
    pub activity_type: String,
    attributes: ScheduleActivityTaskCommandAttributes,
    pub cancellation_type: ActivityCancellationType,
    pub state: ActivityState,
    pub scheduled_event_id: i64,
    pub result: Slot<Result<Vec<Payload>, Failure>>,
    pub location: &'static Location<'static>,
    /// Issued inside a non-cancellable scope: a cancellation of the workflow leaves it alone.
    pub shielded: bool,
}

impl ActivityMachine {
    pub fn new(
        seq: u32,
        activity_type: String,
        input: Vec<Payload>,
        options: ActivityOptions,
        default_task_queue: &str,
        location: &'static Location<'static>,
    ) -> Self {
        let activity_id = seq.to_string();
        let attributes = ScheduleActivityTaskCommandAttributes {
            activity_id: activity_id.clone(),
            activity_type: Some(ActivityType {
                name: activity_type.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: options
                    .task_queue
                    .clone()
                    .unwrap_or_else(|| default_task_queue.to_string()),
                ..Default::default()
            }),
            input: payload::to_payloads(input),
            schedule_to_close_timeout: options.schedule_to_close.map(crate::proto::duration),
            schedule_to_start_timeout: options.schedule_to_start.map(crate::proto::duration),
            start_to_close_timeout: options.start_to_close.map(crate::proto::duration),
            heartbeat_timeout: options.heartbeat_timeout.map(crate::proto::duration),
            retry_policy: options.retry_policy.as_ref().map(RetryPolicy::to_proto),
            ..Default::default()
        };
        Self {
            activity_id,
            activity_type,
            attributes,
            cancellation_type: options.cancellation_type,
            state: ActivityState::Created,
            scheduled_event_id: 0,
            result: Slot::default(),
            location,
            shielded: false,
        }
    }

    /// The outcome an event reports, for the events that end the activity.
    fn outcome(&self, event: &HistoryEvent) -> Option<Result<Vec<Payload>, Failure>> {
        Some(match event.attributes.as_ref()? {
            Attributes::ActivityTaskCompletedEventAttributes(a) => {
                Ok(payload::from_payloads(a.result.clone()))
            }
            Attributes::ActivityTaskFailedEventAttributes(a) => Err(self.activity_failure(
                "Activity task failed",
                a.failure.clone(),
                a.started_event_id,
                a.retry_state,
            )),
            Attributes::ActivityTaskTimedOutEventAttributes(a) => Err(self.activity_failure(
                "Activity task timed out",
                a.failure.clone(),
                a.started_event_id,
                a.retry_state,
            )),
            Attributes::ActivityTaskCanceledEventAttributes(a) => {
                Err(self.canceled(a.details.clone(), a.started_event_id))
            }
            _ => return None,
        })
    }

    fn activity_failure(
        &self,
        message: &str,
        cause: Option<pb::Failure>,
        started_event_id: i64,
        retry_state: i32,
    ) -> Failure {
        Failure::from_proto(pb::Failure {
            message: message.to_string(),
            source: crate::failure::SOURCE.to_string(),
            cause: cause.map(Box::new),
            failure_info: Some(FailureInfo::ActivityFailureInfo(pb::ActivityFailureInfo {
                scheduled_event_id: self.scheduled_event_id,
                started_event_id,
                activity_type: Some(ActivityType {
                    name: self.activity_type.clone(),
                }),
                activity_id: self.activity_id.clone(),
                retry_state,
                ..Default::default()
            })),
            ..Default::default()
        })
    }

    fn canceled(
        &self,
        details: Option<crate::proto::common::Payloads>,
        started_event_id: i64,
    ) -> Failure {
        let cause = pb::Failure {
            message: "Activity cancelled".to_string(),
            source: crate::failure::SOURCE.to_string(),
            failure_info: Some(FailureInfo::CanceledFailureInfo(pb::CanceledFailureInfo {
                details,
                ..Default::default()
            })),
            ..Default::default()
        };
        self.activity_failure(
            "Activity cancelled",
            Some(cause),
            started_event_id,
            RetryState::CancelRequested as i32,
        )
    }
}

impl CommandMachine for ActivityMachine {
    fn command(&self) -> Command {
        if self.state == ActivityState::CancelIssued {
            Command {
                command_type: CommandType::RequestCancelActivityTask as i32,
                attributes: Some(
                    command::Attributes::RequestCancelActivityTaskCommandAttributes(
                        RequestCancelActivityTaskCommandAttributes {
                            scheduled_event_id: self.scheduled_event_id,
                        },
                    ),
                ),
                ..Default::default()
            }
        } else {
            Command {
                command_type: CommandType::ScheduleActivityTask as i32,
                attributes: Some(command::Attributes::ScheduleActivityTaskCommandAttributes(
                    self.attributes.clone(),
                )),
                ..Default::default()
            }
        }
    }

    fn describe(&self) -> String {
        if self.state == ActivityState::CancelIssued {
            format!(
                "RequestCancelActivityTask(activity_id={})",
                self.activity_id
            )
        } else {
            format!(
                "ScheduleActivityTask(activity_id={}, type={})",
                self.activity_id, self.activity_type
            )
        }
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    /// The schedule command matches on id and type (what Temporal's SDKs check, so histories
    /// replay across SDKs); the cancel command on the scheduled event.
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        match (self.state, &event.attributes) {
            (ActivityState::Created, Some(Attributes::ActivityTaskScheduledEventAttributes(a)))
                if a.activity_id == self.activity_id
                    && a.activity_type.as_ref().map(|t| t.name.as_str())
                        == Some(self.activity_type.as_str()) =>
            {
                self.scheduled_event_id = event.event_id;
                self.state = ActivityState::Scheduled;
                true
            }
            (
                ActivityState::CancelIssued,
                Some(Attributes::ActivityTaskCancelRequestedEventAttributes(a)),
            ) => a.scheduled_event_id == self.scheduled_event_id,
            _ => false,
        }
    }

    fn on_event(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        use ActivityState as S;
        let started = matches!(
            event.attributes,
            Some(Attributes::ActivityTaskStartedEventAttributes(_))
        );
        let canceled = matches!(
            event.attributes,
            Some(Attributes::ActivityTaskCanceledEventAttributes(_))
        );
        let outcome = self.outcome(event);
        match (self.state, started, outcome) {
            (S::Scheduled, true, _) => self.state = S::Started,
            (S::CancelIssued | S::Abandoned, true, _) => {}
            (S::Abandoned, false, Some(_)) => self.state = S::Done,
            (S::Scheduled | S::Started, false, Some(_)) if canceled => {
                return Err(self.unexpected(event))
            }
            (S::Scheduled | S::Started | S::CancelIssued, false, Some(outcome)) => {
                self.state = S::Done;
                self.result.resolve(outcome);
            }
            _ => return Err(self.unexpected(event)),
        }
        Ok(Effects::none())
    }

    fn waiting_on(&self) -> Option<String> {
        (!self.result.is_resolved()).then(|| {
            format!(
                "activity {} (id {}), scheduled at {}:{}",
                self.activity_type,
                self.activity_id,
                self.location.file(),
                self.location.line()
            )
        })
    }
}

impl ActivityMachine {
    fn unexpected(&self, event: &HistoryEvent) -> TaskFailure {
        unexpected(
            event,
            &format!("activity {} ({})", self.activity_id, self.activity_type),
            self.state,
        )
    }
}

impl Cancellable for ActivityMachine {
    /// Code asked to cancel.
    fn cancel(&mut self) -> Cancel {
        match self.state {
            ActivityState::Created => {
                self.state = ActivityState::Done;
                let canceled = self.canceled(None, 0);
                self.result.resolve(Err(canceled));
                Cancel::Withdraw
            }
            ActivityState::Scheduled | ActivityState::Started => {
                if self.cancellation_type != ActivityCancellationType::WaitCancellationCompleted {
                    let canceled = self.canceled(None, 0);
                    self.result.resolve(Err(canceled));
                }
                if self.cancellation_type == ActivityCancellationType::Abandon {
                    self.state = ActivityState::Abandoned;
                    Cancel::Nothing
                } else {
                    self.state = ActivityState::CancelIssued;
                    Cancel::Send
                }
            }
            ActivityState::CancelIssued | ActivityState::Abandoned | ActivityState::Done => {
                Cancel::Nothing
            }
        }
    }

    fn shielded(&self) -> bool {
        self.shielded
    }

    fn shield(&mut self) {
        self.shielded = true;
    }
}

#[cfg(test)]
mod tests {
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
            Attributes::ActivityTaskScheduledEventAttributes(
                ActivityTaskScheduledEventAttributes {
                    activity_id: id.into(),
                    activity_type: Some(ActivityType { name: ty.into() }),
                    ..Default::default()
                },
            ),
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
            Attributes::ActivityTaskCompletedEventAttributes(
                ActivityTaskCompletedEventAttributes {
                    scheduled_event_id: 5,
                    ..Default::default()
                },
            ),
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
}
