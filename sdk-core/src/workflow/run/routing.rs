//! Every event that is not a command event: the ones reporting on a command go to its machine
//! through the one event-id map (the initiating event is named by
//! [`initiator`](crate::history::events::initiator)); the rest concern the run itself.

use super::WorkflowRun;
use crate::history::events::{event_type_name, initiator};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::workflow::definition::WorkflowFactory;
use crate::workflow::error::{TaskFailure, TaskFailureKind};

impl WorkflowRun {
    /// Applies an event that resolves something the code waits on.
    pub(super) fn apply_event(
        &mut self,
        factory: &dyn WorkflowFactory,
        event: &HistoryEvent,
        new: bool,
    ) -> Result<(), TaskFailure> {
        use Attributes as A;
        if let Some(A::WorkflowExecutionSignaledEventAttributes(signal)) = &event.attributes {
            self.instantiate(factory);
            return self.deliver_signal(event.event_id, signal, new);
        }
        if let Some(A::WorkflowExecutionUpdateAdmittedEventAttributes(_)) = &event.attributes {
            self.record_admitted(event);
            return Ok(());
        }
        let mut state = self.state.borrow_mut();
        if let Some(initiator) = initiator(event) {
            let id = state
                .commands
                .by_event_id(initiator)
                .ok_or_else(|| unknown_initiator(event, initiator))?;
            let effects = state.commands.machines.get_mut(id).on_event(event)?;
            state.commands.carry_out(id, effects);
            return Ok(());
        }
        match &event.attributes {
            Some(
                A::WorkflowTaskScheduledEventAttributes(_)
                | A::WorkflowTaskFailedEventAttributes(_)
                | A::WorkflowTaskTimedOutEventAttributes(_)
                | A::WorkflowTaskCompletedEventAttributes(_)
                | A::WorkflowExecutionTerminatedEventAttributes(_)
                | A::WorkflowExecutionTimedOutEventAttributes(_),
            ) => Ok(()),
            Some(A::WorkflowExecutionCancelRequestedEventAttributes(_)) => {
                state.request_cancel();
                Ok(())
            }
            _ if event.worker_may_ignore => Ok(()),
            _ => Err(TaskFailure::new(TaskFailureKind::Unsupported(format!(
                "event {} ({})",
                event.event_id,
                event_type_name(event)
            )))),
        }
    }
}

fn unknown_initiator(event: &HistoryEvent, initiator: i64) -> TaskFailure {
    TaskFailure::bad_history(format!(
        "event {} ({}) reports on event {initiator}, which recorded no command of this run",
        event.event_id,
        event_type_name(event)
    ))
}
