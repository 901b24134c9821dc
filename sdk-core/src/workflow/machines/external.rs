//! Signalling another workflow, and asking another workflow (or a child) to cancel.
//!
//! | state     | on                                                   | goes to  | effect           |
//! |-----------|------------------------------------------------------|----------|------------------|
//! | Created   | `{SignalExternal,RequestCancelExternal}…Initiated`   | Initiated|                  |
//! | Initiated | `ExternalWorkflowExecution{Signaled,CancelRequested}`| Done     | resolves: ok     |
//! | Initiated | `…Failed` (e.g. no such workflow)                    | Done     | resolves: failed |

use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{
    command, Command, RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes,
};
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::panic::Location;
use crate::workflow::slot::Slot;

/// What to do to the other workflow.
#[derive(Debug, Clone)]
pub(crate) enum ExternalAction {
    Signal { name: String, input: Vec<Payload> },
    Cancel,
}

pub(crate) struct ExternalMachine {
    pub action: ExternalAction,
    pub workflow_id: String,
    pub run_id: String,
    /// Only a child of this workflow may be targeted (child cancellation).
    pub child_only: bool,
    pub initiated: bool,
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
            initiated: false,
            result: Slot::default(),
            location,
        }
    }

    pub fn command(&self) -> Command {
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

    pub fn describe(&self) -> String {
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

    pub fn on_initiated(&mut self, event: &HistoryEvent) -> bool {
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
        let matches = !self.initiated && target.is_some_and(|t| t.workflow_id == self.workflow_id);
        if matches {
            self.initiated = true;
        }
        matches
    }

    pub fn on_event(&mut self, event: &HistoryEvent) {
        use Attributes as A;
        let result = match &event.attributes {
            Some(A::ExternalWorkflowExecutionSignaledEventAttributes(_))
            | Some(A::ExternalWorkflowExecutionCancelRequestedEventAttributes(_)) => Ok(()),
            Some(A::SignalExternalWorkflowExecutionFailedEventAttributes(a)) => {
                Err(self.failure(a.cause, |c| {
                    crate::proto::enums::SignalExternalWorkflowExecutionFailedCause::try_from(c)
                        .map(|c| format!("{c:?}"))
                        .ok()
                }))
            }
            Some(A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a)) => Err(self
                .failure(a.cause, |c| {
                    crate::proto::enums::CancelExternalWorkflowExecutionFailedCause::try_from(c)
                        .map(|c| format!("{c:?}"))
                        .ok()
                })),
            _ => return,
        };
        self.result.resolve(result);
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

/// The initiated event id an event about an external operation refers to, if it is one.
pub(crate) fn external_initiated_event_id(event: &HistoryEvent) -> Option<i64> {
    use Attributes as A;
    match &event.attributes {
        Some(A::ExternalWorkflowExecutionSignaledEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::SignalExternalWorkflowExecutionFailedEventAttributes(a)) => {
            Some(a.initiated_event_id)
        }
        Some(A::ExternalWorkflowExecutionCancelRequestedEventAttributes(a)) => {
            Some(a.initiated_event_id)
        }
        Some(A::RequestCancelExternalWorkflowExecutionFailedEventAttributes(a)) => {
            Some(a.initiated_event_id)
        }
        _ => None,
    }
}
