//! Heartbeats: the activity records details, a background task sends the latest at a throttled
//! pace, so a chatty activity costs one RPC per interval, not one per call.

use crate::connection::Connection;
use crate::payload::{self, Payload};
use crate::proto::workflowservice::RecordActivityTaskHeartbeatRequest;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// The activity's side of the heartbeat channel.
#[derive(Clone)]
pub(crate) struct Heartbeater {
    shared: Arc<Shared>,
}

struct Shared {
    latest: Mutex<Option<Vec<Payload>>>,
    changed: Notify,
    cancel_requested: AtomicBool,
    cancel_notify: Notify,
    done: AtomicBool,
    started: AtomicBool,
    connection: Connection,
    task_token: Vec<u8>,
    throttle: Duration,
}

impl Heartbeater {
    pub(crate) fn new(
        connection: Connection,
        task_token: Vec<u8>,
        heartbeat_timeout: Option<Duration>,
    ) -> Self {
        // Send well before the timeout; 30 s when the activity has no heartbeat timeout.
        let throttle = heartbeat_timeout
            .map(|t| t.mul_f64(0.8))
            .unwrap_or(Duration::from_secs(30))
            .max(Duration::from_millis(100));
        Self {
            shared: Arc::new(Shared {
                latest: Mutex::new(None),
                changed: Notify::new(),
                cancel_requested: AtomicBool::new(false),
                cancel_notify: Notify::new(),
                done: AtomicBool::new(false),
                started: AtomicBool::new(false),
                connection,
                task_token,
                throttle,
            }),
        }
    }

    pub(crate) fn record(&self, details: Vec<Payload>) {
        if let Ok(mut latest) = self.shared.latest.lock() {
            *latest = Some(details);
        }
        if !self.shared.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(send_loop(self.shared.clone()));
        }
        self.shared.changed.notify_one();
    }

    pub(crate) fn cancel_requested(&self) -> bool {
        self.shared.cancel_requested.load(Ordering::Acquire)
    }

    /// Resolves once a heartbeat response asked to cancel.
    pub(crate) async fn cancelled(&self) {
        loop {
            // Created before the check: `notify_waiters` reaches it even if not polled yet.
            let notified = self.shared.cancel_notify.notified();
            if self.cancel_requested() {
                return;
            }
            notified.await;
        }
    }

    /// Stops the background sender once the activity has finished.
    pub(crate) fn finish(&self) {
        self.shared.done.store(true, Ordering::Release);
        self.shared.changed.notify_one();
    }
}

async fn send_loop(shared: Arc<Shared>) {
    loop {
        let details = shared.latest.lock().ok().and_then(|mut l| l.take());
        if let Some(details) = details {
            let request = RecordActivityTaskHeartbeatRequest {
                task_token: shared.task_token.clone(),
                details: payload::to_payloads(details),
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            let result = shared
                .connection
                .call("RecordActivityTaskHeartbeat", |mut svc| {
                    let request = request.clone();
                    async move { svc.record_activity_task_heartbeat(request).await }
                })
                .await;
            match result {
                Ok(response) if response.cancel_requested => {
                    shared.cancel_requested.store(true, Ordering::Release);
                    shared.cancel_notify.notify_waiters();
                }
                Ok(_) => {}
                // NotFound: the attempt timed out, or the workflow closed. Nobody wants the
                // result any more: the activity is told to stop, as for a cancellation.
                Err(status) if status.code() == tonic::Code::NotFound => {
                    shared.cancel_requested.store(true, Ordering::Release);
                    shared.cancel_notify.notify_waiters();
                    return;
                }
                Err(status) => tracing::warn!(%status, "heartbeat failed"),
            }
            tokio::time::sleep(shared.throttle).await;
        }
        if shared.done.load(Ordering::Acquire) {
            return;
        }
        shared.changed.notified().await;
        if shared.done.load(Ordering::Acquire)
            && shared.latest.lock().map(|l| l.is_none()).unwrap_or(true)
        {
            return;
        }
    }
}
