//! Heartbeats: the activity records details, a background task sends the latest at a throttled
//! pace, so a chatty activity costs one RPC per interval, not one per call.
//!
//! The pace is the other SDKs': the first heartbeat goes out at once, later ones at most once
//! per 0.8 × the heartbeat timeout (at most [`MAX_THROTTLE`]), or once per
//! [`DEFAULT_THROTTLE`] when the activity has no heartbeat timeout. Details recorded within an
//! interval replace each other; the latest goes out when the interval ends. When the attempt
//! ends, [`Heartbeater::finish`] hands the latest details to the worker, which sends them with
//! the attempt's result, so details recorded just before a failure reach the next attempt.

use super::cancellation::{CancelSignal, CancellationReason};
use crate::connection::Connection;
use crate::payload::{self, Payload};
use crate::proto::workflowservice::{
    RecordActivityTaskHeartbeatRequest, RecordActivityTaskHeartbeatResponse,
};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// The interval when the activity has no heartbeat timeout (Temporal's core and Go SDK: 30 s).
pub const DEFAULT_THROTTLE: Duration = Duration::from_secs(30);
/// The longest interval, whatever the heartbeat timeout (Temporal's core and Go SDK: 60 s).
pub const MAX_THROTTLE: Duration = Duration::from_secs(60);

/// How long heartbeats of an activity with this heartbeat timeout wait for each other.
pub(crate) fn throttle_interval(heartbeat_timeout: Option<Duration>) -> Duration {
    match heartbeat_timeout.filter(|t| !t.is_zero()) {
        Some(timeout) => timeout.mul_f64(0.8).min(MAX_THROTTLE),
        None => DEFAULT_THROTTLE,
    }
}

/// The activity's side of the heartbeat channel.
#[derive(Clone)]
pub(crate) struct Heartbeater {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct State {
    /// The latest details recorded, sent or not.
    latest: Option<Vec<Payload>>,
    /// Whether `latest` has not been handed to a heartbeat yet.
    unsent: bool,
    /// Whether a send loop is running (it sends, waits an interval, and repeats while there is
    /// something new; then it ends, and the next `record` starts one that sends at once).
    sending: bool,
    /// The attempt ended, or the server no longer knows it: nothing more is sent.
    done: bool,
}

struct Shared {
    state: Mutex<State>,
    finished: Notify,
    cancel: Arc<CancelSignal>,
    connection: Connection,
    task_token: Vec<u8>,
    throttle: Duration,
}

/// What a heartbeater leaves when its attempt ends.
#[derive(Debug, Default)]
pub(crate) struct LastHeartbeat {
    /// The latest details recorded.
    pub details: Option<Vec<Payload>>,
    /// Whether they had not been sent yet.
    pub unsent: bool,
}

impl Heartbeater {
    pub(crate) fn new(
        connection: Connection,
        task_token: Vec<u8>,
        heartbeat_timeout: Option<Duration>,
        cancel: Arc<CancelSignal>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                finished: Notify::new(),
                cancel,
                connection,
                task_token,
                throttle: throttle_interval(heartbeat_timeout),
            }),
        }
    }

    pub(crate) fn record(&self, details: Vec<Payload>) {
        let mut state = self.shared.lock();
        if state.done {
            return;
        }
        state.latest = Some(details);
        state.unsent = true;
        if !state.sending {
            state.sending = true;
            tokio::spawn(send_loop(self.shared.clone()));
        }
    }

    /// Stops sending and returns the latest details, for the worker to send with the result.
    pub(crate) fn finish(&self) -> LastHeartbeat {
        let mut state = self.shared.lock();
        state.done = true;
        self.shared.finished.notify_one();
        LastHeartbeat {
            details: state.latest.clone(),
            unsent: std::mem::take(&mut state.unsent),
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (plain field writes): keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

async fn send_loop(shared: Arc<Shared>) {
    loop {
        let details = {
            let mut state = shared.lock();
            if state.done || !state.unsent {
                state.sending = false;
                return;
            }
            state.unsent = false;
            state.latest.clone().unwrap_or_default()
        };
        match send(&shared.connection, &shared.task_token, details).await {
            Ok(response) => {
                if let Some(reason) = reason_of(&response) {
                    shared.cancel.cancel(reason);
                }
            }
            // NotFound: the attempt timed out, or the workflow closed. Nobody wants the result
            // any more: the activity is told to stop, and nothing more is sent.
            Err(status) if status.code() == tonic::Code::NotFound => {
                shared.cancel.cancel(CancellationReason::NotFound);
                let mut state = shared.lock();
                state.done = true;
                state.sending = false;
                return;
            }
            Err(status) => tracing::warn!(%status, "activity heartbeat failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(shared.throttle) => {}
            _ = shared.finished.notified() => {}
        }
    }
}

/// One heartbeat RPC.
pub(crate) async fn send(
    connection: &Connection,
    task_token: &[u8],
    details: Vec<Payload>,
) -> Result<RecordActivityTaskHeartbeatResponse, tonic::Status> {
    let request = RecordActivityTaskHeartbeatRequest {
        task_token: task_token.to_vec(),
        details: payload::to_payloads(details),
        identity: connection.identity().to_string(),
        namespace: connection.namespace().to_string(),
        ..Default::default()
    };
    // `unary`, not `call`: it encodes the details with the connection's codecs.
    connection
        .unary(
            "RecordActivityTaskHeartbeat",
            request,
            |mut svc, request| async move { svc.record_activity_task_heartbeat(request).await },
        )
        .await
}

/// What a heartbeat response asks of the attempt.
pub(crate) fn reason_of(
    response: &RecordActivityTaskHeartbeatResponse,
) -> Option<CancellationReason> {
    CancellationReason::from_heartbeat_response(
        response.cancel_requested,
        response.activity_paused,
        response.activity_reset,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttle_follows_the_other_sdks() {
        let secs = Duration::from_secs;
        assert_eq!(throttle_interval(Some(secs(10))), secs(8));
        assert_eq!(
            throttle_interval(Some(Duration::from_millis(500))),
            Duration::from_millis(400)
        );
        // Capped at a minute, however long the timeout.
        assert_eq!(throttle_interval(Some(secs(3600))), MAX_THROTTLE);
        // No heartbeat timeout (the server sends unset as zero): the default.
        assert_eq!(throttle_interval(None), DEFAULT_THROTTLE);
        assert_eq!(throttle_interval(Some(Duration::ZERO)), DEFAULT_THROTTLE);
        assert_eq!(DEFAULT_THROTTLE, secs(30));
        assert_eq!(MAX_THROTTLE, secs(60));
    }

    #[test]
    fn responses_map_to_reasons_cancel_first() {
        let response = |cancel, paused, reset| RecordActivityTaskHeartbeatResponse {
            cancel_requested: cancel,
            activity_paused: paused,
            activity_reset: reset,
        };
        assert_eq!(reason_of(&response(false, false, false)), None);
        assert_eq!(
            reason_of(&response(true, true, true)),
            Some(CancellationReason::CancelRequested)
        );
        assert_eq!(
            reason_of(&response(false, true, true)),
            Some(CancellationReason::Paused)
        );
        assert_eq!(
            reason_of(&response(false, false, true)),
            Some(CancellationReason::Reset)
        );
    }
}
