//! Child workflows.
//!
//! | state      | on                                              | goes to    | effect            |
//! |------------|-------------------------------------------------|------------|-------------------|
//! | Created    | `StartChildWorkflowExecutionInitiated` matching | Initiated  |                   |
//! | Created    | canceled before it is sent                      | Done       | both resolve: canceled |
//! | Initiated  | `ChildWorkflowExecutionStarted`                 | Started    | start resolves    |
//! | Initiated  | `StartChildWorkflowExecutionFailed`             | Done       | both resolve: failed |
//! | Started    | `ChildWorkflowExecution{Completed,Failed,Canceled,TimedOut,Terminated}` | Done | result resolves |
//!
//! Any other event reporting on the child fails the task.
//!
//! Canceling follows the child's [`ChildWorkflowCancellationType`], as in Temporal's core:
//!
//! | state     | type                        | sends                       | result resolves            |
//! |-----------|-----------------------------|-----------------------------|----------------------------|
//! | Created   | any                         | nothing (start withdrawn)   | canceled, at once (start too) |
//! | Initiated | `Abandon`                   | nothing                     | canceled, at once (start too) |
//! | Initiated | `TryCancel`                 | cancel request once started | canceled, at once (start too) |
//! | Initiated | `WaitCancellationRequested` | cancel request once started | canceled when delivered    |
//! | Initiated | `WaitCancellationCompleted` | cancel request once started | with the child's end       |
//! | Started   | `Abandon`                   | nothing                     | canceled, at once          |
//! | Started   | `TryCancel`                 | cancel request              | canceled, at once          |
//! | Started   | `WaitCancellationRequested` | cancel request              | canceled when delivered    |
//! | Started   | `WaitCancellationCompleted` | cancel request              | with the child's end       |
//!
//! The cancel request is an external-cancel command marked child-only. A child resolved early
//! still goes through the rows above as its events arrive (the states track the child, not the
//! parent's wait), so its history stays strict; the slots keep their first resolution. "When
//! delivered" is `ExternalWorkflowExecutionCancelRequested` for that request
//! ([`ChildMachine::cancel_delivered`]); a child that ends first resolves with its end. Only
//! the first cancel counts.

use super::external::{ExternalAction, ExternalMachine};
use super::{unexpected, Cancel, Cancellable, CommandMachine, Effects};
use crate::failure::{Failure, SOURCE};
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, StartChildWorkflowExecutionCommandAttributes};
use crate::proto::common::{Memo, SearchAttributes, WorkflowExecution, WorkflowType};
use crate::proto::enums::{CommandType, RetryState, TaskQueueKind, WorkflowIdReusePolicy};
use crate::proto::failure::{self as pb, failure::FailureInfo};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::taskqueue::TaskQueue;
use crate::retry_policy::RetryPolicy;
use crate::workflow::error::TaskFailure;
use crate::workflow::options::{ChildWorkflowCancellationType, ChildWorkflowRequest};
use crate::workflow::slot::Slot;
use std::collections::HashMap;
use std::panic::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChildState {
    Created,
    Initiated,
    Started,
    Done,
}

pub(crate) struct ChildMachine {
    pub workflow_id: String,
    pub workflow_type: String,
    attributes: StartChildWorkflowExecutionCommandAttributes,
    pub state: ChildState,
    pub initiated_event_id: i64,
    pub run_id: Option<String>,
    /// The start's outcome: the run id, or why it did not start.
    pub started: Slot<Result<String, Failure>>,
    pub result: Slot<Result<Vec<Payload>, Failure>>,
    /// Canceled while initiated: the cancel request goes out once the child has started.
    pub cancel_when_started: bool,
    pub location: &'static Location<'static>,
    pub shielded: bool,
    /// What canceling it does.
    pub cancellation_type: ChildWorkflowCancellationType,
    /// Code (or the workflow's cancellation) has canceled it: later cancels do nothing.
    canceled: bool,
    /// The parent's namespace, named in the child's failures.
    namespace: String,
}

impl ChildMachine {
    pub fn new(
        request: ChildWorkflowRequest,
        workflow_id: String,
        parent_task_queue: &str,
        namespace: &str,
        location: &'static Location<'static>,
    ) -> Self {
        let task_queue = request
            .task_queue
            .unwrap_or_else(|| parent_task_queue.to_string());
        let attributes = StartChildWorkflowExecutionCommandAttributes {
            workflow_id: workflow_id.clone(),
            workflow_type: Some(WorkflowType {
                name: request.workflow_type.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: task_queue,
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: payload::to_payloads(request.input),
            workflow_execution_timeout: request.execution_timeout.map(crate::proto::duration),
            workflow_run_timeout: request.run_timeout.map(crate::proto::duration),
            workflow_task_timeout: request.task_timeout.map(crate::proto::duration),
            parent_close_policy: request.parent_close_policy.to_proto() as i32,
            workflow_id_reuse_policy: WorkflowIdReusePolicy::Unspecified as i32,
            retry_policy: request.retry_policy.as_ref().map(RetryPolicy::to_proto),
            memo: non_empty(request.memo).map(|fields| Memo { fields }),
            search_attributes: non_empty(request.search_attributes)
                .map(|indexed_fields| SearchAttributes { indexed_fields }),
            ..Default::default()
        };
        Self {
            workflow_id,
            workflow_type: request.workflow_type,
            attributes,
            state: ChildState::Created,
            initiated_event_id: 0,
            run_id: None,
            started: Slot::default(),
            result: Slot::default(),
            cancel_when_started: false,
            location,
            shielded: false,
            cancellation_type: request.cancellation_type,
            canceled: false,
            namespace: namespace.to_string(),
        }
    }

    /// The server delivered this child's cancel request: the end of the wait for a
    /// `WaitCancellationRequested` child.
    pub fn cancel_delivered(&mut self) {
        if self.cancellation_type == ChildWorkflowCancellationType::WaitCancellationRequested {
            self.resolve_canceled();
        }
    }

    /// Resolves the parent's wait as canceled while the child may still run (the slots keep an
    /// earlier resolution). The failure is the one a canceled child gives, as core writes it.
    fn resolve_canceled(&mut self) {
        let failure = self.child_failure(
            "Child Workflow execution canceled",
            Some(canceled_cause(None)),
            RetryState::NonRetryableFailure as i32,
            0,
        );
        self.started.resolve(Err(failure.clone()));
        self.result.resolve(Err(failure));
    }

    /// Applies an event about this child, in a state that expects it.
    fn apply(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        use Attributes as A;
        use ChildState as S;
        match (self.state, &event.attributes) {
            (S::Initiated, Some(A::ChildWorkflowExecutionStartedEventAttributes(a))) => {
                let run_id = a
                    .workflow_execution
                    .as_ref()
                    .map(|e| e.run_id.clone())
                    .unwrap_or_default();
                self.state = ChildState::Started;
                self.run_id = Some(run_id.clone());
                self.started.resolve(Ok(run_id));
                return Ok(Effects {
                    send_cancel: std::mem::take(&mut self.cancel_when_started),
                    ..Effects::default()
                });
            }
            (S::Initiated, Some(A::StartChildWorkflowExecutionFailedEventAttributes(a))) => {
                let cause =
                    crate::proto::enums::StartChildWorkflowExecutionFailedCause::try_from(a.cause)
                        .map(|c| format!("{c:?}"))
                        .unwrap_or_else(|_| a.cause.to_string());
                let failure = Failure::application(
                    format!(
                        "child workflow {} ({}) could not start: {cause}",
                        self.workflow_id, self.workflow_type
                    ),
                    "ChildWorkflowStartFailed",
                )
                .with_non_retryable(true);
                self.state = ChildState::Done;
                self.started.resolve(Err(failure.clone()));
                self.result.resolve(Err(failure));
            }
            (S::Started, Some(A::ChildWorkflowExecutionCompletedEventAttributes(a))) => {
                self.state = ChildState::Done;
                self.result
                    .resolve(Ok(payload::from_payloads(a.result.clone())));
            }
            (S::Started, Some(A::ChildWorkflowExecutionFailedEventAttributes(a))) => {
                let cause = a.failure.clone();
                self.finish_unsuccessfully(
                    "Child Workflow execution failed",
                    cause,
                    a.retry_state,
                    a.started_event_id,
                );
            }
            (S::Started, Some(A::ChildWorkflowExecutionCanceledEventAttributes(a))) => {
                self.finish_unsuccessfully(
                    "Child Workflow execution canceled",
                    Some(canceled_cause(a.details.clone())),
                    RetryState::NonRetryableFailure as i32,
                    a.started_event_id,
                );
            }
            (S::Started, Some(A::ChildWorkflowExecutionTimedOutEventAttributes(a))) => {
                let cause = pb::Failure {
                    message: "Child Workflow execution timed out".to_string(),
                    source: SOURCE.to_string(),
                    failure_info: Some(FailureInfo::TimeoutFailureInfo(pb::TimeoutFailureInfo {
                        timeout_type: crate::proto::enums::TimeoutType::StartToClose as i32,
                        ..Default::default()
                    })),
                    ..Default::default()
                };
                self.finish_unsuccessfully(
                    "Child Workflow execution timed out",
                    Some(cause),
                    a.retry_state,
                    a.started_event_id,
                );
            }
            (S::Started, Some(A::ChildWorkflowExecutionTerminatedEventAttributes(a))) => {
                let cause = pb::Failure {
                    message: "Child Workflow execution terminated".to_string(),
                    source: SOURCE.to_string(),
                    failure_info: Some(FailureInfo::TerminatedFailureInfo(
                        pb::TerminatedFailureInfo::default(),
                    )),
                    ..Default::default()
                };
                self.finish_unsuccessfully(
                    "Child Workflow execution terminated",
                    Some(cause),
                    RetryState::NonRetryableFailure as i32,
                    a.started_event_id,
                );
            }
            (state, _) => {
                return Err(unexpected(
                    event,
                    &format!(
                        "child workflow {} ({})",
                        self.workflow_id, self.workflow_type
                    ),
                    state,
                ))
            }
        }
        Ok(Effects::none())
    }

    /// The cancel request of the started child: an external cancel only a child may receive.
    pub fn cancel_request(&self) -> ExternalMachine {
        ExternalMachine::new(
            ExternalAction::Cancel,
            self.workflow_id.clone(),
            self.run_id.clone().unwrap_or_default(),
            true,
            self.location,
        )
    }

    fn finish_unsuccessfully(
        &mut self,
        message: &str,
        cause: Option<pb::Failure>,
        retry_state: i32,
        started_event_id: i64,
    ) {
        let failure = self.child_failure(message, cause, retry_state, started_event_id);
        self.state = ChildState::Done;
        self.result.resolve(Err(failure));
    }

    /// A failure wrapped as Temporal wraps a child's: its ids, type and initiating event.
    fn child_failure(
        &self,
        message: &str,
        cause: Option<pb::Failure>,
        retry_state: i32,
        started_event_id: i64,
    ) -> Failure {
        let failure = pb::Failure {
            message: message.to_string(),
            source: SOURCE.to_string(),
            cause: cause.map(Box::new),
            failure_info: Some(FailureInfo::ChildWorkflowExecutionFailureInfo(
                pb::ChildWorkflowExecutionFailureInfo {
                    namespace: self.namespace.clone(),
                    workflow_execution: Some(WorkflowExecution {
                        workflow_id: self.workflow_id.clone(),
                        run_id: self.run_id.clone().unwrap_or_default(),
                    }),
                    workflow_type: Some(WorkflowType {
                        name: self.workflow_type.clone(),
                    }),
                    initiated_event_id: self.initiated_event_id,
                    started_event_id,
                    retry_state,
                },
            )),
            ..Default::default()
        };
        Failure::from_proto(failure)
    }
}

/// The cause of a canceled child's failure.
fn canceled_cause(details: Option<crate::proto::common::Payloads>) -> pb::Failure {
    pb::Failure {
        message: "Child Workflow execution canceled".to_string(),
        source: SOURCE.to_string(),
        failure_info: Some(FailureInfo::CanceledFailureInfo(pb::CanceledFailureInfo {
            details,
            ..Default::default()
        })),
        ..Default::default()
    }
}

impl CommandMachine for ChildMachine {
    fn command(&self) -> Command {
        Command {
            command_type: CommandType::StartChildWorkflowExecution as i32,
            attributes: Some(
                command::Attributes::StartChildWorkflowExecutionCommandAttributes(
                    self.attributes.clone(),
                ),
            ),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        format!(
            "StartChildWorkflowExecution(type={}, workflow_id={})",
            self.workflow_type, self.workflow_id
        )
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    /// Matches on type and workflow id; the initiated event is what later events refer to.
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        let Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) =
            &event.attributes
        else {
            return false;
        };
        let same_type =
            a.workflow_type.as_ref().map(|t| t.name.as_str()) == Some(self.workflow_type.as_str());
        if self.state != ChildState::Created || !same_type || a.workflow_id != self.workflow_id {
            return false;
        }
        self.state = ChildState::Initiated;
        self.initiated_event_id = event.event_id;
        true
    }

    fn on_event(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        self.apply(event)
    }

    fn waiting_on(&self) -> Option<String> {
        (!self.result.is_resolved()).then(|| {
            format!(
                "child workflow {} (id {}), started at {}:{}",
                self.workflow_type,
                self.workflow_id,
                self.location.file(),
                self.location.line()
            )
        })
    }
}

fn non_empty(fields: HashMap<String, Payload>) -> Option<HashMap<String, Payload>> {
    (!fields.is_empty()).then_some(fields)
}

impl Cancellable for ChildMachine {
    /// Code asked to cancel: a start not sent yet is withdrawn; a started child is sent a
    /// cancel request ([`cancel_request`](Self::cancel_request)), now or once it has started.
    fn cancel(&mut self) -> Cancel {
        use ChildWorkflowCancellationType as T;
        if std::mem::replace(&mut self.canceled, true) {
            return Cancel::Nothing;
        }
        let ty = self.cancellation_type;
        let sent = matches!(self.state, ChildState::Initiated | ChildState::Started);
        if sent && matches!(ty, T::Abandon | T::TryCancel) {
            self.resolve_canceled();
        }
        match (self.state, ty) {
            (ChildState::Created, _) => {
                self.state = ChildState::Done;
                let canceled =
                    Failure::canceled("Child Workflow execution canceled before it started");
                self.started.resolve(Err(canceled.clone()));
                self.result.resolve(Err(canceled));
                Cancel::Withdraw
            }
            (ChildState::Initiated | ChildState::Started, T::Abandon) | (ChildState::Done, _) => {
                Cancel::Nothing
            }
            (ChildState::Initiated, _) => {
                self.cancel_when_started = true;
                Cancel::Nothing
            }
            (ChildState::Started, _) => Cancel::Send,
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

#[cfg(test)]
mod cancellation_tests;
