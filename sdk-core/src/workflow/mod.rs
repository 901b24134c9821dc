//! Workflow runs: the deterministic side of Chronicle.
//!
//! A workflow task arrives with the run's history. [`run::WorkflowRun`] walks it from the start,
//! driving the workflow code through the [`executor`] at each workflow task in the history and
//! matching the commands the code issues ([`state`], one machine per command in [`machines`])
//! against the command events the history recorded. What the code issues beyond the recorded
//! history are the new commands sent back to the server.

mod definition;
pub(crate) use definition::list_or_none;
mod error;
mod executor;
mod handlers;
pub(crate) mod machines;
mod other_workflows;
pub mod run;
mod slot;
mod state;

pub use definition::{
    HandlerError, HandlerKind, WorkflowFactory, WorkflowFuture, WorkflowHandlers, WorkflowInfo,
    WorkflowInstance,
};
pub use error::{Nondeterminism, TaskFailure, TaskFailureKind};
pub use handlers::{answer_query, QueryFailure};
pub use machines::activity::{ActivityCancellationType, ActivityOptions};
pub use machines::child::{ChildWorkflowRequest, ParentClosePolicy};
pub use machines::completion::{ContinueAsNew, WorkflowExit};
pub use other_workflows::{ChildHandle, ExternalHandle};
pub use state::{ActivityHandle, ActivityRequest, RunHandle, TimerHandle};
