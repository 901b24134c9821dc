//! What the sticky cache records: hits, misses, its size and evictions with their reason, as
//! metrics (in the global registry) and as totals for worker heartbeats; and the history
//! events workflow tasks brought, which the cache is there to keep few.

use super::metrics::Metrics;
use super::recorders::WorkerMetrics;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// One worker's sticky cache figures.
#[derive(Debug)]
pub(crate) struct StickyMetrics {
    namespace: String,
    task_queue: String,
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub size: AtomicI64,
}

impl StickyMetrics {
    pub(crate) fn new(worker: &WorkerMetrics) -> Self {
        Self {
            namespace: worker.namespace.clone(),
            task_queue: worker.task_queue.clone(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            size: AtomicI64::new(0),
        }
    }

    fn labels(&self) -> [&str; 2] {
        [&self.namespace, &self.task_queue]
    }

    /// A task answered from its cached run.
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
        Metrics::global()
            .sticky_hit
            .with_label_values(&self.labels())
            .inc();
    }

    /// A task of a run with earlier tasks that replayed its whole history.
    pub(crate) fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        Metrics::global()
            .sticky_miss
            .with_label_values(&self.labels())
            .inc();
    }

    /// The cache grew (`delta` > 0) or shrank. The gauge moves by deltas, so that workers of
    /// one task queue in one process add up instead of overwriting each other.
    pub(crate) fn resized(&self, delta: i64) {
        self.size.fetch_add(delta, Ordering::Relaxed);
        Metrics::global()
            .sticky_size
            .with_label_values(&self.labels())
            .add(delta);
    }

    /// `count` history events arrived for a workflow task (a poll response or a page).
    pub(crate) fn history_events(&self, count: usize) {
        Metrics::global()
            .wft_history_events
            .with_label_values(&self.labels())
            .inc_by(count as u64);
    }

    /// A run left the cache for `reason` (a label value); `forced` when it made room.
    pub(crate) fn evicted(&self, reason: &str, forced: bool) {
        let metrics = Metrics::global();
        let [namespace, task_queue] = self.labels();
        metrics
            .sticky_eviction
            .with_label_values(&[namespace, task_queue, reason])
            .inc();
        if forced {
            metrics
                .sticky_forced_eviction
                .with_label_values(&self.labels())
                .inc();
        }
    }
}
