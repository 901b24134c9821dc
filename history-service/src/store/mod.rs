//! Where runs live: the `Store` trait and its in-memory backend.
//!
//! A store keeps, per run, the mutable state and the append-only event list, and per workflow
//! id the current run. One `save` is one transaction: the state and the events it wrote land
//! together or not at all, so a durable backend (SQLite: one transaction per call) can be
//! added behind the same trait.

mod memory;

pub use memory::MemoryStore;

use crate::error::Result;
use crate::ids::RunKey;
use crate::proto::history::HistoryEvent;
use crate::state::MutableState;

/// Storage for runs and their histories.
pub trait Store: Send + 'static {
    /// The state of a run.
    fn load(&self, key: &RunKey) -> Option<MutableState>;
    /// Stores `state` and appends `new_events` to its history; `make_current` also makes the
    /// run its workflow id's current run.
    fn save(
        &mut self,
        state: &MutableState,
        new_events: &[HistoryEvent],
        make_current: bool,
    ) -> Result<()>;
    /// The current run of a workflow id.
    fn current_run(&self, namespace: &str, workflow_id: &str) -> Option<String>;
    /// Up to `max` events of a run, from `first_event_id` on.
    fn events(&self, key: &RunKey, first_event_id: i64, max: usize) -> Vec<HistoryEvent>;
    /// Every run of a namespace (for visibility queries).
    fn runs(&self, namespace: &str) -> Vec<MutableState>;
}
