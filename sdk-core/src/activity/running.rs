//! The activity attempts a worker is running, so that shutdown can tell each one to stop.

use super::cancellation::{CancelSignal, CancellationReason};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The running attempts of one worker. Cheap to clone; clones share the registry.
#[derive(Debug, Clone, Default)]
pub struct RunningActivities {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    next: AtomicU64,
    attempts: Mutex<HashMap<u64, Arc<CancelSignal>>>,
}

/// Keeps an attempt in the registry; dropping it removes the attempt.
#[derive(Debug)]
pub(crate) struct Registration {
    inner: Arc<Inner>,
    id: u64,
}

impl RunningActivities {
    /// Asks every running attempt to stop for `reason` (their `cancelled()` resolves); returns
    /// how many were asked. An attempt that then ends with an error is reported as the reason
    /// says (see [`CancellationReason`]); for [`CancellationReason::WorkerShutdown`], as a
    /// retryable failure, so the server retries it on another worker at once.
    pub fn cancel_all(&self, reason: CancellationReason) -> usize {
        let attempts = self.inner.lock();
        attempts
            .values()
            .filter(|signal| signal.cancel(reason))
            .count()
    }

    /// How many attempts are running.
    pub fn len(&self) -> usize {
        self.inner.lock().len()
    }

    /// Whether no attempt is running.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn register(&self, signal: Arc<CancelSignal>) -> Registration {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        self.inner.lock().insert(id, signal);
        Registration {
            inner: self.inner.clone(),
            id,
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<CancelSignal>>> {
        // A map of handles stays consistent across a panic: keep using it.
        self.attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.inner.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_all_reaches_running_attempts_only() {
        let running = RunningActivities::default();
        let first = Arc::new(CancelSignal::default());
        let second = Arc::new(CancelSignal::default());
        let finished = Arc::new(CancelSignal::default());
        let _first = running.register(first.clone());
        let _second = running.register(second.clone());
        drop(running.register(finished.clone()));
        assert_eq!(running.len(), 2);
        // One attempt already has a reason: it keeps it, and is not counted.
        second.cancel(CancellationReason::Paused);

        assert_eq!(running.cancel_all(CancellationReason::WorkerShutdown), 1);
        assert_eq!(first.cancelled().await, CancellationReason::WorkerShutdown);
        assert_eq!(second.reason(), Some(CancellationReason::Paused));
        assert_eq!(finished.reason(), None);
        drop((_first, _second));
        assert!(running.is_empty());
    }
}
