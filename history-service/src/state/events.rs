//! The event type of each kind of event attributes.

use crate::proto::enums::EventType;
use crate::proto::history::history_event::Attributes;

macro_rules! event_types {
    ($attributes:expr, $($variant:ident => $kind:ident),* $(,)?) => {
        match $attributes {
            $(Attributes::$variant(_) => EventType::$kind,)*
            _ => EventType::Unspecified,
        }
    };
}

/// The event type matching `attributes`.
pub fn event_type_of(attributes: &Attributes) -> EventType {
    event_types!(attributes,
        WorkflowExecutionStartedEventAttributes => WorkflowExecutionStarted,
        WorkflowExecutionCompletedEventAttributes => WorkflowExecutionCompleted,
        WorkflowExecutionFailedEventAttributes => WorkflowExecutionFailed,
        WorkflowExecutionTimedOutEventAttributes => WorkflowExecutionTimedOut,
        WorkflowTaskScheduledEventAttributes => WorkflowTaskScheduled,
        WorkflowTaskStartedEventAttributes => WorkflowTaskStarted,
        WorkflowTaskCompletedEventAttributes => WorkflowTaskCompleted,
        WorkflowTaskTimedOutEventAttributes => WorkflowTaskTimedOut,
        WorkflowTaskFailedEventAttributes => WorkflowTaskFailed,
        ActivityTaskScheduledEventAttributes => ActivityTaskScheduled,
        ActivityTaskStartedEventAttributes => ActivityTaskStarted,
        ActivityTaskCompletedEventAttributes => ActivityTaskCompleted,
        ActivityTaskFailedEventAttributes => ActivityTaskFailed,
        ActivityTaskTimedOutEventAttributes => ActivityTaskTimedOut,
        TimerStartedEventAttributes => TimerStarted,
        TimerFiredEventAttributes => TimerFired,
        ActivityTaskCancelRequestedEventAttributes => ActivityTaskCancelRequested,
        ActivityTaskCanceledEventAttributes => ActivityTaskCanceled,
        TimerCanceledEventAttributes => TimerCanceled,
        MarkerRecordedEventAttributes => MarkerRecorded,
        WorkflowExecutionSignaledEventAttributes => WorkflowExecutionSignaled,
        WorkflowExecutionTerminatedEventAttributes => WorkflowExecutionTerminated,
        WorkflowExecutionCancelRequestedEventAttributes => WorkflowExecutionCancelRequested,
        WorkflowExecutionCanceledEventAttributes => WorkflowExecutionCanceled,
        RequestCancelExternalWorkflowExecutionInitiatedEventAttributes =>
            RequestCancelExternalWorkflowExecutionInitiated,
        RequestCancelExternalWorkflowExecutionFailedEventAttributes =>
            RequestCancelExternalWorkflowExecutionFailed,
        ExternalWorkflowExecutionCancelRequestedEventAttributes =>
            ExternalWorkflowExecutionCancelRequested,
        WorkflowExecutionContinuedAsNewEventAttributes => WorkflowExecutionContinuedAsNew,
        StartChildWorkflowExecutionInitiatedEventAttributes => StartChildWorkflowExecutionInitiated,
        StartChildWorkflowExecutionFailedEventAttributes => StartChildWorkflowExecutionFailed,
        ChildWorkflowExecutionStartedEventAttributes => ChildWorkflowExecutionStarted,
        ChildWorkflowExecutionCompletedEventAttributes => ChildWorkflowExecutionCompleted,
        ChildWorkflowExecutionFailedEventAttributes => ChildWorkflowExecutionFailed,
        ChildWorkflowExecutionCanceledEventAttributes => ChildWorkflowExecutionCanceled,
        ChildWorkflowExecutionTimedOutEventAttributes => ChildWorkflowExecutionTimedOut,
        ChildWorkflowExecutionTerminatedEventAttributes => ChildWorkflowExecutionTerminated,
        SignalExternalWorkflowExecutionInitiatedEventAttributes =>
            SignalExternalWorkflowExecutionInitiated,
        SignalExternalWorkflowExecutionFailedEventAttributes =>
            SignalExternalWorkflowExecutionFailed,
        ExternalWorkflowExecutionSignaledEventAttributes => ExternalWorkflowExecutionSignaled,
        UpsertWorkflowSearchAttributesEventAttributes => UpsertWorkflowSearchAttributes,
        WorkflowPropertiesModifiedEventAttributes => WorkflowPropertiesModified,
    )
}

/// Whether an event closes the run.
pub fn is_close_event(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::WorkflowExecutionCompleted
            | EventType::WorkflowExecutionFailed
            | EventType::WorkflowExecutionTimedOut
            | EventType::WorkflowExecutionTerminated
            | EventType::WorkflowExecutionCanceled
            | EventType::WorkflowExecutionContinuedAsNew
    )
}
