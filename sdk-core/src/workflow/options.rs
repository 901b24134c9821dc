//! What workflow code hands the engine: the options and requests of its commands, and how the
//! workflow function ended. Public, and re-exported at `chronicle_core::workflow::*`; the
//! machines that turn them into commands are private.

use crate::failure::Failure;
use crate::payload::Payload;
use crate::proto::enums::ParentClosePolicy as PbParentClosePolicy;
use crate::retry_policy::RetryPolicy;
use std::collections::HashMap;
use std::time::Duration;

/// What cancelling a scheduled activity waits for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ActivityCancellationType {
    /// Ask the server to cancel and resolve as canceled at once.
    #[default]
    TryCancel,
    /// Ask the server to cancel and resolve when the activity confirms (or finishes).
    WaitCancellationCompleted,
    /// Do not tell the server; resolve as canceled at once and let the activity run on.
    Abandon,
}

/// Timeouts, retries and routing of one activity call.
///
/// At least one of `start_to_close` and `schedule_to_close` must be set; the worker fills in
/// its default start-to-close timeout when neither is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityOptions {
    /// Task queue to schedule on; the workflow's own when `None`.
    pub task_queue: Option<String>,
    /// Limit for the whole activity, retries included.
    pub schedule_to_close: Option<Duration>,
    /// Limit for waiting in the task queue.
    pub schedule_to_start: Option<Duration>,
    /// Limit for one attempt.
    pub start_to_close: Option<Duration>,
    /// Longest gap between heartbeats.
    pub heartbeat_timeout: Option<Duration>,
    /// Retry policy; the server's default when `None`.
    pub retry_policy: Option<RetryPolicy>,
    /// What cancellation waits for.
    pub cancellation_type: ActivityCancellationType,
}

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
    pub(crate) fn to_proto(self) -> PbParentClosePolicy {
        match self {
            ParentClosePolicy::Terminate => PbParentClosePolicy::Terminate,
            ParentClosePolicy::RequestCancel => PbParentClosePolicy::RequestCancel,
            ParentClosePolicy::Abandon => PbParentClosePolicy::Abandon,
        }
    }
}

/// What canceling a child workflow sends, and when the parent's wait for its result ends.
///
/// The names and meanings are Temporal's (`ChildWorkflowCancellationType` in the other SDKs). In
/// every case a child whose start was not sent yet is not started, and both its start and its
/// result resolve as canceled at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ChildWorkflowCancellationType {
    /// Send nothing; the result resolves as canceled at once and the child runs on.
    Abandon,
    /// Send the child a cancel request; the result resolves as canceled at once.
    TryCancel,
    /// Send the child a cancel request; the result resolves as canceled once the server has
    /// delivered it (`ExternalWorkflowExecutionCancelRequested`), or with the child's own end
    /// if that comes first.
    WaitCancellationRequested,
    /// Send the child a cancel request and wait for the child to end, however it decides to:
    /// the result is its real outcome (canceled, completed, failed...).
    #[default]
    WaitCancellationCompleted,
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
    /// What canceling the child does.
    pub cancellation_type: ChildWorkflowCancellationType,
}

/// How a workflow function ended.
#[derive(Debug, Clone)]
pub enum WorkflowExit {
    /// Returned a result.
    Completed(Vec<Payload>),
    /// Failed with this failure.
    Failed(Failure),
    /// Asked to continue as a new run.
    ContinuedAsNew(Box<ContinueAsNew>),
    /// Ended as canceled, after a cancellation request.
    Canceled,
}

impl From<Result<Vec<Payload>, Failure>> for WorkflowExit {
    fn from(result: Result<Vec<Payload>, Failure>) -> Self {
        match result {
            Ok(payloads) => WorkflowExit::Completed(payloads),
            Err(failure) => WorkflowExit::Failed(failure),
        }
    }
}

/// The next run of a workflow that continues as new.
#[derive(Debug, Clone, Default)]
pub struct ContinueAsNew {
    /// The next run's workflow type (the same type, or another).
    pub workflow_type: String,
    /// Its input, one payload per argument.
    pub input: Vec<Payload>,
    /// Its task queue; the current one when `None`.
    pub task_queue: Option<String>,
    /// Its run timeout; the current one when `None`.
    pub run_timeout: Option<Duration>,
    /// Its workflow task timeout; the current one when `None`.
    pub task_timeout: Option<Duration>,
    /// Its retry policy.
    pub retry_policy: Option<RetryPolicy>,
    /// Its memo; the current one when empty.
    pub memo: HashMap<String, Payload>,
    /// Its search attributes; the current ones when empty.
    pub search_attributes: HashMap<String, Payload>,
}
