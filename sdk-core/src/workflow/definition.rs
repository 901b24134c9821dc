use super::state::RunHandle;
use crate::failure::Failure;
use crate::payload::Payload;
use futures::future::LocalBoxFuture;
use std::time::{Duration, SystemTime};

/// A registered workflow type, type-erased: starts a run's future from its input payloads.
///
/// The `chronicle` crate implements it for every `#[workflow]` type. The future is polled only
/// on the thread that processes the workflow task, so it need not be `Send`.
pub trait WorkflowFactory: Send + Sync + 'static {
    /// The workflow type name.
    fn name(&self) -> &str;
    /// Starts the workflow function. Input that does not decode should come back as the
    /// future's error, which fails the workflow with that message.
    fn start(
        &self,
        run: RunHandle,
        input: Vec<Payload>,
    ) -> LocalBoxFuture<'static, Result<Vec<Payload>, Failure>>;
}

/// Facts about the running workflow, fixed for the whole run.
#[derive(Debug, Clone)]
pub struct WorkflowInfo {
    /// The workflow id.
    pub workflow_id: String,
    /// This run's id.
    pub run_id: String,
    /// The workflow type name.
    pub workflow_type: String,
    /// The namespace.
    pub namespace: String,
    /// The task queue.
    pub task_queue: String,
    /// The run's attempt (1 unless the workflow has a retry policy).
    pub attempt: u32,
    /// When the run started (its first event's time).
    pub start_time: SystemTime,
    /// The first run id of the chain of runs this one belongs to.
    pub first_execution_run_id: String,
    /// The run this one continued from, if it was continued as new.
    pub continued_from_run_id: Option<String>,
    /// The execution timeout, if any.
    pub execution_timeout: Option<Duration>,
    /// The run timeout, if any.
    pub run_timeout: Option<Duration>,
    /// The workflow task timeout.
    pub task_timeout: Option<Duration>,
}
