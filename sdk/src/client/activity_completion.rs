//! Completing an activity from outside its worker: an activity that returned
//! `ctx.will_complete_async()` stays open on the server until a client completes, fails or
//! cancels it (or it times out), naming it by its task token or by its workflow and activity
//! ids. Heartbeats keep it alive meanwhile and tell the caller whether it was asked to stop.
//!
//! ```no_run
//! # async fn f(client: chronicle::Client, token: Vec<u8>) -> Result<(), chronicle::client::ClientError> {
//! use chronicle::client::AsyncActivityId;
//! // By the task token the activity handed out (`ctx.info().task_token`):
//! client.async_activity(token).complete(&"approved").await?;
//! // By ids (the latest run of the workflow unless a run id is given):
//! client
//!     .async_activity(AsyncActivityId::by_ids("order-17", "approve"))
//!     .fail(chronicle::ActivityError::non_retryable("rejected"))
//!     .await?;
//! # Ok(()) }
//! ```

use super::ClientError;
use crate::ActivityError;
use chronicle_core::activity::CancellationReason;
use chronicle_core::payload::{self, Payload};
use chronicle_core::proto::workflowservice::{
    RecordActivityTaskHeartbeatByIdRequest, RecordActivityTaskHeartbeatRequest,
    RespondActivityTaskCanceledByIdRequest, RespondActivityTaskCanceledRequest,
    RespondActivityTaskCompletedByIdRequest, RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedByIdRequest, RespondActivityTaskFailedRequest,
};
use chronicle_core::Connection;
use serde::Serialize;

/// Which activity an [`AsyncActivityHandle`] acts on.
#[derive(Clone, PartialEq, Eq)]
pub enum AsyncActivityId {
    /// The task token of the attempt (`ActivityInfo::task_token`).
    TaskToken(Vec<u8>),
    /// The activity `activity_id` of workflow `workflow_id`: of run `run_id`, or of the
    /// workflow's latest run when `None`.
    Ids {
        /// The workflow id.
        workflow_id: String,
        /// The run id; `None` for the latest run.
        run_id: Option<String>,
        /// The activity id.
        activity_id: String,
    },
}

impl AsyncActivityId {
    /// The activity `activity_id` of the latest run of workflow `workflow_id`.
    pub fn by_ids(workflow_id: impl Into<String>, activity_id: impl Into<String>) -> Self {
        AsyncActivityId::Ids {
            workflow_id: workflow_id.into(),
            run_id: None,
            activity_id: activity_id.into(),
        }
    }

    /// Narrows ids to one run of the workflow; a task token names its run already and stays
    /// as it is.
    pub fn run_id(self, run: impl Into<String>) -> Self {
        match self {
            AsyncActivityId::Ids {
                workflow_id,
                activity_id,
                ..
            } => AsyncActivityId::Ids {
                workflow_id,
                run_id: Some(run.into()),
                activity_id,
            },
            token => token,
        }
    }
}

impl From<Vec<u8>> for AsyncActivityId {
    fn from(token: Vec<u8>) -> Self {
        AsyncActivityId::TaskToken(token)
    }
}

impl From<&[u8]> for AsyncActivityId {
    fn from(token: &[u8]) -> Self {
        AsyncActivityId::TaskToken(token.to_vec())
    }
}

impl std::fmt::Debug for AsyncActivityId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // A token is opaque and long: its length says enough in a log.
            AsyncActivityId::TaskToken(token) => {
                write!(f, "TaskToken({} bytes)", token.len())
            }
            AsyncActivityId::Ids {
                workflow_id,
                run_id,
                activity_id,
            } => f
                .debug_struct("Ids")
                .field("workflow_id", workflow_id)
                .field("run_id", run_id)
                .field("activity_id", activity_id)
                .finish(),
        }
    }
}

/// Completes, fails, cancels or heartbeats one activity that a worker left open with
/// `ctx.will_complete_async()`. Made by [`Client::async_activity`](super::Client::async_activity).
///
/// Each call fails with [`ClientError::Rpc`] and code `NotFound` when the server no longer
/// waits for the activity (it completed, timed out, or its workflow closed).
#[derive(Clone, Debug)]
pub struct AsyncActivityHandle {
    conn: Connection,
    id: AsyncActivityId,
}

impl AsyncActivityHandle {
    pub(crate) fn new(conn: Connection, id: AsyncActivityId) -> Self {
        Self { conn, id }
    }

    /// Which activity this handle acts on.
    pub fn id(&self) -> &AsyncActivityId {
        &self.id
    }

    /// Completes the activity with `result`, which the workflow receives as the activity's
    /// output.
    pub async fn complete<T: Serialize + ?Sized>(&self, result: &T) -> Result<(), ClientError> {
        let result = payload::encode(result).map_err(ClientError::Encode)?;
        self.complete_payloads(vec![result]).await
    }

    /// Completes the activity with already encoded output.
    pub async fn complete_payloads(&self, result: Vec<Payload>) -> Result<(), ClientError> {
        let (identity, namespace) = self.who();
        let result = payload::to_payloads(result);
        match &self.id {
            AsyncActivityId::TaskToken(token) => {
                let request = RespondActivityTaskCompletedRequest {
                    task_token: token.clone(),
                    result,
                    identity,
                    namespace,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskCompleted",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_completed(r).await },
                )
                .await
                .map(drop)
            }
            AsyncActivityId::Ids {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = RespondActivityTaskCompletedByIdRequest {
                    namespace,
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone().unwrap_or_default(),
                    activity_id: activity_id.clone(),
                    result,
                    identity,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskCompletedById",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_completed_by_id(r).await },
                )
                .await
                .map(drop)
            }
        }
    }

    /// Fails this attempt with `error`; the server retries the activity as its retry policy
    /// says (not at all when the error is non-retryable).
    pub async fn fail(&self, error: impl Into<ActivityError>) -> Result<(), ClientError> {
        let failure = Some(error.into().into_failure().into_proto());
        let (identity, namespace) = self.who();
        match &self.id {
            AsyncActivityId::TaskToken(token) => {
                let request = RespondActivityTaskFailedRequest {
                    task_token: token.clone(),
                    failure,
                    identity,
                    namespace,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskFailed",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_failed(r).await },
                )
                .await
                .map(drop)
            }
            AsyncActivityId::Ids {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = RespondActivityTaskFailedByIdRequest {
                    namespace,
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone().unwrap_or_default(),
                    activity_id: activity_id.clone(),
                    failure,
                    identity,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskFailedById",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_failed_by_id(r).await },
                )
                .await
                .map(drop)
            }
        }
    }

    /// Reports the activity canceled, as an activity does after a cancel request: the
    /// workflow sees it as canceled. The server accepts it only once the workflow asked to
    /// cancel the activity.
    pub async fn report_canceled(&self) -> Result<(), ClientError> {
        let (identity, namespace) = self.who();
        match &self.id {
            AsyncActivityId::TaskToken(token) => {
                let request = RespondActivityTaskCanceledRequest {
                    task_token: token.clone(),
                    identity,
                    namespace,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskCanceled",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_canceled(r).await },
                )
                .await
                .map(drop)
            }
            AsyncActivityId::Ids {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = RespondActivityTaskCanceledByIdRequest {
                    namespace,
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone().unwrap_or_default(),
                    activity_id: activity_id.clone(),
                    identity,
                    ..Default::default()
                };
                self.call(
                    "RespondActivityTaskCanceledById",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_canceled_by_id(r).await },
                )
                .await
                .map(drop)
            }
        }
    }

    /// Records a heartbeat with `details` (which a retry reads as the last heartbeat details)
    /// and keeps the activity's heartbeat timeout from firing. Returns why the activity
    /// should stop, if the server says it should: the workflow asked to cancel it
    /// ([`CancellationReason::CancelRequested`], then finish with
    /// [`report_canceled`](Self::report_canceled)), or an operator paused or reset it.
    ///
    /// Unlike a worker's heartbeats, each call is one RPC: throttle as needed.
    pub async fn heartbeat<T: Serialize + ?Sized>(
        &self,
        details: &T,
    ) -> Result<Option<CancellationReason>, ClientError> {
        let details = payload::encode(details).map_err(ClientError::Encode)?;
        let details = payload::to_payloads(vec![details]);
        let (identity, namespace) = self.who();
        let flags = match &self.id {
            AsyncActivityId::TaskToken(token) => {
                let request = RecordActivityTaskHeartbeatRequest {
                    task_token: token.clone(),
                    details,
                    identity,
                    namespace,
                    ..Default::default()
                };
                let r = self
                    .call(
                        "RecordActivityTaskHeartbeat",
                        request,
                        |mut svc, r| async move { svc.record_activity_task_heartbeat(r).await },
                    )
                    .await?;
                (r.cancel_requested, r.activity_paused, r.activity_reset)
            }
            AsyncActivityId::Ids {
                workflow_id,
                run_id,
                activity_id,
            } => {
                let request = RecordActivityTaskHeartbeatByIdRequest {
                    namespace,
                    workflow_id: workflow_id.clone(),
                    run_id: run_id.clone().unwrap_or_default(),
                    activity_id: activity_id.clone(),
                    details,
                    identity,
                    ..Default::default()
                };
                let r = self
                    .call("RecordActivityTaskHeartbeatById", request, |mut svc, r| async move {
                        svc.record_activity_task_heartbeat_by_id(r).await
                    })
                    .await?;
                (r.cancel_requested, r.activity_paused, r.activity_reset)
            }
        };
        Ok(CancellationReason::from_heartbeat_response(
            flags.0, flags.1, flags.2,
        ))
    }

    fn who(&self) -> (String, String) {
        (
            self.conn.identity().to_string(),
            self.conn.namespace().to_string(),
        )
    }

    /// One RPC through the connection's retries; errors become [`ClientError::Rpc`].
    async fn call<Req, T, F, Fut>(
        &self,
        rpc: &'static str,
        request: Req,
        f: F,
    ) -> Result<T, ClientError>
    where
        Req: chronicle_core::connection::ApiMessage + Clone,
        T: chronicle_core::connection::ApiMessage,
        F: FnMut(chronicle_core::connection::WorkflowService, tonic::Request<Req>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.conn
            .unary(rpc, request, f)
            .await
            .map_err(|status| ClientError::Rpc { rpc, status })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_the_latest_run_unless_narrowed() {
        let id = AsyncActivityId::by_ids("order-1", "approve");
        assert_eq!(
            id,
            AsyncActivityId::Ids {
                workflow_id: "order-1".into(),
                run_id: None,
                activity_id: "approve".into()
            }
        );
        let AsyncActivityId::Ids { run_id, .. } = id.run_id("run-9") else {
            panic!("ids stay ids");
        };
        assert_eq!(run_id.as_deref(), Some("run-9"));
        let token = AsyncActivityId::from(vec![1, 2, 3]);
        assert_eq!(token.clone().run_id("ignored"), token);
        assert_eq!(format!("{token:?}"), "TaskToken(3 bytes)");
    }
}
