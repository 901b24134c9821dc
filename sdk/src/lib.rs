//! Chronicle: durable workflows on Temporal, in plain async Rust.
//!
//! ```no_run
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
//!
//! # Where things are
//!
//! - Workflow code: [`WorkflowContext`] (in the [`prelude`]) and the futures it hands out, in
//!   [`workflow`](mod@workflow).
//! - Activity code: [`ActivityContext`], [`ActivityError`].
//! - Starting and talking to workflows: [`Client`], [`WorkflowHandle`] and [`client`].
//! - Running them: [`Worker`]; checking that changed code still replays: [`Replayer`].
//! - Data on the wire: [`payload`] ([`Payload`], [`payload::encode`]), histories in [`history`]
//!   ([`History`]), and the raw Temporal API messages in [`proto`].
//!
//! # Errors and `?`
//!
//! Types named `*Error` are raised by your code or by Chronicle locally; types named
//! `*Failure` are received from Temporal (an activity, a child, another workflow failed).
//!
//! `?` works differently in the two kinds of code, on purpose:
//!
//! - **In an activity**, any `std::error::Error + Send + Sync + 'static` converts into
//!   [`ActivityError`] (retryable, its `source()` chain kept), so `?` on an `io::Error` or a
//!   `reqwest::Error` just works. The price: `ActivityError` itself is not a
//!   `std::error::Error` (the blanket conversion would conflict with it).
//! - **In a workflow**, only what Chronicle knows converts into [`WorkflowError`]:
//!   [`ActivityFailure`], [`ChildWorkflowFailure`], [`ExternalWorkflowFailure`], [`Canceled`],
//!   [`PayloadError`] and [`Failure`]. Arbitrary errors do not, because a workflow's failure is
//!   recorded and replayed: say what it means with [`WorkflowError::new`] and
//!   [`with_type`](WorkflowError::with_type), e.g.
//!   `.map_err(|e| WorkflowError::new(e.to_string()).with_type("InvalidInput"))?`.
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]

pub mod client;
mod definition;
mod determinism;
mod error;
mod handlers;
pub mod replay;
pub mod testing;
mod worker;
pub mod workflow;

/// Histories of workflow runs: load, save and inspect them (see [`History`]).
pub mod history {
    pub use chronicle_core::history::{History, HistoryError, HistoryEvent};
}

/// How values travel: one [`Payload`] per argument or result, in the encoding the other SDKs
/// use for it (`json/plain`, `binary/plain` for [`Bytes`](crate::payload::Bytes) and `Vec<u8>`,
/// `binary/protobuf` and `json/protobuf` for [`Proto`](crate::payload::Proto) and
/// [`ProtoJson`](crate::payload::ProtoJson), `binary/null`), then through the codecs of the
/// client's [`DataConverter`](crate::payload::DataConverter).
///
/// [`encode`](crate::payload::encode) and [`decode`](crate::payload::decode) are what the typed API uses; call them for the untyped forms
/// (`start_by_name`, `child_workflow_by_name`, `signal_payloads`).
pub mod payload {
    pub use chronicle_core::payload::{
        codec, decode, decode_single, encode, Bytes, CodecError, DataConverter, Payload,
        PayloadCodec, PayloadError, Proto, ProtoJson, RawValue, ENCODED_FAILURE_MESSAGE, ENCODING,
        MESSAGE_TYPE,
    };
}

/// The raw Temporal API messages (`temporal.api.*`), for what the typed API does not wrap: the
/// events of a [`History`], calls on [`Connection::raw`](crate::Connection).
pub use chronicle_core::proto;

/// Connecting, retries and call options, TLS and API keys: everything the connection's
/// signatures name ([`CallOptions`](connection::CallOptions), [`RetryUntil`](connection::RetryUntil), ...).
pub use chronicle_core::connection;

/// Logging, metrics and worker heartbeats: [`TelemetryOptions`](telemetry::TelemetryOptions) and the
/// metric registry.
pub use chronicle_core::telemetry;

pub use chronicle_core::activity::{
    ActivityContext, ActivityInfo, AppData, CancellationReason, WillCompleteAsync,
};
pub use chronicle_core::connection::{ConfigError, Tls, TlsOptions};
pub use chronicle_core::connection::{
    Connection, ConnectionError, ConnectionOptions, RetryOptions,
};
pub use chronicle_core::failure::{Failure, FailureKind};
pub use chronicle_core::retry_policy::RetryPolicy;
pub use chronicle_core::search_attributes::SearchAttribute;
pub use chronicle_core::workflow::ChildWorkflowCancellationType;
pub use chronicle_core::workflow::WorkflowInfo;
pub use chronicle_core::workflow::{ActivityCancellationType, ParentClosePolicy};
pub use chronicle_macros::{activity, query, run, signal, update, workflow};
pub use client::{Client, WorkflowHandle};
pub use definition::{ActivityDefinition, RunFn, UpdateRejection, WorkflowDefinition};
pub use error::{
    ActivityError, ActivityFailure, Canceled, ChildWorkflowFailure, ExternalWorkflowFailure,
    WorkflowError, WorkflowResult,
};
pub use handlers::{AsyncHandler, NotAHandler, QueryFn, SignalFn, SignalReturn, UpdateFn};
pub use history::History;
pub use payload::{Payload, PayloadError};
pub use replay::{Nondeterminism, ReplayError, ReplayFailures, Replayer};
pub use uuid::Uuid;
pub use worker::{shutdown_signal, ShutdownHandle, Worker, WorkerError, WorkerOptions};
pub use workflow::WorkflowContext;

/// Everything a workflow or activity module usually needs.
pub mod prelude {
    pub use crate::{
        activity, query, run, signal, update, workflow, ActivityContext, ActivityError, Canceled,
        Client, ConnectionOptions, RetryPolicy, Worker, WorkflowContext, WorkflowError,
        WorkflowResult,
    };
    pub use std::time::Duration;
}

/// The README's Rust snippets, compiled as doctests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// What generated code reaches; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::definition::{
        ActivityDefinition, ActivityReturn, WorkflowDefinition, WorkflowReturn,
    };
    pub use crate::definition::{UpdateFuture, UpdateRejection};
    pub use crate::determinism::{require_ordered, OrderedProbe, Probe, UnorderedProbe};
    pub use crate::handlers::{assert_deserialize, assert_serialize, encode_answer, type_id_of};
    pub use crate::handlers::{encode_update_result, validated, SignalReturn};
    pub use crate::{ActivityContext, ActivityError, WorkflowContext, WorkflowError};
    pub use chronicle_core::payload::{self, ArgReader, Payload, PayloadError};
    pub use futures::future::{BoxFuture, LocalBoxFuture};
    pub use std::any::TypeId;
    pub use std::boxed::Box;
    pub use std::convert::Into;
    pub use std::option::Option::{self, None, Some};
    pub use std::result::Result::{self, Err, Ok};
    pub use std::vec::Vec;
}
