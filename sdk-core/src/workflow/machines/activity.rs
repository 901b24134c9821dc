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
mod tests;
