//! Why a workflow task fails: [`TaskFailure`], and the nondeterminism report it may carry.

use crate::failure::Failure;
use crate::proto::enums::WorkflowTaskFailedCause;
use crate::text::list_or_none;
use std::fmt;
use std::panic::Location;

/// The commands the workflow code issued do not match the history: the code changed in a way
/// that breaks runs already in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nondeterminism {
    /// The history event where code and history part ways.
    pub event_id: i64,
    /// What the history has there, e.g. `ActivityTaskScheduled(activity_id=1, type=greet)`.
    pub history: String,
    /// What the code did instead, e.g. `StartTimer(timer_id=1, 2s)` or `no command`.
    pub code: String,
    /// Where in the workflow code the mismatching command was issued, if known.
    pub location: Option<&'static Location<'static>>,
}

impl fmt::Display for Nondeterminism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "nondeterminism at event {}: history has {} but the workflow code issued {}",
            self.event_id, self.history, self.code
        )?;
        if let Some(location) = self.location {
            write!(f, " (at {}:{})", location.file(), location.line())?;
        }
        Ok(())
    }
}

impl std::error::Error for Nondeterminism {}

/// Why a workflow task failed (the workflow itself goes on, and the task is retried).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskFailureKind {
    /// Code and history disagree.
    Nondeterminism(Nondeterminism),
    /// Workflow code panicked.
    Panic(String),
    /// Workflow code kept waking itself without ever waiting: a livelock, stopped after
    /// `polls` polls in one workflow task.
    Livelock {
        /// How many polls the workflow task allowed.
        polls: usize,
    },
    /// The workflow type is not registered on this worker.
    UnknownWorkflowType {
        /// The type the task is for.
        workflow_type: String,
        /// What this worker has.
        registered: Vec<String>,
    },
    /// The history holds something this version of Chronicle cannot process.
    Unsupported(String),
    /// The history is malformed.
    BadHistory(String),
}

/// A workflow task failure, with the cause reported to the server.
#[derive(Debug, Clone)]
pub struct TaskFailure {
    /// What went wrong.
    pub kind: TaskFailureKind,
}

impl TaskFailure {
    pub(crate) fn new(kind: TaskFailureKind) -> Self {
        Self { kind }
    }

    pub(crate) fn bad_history(message: impl Into<String>) -> Self {
        Self::new(TaskFailureKind::BadHistory(message.into()))
    }

    /// The cause reported in `RespondWorkflowTaskFailed`.
    pub fn cause(&self) -> WorkflowTaskFailedCause {
        match self.kind {
            TaskFailureKind::Nondeterminism(_) => WorkflowTaskFailedCause::NonDeterministicError,
            _ => WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure,
        }
    }

    /// The failure reported to the server (and shown in the history and UI).
    pub fn to_failure(&self) -> Failure {
        let error_type = match self.kind {
            TaskFailureKind::Nondeterminism(_) => "NondeterminismError",
            TaskFailureKind::Panic(_) => "Panic",
            TaskFailureKind::Livelock { .. } => "LivelockError",
            TaskFailureKind::UnknownWorkflowType { .. } => "NotFoundError",
            TaskFailureKind::Unsupported(_) => "UnsupportedError",
            TaskFailureKind::BadHistory(_) => "BadHistoryError",
        };
        Failure::application(self.to_string(), error_type)
    }
}

impl fmt::Display for TaskFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            TaskFailureKind::Nondeterminism(n) => n.fmt(f),
            TaskFailureKind::Panic(message) => write!(f, "workflow code panicked: {message}"),
            TaskFailureKind::Livelock { polls } => write!(
                f,
                "livelock: workflow code was still waking itself after {polls} polls without \
                 waiting on anything"
            ),
            TaskFailureKind::UnknownWorkflowType {
                workflow_type,
                registered,
            } => write!(
                f,
                "workflow type {workflow_type:?} is not registered on this worker (registered: {})",
                list_or_none(registered)
            ),
            TaskFailureKind::Unsupported(what) => {
                write!(f, "not supported by Chronicle yet: {what}")
            }
            TaskFailureKind::BadHistory(what) => write!(f, "malformed history: {what}"),
        }
    }
}

impl std::error::Error for TaskFailure {}
