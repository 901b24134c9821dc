//! `temporal_worker_task_slots_available` / `_used`: read from the workers' slot pools when
//! the metrics are gathered.

use super::recorders::TaskKind;
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::IntGaugeVec;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Semaphore;

/// One worker's pool of task slots, read when metrics are scraped.
pub(crate) struct SlotSource {
    pub namespace: String,
    pub task_queue: String,
    pub kind: TaskKind,
    pub slots: Weak<Semaphore>,
    pub capacity: usize,
}

/// `temporal_worker_task_slots_available` / `_used`, computed from the live workers' slot
/// pools at each scrape, so the figures are exact without a hook at every permit.
#[derive(Clone)]
pub(crate) struct SlotGauges {
    available: IntGaugeVec,
    used: IntGaugeVec,
    sources: Arc<Mutex<Vec<SlotSource>>>,
}

impl SlotGauges {
    pub(crate) fn new(available: IntGaugeVec, used: IntGaugeVec) -> Self {
        Self {
            available,
            used,
            sources: Arc::default(),
        }
    }

    /// Adds a worker's slot pool; it drops out once the worker is gone.
    pub(crate) fn add(&self, source: SlotSource) {
        if let Ok(mut sources) = self.sources.lock() {
            sources.push(source);
        }
    }
}

impl Collector for SlotGauges {
    fn desc(&self) -> Vec<&Desc> {
        let mut descs = self.available.desc();
        descs.extend(self.used.desc());
        descs
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.available.reset();
        self.used.reset();
        if let Ok(mut sources) = self.sources.lock() {
            sources.retain(|source| source.slots.strong_count() > 0);
            for source in sources.iter() {
                let Some(slots) = source.slots.upgrade() else {
                    continue;
                };
                let free = slots.available_permits().min(source.capacity);
                let labels = [
                    source.namespace.as_str(),
                    source.task_queue.as_str(),
                    source.kind.worker_type(),
                ];
                self.available.with_label_values(&labels).add(free as i64);
                self.used
                    .with_label_values(&labels)
                    .add((source.capacity - free) as i64);
            }
        }
        let mut families = self.available.collect();
        families.extend(self.used.collect());
        families
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_gauges_read_the_live_pools() {
        let available = IntGaugeVec::new(
            prometheus::Opts::new("a", "a"),
            &["namespace", "task_queue", "worker_type"],
        )
        .unwrap();
        let used = IntGaugeVec::new(
            prometheus::Opts::new("u", "u"),
            &["namespace", "task_queue", "worker_type"],
        )
        .unwrap();
        let gauges = SlotGauges::new(available.clone(), used.clone());
        let slots = Arc::new(Semaphore::new(5));
        gauges.add(SlotSource {
            namespace: "ns".into(),
            task_queue: "q".into(),
            kind: TaskKind::Activity,
            slots: Arc::downgrade(&slots),
            capacity: 5,
        });
        let _held = slots.clone().try_acquire_many_owned(2).unwrap();
        gauges.collect();
        let labels = ["ns", "q", "ActivityWorker"];
        assert_eq!(available.with_label_values(&labels).get(), 3);
        assert_eq!(used.with_label_values(&labels).get(), 2);
        drop(_held);
        drop(slots);
        let families = gauges.collect();
        assert!(families.iter().all(|f| f.get_metric().is_empty()));
    }
}
