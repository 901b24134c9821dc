//! What can go wrong when talking to Temporal as a client, and when waiting for a result.

use crate::handlers::NotAHandler;
use chronicle_core::{ConnectionError, Failure, PayloadError};
use tonic::{Code, Status};

/// A client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server could not be reached.
    #[error(transparent)]
    Connect(#[from] ConnectionError),
    /// A workflow with this id is already running (or the id reuse policy forbids reusing it).
    #[error("a workflow with id {workflow_id:?} is already started")]
    AlreadyStarted {
        /// The id that was asked for.
        workflow_id: String,
    },
    /// No workflow with this id (and run id, if one was given) exists.
    #[error("workflow {workflow_id:?} not found")]
    NotFound {
        /// The id that was asked for.
        workflow_id: String,
    },
    /// The input (of a workflow, signal or query) could not be encoded.
    #[error("could not encode the input: {0}")]
    Encode(#[source] PayloadError),
    /// A query's answer does not decode as the expected type.
    #[error(transparent)]
    Decode(PayloadError),
    /// The function passed as a signal or query is not one of the workflow's handlers.
    #[error(transparent)]
    NotAHandler(#[from] NotAHandler),
    /// The workflow could not answer the query: it has no such query, the argument did not
    /// decode, or the handler failed. The message is the worker's.
    #[error("query {query:?} failed: {message}")]
    QueryFailed {
        /// The query's name.
        query: String,
        /// Why, as the worker reported it.
        message: String,
    },
    /// No worker answered the query in time: none is polling the workflow's task queue, or
    /// all are too busy. Raise the time with [`WorkflowHandle::with_rpc_timeout`](super::WorkflowHandle::with_rpc_timeout).
    #[error("no worker answered query {query:?} to workflow {workflow_id:?} within {timeout:?}: is a worker running for its task queue?")]
    QueryTimedOut {
        /// The query's name.
        query: String,
        /// The workflow asked.
        workflow_id: String,
        /// How long the client waited.
        timeout: std::time::Duration,
    },
    /// The server refused the query because of the workflow's status (see
    /// `QueryRejectCondition`).
    #[error("query {query:?} was rejected: the workflow is {status}")]
    QueryRejected {
        /// The query's name.
        query: String,
        /// The workflow's status.
        status: String,
    },
    /// The server answered with any other error.
    #[error("{rpc} failed: {} ({:?})", .status.message(), .status.code())]
    Rpc {
        /// The RPC, e.g. `StartWorkflowExecution`.
        rpc: &'static str,
        /// The gRPC status the server returned.
        #[source]
        status: Status,
    },
    /// The server's answer is missing something it always sends.
    #[error("unexpected response to {rpc}: {detail}")]
    UnexpectedResponse {
        /// The RPC.
        rpc: &'static str,
        /// What was missing or wrong.
        detail: String,
    },
}

impl ClientError {
    /// The gRPC status, when the server answered with an error.
    pub fn status(&self) -> Option<&Status> {
        match self {
            ClientError::Rpc { status, .. } => Some(status),
            _ => None,
        }
    }

    /// Maps a gRPC error of a call about `workflow_id` to the matching variant.
    pub(crate) fn from_status(rpc: &'static str, workflow_id: &str, status: Status) -> Self {
        match status.code() {
            // WorkflowExecutionAlreadyStartedFailure travels as ALREADY_EXISTS.
            Code::AlreadyExists => ClientError::AlreadyStarted {
                workflow_id: workflow_id.to_string(),
            },
            Code::NotFound => ClientError::NotFound {
                workflow_id: workflow_id.to_string(),
            },
            _ => ClientError::Rpc { rpc, status },
        }
    }
}

/// A workflow did not produce a result, or its result could not be read.
///
/// `Display` shows the whole failure chain for [`Failed`](Self::Failed), e.g.
/// `workflow failed: activity task failed: card declined (PaymentError)`.
// The error is produced once per awaited result, so its size does not matter; an unboxed
// `Failed(Failure)` lets callers match on the failure directly.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkflowExecutionError {
    /// The workflow failed; the failure carries its cause chain.
    #[error("workflow failed: {0}")]
    Failed(Failure),
    /// The workflow was canceled.
    #[error("workflow was canceled")]
    Canceled,
    /// A client terminated the workflow.
    #[error("workflow was terminated{}", fmt_reason(reason))]
    Terminated {
        /// The reason given to `terminate`.
        reason: String,
    },
    /// The workflow exceeded its run or execution timeout.
    #[error("workflow timed out")]
    TimedOut,
    /// The workflow completed, but its result does not decode as the expected type.
    #[error(transparent)]
    Decode(PayloadError),
    /// No workflow with this id (and run id) exists.
    #[error("workflow {workflow_id:?} not found")]
    NotFound {
        /// The id that was asked for.
        workflow_id: String,
    },
    /// The server answered with an error while the result was awaited.
    #[error("waiting for the workflow result failed: {} ({:?})", .0.message(), .0.code())]
    Rpc(#[source] Status),
    /// The history the server sent does not end the way a closed workflow's does.
    #[error("unexpected history while waiting for the workflow result: {0}")]
    UnexpectedHistory(String),
}

fn fmt_reason(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

impl WorkflowExecutionError {
    /// The failure, for [`Failed`](Self::Failed).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            WorkflowExecutionError::Failed(f) => Some(f),
            _ => None,
        }
    }

    pub(crate) fn from_status(workflow_id: &str, status: Status) -> Self {
        match status.code() {
            Code::NotFound => WorkflowExecutionError::NotFound {
                workflow_id: workflow_id.to_string(),
            },
            _ => WorkflowExecutionError::Rpc(status),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_codes_map_to_variants() {
        let e = ClientError::from_status(
            "StartWorkflowExecution",
            "wf-1",
            Status::already_exists("Workflow execution is already running"),
        );
        assert!(matches!(&e, ClientError::AlreadyStarted { workflow_id } if workflow_id == "wf-1"));
        assert_eq!(
            e.to_string(),
            "a workflow with id \"wf-1\" is already started"
        );

        let e =
            ClientError::from_status("DescribeWorkflowExecution", "wf-2", Status::not_found("x"));
        assert!(matches!(e, ClientError::NotFound { workflow_id } if workflow_id == "wf-2"));

        let e = ClientError::from_status(
            "TerminateWorkflowExecution",
            "wf-3",
            Status::permission_denied("no"),
        );
        assert_eq!(e.status().map(Status::code), Some(Code::PermissionDenied));
        assert_eq!(
            e.to_string(),
            "TerminateWorkflowExecution failed: no (PermissionDenied)"
        );

        assert!(matches!(
            WorkflowExecutionError::from_status("wf", Status::not_found("gone")),
            WorkflowExecutionError::NotFound { .. }
        ));
        assert!(matches!(
            WorkflowExecutionError::from_status("wf", Status::internal("boom")),
            WorkflowExecutionError::Rpc(_)
        ));
    }

    #[test]
    fn failed_shows_the_whole_chain() {
        let cause = Failure::application("card declined", "PaymentError");
        let failure = Failure::application("activity task failed", "").with_cause(cause);
        let e = WorkflowExecutionError::Failed(failure);
        assert_eq!(
            e.to_string(),
            "workflow failed: activity task failed: card declined (PaymentError)"
        );
        assert!(e.failure().is_some());
        assert_eq!(
            WorkflowExecutionError::Terminated {
                reason: "stuck".into()
            }
            .to_string(),
            "workflow was terminated: stuck"
        );
        assert_eq!(
            WorkflowExecutionError::Terminated {
                reason: String::new()
            }
            .to_string(),
            "workflow was terminated"
        );
    }
}
