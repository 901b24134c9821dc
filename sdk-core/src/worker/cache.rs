//! The run cache's bookkeeping: a least-recently-used map of runs by run id, bounded by
//! `max_cached_workflows`, that never evicts a run whose task is in flight.
//!
//! It knows nothing of workflows (entries are any `T`), so its rules are unit-tested here; the
//! thread that owns the cached runs is in `run_host`.

use std::collections::{BTreeMap, HashMap};

/// Why a run left the cache: the `reason` label of the eviction metric and log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EvictionReason {
    /// The run sent its completion (complete, fail, cancel or continue-as-new).
    Completed,
    /// The run's task failed (a panic, a bad history, an unsupported feature).
    TaskFailed,
    /// The run's code no longer matches its history.
    Nondeterminism,
    /// Least recently used, to make room for another run.
    CacheFull,
    /// The server refused or lost the task's answer (e.g. NotFound): the run may be ahead of
    /// the server's history.
    ServerRejected,
    /// A task's history does not continue from what the cached run has seen.
    HistoryMismatch,
    /// A new task arrived while the run's previous task was still in flight.
    TaskInFlight,
    /// The worker's test mode that evicts after every task.
    EvictAfterEveryTask,
    /// The run's task ran local activities, which replay the run from its whole history.
    LocalActivities,
    /// The worker shut down.
    Shutdown,
}

impl EvictionReason {
    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "workflow_completed",
            Self::TaskFailed => "task_failed",
            Self::Nondeterminism => "nondeterminism",
            Self::CacheFull => "cache_full",
            Self::ServerRejected => "server_rejected",
            Self::HistoryMismatch => "history_mismatch",
            Self::TaskInFlight => "task_in_flight",
            Self::EvictAfterEveryTask => "evict_after_every_task",
            Self::LocalActivities => "local_activities",
            Self::Shutdown => "shutdown",
        }
    }
}

/// A task of a cached run being processed or answered: the run must stay until it settles.
/// Each task gets its own number, so a late settlement of an older task cannot release a newer
/// one.
pub(crate) type TaskSeq = u64;

struct Slot<T> {
    value: T,
    /// When the run was last used (a tick of [`Lru::clock`]), its key in [`Lru::order`].
    used: u64,
    in_flight: Option<TaskSeq>,
}

/// Runs by run id, least recently used first out.
pub(crate) struct Lru<T> {
    capacity: usize,
    slots: HashMap<String, Slot<T>>,
    /// Run ids by last use, oldest first.
    order: BTreeMap<u64, String>,
    clock: u64,
}

impl<T> Lru<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            capacity,
            slots: HashMap::new(),
            order: BTreeMap::new(),
            clock: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Takes a run out to work on it; [`put`](Self::put) returns it.
    pub(crate) fn take(&mut self, run_id: &str) -> Option<(T, Option<TaskSeq>)> {
        let slot = self.slots.remove(run_id)?;
        self.order.remove(&slot.used);
        Some((slot.value, slot.in_flight))
    }

    /// The run, if cached, marked as just used.
    pub(crate) fn get_mut(&mut self, run_id: &str) -> Option<&mut T> {
        let slot = self.slots.get_mut(run_id)?;
        self.order.remove(&slot.used);
        self.clock += 1;
        slot.used = self.clock;
        self.order.insert(self.clock, run_id.to_string());
        Some(&mut slot.value)
    }

    /// Whether the run is cached with a task in flight.
    pub(crate) fn in_flight(&self, run_id: &str) -> bool {
        self.slots
            .get(run_id)
            .is_some_and(|slot| slot.in_flight.is_some())
    }

    /// Caches a run (as the most recently used), with the task in flight, if any. At capacity
    /// the least recently used run without a task in flight makes room, and is returned with
    /// its id; when every cached run has a task in flight, nothing is evicted and `value` is
    /// handed back instead (`Err`): the caller answers that task without caching the run.
    #[allow(clippy::type_complexity)]
    pub(crate) fn put(
        &mut self,
        run_id: String,
        value: T,
        in_flight: Option<TaskSeq>,
    ) -> Result<Option<(String, T)>, T> {
        let mut evicted = None;
        if !self.slots.contains_key(&run_id) && self.slots.len() >= self.capacity {
            let victim = self
                .order
                .values()
                .find(|id| self.slots.get(*id).is_some_and(|s| s.in_flight.is_none()))
                .cloned();
            match victim {
                Some(id) => evicted = self.take(&id).map(|(value, _)| (id, value)),
                None => return Err(value),
            }
        }
        if let Some(old) = self.take(&run_id) {
            // Replaced by the caller's newer state of the same run.
            drop(old);
        }
        self.clock += 1;
        self.order.insert(self.clock, run_id.clone());
        self.slots.insert(
            run_id,
            Slot {
                value,
                used: self.clock,
                in_flight,
            },
        );
        Ok(evicted)
    }

    /// Ends the in-flight task `seq` of a run; a stale `seq` (a newer task replaced it) is
    /// ignored. Returns whether it was the run's current task.
    pub(crate) fn settle(&mut self, run_id: &str, seq: TaskSeq) -> bool {
        match self.slots.get_mut(run_id) {
            Some(slot) if slot.in_flight == Some(seq) => {
                slot.in_flight = None;
                true
            }
            _ => false,
        }
    }

    /// Removes a run.
    pub(crate) fn remove(&mut self, run_id: &str) -> Option<T> {
        self.take(run_id).map(|(value, _)| value)
    }

    /// Removes every run.
    pub(crate) fn drain(&mut self) -> Vec<(String, T)> {
        self.order.clear();
        self.slots.drain().map(|(id, s)| (id, s.value)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evicts_the_least_recently_used_run() {
        let mut lru = Lru::new(2);
        assert!(matches!(lru.put("a".into(), 1, None), Ok(None)));
        assert!(matches!(lru.put("b".into(), 2, None), Ok(None)));
        // Using `a` makes `b` the oldest.
        assert_eq!(lru.get_mut("a"), Some(&mut 1));
        let evicted = lru.put("c".into(), 3, None).ok().flatten();
        assert_eq!(evicted, Some(("b".to_string(), 2)));
        assert_eq!(lru.len(), 2);
        assert!(lru.get_mut("b").is_none());
    }

    #[test]
    fn never_evicts_a_run_with_a_task_in_flight() {
        let mut lru = Lru::new(2);
        lru.put("a".into(), 1, Some(7)).ok();
        lru.put("b".into(), 2, None).ok();
        // `a` is the oldest but busy: `b` goes.
        let evicted = lru.put("c".into(), 3, Some(8)).ok().flatten();
        assert_eq!(evicted, Some(("b".to_string(), 2)));
        // Both left are busy: the new run is handed back, nothing is evicted.
        assert_eq!(lru.put("d".into(), 4, None).err(), Some(4));
        assert_eq!(lru.len(), 2);
        // Once `a`'s task settles, it can make room.
        assert!(lru.settle("a", 7));
        let evicted = lru.put("d".into(), 4, None).ok().flatten();
        assert_eq!(evicted, Some(("a".to_string(), 1)));
    }

    #[test]
    fn a_stale_settlement_leaves_the_newer_task_in_flight() {
        let mut lru = Lru::new(1);
        lru.put("a".into(), 1, Some(1)).ok();
        // A newer task of the same run replaces the entry.
        let (value, _) = lru.take("a").unwrap();
        lru.put("a".into(), value + 1, Some(2)).ok();
        assert!(!lru.settle("a", 1));
        assert!(lru.in_flight("a"));
        assert!(lru.settle("a", 2));
        assert!(!lru.in_flight("a"));
    }

    #[test]
    fn replacing_a_cached_run_evicts_nothing() {
        let mut lru = Lru::new(1);
        lru.put("a".into(), 1, None).ok();
        assert!(matches!(lru.put("a".into(), 2, None), Ok(None)));
        assert_eq!(lru.remove("a"), Some(2));
        assert_eq!(lru.len(), 0);
        assert!(lru.drain().is_empty());
    }
}
