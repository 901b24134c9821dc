//! Signals and queries: what reaches a run's state from outside its workflow function.
//!
//! A signal is a history event. It is applied, in history order, when the run meets it, by
//! calling the handler synchronously; the workflow function sees the change at its next poll.
//! A query is not in history: it is answered from the state the run has after processing a
//! history, and must leave no trace.

use super::{RunContext, WorkflowRun};
use crate::failure::panic_message;
use crate::history::events::is_command_event;
use crate::payload::{self, Payload};
use crate::proto::enums::EventType;
use crate::proto::history::{HistoryEvent, WorkflowExecutionSignaledEventAttributes};
use crate::workflow::definition::{HandlerError, HandlerKind, WorkflowFactory};
use crate::workflow::error::{TaskFailure, TaskFailureKind};
use std::panic::{catch_unwind, AssertUnwindSafe};

impl WorkflowRun {
    /// Applies a `WorkflowExecutionSignaled` event. A signal the workflow does not handle, or
    /// whose input does not decode, is dropped, and logged when it is `new` (not seen by an
    /// earlier workflow task: a replay does not log it again): the sender cannot be told, and
    /// failing the task would only fail it again on every retry. A panicking handler is a bug in
    /// workflow code, and fails the task like any other panic in it.
    pub(super) fn deliver_signal(
        &mut self,
        event_id: i64,
        signal: &WorkflowExecutionSignaledEventAttributes,
        new: bool,
    ) -> Result<(), TaskFailure> {
        let Some(handlers) = &self.handlers else {
            return Ok(());
        };
        let input = payload::from_payloads(signal.input.clone());
        let name = signal.signal_name.as_str();
        match catch_unwind(AssertUnwindSafe(|| handlers.signal(name, input))) {
            // Waiters on the state are woken by the activation that always follows.
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) if !new => Ok(()),
            Ok(Err(error)) => {
                let state = self.state.borrow();
                tracing::warn!(
                    workflow_id = %state.info.workflow_id,
                    run_id = %state.info.run_id,
                    event_id,
                    signal = name,
                    %error,
                    "signal dropped"
                );
                Ok(())
            }
            Err(panic) => Err(TaskFailure::new(TaskFailureKind::Panic(format!(
                "in the handler of signal {name:?} (event {event_id}): {}",
                panic_message(panic.as_ref())
            )))),
        }
    }

    /// Answers a query from the run's current state.
    ///
    /// The handler may not issue commands: the run refuses them while it runs, and the
    /// resulting panic, like any other in the handler, becomes the caller's error.
    pub fn query(
        &mut self,
        factory: &dyn WorkflowFactory,
        name: &str,
        input: Vec<Payload>,
    ) -> Result<Vec<Payload>, HandlerError> {
        self.instantiate(factory);
        let Some(handlers) = &self.handlers else {
            return Err(HandlerError::unknown(HandlerKind::Query, name, &[]));
        };
        match name {
            STACK_TRACE_QUERY => {
                return Ok(vec![payload::encode(&self.stack_trace())
                    .unwrap_or_else(|_| payload::null_payload())])
            }
            METADATA_QUERY => {
                let state = self.state.borrow();
                let definitions = |kind| {
                    handlers
                        .names(kind)
                        .into_iter()
                        .map(|name| serde_json::json!({ "name": name }))
                        .collect::<Vec<_>>()
                };
                let metadata = serde_json::json!({
                    "definition": {
                        "type": state.info.workflow_type,
                        "queryDefinitions": definitions(HandlerKind::Query),
                        "signalDefinitions": definitions(HandlerKind::Signal),
                        "updateDefinitions": definitions(HandlerKind::Update),
                    }
                });
                return Ok(vec![payload::encode_proto_json(
                    &metadata,
                    METADATA_MESSAGE,
                )]);
            }
            _ => {}
        }
        self.state.borrow_mut().in_query = Some(name.to_string());
        let answer = catch_unwind(AssertUnwindSafe(|| handlers.query(name, input)));
        let mut state = self.state.borrow_mut();
        state.in_query = None;
        match answer {
            Ok(answer) => answer,
            Err(panic) => Err(HandlerError::Failed {
                kind: HandlerKind::Query,
                name: name.to_string(),
                message: panic_message(panic.as_ref()),
            }),
        }
    }
}

/// The built-in query the web UI and `temporal workflow stack` ask: what the workflow waits on.
pub const STACK_TRACE_QUERY: &str = "__stack_trace";
/// The built-in query the web UI asks for the workflow's signal and query names.
pub const METADATA_QUERY: &str = "__temporal_workflow_metadata";
const METADATA_MESSAGE: &str = "temporal.api.sdk.v1.WorkflowMetadata";

impl WorkflowRun {
    /// What the workflow is waiting on, one line each, with the workflow code location that
    /// started the wait. Rust futures keep no stack, so this is the closest useful answer.
    fn stack_trace(&self) -> String {
        let state = self.state.borrow();
        let mut lines: Vec<String> = state
            .commands
            .machines
            .iter()
            .filter_map(|m| m.waiting_on())
            .collect();
        if !state.change_waiters.is_empty() {
            lines.push(format!(
                "{} wait_until condition(s) on the workflow state",
                state.change_waiters.len()
            ));
        }
        if self.is_finished() {
            "the workflow function has returned".to_string()
        } else if lines.is_empty() {
            "waiting on nothing the SDK tracks".to_string()
        } else {
            format!("waiting on:\n  {}", lines.join("\n  "))
        }
    }
}

/// Why a query could not be answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryFailure {
    /// Replaying the history to rebuild the state failed.
    #[error("the workflow's history could not be replayed to answer the query: {0}")]
    Replay(#[from] TaskFailure),
    /// The query itself failed.
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

/// Answers a query delivered on its own (a "legacy" query task): rebuilds the state by replaying
/// `history` up to the last completed workflow task, then asks the handler.
///
/// Events after that task (a signal not yet seen by the workflow function, a task in flight)
/// are left out, so that the answer shows a state the workflow has actually been in; this is
/// also what answers queries after the workflow has completed or failed.
pub fn answer_query(
    factory: &dyn WorkflowFactory,
    history: &[HistoryEvent],
    context: RunContext,
    name: &str,
    input: Vec<Payload>,
) -> Result<Vec<Payload>, QueryFailure> {
    let committed = &history[..committed_len(history)];
    let mut run = WorkflowRun::new(history, context)?;
    run.process(factory, committed)?;
    Ok(run.query(factory, name, input)?)
}

/// How many events of `history` belong to completed workflow tasks: everything up to the last
/// `WorkflowTaskCompleted` and the command events that follow it. At least the first event.
fn committed_len(history: &[HistoryEvent]) -> usize {
    let completed = EventType::WorkflowTaskCompleted as i32;
    let Some(last) = history.iter().rposition(|e| e.event_type == completed) else {
        return history.len().min(1);
    };
    let commands = history[last + 1..]
        .iter()
        .take_while(|e| is_command_event(e))
        .count();
    last + 1 + commands
}

#[cfg(test)]
mod tests {
    use super::*;

    fn events(types: &[EventType]) -> Vec<HistoryEvent> {
        types
            .iter()
            .enumerate()
            .map(|(i, t)| HistoryEvent {
                event_id: i as i64 + 1,
                event_type: *t as i32,
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn committed_history_ends_after_the_last_completed_task_and_its_commands() {
        use EventType as E;
        let running = events(&[
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::TimerStarted,
            E::WorkflowExecutionSignaled,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
        ]);
        assert_eq!(committed_len(&running), 5);
        let closed = events(&[
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted,
        ]);
        assert_eq!(committed_len(&closed), 5);
        let unstarted = events(&[E::WorkflowExecutionStarted, E::WorkflowTaskScheduled]);
        assert_eq!(committed_len(&unstarted), 1);
        assert_eq!(committed_len(&[]), 0);
    }
}
