//! The engine behind Chronicle.
//!
//! Data flows one way: Temporal server → [`worker`] pollers → [`workflow::run`] (history matched
//! against the commands the code issues) → the executor in [`workflow`] (your async fn) →
//! commands → `RespondWorkflowTaskCompleted`. Activities take the short road: poller → your async fn →
//! `RespondActivityTask*`.
//!
//! Users normally depend on the `chronicle` crate, which wraps this one in a typed API.
#![warn(missing_docs, missing_debug_implementations)]

pub mod activity;
pub mod connection;
pub mod failure;
pub mod history;
pub mod payload;
pub mod proto;
pub mod retry_policy;
pub mod search_attributes;
pub mod telemetry;
pub mod text;
pub mod worker;
pub mod workflow;

pub use connection::{Connection, ConnectionError, ConnectionOptions};
pub use failure::Failure;
pub use payload::{Payload, PayloadError};
