//! Chronicle: durable workflows on Temporal, in plain async Rust.
//!
//! ```ignore
//! use chronicle::prelude::*;
//!
//! #[activity]
//! async fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
//!     Ok(format!("Hello, {name}!"))
//! }
//!
//! #[derive(Default)]
//! pub struct HelloWorkflow;
//!
//! #[workflow]
//! impl HelloWorkflow {
//!     #[run]
//!     async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
//!         Ok(ctx.activity(compose_greeting, name).await?)
//!     }
//! }
//! ```
#![warn(missing_docs)]

pub mod client;
mod definition;
mod determinism;
mod error;
mod handlers;
pub mod replay;
pub mod testing;
mod worker;
mod workflow;

pub use chronicle_core::activity::{
    ActivityContext, ActivityInfo, CancellationReason, WillCompleteAsync,
};
pub use chronicle_core::connection::{ConfigError, Tls, TlsOptions};
pub use chronicle_core::connection::{ConnectionOptions, RetryOptions};
pub use chronicle_core::failure::{Failure, FailureKind};
pub use chronicle_core::payload::PayloadError;
pub use chronicle_core::retry_policy::RetryPolicy;
pub use chronicle_core::search_attributes::SearchAttribute;
pub use chronicle_core::workflow::WorkflowInfo;
pub use chronicle_core::workflow::{ActivityCancellationType, ParentClosePolicy};
pub use chronicle_macros::{activity, query, run, signal, workflow};
pub use client::{Client, WorkflowHandle};
pub use definition::{ActivityDefinition, RunFn, WorkflowDefinition};
pub use error::{
    ActivityError, ActivityFailure, Canceled, ChildWorkflowFailure, ExternalWorkflowFailure,
    WorkflowError, WorkflowResult,
};
pub use handlers::{NotAHandler, QueryFn, SignalFn};
pub use replay::{ReplayError, ReplayFailures, Replayer};
pub use uuid::Uuid;
pub use worker::{shutdown_signal, ShutdownHandle, Worker, WorkerError, WorkerOptions};
pub use workflow::{
    ActivityCall, ActivityFuture, Cancelled, ChildResult, ChildStart, ChildWorkflow,
    ChildWorkflowCall, ExternalOperation, ExternalWorkflow, NonCancellable, Timer, WaitUntil,
    WaitUntilTimeout, WorkflowContext, WorkflowLogger, WORKFLOW_LOG_TARGET,
};

/// Everything a workflow or activity module usually needs.
pub mod prelude {
    pub use crate::{
        activity, query, run, signal, workflow, ActivityContext, ActivityError, Canceled, Client,
        ConnectionOptions, RetryPolicy, Worker, WorkflowContext, WorkflowError, WorkflowResult,
    };
    pub use std::time::Duration;
}

/// What generated code reaches; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::definition::{
        ActivityDefinition, ActivityReturn, WorkflowDefinition, WorkflowReturn,
    };
    pub use crate::determinism::{require_ordered, OrderedProbe, Probe, UnorderedProbe};
    pub use crate::handlers::{assert_deserialize, assert_serialize, encode_answer, type_id_of};
    pub use crate::{ActivityContext, ActivityError, WorkflowContext, WorkflowError};
    pub use chronicle_core::payload::{self, ArgReader, Payload, PayloadError};
    pub use futures::future::{BoxFuture, LocalBoxFuture};
    pub use std::any::TypeId;
    pub use std::boxed::Box;
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::{self, Err, Ok};
    pub use std::vec::Vec;
}
