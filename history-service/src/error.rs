//! The service's errors and the gRPC statuses they travel as.

use crate::proto::errordetails;
use prost::Message;
use tonic::{Code, Status};

/// An error of a request to the service.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed or not allowed in the current state.
    #[error("{0}")]
    InvalidArgument(String),
    /// The workflow, run, task or activity does not exist (or is no longer current: stale tokens).
    #[error("{0}")]
    NotFound(String),
    /// A workflow with this id is already running.
    #[error("workflow execution already started: {workflow_id}")]
    AlreadyStarted {
        /// The workflow id.
        workflow_id: String,
        /// The running run's id.
        run_id: String,
        /// The request id that started it.
        start_request_id: String,
    },
    /// The namespace is not served.
    #[error("namespace {0} not found")]
    NamespaceNotFound(String),
    /// The operation is valid but cannot be done now (e.g. queries while tasks keep failing).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A query that the worker rejected or failed.
    #[error("{0}")]
    QueryFailed(String),
    /// Unbalanced TestService unlocks and the like.
    #[error("{0}")]
    Unbalanced(String),
    /// The operation exists in Temporal but this service does not do it yet.
    #[error("{0}")]
    Unimplemented(String),
    /// The storage backend failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A deadline passed (long polls answer empty instead).
    #[error("{0}")]
    DeadlineExceeded(String),
}

/// The service's result type.
pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

fn status_with_detail(code: Code, message: String, type_url: &str, value: Vec<u8>) -> Status {
    let details = temporalio_protos::google::rpc::Status {
        code: code as i32,
        message: message.clone(),
        details: vec![prost_wkt_types::Any {
            type_url: format!("type.googleapis.com/{type_url}"),
            value,
        }],
    };
    Status::with_details(code, message, details.encode_to_vec().into())
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Status {
        let message = error.to_string();
        match error {
            ServiceError::InvalidArgument(_) => Status::invalid_argument(message),
            ServiceError::NotFound(_) => status_with_detail(
                Code::NotFound,
                message,
                "temporal.api.errordetails.v1.NotFoundFailure",
                errordetails::NotFoundFailure::default().encode_to_vec(),
            ),
            ServiceError::AlreadyStarted {
                run_id,
                start_request_id,
                ..
            } => status_with_detail(
                Code::AlreadyExists,
                message,
                "temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure",
                errordetails::WorkflowExecutionAlreadyStartedFailure {
                    start_request_id,
                    run_id,
                    ..Default::default()
                }
                .encode_to_vec(),
            ),
            ServiceError::NamespaceNotFound(namespace) => status_with_detail(
                Code::NotFound,
                message,
                "temporal.api.errordetails.v1.NamespaceNotFoundFailure",
                errordetails::NamespaceNotFoundFailure { namespace }.encode_to_vec(),
            ),
            ServiceError::FailedPrecondition(_) => Status::failed_precondition(message),
            ServiceError::QueryFailed(_) => status_with_detail(
                Code::InvalidArgument,
                message,
                "temporal.api.errordetails.v1.QueryFailedFailure",
                errordetails::QueryFailedFailure::default().encode_to_vec(),
            ),
            ServiceError::Unbalanced(_) => Status::failed_precondition(message),
            ServiceError::Unimplemented(_) => Status::unimplemented(message),
            ServiceError::Storage(_) => Status::internal(message),
            ServiceError::DeadlineExceeded(_) => Status::deadline_exceeded(message),
        }
    }
}
