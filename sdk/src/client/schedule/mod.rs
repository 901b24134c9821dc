//! Schedules: start a `#[workflow]` at intervals, cron times or calendar times, managed from
//! the client.
//!
//! ```no_run
//! # use chronicle::prelude::*;
//! # #[derive(Default)] struct Report;
//! # #[workflow] impl Report { #[run] async fn run(_ctx: WorkflowContext<Self>, team: String) -> WorkflowResult<()> { Ok(()) } }
//! use chronicle::client::schedule::{Schedule, ScheduleOverlapPolicy, ScheduleSpec};
//! # async fn f(client: Client) -> Result<(), chronicle::client::schedule::ScheduleError> {
//! let spec = ScheduleSpec::interval(Duration::from_secs(3600));
//! let schedule = client
//!     .create_schedule("hourly-report", Schedule::new(Report::run, "ops".to_string(), spec).task_queue("reports"))
//!     .await?;
//! schedule.trigger(ScheduleOverlapPolicy::AllowAll).await?;
//! schedule.pause("quarter close").await?;
//! schedule.update(|s| s.spec = ScheduleSpec::cron("0 8 * * 1")).await?;
//! let description = schedule.describe().await?;
//! println!("{} actions so far", description.action_count);
//! schedule.delete().await?;
//! # Ok(()) }
//! ```
//!
//! The typed constructor [`Schedule::new`] takes the workflow's `#[run]` function and its
//! input, as [`Client::start`](crate::Client::start) does; [`Schedule::by_name`] takes a type
//! name and payloads, for workflows written with other SDKs.

mod handle;
mod list;
#[allow(clippy::module_inception)]
mod schedule;
mod spec;

pub use handle::{ScheduleActionResult, ScheduleBackfill, ScheduleDescription, ScheduleHandle};
pub use list::ScheduleSummary;
pub use schedule::{Schedule, ScheduleAction, ScheduleOverlapPolicy};
pub use spec::{ScheduleCalendar, ScheduleInterval, ScheduleRange, ScheduleSpec};

use super::{request_id, Client, ClientError};
use chronicle_core::proto::workflowservice::CreateScheduleRequest;
use chronicle_core::PayloadError;
use std::sync::Arc;
use tonic::{Code, Status};

/// A schedule call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A schedule with this id exists already.
    #[error("a schedule with id {schedule_id:?} already exists")]
    AlreadyExists {
        /// The id asked for.
        schedule_id: String,
    },
    /// No schedule with this id exists.
    #[error("schedule {schedule_id:?} not found")]
    NotFound {
        /// The id asked for.
        schedule_id: String,
    },
    /// The schedule was refused as it is (no task queue, a bad cron expression, ...).
    #[error("schedule {schedule_id:?} is invalid: {message}")]
    Invalid {
        /// The schedule's id.
        schedule_id: String,
        /// Why, in the server's words or ours.
        message: String,
    },
    /// The schedule changed between reading and writing it, more times than an update
    /// retries.
    #[error("schedule {schedule_id:?} kept changing while it was being updated")]
    Conflict {
        /// The schedule's id.
        schedule_id: String,
    },
    /// The workflow's input could not be encoded.
    #[error("could not encode the schedule's workflow input: {0}")]
    Encode(#[source] Arc<PayloadError>),
    /// Any other failure of the call (connection, server error, unexpected answer).
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl ScheduleError {
    /// Maps a gRPC error of `rpc` about schedule `schedule_id`.
    fn from_status(rpc: &'static str, schedule_id: &str, status: Status) -> Self {
        let schedule_id = schedule_id.to_string();
        match status.code() {
            Code::AlreadyExists => ScheduleError::AlreadyExists { schedule_id },
            Code::NotFound => ScheduleError::NotFound { schedule_id },
            Code::InvalidArgument => ScheduleError::Invalid {
                schedule_id,
                message: status.message().to_string(),
            },
            _ => ScheduleError::Client(ClientError::Rpc { rpc, status }),
        }
    }
}

impl Client {
    /// Creates a schedule with this id; its first action comes at the first time its spec
    /// names (or [`trigger`](ScheduleHandle::trigger) it now).
    pub async fn create_schedule(
        &self,
        schedule_id: impl Into<String>,
        schedule: Schedule,
    ) -> Result<ScheduleHandle, ScheduleError> {
        const RPC: &str = "CreateSchedule";
        let schedule_id = schedule_id.into();
        let conn = self.connection();
        let request = CreateScheduleRequest {
            namespace: conn.namespace().to_string(),
            schedule_id: schedule_id.clone(),
            schedule: Some(schedule.to_proto(&schedule_id)?),
            identity: conn.identity().to_string(),
            // One id for every attempt: a retried create is the same create.
            request_id: request_id(),
            ..Default::default()
        };
        conn.unary(RPC, request, |mut svc, request| async move {
            svc.create_schedule(request).await
        })
        .await
        .map_err(|status| ScheduleError::from_status(RPC, &schedule_id, status))?;
        Ok(self.schedule_handle(schedule_id))
    }

    /// A handle to the schedule with this id (no call is made).
    pub fn schedule_handle(&self, schedule_id: impl Into<String>) -> ScheduleHandle {
        ScheduleHandle::new(self.connection().clone(), schedule_id.into())
    }
}
