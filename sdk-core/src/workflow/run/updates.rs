//! Updates: requests delivered to the run (from the task's protocol messages, or on replay
//! from the acceptances its history recorded), their handlers started as tasks, and the
//! messages that answer them.
//!
//! Every request of a live task is answered in that task: accepted (an acceptance message and
//! a `ProtocolMessage` command) or rejected (a rejection message alone). The server refuses a
//! task completion that leaves a delivered request unanswered. On replay the validator never
//! runs: the `WorkflowExecutionUpdateAccepted` event is the proof that it passed, and the
//! handler starts at the same point of the code as it did originally (before the activation
//! of the task whose commands recorded the acceptance).

use super::WorkflowRun;
use crate::failure::{panic_message, Failure};
use crate::history::events::event_type_name;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::protocol::Message;
use crate::workflow::definition::{HandlerKind, WorkflowFactory};
use crate::workflow::error::{Nondeterminism, TaskFailure, TaskFailureKind};
use crate::workflow::handle::RunHandle;
use crate::workflow::machines::update::{UpdateMachine, UpdateRequest};
use crate::workflow::machines::MachineId;
use crate::workflow::options::WorkflowExit;
use futures::FutureExt;
use std::panic::{catch_unwind, AssertUnwindSafe};

impl WorkflowRun {
    /// The protocol messages of the task being answered; delivered at its activation.
    pub fn set_messages(&mut self, messages: Vec<Message>) {
        self.messages = messages;
    }

    /// Delivers the live task's update requests, validating each.
    pub(super) fn deliver_messages(
        &mut self,
        factory: &dyn WorkflowFactory,
    ) -> Result<(), TaskFailure> {
        for message in std::mem::take(&mut self.messages) {
            match UpdateRequest::from_message(&message) {
                Ok(request) => self.deliver_update(factory, request, None)?,
                // Only update requests exist today; anything else is the server's newer
                // protocol, which this worker cannot answer.
                Err(reason) => tracing::warn!(%reason, "protocol message ignored"),
            }
        }
        Ok(())
    }

    /// Delivers, without validation, the updates a completed task's command events accepted.
    pub(super) fn deliver_accepted(
        &mut self,
        factory: &dyn WorkflowFactory,
        command_events: &[HistoryEvent],
    ) -> Result<(), TaskFailure> {
        for event in command_events {
            if !matches!(
                event.attributes,
                Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
                    _
                ))
            ) {
                continue;
            }
            let request = {
                let state = self.state.borrow();
                let admitted = &state.handlers.admitted;
                UpdateRequest::from_accepted_event(event, |id| admitted.get(id).cloned())
            };
            let request = request.ok_or_else(|| {
                TaskFailure::bad_history(format!(
                    "event {} ({}) records no request, and no earlier event admitted it",
                    event.event_id,
                    event_type_name(event)
                ))
            })?;
            self.deliver_update(factory, request, Some(event))?;
        }
        Ok(())
    }

    /// Records the request of an update admitted durably (`WorkflowExecutionUpdateAdmitted`).
    pub(super) fn record_admitted(&mut self, event: &HistoryEvent) {
        if let Some(Attributes::WorkflowExecutionUpdateAdmittedEventAttributes(a)) =
            &event.attributes
        {
            if let Some(request) = &a.request {
                let id = request
                    .meta
                    .as_ref()
                    .map(|m| m.update_id.clone())
                    .unwrap_or_default();
                let mut state = self.state.borrow_mut();
                state.handlers.admitted.insert(id, request.clone());
            }
        }
    }

    /// Accepts or rejects one request. `accepted` is the event that recorded its acceptance
    /// (replay), `None` for a live request.
    fn deliver_update(
        &mut self,
        factory: &dyn WorkflowFactory,
        request: UpdateRequest,
        accepted: Option<&HistoryEvent>,
    ) -> Result<(), TaskFailure> {
        self.instantiate(factory);
        if self
            .state
            .borrow()
            .handlers
            .accepted_updates
            .contains(&request.update_id)
        {
            // Delivered again (a retried task, or a request the history already accepted):
            // the first acceptance stands.
            return Ok(());
        }
        let live = accepted.is_none();
        let name = request.name().to_string();
        let started = match (&self.handlers, self.finished) {
            (_, true) => Err(Failure::application(
                "the workflow has finished: it takes no more updates",
                "WorkflowFinished",
            )),
            (None, false) => Err(Failure::application(
                "the workflow has no handlers",
                crate::workflow::definition::UNKNOWN_UPDATE,
            )),
            (Some(handlers), false) => {
                match catch_unwind(AssertUnwindSafe(|| {
                    handlers.update(&name, request.args(), live)
                })) {
                    Ok(started) => started,
                    Err(panic) => {
                        return Err(TaskFailure::new(TaskFailureKind::Panic(format!(
                            "in the validator of update {name:?} (id {}): {}",
                            request.update_id,
                            panic_message(panic.as_ref())
                        ))))
                    }
                }
            }
        };
        let future = match (started, accepted) {
            (Ok(future), _) => future,
            (Err(failure), None) => {
                let state = &mut *self.state.borrow_mut();
                tracing::debug!(
                    workflow_id = %state.info.workflow_id,
                    update = %name,
                    update_id = %request.update_id,
                    reason = failure.message(),
                    "update rejected"
                );
                state.handlers.rejections.push(request.rejection(failure));
                return Ok(());
            }
            (Err(failure), Some(event)) => {
                // The history says this code accepted it: code that no longer can is not the
                // code that wrote the history.
                return Err(TaskFailure::new(TaskFailureKind::Nondeterminism(
                    Nondeterminism {
                        event_id: event.event_id,
                        history: format!("update {name:?} accepted (id {})", request.update_id),
                        code: format!("the update is refused: {}", failure.message()),
                        location: None,
                    },
                )));
            }
        };
        {
            let mut state = self.state.borrow_mut();
            state
                .handlers
                .accepted_updates
                .insert(request.update_id.clone());
            state.commands.issue(UpdateMachine::accept(&request));
        }
        let state = self.state.clone();
        let update_id = request.update_id.clone();
        let task = future.map(move |outcome| {
            state
                .borrow_mut()
                .commands
                .issue(UpdateMachine::complete(&request, outcome));
        });
        RunHandle(self.state.clone()).spawn_handler(
            HandlerKind::Update,
            &name,
            Some(update_id),
            task.boxed_local(),
        );
        Ok(())
    }

    /// The messages the task's response carries: the rejections, then the message of every
    /// unsent acceptance and response, in command order.
    pub(super) fn outgoing_messages(&self) -> Vec<Message> {
        let mut state = self.state.borrow_mut();
        let mut messages = std::mem::take(&mut state.handlers.rejections);
        let commands = &state.commands;
        messages.extend(commands.outbox.iter().filter_map(|id| match id {
            MachineId::Update(i) => Some(commands.machines.updates[*i].message.clone()),
            _ => None,
        }));
        messages
    }

    /// Logs, when a live run ends with handlers still running, which ones: their work stops
    /// here, and an update's caller gets an error instead of its result. As in Temporal's
    /// other SDKs, only for runs that end well (completed, continued as new, canceled): a
    /// failing run has a louder problem.
    pub(super) fn warn_unfinished_handlers(&self, exit: &WorkflowExit) {
        let state = self.state.borrow();
        if state.clock.replaying || matches!(exit, WorkflowExit::Failed(_)) {
            return;
        }
        let running = &state.handlers.running;
        let updates: Vec<String> = running
            .iter()
            .filter(|h| h.kind == HandlerKind::Update)
            .map(|h| {
                format!(
                    "{} (id {})",
                    h.name,
                    h.update_id.as_deref().unwrap_or_default()
                )
            })
            .collect();
        let signals: Vec<String> = running
            .iter()
            .filter(|h| h.kind == HandlerKind::Signal)
            .map(|h| h.name.clone())
            .collect();
        let info = &state.info;
        if !updates.is_empty() {
            tracing::warn!(
                workflow_id = %info.workflow_id,
                run_id = %info.run_id,
                workflow_type = %info.workflow_type,
                updates = %updates.join(", "),
                "[TMPRL1102] Workflow {} finished while update handlers are still running: their \
                 work stops here, and the clients that sent these updates get a 'workflow \
                 execution already completed' error instead of a result. To let them finish, \
                 wait before returning: `ctx.wait_until_handlers_finished().await`. Unfinished \
                 updates: {}",
                info.workflow_id,
                updates.join(", ")
            );
        }
        if !signals.is_empty() {
            tracing::warn!(
                workflow_id = %info.workflow_id,
                run_id = %info.run_id,
                workflow_type = %info.workflow_type,
                signals = %signals.join(", "),
                "[TMPRL1102] Workflow {} finished while signal handlers are still running: their \
                 work stops here. To let them finish, wait before returning: \
                 `ctx.wait_until_handlers_finished().await`. Unfinished signals: {}",
                info.workflow_id,
                signals.join(", ")
            );
        }
    }
}

impl Drop for WorkflowRun {
    fn drop(&mut self) {
        // Handler futures not yet handed to the executor hold the run's state: dropping them
        // here breaks that cycle.
        if let Ok(mut state) = self.state.try_borrow_mut() {
            state.handlers.spawned.clear();
        }
    }
}
