//! Facts about single history events: their names and short descriptions, which of them the
//! server writes for commands, and which earlier event an event reports on.

use crate::payload;
use crate::proto::enums::EventType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use serde::{Deserialize, Serialize};

/// The marker name every Temporal SDK uses for patches.
pub(crate) const PATCH_MARKER_NAME: &str = "core_patch";
/// The marker details key holding the patch.
pub(crate) const PATCH_DETAILS_KEY: &str = "patch-data";

/// The event type in the short spelling, e.g. `ActivityTaskScheduled`.
pub fn event_type_name(event: &HistoryEvent) -> String {
    match EventType::try_from(event.event_type) {
        Ok(t) => format!("{t:?}"),
        Err(_) => format!("EventType({})", event.event_type),
    }
}

/// A short, readable description of an event for error messages, e.g.
/// `ActivityTaskScheduled(activity_id=1, type=greet)`.
pub fn describe_event(event: &HistoryEvent) -> String {
    use Attributes as A;
    match &event.attributes {
        Some(A::ActivityTaskScheduledEventAttributes(a)) => format!(
            "ActivityTaskScheduled(activity_id={}, type={})",
            a.activity_id,
            a.activity_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or("")
        ),
        Some(A::TimerStartedEventAttributes(a)) => format!(
            "TimerStarted(timer_id={}, {})",
            a.timer_id,
            a.start_to_fire_timeout
                .as_ref()
                .map(|d| format!("{:?}", crate::proto::std_duration(d)))
                .unwrap_or_default()
        ),
        Some(A::TimerCanceledEventAttributes(a)) => {
            format!("TimerCanceled(timer_id={})", a.timer_id)
        }
        Some(A::ActivityTaskCancelRequestedEventAttributes(a)) => format!(
            "ActivityTaskCancelRequested(scheduled_event_id={})",
            a.scheduled_event_id
        ),
        Some(A::MarkerRecordedEventAttributes(a)) => match patch_marker(event) {
            Some(patch) if patch.deprecated => {
                format!("MarkerRecorded(deprecate_patch({:?}))", patch.id)
            }
            Some(patch) => format!(
                "MarkerRecorded(patched({id:?})); if the code no longer calls patched({id:?}), \
                 keep the call, or replace it with deprecate_patch({id:?}), for as long as \
                 histories recorded with the patch may replay",
                id = patch.id
            ),
            None => format!("MarkerRecorded({})", a.marker_name),
        },
        Some(A::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => format!(
            "StartChildWorkflowExecutionInitiated(type={})",
            a.workflow_type
                .as_ref()
                .map(|t| t.name.as_str())
                .unwrap_or("")
        ),
        _ => event_type_name(event),
    }
}

/// Whether the server writes this event for a command (right after the `WorkflowTaskCompleted`
/// that carried it).
pub fn is_command_event(event: &HistoryEvent) -> bool {
    use EventType as E;
    matches!(
        EventType::try_from(event.event_type),
        Ok(E::ActivityTaskScheduled
            | E::ActivityTaskCancelRequested
            | E::TimerStarted
            | E::TimerCanceled
            | E::WorkflowExecutionCompleted
            | E::WorkflowExecutionFailed
            | E::WorkflowExecutionCanceled
            | E::WorkflowExecutionContinuedAsNew
            | E::MarkerRecorded
            | E::StartChildWorkflowExecutionInitiated
            | E::RequestCancelExternalWorkflowExecutionInitiated
            | E::SignalExternalWorkflowExecutionInitiated
            | E::UpsertWorkflowSearchAttributes
            | E::WorkflowPropertiesModified
            | E::NexusOperationScheduled
            | E::NexusOperationCancelRequested
            | E::WorkflowExecutionUpdateAccepted
            | E::WorkflowExecutionUpdateCompleted)
    )
}

/// The id of the command event an event reports on: the `ActivityTaskScheduled` of an
/// activity's started/completed/failed/timed-out/canceled event, the `TimerStarted` of a
/// `TimerFired`, the `…Initiated` event of a child's or an external operation's outcome.
/// `None` for events that report on no command (signals, workflow tasks, ...).
pub fn initiator(event: &HistoryEvent) -> Option<i64> {
    use Attributes as A;
    Some(match event.attributes.as_ref()? {
        A::ActivityTaskStartedEventAttributes(a) => a.scheduled_event_id,
        A::ActivityTaskCompletedEventAttributes(a) => a.scheduled_event_id,
        A::ActivityTaskFailedEventAttributes(a) => a.scheduled_event_id,
        A::ActivityTaskTimedOutEventAttributes(a) => a.scheduled_event_id,
        A::ActivityTaskCanceledEventAttributes(a) => a.scheduled_event_id,
        A::TimerFiredEventAttributes(a) => a.started_event_id,
        A::ChildWorkflowExecutionStartedEventAttributes(a) => a.initiated_event_id,
        A::StartChildWorkflowExecutionFailedEventAttributes(a) => a.initiated_event_id,
        A::ChildWorkflowExecutionCompletedEventAttributes(a) => a.initiated_event_id,
        A::ChildWorkflowExecutionFailedEventAttributes(a) => a.initiated_event_id,
        A::ChildWorkflowExecutionCanceledEventAttributes(a) => a.initiated_event_id,
        A::ChildWorkflowExecutionTimedOutEventAttributes(a) => a.initiated_event_id,
        A::ChildWorkflowExecutionTerminatedEventAttributes(a) => a.initiated_event_id,
        A::ExternalWorkflowExecutionSignaledEventAttributes(a) => a.initiated_event_id,
        A::SignalExternalWorkflowExecutionFailedEventAttributes(a) => a.initiated_event_id,
        A::ExternalWorkflowExecutionCancelRequestedEventAttributes(a) => a.initiated_event_id,
        A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a) => a.initiated_event_id,
        _ => return None,
    })
}

/// The JSON in a patch marker's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PatchData {
    pub id: String,
    pub deprecated: bool,
}

/// The patch a `MarkerRecorded` event records, if it is a patch marker.
pub(crate) fn patch_marker(event: &HistoryEvent) -> Option<PatchData> {
    let Some(Attributes::MarkerRecordedEventAttributes(marker)) = &event.attributes else {
        return None;
    };
    if marker.marker_name != PATCH_MARKER_NAME {
        return None;
    }
    let payload = marker.details.get(PATCH_DETAILS_KEY)?.payloads.first()?;
    payload::decode(payload, "patch marker details").ok()
}
