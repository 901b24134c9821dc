//! Activities scheduled by workflow code.
//!
//! | state           | on                                         | goes to         | effect                      |
//! |-----------------|--------------------------------------------|-----------------|-----------------------------|
//! | Created         | `ActivityTaskScheduled` matching command   | Scheduled       | remembers the event id      |
//! | Created         | code cancels before it is sent             | Done            | command withdrawn, canceled |
//! | Scheduled       | `ActivityTaskStarted`                      | Started         |                             |
//! | Scheduled/Started | `…Completed` / `…Failed` / `…TimedOut`   | Done            | resolves                    |
//! | Scheduled/Started | code cancels                             | CancelIssued    | `RequestCancelActivityTask`*|
//! | CancelIssued    | `ActivityTaskCancelRequested` matching     | CancelIssued    |                             |
//! | CancelIssued    | `…Canceled` / `…Completed` / `…Failed` / `…TimedOut` | Done  | resolves if not yet   |
//!
//! \* with [`ActivityCancellationType::TryCancel`] the future resolves as canceled at once; with
//! `WaitCancellationCompleted` when the server confirms; `Abandon` resolves at once and sends
//! nothing.

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
use std::panic::Location;
use crate::workflow::slot::Slot;
use std::time::Duration;

/// What cancelling a scheduled activity waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActivityCancellationType {
    /// Ask the server to cancel and resolve as canceled at once.
    #[default]
    TryCancel,
    /// Ask the server to cancel and resolve when the activity confirms (or finishes).
    WaitCancellationCompleted,
    /// Do not tell the server; resolve as canceled at once and let the activity run on.
    Abandon,
}

/// Timeouts, retries and routing of one activity call.
///
/// At least one of `start_to_close` and `schedule_to_close` must be set; the worker fills in
/// its default start-to-close timeout when neither is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityOptions {
    /// Task queue to schedule on; the workflow's own when `None`.
    pub task_queue: Option<String>,
    /// Limit for the whole activity, retries included.
    pub schedule_to_close: Option<Duration>,
    /// Limit for waiting in the task queue.
    pub schedule_to_start: Option<Duration>,
    /// Limit for one attempt.
    pub start_to_close: Option<Duration>,
    /// Longest gap between heartbeats.
    pub heartbeat_timeout: Option<Duration>,
    /// Retry policy; the server's default when `None`.
    pub retry_policy: Option<RetryPolicy>,
    /// What cancellation waits for.
    pub cancellation_type: ActivityCancellationType,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivityState {
    Created,
    Scheduled,
    Started,
    CancelIssued,
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

    pub fn schedule_command(&self) -> Command {
        Command {
            command_type: CommandType::ScheduleActivityTask as i32,
            attributes: Some(command::Attributes::ScheduleActivityTaskCommandAttributes(
                self.attributes.clone(),
            )),
            ..Default::default()
        }
    }

    pub fn cancel_command(&self) -> Command {
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
    }

    pub fn describe_schedule(&self) -> String {
        format!(
            "ScheduleActivityTask(activity_id={}, type={})",
            self.activity_id, self.activity_type
        )
    }

    pub fn describe_cancel(&self) -> String {
        format!(
            "RequestCancelActivityTask(activity_id={})",
            self.activity_id
        )
    }

    /// Matches the `ActivityTaskScheduled` event recorded for the schedule command: same id and
    /// type (what Temporal's SDKs check, so histories replay across SDKs).
    pub fn on_scheduled(&mut self, event: &HistoryEvent) -> bool {
        match &event.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a))
                if a.activity_id == self.activity_id
                    && a.activity_type.as_ref().map(|t| t.name.as_str())
                        == Some(self.activity_type.as_str()) =>
            {
                self.scheduled_event_id = event.event_id;
                if self.state == ActivityState::Created {
                    self.state = ActivityState::Scheduled;
                }
                true
            }
            _ => false,
        }
    }

    pub fn on_cancel_recorded(&mut self, event: &HistoryEvent) -> bool {
        matches!(&event.attributes,
            Some(Attributes::ActivityTaskCancelRequestedEventAttributes(a))
                if a.scheduled_event_id == self.scheduled_event_id)
    }

    /// Applies an event about this activity's execution (started, completed, failed, ...).
    pub fn on_event(&mut self, event: &HistoryEvent) {
        let result = match &event.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(_)) => {
                if self.state == ActivityState::Scheduled {
                    self.state = ActivityState::Started;
                }
                return;
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                Ok(payload::from_payloads(a.result.clone()))
            }
            Some(Attributes::ActivityTaskFailedEventAttributes(a)) => Err(self.activity_failure(
                "Activity task failed",
                a.failure.clone(),
                a.started_event_id,
                a.retry_state,
            )),
            Some(Attributes::ActivityTaskTimedOutEventAttributes(a)) => Err(self.activity_failure(
                "Activity task timed out",
                a.failure.clone(),
                a.started_event_id,
                a.retry_state,
            )),
            Some(Attributes::ActivityTaskCanceledEventAttributes(a)) => {
                Err(self.canceled(a.details.clone(), a.started_event_id))
            }
            _ => return,
        };
        self.state = ActivityState::Done;
        self.resolve(result);
    }

    /// Code asked to cancel. Returns whether a `RequestCancelActivityTask` must be sent.
    pub fn cancel(&mut self) -> bool {
        match self.state {
            ActivityState::Created => {
                self.state = ActivityState::Done;
                let canceled = self.canceled(None, 0);
                self.resolve(Err(canceled));
                false
            }
            ActivityState::Scheduled | ActivityState::Started => {
                if self.cancellation_type != ActivityCancellationType::WaitCancellationCompleted {
                    let canceled = self.canceled(None, 0);
                    self.resolve(Err(canceled));
                }
                if self.cancellation_type == ActivityCancellationType::Abandon {
                    self.state = ActivityState::Done;
                    false
                } else {
                    self.state = ActivityState::CancelIssued;
                    true
                }
            }
            ActivityState::CancelIssued | ActivityState::Done => false,
        }
    }

    fn resolve(&mut self, result: Result<Vec<Payload>, Failure>) {
        self.result.resolve(result);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;
    use crate::proto::history::{
        ActivityTaskCompletedEventAttributes, ActivityTaskFailedEventAttributes,
        ActivityTaskScheduledEventAttributes,
    };

    fn machine() -> ActivityMachine {
        ActivityMachine::new(
            1,
            "greet".into(),
            vec![],
            ActivityOptions::default(),
            "q",
            Location::caller(),
        )
    }

    fn scheduled(id: &str, ty: &str) -> HistoryEvent {
        HistoryEvent {
            event_id: 5,
            attributes: Some(Attributes::ActivityTaskScheduledEventAttributes(
                ActivityTaskScheduledEventAttributes {
                    activity_id: id.into(),
                    activity_type: Some(ActivityType { name: ty.into() }),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn matches_on_id_and_type() {
        assert!(!machine().on_scheduled(&scheduled("1", "other")));
        assert!(!machine().on_scheduled(&scheduled("2", "greet")));
        let mut m = machine();
        assert!(m.on_scheduled(&scheduled("1", "greet")));
        assert_eq!(
            (m.state, m.scheduled_event_id),
            (ActivityState::Scheduled, 5)
        );
    }

    #[test]
    fn completion_and_failure_resolve_once() {
        let mut m = machine();
        m.on_scheduled(&scheduled("1", "greet"));
        m.on_event(&HistoryEvent {
            attributes: Some(Attributes::ActivityTaskFailedEventAttributes(
                ActivityTaskFailedEventAttributes {
                    failure: Some(Failure::application("boom", "E").into_proto()),
                    ..Default::default()
                },
            )),
            ..Default::default()
        });
        let failure = m.result.peek().cloned().unwrap().unwrap_err();
        assert_eq!(failure.kind(), FailureKind::Activity);
        assert_eq!(failure.root_cause().message(), "boom");
        m.on_event(&HistoryEvent {
            attributes: Some(Attributes::ActivityTaskCompletedEventAttributes(
                ActivityTaskCompletedEventAttributes::default(),
            )),
            ..Default::default()
        });
        assert!(
            m.result.peek().is_some_and(|r| r.is_err()),
            "a resolved activity is not resolved again"
        );
    }

    #[test]
    fn cancellation_types() {
        let mut unsent = machine();
        assert!(!unsent.cancel());
        assert!(unsent.result.is_resolved());

        let mut waiting = ActivityMachine::new(
            2,
            "greet".into(),
            vec![],
            ActivityOptions {
                cancellation_type: ActivityCancellationType::WaitCancellationCompleted,
                ..Default::default()
            },
            "q",
            Location::caller(),
        );
        waiting.on_scheduled(&scheduled("2", "greet"));
        assert!(waiting.cancel());
        assert!(
            !waiting.result.is_resolved(),
            "waits for the server's confirmation"
        );

        let mut abandoned = ActivityMachine::new(
            3,
            "greet".into(),
            vec![],
            ActivityOptions {
                cancellation_type: ActivityCancellationType::Abandon,
                ..Default::default()
            },
            "q",
            Location::caller(),
        );
        abandoned.on_scheduled(&scheduled("3", "greet"));
        assert!(!abandoned.cancel());
        assert!(abandoned.result.is_resolved());
    }
}
