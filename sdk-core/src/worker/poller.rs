//! The loop every poller runs, whatever kind of task it asks for, and how pollers stop.

use super::{Shared, ShutdownHandle};
use crate::connection::WorkflowService;
use crate::connection::LONG_POLL_TIMEOUT;
use crate::proto::enums::TaskQueueKind;
use crate::proto::taskqueue::TaskQueue;
use crate::proto::workflowservice::{
    PollActivityTaskQueueResponse, PollWorkflowTaskQueueResponse, RespondActivityTaskFailedRequest,
    RespondWorkflowTaskFailedRequest,
};
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

/// A poll response, which is empty (no task token) when the long poll expired.
pub(super) trait PolledTask:
    prost::Message + prost::Name + Default + Send + 'static
{
    /// The token that names the task; empty when there is no task.
    fn task_token(&self) -> &[u8];

    /// Fails a task whose payloads the worker's codecs could not decode, so that the failure
    /// shows in the workflow's history (and the server retries the task) instead of a silent
    /// timeout.
    fn fail_undecodable(
        shared: Arc<Shared>,
        task: Self,
        error: tonic::Status,
    ) -> BoxFuture<'static, ()>;
}

fn undecodable_failure(error: &tonic::Status) -> crate::Failure {
    crate::Failure::application(
        format!(
            "the worker could not decode the task's payloads: {}",
            error.message()
        ),
        "PayloadCodecError",
    )
}

impl PolledTask for PollWorkflowTaskQueueResponse {
    fn task_token(&self) -> &[u8] {
        &self.task_token
    }

    fn fail_undecodable(
        shared: Arc<Shared>,
        task: Self,
        error: tonic::Status,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let request = RespondWorkflowTaskFailedRequest {
                task_token: task.task_token,
                cause: crate::proto::enums::WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure
                    as i32,
                failure: Some(undecodable_failure(&error).into_proto()),
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            let sent = shared
                .connection
                .unary(
                    "RespondWorkflowTaskFailed",
                    request,
                    |mut svc, r| async move { svc.respond_workflow_task_failed(r).await },
                )
                .await;
            tracing::error!(%error, reported = sent.is_ok(), "could not decode a workflow task's payloads");
        })
    }
}

impl PolledTask for PollActivityTaskQueueResponse {
    fn task_token(&self) -> &[u8] {
        &self.task_token
    }

    fn fail_undecodable(
        shared: Arc<Shared>,
        task: Self,
        error: tonic::Status,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let request = RespondActivityTaskFailedRequest {
                task_token: task.task_token,
                failure: Some(undecodable_failure(&error).into_proto()),
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            let sent = shared
                .connection
                .unary(
                    "RespondActivityTaskFailed",
                    request,
                    |mut svc, r| async move { svc.respond_activity_task_failed(r).await },
                )
                .await;
            tracing::error!(%error, reported = sent.is_ok(), "could not decode an activity task's payloads");
        })
    }
}

/// How pollers stop, in two steps.
///
/// First no new poll starts (the user's [`ShutdownHandle`]); polls already waiting on the
/// server are left to end where the server completes them on `ShutdownWorker`, because the
/// server may already have handed them a task, which would be lost with the poll. Elsewhere
/// they are dropped ([`abort_polls`](Self::abort_polls)).
#[derive(Debug, Clone)]
pub(super) struct PollerControl {
    shutdown: ShutdownHandle,
    abort: Arc<watch::Sender<bool>>,
}

impl PollerControl {
    pub(super) fn new(shutdown: ShutdownHandle) -> Self {
        Self {
            shutdown,
            abort: Arc::new(watch::channel(false).0),
        }
    }

    /// Drops the polls still waiting on the server.
    pub(super) fn abort_polls(&self) {
        self.abort.send_replace(true);
    }

    async fn aborted(&self) {
        let mut rx = self.abort.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _ = rx.wait_for(|aborted| *aborted).await;
    }
}

/// Long-polls with `request` through `rpc` and spawns `handle` for each task, until shutdown.
///
/// A permit is taken before each poll and handed to the handler with the task, so a worker at
/// its concurrency limit stops asking for work. Errors back off exponentially with jitter and
/// the loop never gives up on its own: a server restart or a cut connection must not stop a
/// worker.
pub(super) async fn poll_loop<Req, T, P, PF, H, HF>(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    control: PollerControl,
    kind: &'static str,
    request: Req,
    rpc: P,
    handle: H,
) where
    Req: Clone,
    T: PolledTask,
    P: Fn(WorkflowService, tonic::Request<Req>) -> PF,
    PF: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    H: Fn(Arc<Shared>, T, OwnedSemaphorePermit) -> HF + Clone + Send + 'static,
    HF: Future<Output = ()> + Send + 'static,
{
    let retry = &shared.connection.options().retry;
    let mut failures = 0;
    loop {
        if control.shutdown.is_requested() {
            return;
        }
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = control.shutdown.requested() => return,
        };
        let mut poll = tonic::Request::new(request.clone());
        poll.set_timeout(LONG_POLL_TIMEOUT);
        let polled = async {
            let task = rpc(shared.connection.raw(), poll).await?.into_inner();
            Ok((!task.task_token().is_empty()).then_some(task))
        };
        let polled = tokio::select! {
            polled = crate::telemetry::observe_poll(&shared.telemetry, kind, polled) => polled,
            _ = control.aborted() => return,
        };
        match polled {
            Ok(None) => failures = 0,
            Ok(Some(mut task)) => {
                failures = 0;
                let (shared, handle) = (shared.clone(), handle.clone());
                // Decoded in the task's own future: a slow codec (a key service) must not hold
                // up the next poll.
                tokio::spawn(async move {
                    match shared.connection.decode_response(&mut task).await {
                        Ok(()) => handle(shared, task, permit).await,
                        Err(error) => T::fail_undecodable(shared, task, error).await,
                    }
                });
            }
            // The server ends outstanding polls when the worker shuts down.
            Err(_) if control.shutdown.is_requested() => return,
            Err(status) => {
                drop(permit);
                // An expired long poll is routine; anything else repeated is an outage.
                if status.code() != tonic::Code::DeadlineExceeded {
                    if failures % 20 == 0 {
                        tracing::warn!(%status, "{kind} task poll failed; retrying until it works");
                    } else {
                        tracing::debug!(%status, failures, "{kind} task poll failed again");
                    }
                }
                let delay = retry.jittered_delay(failures);
                failures = failures.saturating_add(1);
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = control.shutdown.requested() => return,
                }
            }
        }
    }
}

/// The worker's task queue, as poll requests name it.
pub(super) fn task_queue(shared: &Shared) -> TaskQueue {
    TaskQueue {
        name: shared.options.task_queue.clone(),
        kind: TaskQueueKind::Normal as i32,
        ..Default::default()
    }
}
