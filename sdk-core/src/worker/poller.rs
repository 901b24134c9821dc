//! The loop every poller runs, whatever kind of task it asks for.

use super::{Shared, ShutdownHandle};
use crate::connection::RetryOptions;
use crate::proto::enums::TaskQueueKind;
use crate::proto::taskqueue::TaskQueue;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Polls with `poll` and spawns `handle` for each task, until shutdown.
///
/// A permit is taken before each poll and handed to the handler with the task, so a worker at
/// its concurrency limit stops asking for work. `poll` returns `None` when the long poll
/// expired empty. Errors back off exponentially (a server restart must not spin the loop).
pub(super) async fn poll_loop<T, P, PF, H, HF>(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    shutdown: ShutdownHandle,
    kind: &'static str,
    poll: P,
    handle: H,
) where
    P: Fn(Arc<Shared>) -> PF,
    PF: Future<Output = Result<Option<T>, tonic::Status>>,
    H: Fn(Arc<Shared>, T, OwnedSemaphorePermit) -> HF,
    HF: Future<Output = ()> + Send + 'static,
{
    let retry = RetryOptions::default();
    let mut failures = 0;
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = shutdown.requested() => return,
        };
        let polled = tokio::select! {
            r = crate::telemetry::observe_poll(&shared.telemetry, kind, poll(shared.clone())) => r,
            _ = shutdown.requested() => return,
        };
        match polled {
            Ok(Some(task)) => {
                failures = 0;
                tokio::spawn(handle(shared.clone(), task, permit));
            }
            Ok(None) => failures = 0,
            Err(status) => {
                drop(permit);
                if status.code() != tonic::Code::DeadlineExceeded {
                    tracing::warn!(%status, "{kind} task poll failed");
                }
                let delay = retry.delay(failures);
                failures += 1;
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.requested() => return,
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
