//! Histories written by hand, for engine tests: the shape of a run in a few lines.
//!
//! `task().timer_started("1", Duration::from_secs(1)).timer_fired("1").next_task()` is a run
//! whose first workflow task started a timer, the timer's fire, and the task to answer.
//!
//! Event ids are assigned in order. Events that report on an earlier one (`timer_fired`,
//! `activity_completed`, ...) find it by the id the code gave the command (timer id, activity
//! id, child workflow id), so tests name things the way workflow code does.
//!
//! Available in the crate's own tests, and to other crates with the `test-kit` feature.

use super::History;
use crate::payload::Payload;
use crate::proto::common::{ActivityType, Payloads, WorkflowExecution, WorkflowType};
use crate::proto::enums::EventType;
use crate::proto::failure::Failure as PbFailure;
use crate::proto::history::{self as pb, history_event::Attributes, HistoryEvent};
use crate::proto::sdk::WorkflowTaskCompletedMetadata;
use crate::proto::taskqueue::TaskQueue;
use std::collections::HashMap;
use std::time::Duration;

/// A history being written, one event per call.
#[derive(Debug, Clone)]
pub struct HistoryBuilder {
    events: Vec<HistoryEvent>,
    /// The event id of each command event, by the id the code gave the command.
    initiators: HashMap<String, i64>,
}

/// A run of workflow type `Workflow` whose first workflow task completed: the command events
/// of that task come next.
pub fn task() -> HistoryBuilder {
    HistoryBuilder::new("Workflow").completed_task()
}

impl HistoryBuilder {
    /// A history holding only the `WorkflowExecutionStarted` of a run of `workflow_type`, on
    /// task queue `q`.
    pub fn new(workflow_type: &str) -> Self {
        let builder = Self {
            events: Vec::new(),
            initiators: HashMap::new(),
        };
        builder.push(Attributes::WorkflowExecutionStartedEventAttributes(
            pb::WorkflowExecutionStartedEventAttributes {
                workflow_type: Some(WorkflowType {
                    name: workflow_type.to_string(),
                }),
                task_queue: Some(TaskQueue {
                    name: "q".to_string(),
                    ..Default::default()
                }),
                original_execution_run_id: "run".to_string(),
                attempt: 1,
                ..Default::default()
            },
        ))
    }

    /// A workflow task that completed: scheduled, started, completed. Its command events come
    /// next.
    pub fn completed_task(mut self) -> Self {
        self.push_task();
        let started = self.last_id();
        self.push(Attributes::WorkflowTaskCompletedEventAttributes(
            pb::WorkflowTaskCompletedEventAttributes {
                scheduled_event_id: started - 1,
                started_event_id: started,
                ..Default::default()
            },
        ))
    }

    /// A workflow task still to answer (scheduled and started): the end of the history.
    pub fn next_task(mut self) -> History {
        self.push_task();
        self.build()
    }

    /// Records SDK flags on the last `WorkflowTaskCompleted`.
    pub fn flags(mut self, flags: &[u32]) -> Self {
        let completed = self
            .events
            .iter_mut()
            .rev()
            .find_map(|e| match &mut e.attributes {
                Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => Some(a),
                _ => None,
            });
        if let Some(completed) = completed {
            completed.sdk_metadata = Some(WorkflowTaskCompletedMetadata {
                core_used_flags: flags.to_vec(),
                ..Default::default()
            });
        }
        self
    }

    /// `TimerStarted` for timer `timer_id`.
    pub fn timer_started(mut self, timer_id: &str, duration: Duration) -> Self {
        self.initiated(format!("timer {timer_id}"));
        let workflow_task_completed_event_id = self.last_id();
        self.push(Attributes::TimerStartedEventAttributes(
            pb::TimerStartedEventAttributes {
                timer_id: timer_id.to_string(),
                start_to_fire_timeout: Some(crate::proto::duration(duration)),
                workflow_task_completed_event_id,
            },
        ))
    }

    /// `TimerFired` for timer `timer_id`.
    pub fn timer_fired(self, timer_id: &str) -> Self {
        let started_event_id = self.initiator(&format!("timer {timer_id}"));
        self.push(Attributes::TimerFiredEventAttributes(
            pb::TimerFiredEventAttributes {
                timer_id: timer_id.to_string(),
                started_event_id,
            },
        ))
    }

    /// `TimerCanceled` for timer `timer_id` (the command event of `CancelTimer`).
    pub fn timer_canceled(self, timer_id: &str) -> Self {
        let started_event_id = self.initiator(&format!("timer {timer_id}"));
        self.push(Attributes::TimerCanceledEventAttributes(
            pb::TimerCanceledEventAttributes {
                timer_id: timer_id.to_string(),
                started_event_id,
                ..Default::default()
            },
        ))
    }

    /// `ActivityTaskScheduled` for activity `activity_id` of type `activity_type`.
    pub fn activity_scheduled(mut self, activity_id: &str, activity_type: &str) -> Self {
        self.initiated(format!("activity {activity_id}"));
        self.push(Attributes::ActivityTaskScheduledEventAttributes(
            pb::ActivityTaskScheduledEventAttributes {
                activity_id: activity_id.to_string(),
                activity_type: Some(ActivityType {
                    name: activity_type.to_string(),
                }),
                ..Default::default()
            },
        ))
    }

    /// `ActivityTaskStarted` for activity `activity_id`.
    pub fn activity_started(self, activity_id: &str) -> Self {
        let scheduled_event_id = self.initiator(&format!("activity {activity_id}"));
        self.push(Attributes::ActivityTaskStartedEventAttributes(
            pb::ActivityTaskStartedEventAttributes {
                scheduled_event_id,
                attempt: 1,
                ..Default::default()
            },
        ))
    }

    /// `ActivityTaskCompleted` for activity `activity_id`, with `result`.
    pub fn activity_completed(self, activity_id: &str, result: Vec<Payload>) -> Self {
        let scheduled_event_id = self.initiator(&format!("activity {activity_id}"));
        self.push(Attributes::ActivityTaskCompletedEventAttributes(
            pb::ActivityTaskCompletedEventAttributes {
                scheduled_event_id,
                started_event_id: scheduled_event_id + 1,
                result: Some(Payloads { payloads: result }),
                ..Default::default()
            },
        ))
    }

    /// `ActivityTaskFailed` for activity `activity_id`, with `failure`.
    pub fn activity_failed(self, activity_id: &str, failure: PbFailure) -> Self {
        let scheduled_event_id = self.initiator(&format!("activity {activity_id}"));
        self.push(Attributes::ActivityTaskFailedEventAttributes(
            pb::ActivityTaskFailedEventAttributes {
                scheduled_event_id,
                started_event_id: scheduled_event_id + 1,
                failure: Some(failure),
                ..Default::default()
            },
        ))
    }

    /// `MarkerRecorded` for patch `patch_id` (in the format every SDK writes).
    pub fn patch_marker(self, patch_id: &str, deprecated: bool) -> Self {
        let data = super::events::PatchData {
            id: patch_id.to_string(),
            deprecated,
        };
        let payload =
            crate::payload::encode(&data).unwrap_or_else(|_| crate::payload::null_payload());
        self.push(Attributes::MarkerRecordedEventAttributes(
            pb::MarkerRecordedEventAttributes {
                marker_name: super::events::PATCH_MARKER_NAME.to_string(),
                details: HashMap::from([(
                    super::events::PATCH_DETAILS_KEY.to_string(),
                    Payloads {
                        payloads: vec![payload],
                    },
                )]),
                ..Default::default()
            },
        ))
    }

    /// `MarkerRecorded` for local activity `seq` (activity id `seq`) of `activity_type`, as
    /// Temporal's core writes it: attempt `attempt`, its result or failure, and `backoff` when
    /// the next attempt waits on a timer. Times are fixed (the epoch plus one second).
    pub fn local_activity_marker(
        self,
        seq: u32,
        activity_type: &str,
        attempt: u32,
        outcome: Result<Payload, PbFailure>,
        backoff: Option<Duration>,
    ) -> Self {
        use crate::workflow::machines::local_activity::marker::{Marker, MarkerData, Stamp};
        let second = Stamp::of_duration(Duration::from_secs(1));
        let marker = Marker {
            data: MarkerData {
                seq,
                attempt,
                activity_id: seq.to_string(),
                activity_type: activity_type.to_string(),
                complete_time: Some(second),
                backoff: backoff.map(Stamp::of_duration),
                original_schedule_time: Some(second),
            },
            result: outcome
                .map(Some)
                .map_err(crate::failure::Failure::from_proto),
        };
        let attributes = marker.to_attributes();
        self.push(Attributes::MarkerRecordedEventAttributes(
            pb::MarkerRecordedEventAttributes {
                marker_name: attributes.marker_name,
                details: attributes.details,
                failure: attributes.failure,
                ..Default::default()
            },
        ))
    }

    /// `WorkflowExecutionSignaled` with signal `name` and `input`.
    pub fn signaled(self, name: &str, input: Vec<Payload>) -> Self {
        self.push(Attributes::WorkflowExecutionSignaledEventAttributes(
            pb::WorkflowExecutionSignaledEventAttributes {
                signal_name: name.to_string(),
                input: Some(Payloads { payloads: input }),
                ..Default::default()
            },
        ))
    }

    /// `WorkflowExecutionCancelRequested`.
    pub fn cancel_requested(self) -> Self {
        self.push(Attributes::WorkflowExecutionCancelRequestedEventAttributes(
            pb::WorkflowExecutionCancelRequestedEventAttributes::default(),
        ))
    }

    /// `StartChildWorkflowExecutionInitiated` for child `workflow_id` of `workflow_type`.
    pub fn child_initiated(mut self, workflow_id: &str, workflow_type: &str) -> Self {
        self.initiated(format!("child {workflow_id}"));
        self.push(
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(
                pb::StartChildWorkflowExecutionInitiatedEventAttributes {
                    workflow_id: workflow_id.to_string(),
                    workflow_type: Some(WorkflowType {
                        name: workflow_type.to_string(),
                    }),
                    ..Default::default()
                },
            ),
        )
    }

    /// `ChildWorkflowExecutionStarted` for child `workflow_id`, with run id `child-run`.
    pub fn child_started(self, workflow_id: &str) -> Self {
        let initiated_event_id = self.initiator(&format!("child {workflow_id}"));
        self.push(Attributes::ChildWorkflowExecutionStartedEventAttributes(
            pb::ChildWorkflowExecutionStartedEventAttributes {
                initiated_event_id,
                workflow_execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.to_string(),
                    run_id: "child-run".to_string(),
                }),
                ..Default::default()
            },
        ))
    }

    /// `ChildWorkflowExecutionCompleted` for child `workflow_id`, with `result`.
    pub fn child_completed(self, workflow_id: &str, result: Vec<Payload>) -> Self {
        let initiated_event_id = self.initiator(&format!("child {workflow_id}"));
        self.push(Attributes::ChildWorkflowExecutionCompletedEventAttributes(
            pb::ChildWorkflowExecutionCompletedEventAttributes {
                initiated_event_id,
                result: Some(Payloads { payloads: result }),
                ..Default::default()
            },
        ))
    }

    /// `RequestCancelExternalWorkflowExecutionInitiated` for child `workflow_id` (child only).
    pub fn child_cancel_initiated(mut self, workflow_id: &str) -> Self {
        self.initiated(format!("cancel {workflow_id}"));
        self.push(
            Attributes::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                pb::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_execution: Some(WorkflowExecution {
                        workflow_id: workflow_id.to_string(),
                        run_id: "child-run".to_string(),
                    }),
                    child_workflow_only: true,
                    ..Default::default()
                },
            ),
        )
    }

    /// `ExternalWorkflowExecutionCancelRequested`: the cancel request to `workflow_id` was
    /// delivered.
    pub fn child_cancel_delivered(self, workflow_id: &str) -> Self {
        let initiated_event_id = self.initiator(&format!("cancel {workflow_id}"));
        self.push(
            Attributes::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                pb::ExternalWorkflowExecutionCancelRequestedEventAttributes {
                    initiated_event_id,
                    workflow_execution: Some(WorkflowExecution {
                        workflow_id: workflow_id.to_string(),
                        run_id: "child-run".to_string(),
                    }),
                    ..Default::default()
                },
            ),
        )
    }

    /// `ChildWorkflowExecutionCanceled` for child `workflow_id`.
    pub fn child_canceled(self, workflow_id: &str) -> Self {
        let initiated_event_id = self.initiator(&format!("child {workflow_id}"));
        self.push(Attributes::ChildWorkflowExecutionCanceledEventAttributes(
            pb::ChildWorkflowExecutionCanceledEventAttributes {
                initiated_event_id,
                ..Default::default()
            },
        ))
    }

    /// `WorkflowExecutionCompleted` with `result`.
    pub fn workflow_completed(self, result: Vec<Payload>) -> Self {
        self.push(Attributes::WorkflowExecutionCompletedEventAttributes(
            pb::WorkflowExecutionCompletedEventAttributes {
                result: Some(Payloads { payloads: result }),
                ..Default::default()
            },
        ))
    }

    /// Any event, for what the named methods do not cover.
    pub fn push(mut self, attributes: Attributes) -> Self {
        self.push_event(attributes);
        self
    }

    fn push_event(&mut self, attributes: Attributes) {
        let event_id = self.last_id() + 1;
        self.events.push(event(event_id, attributes));
    }

    /// The history so far.
    pub fn build(self) -> History {
        History::new(self.events)
    }

    fn push_task(&mut self) {
        self.push_event(Attributes::WorkflowTaskScheduledEventAttributes(
            pb::WorkflowTaskScheduledEventAttributes::default(),
        ));
        self.push_event(Attributes::WorkflowTaskStartedEventAttributes(
            pb::WorkflowTaskStartedEventAttributes::default(),
        ));
    }

    fn last_id(&self) -> i64 {
        self.events.len() as i64
    }

    /// Remembers that the next event is the command event of `key`.
    fn initiated(&mut self, key: String) {
        self.initiators.insert(key, self.last_id() + 1);
    }

    /// The command event of `key`, or 0 (an id no event has) when there is none.
    fn initiator(&self, key: &str) -> i64 {
        self.initiators.get(key).copied().unwrap_or(0)
    }
}

/// An event with id `event_id`, its type taken from its attributes.
pub fn event(event_id: i64, attributes: Attributes) -> HistoryEvent {
    HistoryEvent {
        event_id,
        event_type: event_type(&attributes) as i32,
        attributes: Some(attributes),
        ..Default::default()
    }
}

/// The event type that goes with `attributes` (for the kinds Chronicle handles).
fn event_type(attributes: &Attributes) -> EventType {
    use Attributes as A;
    use EventType as E;
    match attributes {
        A::WorkflowExecutionStartedEventAttributes(_) => E::WorkflowExecutionStarted,
        A::WorkflowExecutionCompletedEventAttributes(_) => E::WorkflowExecutionCompleted,
        A::WorkflowExecutionFailedEventAttributes(_) => E::WorkflowExecutionFailed,
        A::WorkflowExecutionCanceledEventAttributes(_) => E::WorkflowExecutionCanceled,
        A::WorkflowExecutionContinuedAsNewEventAttributes(_) => E::WorkflowExecutionContinuedAsNew,
        A::WorkflowExecutionUpdateAcceptedEventAttributes(_) => E::WorkflowExecutionUpdateAccepted,
        A::WorkflowExecutionUpdateCompletedEventAttributes(_) => {
            E::WorkflowExecutionUpdateCompleted
        }
        A::WorkflowExecutionUpdateAdmittedEventAttributes(_) => E::WorkflowExecutionUpdateAdmitted,
        A::WorkflowExecutionSignaledEventAttributes(_) => E::WorkflowExecutionSignaled,
        A::WorkflowExecutionCancelRequestedEventAttributes(_) => {
            E::WorkflowExecutionCancelRequested
        }
        A::WorkflowTaskScheduledEventAttributes(_) => E::WorkflowTaskScheduled,
        A::WorkflowTaskStartedEventAttributes(_) => E::WorkflowTaskStarted,
        A::WorkflowTaskCompletedEventAttributes(_) => E::WorkflowTaskCompleted,
        A::WorkflowTaskFailedEventAttributes(_) => E::WorkflowTaskFailed,
        A::WorkflowTaskTimedOutEventAttributes(_) => E::WorkflowTaskTimedOut,
        A::ActivityTaskScheduledEventAttributes(_) => E::ActivityTaskScheduled,
        A::ActivityTaskStartedEventAttributes(_) => E::ActivityTaskStarted,
        A::ActivityTaskCompletedEventAttributes(_) => E::ActivityTaskCompleted,
        A::ActivityTaskFailedEventAttributes(_) => E::ActivityTaskFailed,
        A::ActivityTaskTimedOutEventAttributes(_) => E::ActivityTaskTimedOut,
        A::ActivityTaskCancelRequestedEventAttributes(_) => E::ActivityTaskCancelRequested,
        A::ActivityTaskCanceledEventAttributes(_) => E::ActivityTaskCanceled,
        A::TimerStartedEventAttributes(_) => E::TimerStarted,
        A::TimerFiredEventAttributes(_) => E::TimerFired,
        A::TimerCanceledEventAttributes(_) => E::TimerCanceled,
        A::MarkerRecordedEventAttributes(_) => E::MarkerRecorded,
        A::UpsertWorkflowSearchAttributesEventAttributes(_) => E::UpsertWorkflowSearchAttributes,
        A::WorkflowPropertiesModifiedEventAttributes(_) => E::WorkflowPropertiesModified,
        A::StartChildWorkflowExecutionInitiatedEventAttributes(_) => {
            E::StartChildWorkflowExecutionInitiated
        }
        A::StartChildWorkflowExecutionFailedEventAttributes(_) => {
            E::StartChildWorkflowExecutionFailed
        }
        A::ChildWorkflowExecutionStartedEventAttributes(_) => E::ChildWorkflowExecutionStarted,
        A::ChildWorkflowExecutionCompletedEventAttributes(_) => E::ChildWorkflowExecutionCompleted,
        A::ChildWorkflowExecutionFailedEventAttributes(_) => E::ChildWorkflowExecutionFailed,
        A::ChildWorkflowExecutionCanceledEventAttributes(_) => E::ChildWorkflowExecutionCanceled,
        A::ChildWorkflowExecutionTimedOutEventAttributes(_) => E::ChildWorkflowExecutionTimedOut,
        A::ChildWorkflowExecutionTerminatedEventAttributes(_) => {
            E::ChildWorkflowExecutionTerminated
        }
        A::SignalExternalWorkflowExecutionInitiatedEventAttributes(_) => {
            E::SignalExternalWorkflowExecutionInitiated
        }
        A::SignalExternalWorkflowExecutionFailedEventAttributes(_) => {
            E::SignalExternalWorkflowExecutionFailed
        }
        A::ExternalWorkflowExecutionSignaledEventAttributes(_) => {
            E::ExternalWorkflowExecutionSignaled
        }
        A::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(_) => {
            E::RequestCancelExternalWorkflowExecutionInitiated
        }
        A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(_) => {
            E::RequestCancelExternalWorkflowExecutionFailed
        }
        A::ExternalWorkflowExecutionCancelRequestedEventAttributes(_) => {
            E::ExternalWorkflowExecutionCancelRequested
        }
        _ => E::Unspecified,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_numbered_and_reports_find_their_command_event() {
        let history = task()
            .timer_started("1", Duration::from_secs(1))
            .timer_fired("1")
            .next_task();
        let events = history.events();
        assert_eq!(events.len(), 8);
        assert!(events
            .iter()
            .enumerate()
            .all(|(i, e)| e.event_id == i as i64 + 1));
        assert_eq!(events[4].event_type, EventType::TimerStarted as i32);
        assert_eq!(super::super::events::initiator(&events[5]), Some(5));
        assert_eq!(events[7].event_type, EventType::WorkflowTaskStarted as i32);
    }
}
