//! Keys naming runs and task queues.

use std::fmt;

/// One run of a workflow: namespace, workflow id, run id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunKey {
    /// The namespace.
    pub namespace: String,
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
}

impl RunKey {
    /// The workflow execution message for this run.
    pub fn execution(&self) -> crate::proto::common::WorkflowExecution {
        crate::proto::common::WorkflowExecution {
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id.clone(),
        }
    }
}

impl fmt::Display for RunKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.namespace, self.workflow_id, self.run_id)
    }
}

/// Which kind of tasks a queue holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueueKind {
    /// Workflow tasks (and direct query tasks).
    Workflow,
    /// Activity tasks.
    Activity,
}

/// A task queue: namespace, name, kind. Sticky queues are ordinary workflow queues named after
/// the worker's sticky queue.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueueKey {
    /// The namespace.
    pub namespace: String,
    /// The queue's name.
    pub name: String,
    /// Workflow or activity tasks.
    pub kind: QueueKind,
}

/// A fresh random id (run ids, request ids).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
