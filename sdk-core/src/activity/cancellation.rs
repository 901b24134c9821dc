//! Why an activity attempt is asked to stop, and the one-shot signal that carries it to the
//! activity code.

use std::sync::OnceLock;
use tokio::sync::Notify;

/// Why an activity attempt was asked to stop.
///
/// Every reason makes [`ActivityContext::cancelled`](super::ActivityContext::cancelled)
/// resolve. What the worker reports when the attempt then ends with an error depends on it:
///
/// | Reason | Reported as |
/// |---|---|
/// | [`CancelRequested`](Self::CancelRequested) | canceled (the workflow sees a cancellation) |
/// | [`Paused`](Self::Paused) | failed, error type `ActivityPause`: the server holds the activity until it is unpaused |
/// | [`Reset`](Self::Reset) | failed, error type `ActivityReset`: the server runs it again from attempt 1 |
/// | [`NotFound`](Self::NotFound) | nothing: the server no longer knows this attempt |
/// | [`WorkerShutdown`](Self::WorkerShutdown) | failed, retryable, error type `WorkerShutdown`: the server retries it on another worker at once |
///
/// An attempt that returns `Ok` is reported completed whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CancellationReason {
    /// The workflow asked to cancel the activity.
    CancelRequested,
    /// An operator paused the activity (`temporal activity pause`).
    Paused,
    /// An operator reset the activity (`temporal activity reset`).
    Reset,
    /// The server does not know this attempt any more: it timed out, or the workflow closed.
    NotFound,
    /// The worker is shutting down and its grace period is over.
    WorkerShutdown,
}

impl CancellationReason {
    /// The reason a heartbeat response (`RecordActivityTaskHeartbeat` or its `ById` form) with
    /// these flags gives, if any; a cancel request comes first, then pause, then reset.
    pub fn from_heartbeat_response(
        cancel_requested: bool,
        activity_paused: bool,
        activity_reset: bool,
    ) -> Option<Self> {
        if cancel_requested {
            Some(CancellationReason::CancelRequested)
        } else if activity_paused {
            Some(CancellationReason::Paused)
        } else if activity_reset {
            Some(CancellationReason::Reset)
        } else {
            None
        }
    }

    /// The error type of the failure an attempt stopped for this reason is reported with, for
    /// the reasons reported as failures (the names the other Temporal SDKs use).
    pub fn failure_type(self) -> Option<&'static str> {
        match self {
            CancellationReason::Paused => Some("ActivityPause"),
            CancellationReason::Reset => Some("ActivityReset"),
            CancellationReason::WorkerShutdown => Some("WorkerShutdown"),
            CancellationReason::CancelRequested | CancellationReason::NotFound => None,
        }
    }
}

impl std::fmt::Display for CancellationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CancellationReason::CancelRequested => "cancel requested",
            CancellationReason::Paused => "activity paused",
            CancellationReason::Reset => "activity reset",
            CancellationReason::NotFound => "activity not found on the server",
            CancellationReason::WorkerShutdown => "worker shutting down",
        })
    }
}

/// Set once, with the first reason; later reasons are ignored (the attempt is already on its
/// way out, and its report follows the reason the activity code saw).
#[derive(Debug, Default)]
pub(crate) struct CancelSignal {
    reason: OnceLock<CancellationReason>,
    notify: Notify,
}

impl CancelSignal {
    /// Records `reason` unless a reason is already set; true when this call set it.
    pub(crate) fn cancel(&self, reason: CancellationReason) -> bool {
        let first = self.reason.set(reason).is_ok();
        if first {
            self.notify.notify_waiters();
        }
        first
    }

    pub(crate) fn reason(&self) -> Option<CancellationReason> {
        self.reason.get().copied()
    }

    /// Resolves with the reason once one is set.
    pub(crate) async fn cancelled(&self) -> CancellationReason {
        loop {
            // Created before the check: `notify_waiters` reaches a `Notified` from its creation.
            let notified = self.notify.notified();
            if let Some(reason) = self.reason() {
                return reason;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn the_first_reason_wins_and_wakes_every_waiter() {
        let signal = Arc::new(CancelSignal::default());
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let signal = signal.clone();
                tokio::spawn(async move { signal.cancelled().await })
            })
            .collect();
        tokio::task::yield_now().await;
        assert_eq!(signal.reason(), None);
        assert!(signal.cancel(CancellationReason::Paused));
        assert!(!signal.cancel(CancellationReason::CancelRequested));
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap(), CancellationReason::Paused);
        }
        // A late waiter sees the reason at once.
        assert_eq!(signal.cancelled().await, CancellationReason::Paused);
    }

    #[test]
    fn only_pause_reset_and_shutdown_are_reported_as_failures() {
        assert_eq!(
            CancellationReason::Paused.failure_type(),
            Some("ActivityPause")
        );
        assert_eq!(
            CancellationReason::Reset.failure_type(),
            Some("ActivityReset")
        );
        assert_eq!(
            CancellationReason::WorkerShutdown.failure_type(),
            Some("WorkerShutdown")
        );
        assert_eq!(CancellationReason::CancelRequested.failure_type(), None);
        assert_eq!(CancellationReason::NotFound.failure_type(), None);
    }
}
