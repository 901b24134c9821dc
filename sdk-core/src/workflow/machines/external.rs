//! Signalling another workflow, and asking another workflow (or a child) to cancel.
//!
//! | state     | on                                                   | goes to  | effect           |
//! |-----------|------------------------------------------------------|----------|------------------|
//! | Created   | `{SignalExternal,RequestCancelExternal}…Initiated`   | Initiated|                  |
//! | Initiated | `ExternalWorkflowExecution{Signaled,CancelRequested}`| Done     | resolves: ok     |
//! | Initiated | `…Failed` (e.g. no such workflow)                    | Done     | resolves: failed |
//!
//! The events must be of the operation's own kind (a signal's, or a cancel request's); any
//! other event reporting on it fails the task.
//!
//! A child's cancel request knows its child (`for_child`): when it is delivered, the effects
//! say so, and the child machine ends a `WaitCancellationRequested` wait.

use super::{unexpected, CommandMachine, Effects};
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{
    command, Command, RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
};
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::workflow::error::TaskFailure;
use crate::workflow::slot::Slot;
use std::panic::Location;

/// What to do to the other workflow.
#[derive(Debug, Clone)]
pub(crate) enum ExternalAction {
    Signal { name: String, input: Vec<Payload> },
    Cancel,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExternalState {
    Created,
    Initiated,
    Done,
}

pub(crate) struct ExternalMachine {
    pub action: ExternalAction,
    pub workflow_id: String,
    pub run_id: String,
    /// Only a child of this workflow may be targeted (child cancellation).
    pub child_only: bool,
    /// The child (index among children) whose cancel request this is: told when delivered.
    pub for_child: Option<usize>,
    pub state: ExternalState,
    pub result: Slot<Result<(), Failure>>,
    pub location: &'static Location<'static>,
}

impl ExternalMachine {
    pub fn new(
        action: ExternalAction,
        workflow_id: String,
        run_id: String,
        child_only: bool,
        location: &'static Location<'static>,
    ) -> Self {
        Self {
            action,
            workflow_id,
            run_id,
            child_only,
            for_child: None,
            state: ExternalState::Created,
            result: Slot::default(),
            location,
        }
    }

    fn failure(&self, cause: i32, name: impl Fn(i32) -> Option<String>) -> Failure {
        let what = match self.action {
            ExternalAction::Signal { .. } => "could not be signaled",
            ExternalAction::Cancel => "could not be asked to cancel",
        };
        let cause = name(cause).unwrap_or_else(|| cause.to_string());
        Failure::application(
            format!("workflow {} {what}: {cause}", self.workflow_id),
            "ExternalWorkflowFailed",
        )
        .with_non_retryable(true)
    }
}

impl CommandMachine for ExternalMachine {
    fn command(&self) -> Command {
        match &self.action {
            ExternalAction::Signal { name, input } => Command {
                command_type: CommandType::SignalExternalWorkflowExecution as i32,
                attributes: Some(
                    command::Attributes::SignalExternalWorkflowExecutionCommandAttributes(
                        SignalExternalWorkflowExecutionCommandAttributes {
                            execution: Some(WorkflowExecution {
                                workflow_id: self.workflow_id.clone(),
                                run_id: self.run_id.clone(),
                            }),
                            signal_name: name.clone(),
                            input: payload::to_payloads(input.clone()),
                            child_workflow_only: self.child_only,
                            ..Default::default()
                        },
                    ),
                ),
                ..Default::default()
            },
            ExternalAction::Cancel => Command {
                command_type: CommandType::RequestCancelExternalWorkflowExecution as i32,
                attributes: Some(
                    command::Attributes::RequestCancelExternalWorkflowExecutionCommandAttributes(
                        RequestCancelExternalWorkflowExecutionCommandAttributes {
                            workflow_id: self.workflow_id.clone(),
                            run_id: self.run_id.clone(),
                            child_workflow_only: self.child_only,
                            ..Default::default()
                        },
                    ),
                ),
                ..Default::default()
            },
        }
    }

    fn describe(&self) -> String {
        match &self.action {
            ExternalAction::Signal { name, .. } => format!(
                "SignalExternalWorkflowExecution(workflow_id={}, signal={name})",
                self.workflow_id
            ),
            ExternalAction::Cancel => format!(
                "RequestCancelExternalWorkflowExecution(workflow_id={})",
                self.workflow_id
            ),
        }
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        let target = match (&self.action, &event.attributes) {
            (
                ExternalAction::Signal { name, .. },
                Some(Attributes::SignalExternalWorkflowExecutionInitiatedEventAttributes(a)),
            ) if a.signal_name == *name => a.workflow_execution.as_ref(),
            (
                ExternalAction::Cancel,
                Some(Attributes::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(a)),
            ) => a.workflow_execution.as_ref(),
            _ => return false,
        };
        let matches = self.state == ExternalState::Created
            && target.is_some_and(|t| t.workflow_id == self.workflow_id);
        if matches {
            self.state = ExternalState::Initiated;
        }
        matches
    }

    fn on_event(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        use Attributes as A;
        let result = match (self.state, &self.action, &event.attributes) {
            (
                ExternalState::Initiated,
                ExternalAction::Signal { .. },
                Some(A::ExternalWorkflowExecutionSignaledEventAttributes(_)),
            )
            | (
                ExternalState::Initiated,
                ExternalAction::Cancel,
                Some(A::ExternalWorkflowExecutionCancelRequestedEventAttributes(_)),
            ) => Ok(()),
            (
                ExternalState::Initiated,
                ExternalAction::Signal { .. },
                Some(A::SignalExternalWorkflowExecutionFailedEventAttributes(a)),
            ) => Err(self.failure(a.cause, |c| {
                crate::proto::enums::SignalExternalWorkflowExecutionFailedCause::try_from(c)
                    .map(|c| format!("{c:?}"))
                    .ok()
            })),
            (
                ExternalState::Initiated,
                ExternalAction::Cancel,
                Some(A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a)),
            ) => Err(self.failure(a.cause, |c| {
                crate::proto::enums::CancelExternalWorkflowExecutionFailedCause::try_from(c)
                    .map(|c| format!("{c:?}"))
                    .ok()
            })),
            (state, _, _) => return Err(unexpected(event, &self.describe(), state)),
        };
        // A child's delivered cancel request ends a `WaitCancellationRequested` wait.
        let delivered = result.is_ok() && matches!(self.action, ExternalAction::Cancel);
        self.state = ExternalState::Done;
        self.result.resolve(result);
        Ok(Effects {
            child_cancel_delivered: self.for_child.filter(|_| delivered),
            ..Effects::default()
        })
    }

    /// A child's cancel request is the run's own business: nothing waits on it.
    fn waiting_on(&self) -> Option<String> {
        if self.child_only || self.result.is_resolved() {
            return None;
        }
        let what = match &self.action {
            ExternalAction::Signal { name, .. } => format!("signal {name:?} to"),
            ExternalAction::Cancel => "cancel request to".to_string(),
        };
        Some(format!(
            "{what} workflow {}, sent at {}:{}",
            self.workflow_id,
            self.location.file(),
            self.location.line()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::builder::event;
    use crate::proto::history::{
        ExternalWorkflowExecutionCancelRequestedEventAttributes,
        ExternalWorkflowExecutionSignaledEventAttributes,
        SignalExternalWorkflowExecutionFailedEventAttributes,
        SignalExternalWorkflowExecutionInitiatedEventAttributes,
    };

    fn signal() -> ExternalMachine {
        let action = ExternalAction::Signal {
            name: "ping".into(),
            input: vec![],
        };
        ExternalMachine::new(
            action,
            "other".into(),
            String::new(),
            false,
            Location::caller(),
        )
    }

    fn initiated(name: &str, workflow_id: &str) -> HistoryEvent {
        event(
            5,
            Attributes::SignalExternalWorkflowExecutionInitiatedEventAttributes(
                SignalExternalWorkflowExecutionInitiatedEventAttributes {
                    signal_name: name.into(),
                    workflow_execution: Some(WorkflowExecution {
                        workflow_id: workflow_id.into(),
                        run_id: String::new(),
                    }),
                    ..Default::default()
                },
            ),
        )
    }

    fn signaled() -> HistoryEvent {
        event(
            6,
            Attributes::ExternalWorkflowExecutionSignaledEventAttributes(
                ExternalWorkflowExecutionSignaledEventAttributes {
                    initiated_event_id: 5,
                    ..Default::default()
                },
            ),
        )
    }

    fn failed() -> HistoryEvent {
        event(
            6,
            Attributes::SignalExternalWorkflowExecutionFailedEventAttributes(
                SignalExternalWorkflowExecutionFailedEventAttributes {
                    initiated_event_id: 5,
                    ..Default::default()
                },
            ),
        )
    }

    fn cancel_requested() -> HistoryEvent {
        event(
            6,
            Attributes::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                ExternalWorkflowExecutionCancelRequestedEventAttributes {
                    initiated_event_id: 5,
                    ..Default::default()
                },
            ),
        )
    }

    /// The initiated event and whether it matches, then events with whether each is accepted;
    /// the final state and outcome (`Some(true)` delivered, `Some(false)` failed).
    type Row = (
        HistoryEvent,
        bool,
        Vec<(HistoryEvent, bool)>,
        ExternalState,
        Option<bool>,
    );

    #[test]
    fn transitions_follow_the_table() {
        let table: Vec<Row> = vec![
            (
                initiated("ping", "other"),
                true,
                vec![],
                ExternalState::Initiated,
                None,
            ),
            (
                initiated("ping", "other"),
                true,
                vec![(signaled(), true)],
                ExternalState::Done,
                Some(true),
            ),
            (
                initiated("ping", "other"),
                true,
                vec![(failed(), true)],
                ExternalState::Done,
                Some(false),
            ),
            // Not in the table: rejected.
            (
                initiated("pong", "other"),
                false,
                vec![],
                ExternalState::Created,
                None,
            ),
            (
                initiated("ping", "else"),
                false,
                vec![(signaled(), false)],
                ExternalState::Created,
                None,
            ),
            (
                initiated("ping", "other"),
                true,
                vec![(cancel_requested(), false)],
                ExternalState::Initiated,
                None,
            ),
            (
                initiated("ping", "other"),
                true,
                vec![(signaled(), true), (signaled(), false)],
                ExternalState::Done,
                Some(true),
            ),
        ];
        for (i, (init, matches, events, state, outcome)) in table.into_iter().enumerate() {
            let mut m = signal();
            assert_eq!(m.matches_command_event(&init), matches, "row {i}");
            for (j, (e, ok)) in events.into_iter().enumerate() {
                assert_eq!(m.on_event(&e).is_ok(), ok, "row {i} event {j}");
            }
            let got = m.result.peek().map(|r| r.is_ok());
            assert_eq!((m.state, got), (state, outcome), "row {i}");
        }
    }

    #[test]
    fn a_pending_signal_is_listed_and_a_child_cancel_request_is_not() {
        let m = signal();
        assert!(m
            .waiting_on()
            .is_some_and(|w| w.contains("signal \"ping\" to workflow other")));
        let request = ExternalMachine::new(
            ExternalAction::Cancel,
            "kid".into(),
            String::new(),
            true,
            Location::caller(),
        );
        assert_eq!(request.waiting_on(), None);
    }
}
