//! Workflow runs: the deterministic side of Chronicle.
//!
//! A workflow task arrives with the run's history. [`run::WorkflowRun`] walks it from the start,
//! driving the workflow code through the `executor` at each workflow task in the history and
//! matching the commands the code issues (through [`RunHandle`], one machine per command in
//! `machines`, held in the run's `state`) against the command events the history recorded.
//! What the code issues beyond the recorded history are the new commands sent back to the
//! server.
//!
//! The modules, top down: `run` (the coordinator) uses `state`, `handle` and `executor`;
//! `handle` and `state` use `machines`; `machines` use only `slot`, `options` and the crate's
//! base modules. Nothing points back up.
#![warn(missing_debug_implementations)]

mod definition;
mod error;
mod executor;
mod handle;
mod info;
pub(crate) mod machines;
mod options;
pub mod run;
mod slot;
mod state;

pub use definition::{
    HandlerError, HandlerKind, UpdateFuture, WorkflowFactory, WorkflowFuture, WorkflowHandlers,
    WorkflowInstance, UNKNOWN_UPDATE,
};
pub use error::{Nondeterminism, TaskFailure, TaskFailureKind};
pub use handle::{
    ActivityHandle, ActivityRequest, ChildHandle, ExternalHandle, RunHandle, TimerHandle,
};
pub use handle::{
    LocalActivityCall, LocalActivityHandle, LocalActivityOptions, LocalActivityOutcome,
    LocalActivityRequest, DEFAULT_LOCAL_RETRY_THRESHOLD,
};
pub use info::WorkflowInfo;
pub use options::{
    ActivityCancellationType, ActivityOptions, ChildWorkflowCancellationType, ChildWorkflowRequest,
    ContinueAsNew, ParentClosePolicy, WorkflowExit,
};
pub use run::{answer_query, QueryFailure};
