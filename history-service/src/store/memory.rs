//! The in-memory store: everything is lost when the service stops.

use super::Store;
use crate::error::Result;
use crate::ids::RunKey;
use crate::proto::history::HistoryEvent;
use crate::state::MutableState;
use std::collections::HashMap;

/// Runs in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    runs: HashMap<RunKey, (MutableState, Vec<HistoryEvent>)>,
    current: HashMap<(String, String), String>,
}

impl Store for MemoryStore {
    fn load(&self, key: &RunKey) -> Option<MutableState> {
        self.runs.get(key).map(|(state, _)| state.clone())
    }

    fn save(
        &mut self,
        state: &MutableState,
        new_events: &[HistoryEvent],
        make_current: bool,
    ) -> Result<()> {
        let entry = self
            .runs
            .entry(state.key.clone())
            .or_insert_with(|| (state.clone(), Vec::new()));
        entry.0 = state.clone();
        entry.1.extend_from_slice(new_events);
        if make_current {
            self.current.insert(
                (state.key.namespace.clone(), state.key.workflow_id.clone()),
                state.key.run_id.clone(),
            );
        }
        Ok(())
    }

    fn current_run(&self, namespace: &str, workflow_id: &str) -> Option<String> {
        self.current
            .get(&(namespace.to_string(), workflow_id.to_string()))
            .cloned()
    }

    fn events(&self, key: &RunKey, first_event_id: i64, max: usize) -> Vec<HistoryEvent> {
        let Some((_, events)) = self.runs.get(key) else {
            return Vec::new();
        };
        let start = (first_event_id.max(1) - 1) as usize;
        events.iter().skip(start).take(max).cloned().collect()
    }

    fn runs(&self, namespace: &str) -> Vec<MutableState> {
        self.runs
            .values()
            .filter(|(state, _)| state.key.namespace == namespace)
            .map(|(state, _)| state.clone())
            .collect()
    }
}
