//! What a run knows about itself: [`WorkflowInfo`], read from the run's first event.

use crate::payload::Payload;
use crate::proto::history::WorkflowExecutionStartedEventAttributes;
use std::collections::HashMap;
use std::time::{Duration, SystemTime};

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
    /// The memo the run was started with (JSON payloads).
    pub memo: HashMap<String, Payload>,
    /// The search attributes the run was started with (read them with
    /// [`SearchAttribute::from_payload`](crate::search_attributes::SearchAttribute::from_payload)).
    pub search_attributes: HashMap<String, Payload>,
}

impl WorkflowInfo {
    /// The facts the run's `WorkflowExecutionStarted` records, with the run's ids and
    /// namespace, which the event does not hold.
    pub(crate) fn from_started(
        started: &WorkflowExecutionStartedEventAttributes,
        start_time: SystemTime,
        workflow_id: String,
        run_id: String,
        namespace: String,
    ) -> Self {
        Self {
            workflow_id,
            run_id,
            workflow_type: started
                .workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            namespace,
            task_queue: started
                .task_queue
                .as_ref()
                .map(|q| q.name.clone())
                .unwrap_or_default(),
            attempt: started.attempt.max(1) as u32,
            start_time,
            first_execution_run_id: started.first_execution_run_id.clone(),
            continued_from_run_id: Some(started.continued_execution_run_id.clone())
                .filter(|r| !r.is_empty()),
            execution_timeout: started
                .workflow_execution_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            run_timeout: started
                .workflow_run_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            task_timeout: started
                .workflow_task_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            memo: started
                .memo
                .as_ref()
                .map(|m| m.fields.clone())
                .unwrap_or_default(),
            search_attributes: started
                .search_attributes
                .as_ref()
                .map(|s| s.indexed_fields.clone())
                .unwrap_or_default(),
        }
    }
}
