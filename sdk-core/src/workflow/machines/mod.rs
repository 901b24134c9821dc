//! One state machine per kind of command, each with its transition table.
//!
//! A machine is created when workflow code issues a command, is matched with the command event
//! the history recorded for it, and is resolved by later events (activity completed, timer
//! fired...). Machines are synchronous and pure; the run owns them.

pub mod activity;
pub mod child;
pub mod completion;
pub mod external;
pub mod patch;
pub mod side_effect;
pub mod timer;
pub mod upsert;

use crate::proto::history::{history_event::Attributes, HistoryEvent};

/// A short, readable description of a history event for error messages.
pub(crate) fn describe_event(event: &HistoryEvent) -> String {
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
        Some(A::MarkerRecordedEventAttributes(a)) => match patch::patch_marker(event) {
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

/// The event type in the short spelling, e.g. `ActivityTaskScheduled`.
pub(crate) fn event_type_name(event: &HistoryEvent) -> String {
    match crate::proto::enums::EventType::try_from(event.event_type) {
        Ok(t) => format!("{t:?}"),
        Err(_) => format!("EventType({})", event.event_type),
    }
}
