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
//! Canceling a started child sends a cancel request for it (an external-cancel command marked
//! child-only) and keeps waiting for its end: the child decides how it ends.

use crate::failure::{Failure, SOURCE};
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, StartChildWorkflowExecutionCommandAttributes};
use crate::proto::common::{Memo, SearchAttributes, WorkflowExecution, WorkflowType};
use crate::proto::enums::{
    CommandType, ParentClosePolicy as PbParentClosePolicy, RetryState, TaskQueueKind,
    WorkflowIdReusePolicy,
};
use crate::proto::failure::{self as pb, failure::FailureInfo};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::taskqueue::TaskQueue;
use crate::retry_policy::RetryPolicy;
use std::collections::HashMap;
use std::panic::Location;
use crate::workflow::slot::Slot;
use std::time::Duration;

/// What happens to a child when its parent closes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ParentClosePolicy {
    /// The child is terminated (Temporal's default).
    #[default]
    Terminate,
    /// The child is asked to cancel.
    RequestCancel,
    /// The child runs on.
    Abandon,
}

impl ParentClosePolicy {
    fn to_proto(self) -> PbParentClosePolicy {
        match self {
            ParentClosePolicy::Terminate => PbParentClosePolicy::Terminate,
            ParentClosePolicy::RequestCancel => PbParentClosePolicy::RequestCancel,
            ParentClosePolicy::Abandon => PbParentClosePolicy::Abandon,
        }
    }
}

/// A child workflow to start.
#[derive(Debug, Clone, Default)]
pub struct ChildWorkflowRequest {
    /// The child's workflow type.
    pub workflow_type: String,
    /// The child's workflow id; derived from the parent's when `None`.
    pub workflow_id: Option<String>,
    /// One payload per argument.
    pub input: Vec<Payload>,
    /// The task queue; the parent's when `None`.
    pub task_queue: Option<String>,
    /// Limit for the child's whole execution.
    pub execution_timeout: Option<Duration>,
    /// Limit for one run of the child.
    pub run_timeout: Option<Duration>,
    /// Limit for one workflow task of the child.
    pub task_timeout: Option<Duration>,
    /// Retries of the whole child.
    pub retry_policy: Option<RetryPolicy>,
    /// What happens to the child when the parent closes.
    pub parent_close_policy: ParentClosePolicy,
    /// Memo fields.
    pub memo: HashMap<String, Payload>,
    /// Search attributes.
    pub search_attributes: HashMap<String, Payload>,
}

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
}

impl ChildMachine {
    pub fn new(
        request: ChildWorkflowRequest,
        workflow_id: String,
        parent_task_queue: &str,
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
        }
    }

    pub fn start_command(&self) -> Command {
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

    pub fn describe_start(&self) -> String {
        format!(
            "StartChildWorkflowExecution(type={}, workflow_id={})",
            self.workflow_type, self.workflow_id
        )
    }

    /// Matches the command event; records the event id later events refer to.
    pub fn on_initiated(&mut self, event: &HistoryEvent) -> bool {
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

    /// Applies an event about this child; returns whether a cancel request must go out now.
    pub fn on_event(&mut self, event: &HistoryEvent, namespace: &str) -> bool {
        use Attributes as A;
        match &event.attributes {
            Some(A::ChildWorkflowExecutionStartedEventAttributes(a)) => {
                let run_id = a
                    .workflow_execution
                    .as_ref()
                    .map(|e| e.run_id.clone())
                    .unwrap_or_default();
                self.state = ChildState::Started;
                self.run_id = Some(run_id.clone());
                self.resolve_start(Ok(run_id));
                return std::mem::take(&mut self.cancel_when_started);
            }
            Some(A::StartChildWorkflowExecutionFailedEventAttributes(a)) => {
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
                self.resolve_start(Err(failure.clone()));
                self.resolve_result(Err(failure));
            }
            Some(A::ChildWorkflowExecutionCompletedEventAttributes(a)) => {
                self.state = ChildState::Done;
                self.resolve_result(Ok(payload::from_payloads(a.result.clone())));
            }
            Some(A::ChildWorkflowExecutionFailedEventAttributes(a)) => {
                let cause = a.failure.clone();
                self.finish_unsuccessfully(
                    "Child Workflow execution failed",
                    cause,
                    a.retry_state,
                    a.started_event_id,
                    namespace,
                );
            }
            Some(A::ChildWorkflowExecutionCanceledEventAttributes(a)) => {
                let cause = pb::Failure {
                    message: "Child Workflow execution canceled".to_string(),
                    source: SOURCE.to_string(),
                    failure_info: Some(FailureInfo::CanceledFailureInfo(pb::CanceledFailureInfo {
                        details: a.details.clone(),
                        ..Default::default()
                    })),
                    ..Default::default()
                };
                self.finish_unsuccessfully(
                    "Child Workflow execution canceled",
                    Some(cause),
                    RetryState::NonRetryableFailure as i32,
                    a.started_event_id,
                    namespace,
                );
            }
            Some(A::ChildWorkflowExecutionTimedOutEventAttributes(a)) => {
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
                    namespace,
                );
            }
            Some(A::ChildWorkflowExecutionTerminatedEventAttributes(a)) => {
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
                    namespace,
                );
            }
            _ => {}
        }
        false
    }

    /// Cancels the child: withdraws a command not yet sent (and returns `false`), or returns
    /// whether a cancel request must go out now.
    pub fn cancel(&mut self) -> bool {
        match self.state {
            ChildState::Created => {
                self.state = ChildState::Done;
                let canceled =
                    Failure::canceled("Child Workflow execution canceled before it started");
                self.resolve_start(Err(canceled.clone()));
                self.resolve_result(Err(canceled));
                false
            }
            ChildState::Initiated => {
                self.cancel_when_started = true;
                false
            }
            ChildState::Started => true,
            ChildState::Done => false,
        }
    }

    fn finish_unsuccessfully(
        &mut self,
        message: &str,
        cause: Option<pb::Failure>,
        retry_state: i32,
        started_event_id: i64,
        namespace: &str,
    ) {
        let failure = pb::Failure {
            message: message.to_string(),
            source: SOURCE.to_string(),
            cause: cause.map(Box::new),
            failure_info: Some(FailureInfo::ChildWorkflowExecutionFailureInfo(
                pb::ChildWorkflowExecutionFailureInfo {
                    namespace: namespace.to_string(),
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
        self.state = ChildState::Done;
        self.resolve_result(Err(Failure::from_proto(failure)));
    }

    fn resolve_start(&mut self, outcome: Result<String, Failure>) {
        self.started.resolve(outcome);
    }

    fn resolve_result(&mut self, result: Result<Vec<Payload>, Failure>) {
        self.result.resolve(result);
    }
}

fn non_empty(fields: HashMap<String, Payload>) -> Option<HashMap<String, Payload>> {
    (!fields.is_empty()).then_some(fields)
}

/// The initiated event id an event about a child refers to, if it is one.
pub(crate) fn child_initiated_event_id(event: &HistoryEvent) -> Option<i64> {
    use Attributes as A;
    match &event.attributes {
        Some(A::ChildWorkflowExecutionStartedEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::StartChildWorkflowExecutionFailedEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::ChildWorkflowExecutionCompletedEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::ChildWorkflowExecutionFailedEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::ChildWorkflowExecutionCanceledEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::ChildWorkflowExecutionTimedOutEventAttributes(a)) => Some(a.initiated_event_id),
        Some(A::ChildWorkflowExecutionTerminatedEventAttributes(a)) => Some(a.initiated_event_id),
        _ => None,
    }
}
