//! Which workflow task failures were logged already.
//!
//! A workflow task that keeps failing (a panic, nondeterminism, an unregistered type) comes
//! back at every task timeout for as long as the run lives. Its failure is worth one log line
//! per run, and another only when it changes (a new deployment, another bug).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// Runs remembered at most; past it the log forgets them all and starts over, which costs at
/// worst one repeated line per failing run.
const MAX_RUNS: usize = 10_000;

/// The last failure logged for each run whose workflow task is failing.
#[derive(Debug, Default)]
pub(crate) struct TaskFailureLog {
    last_logged: Mutex<HashMap<String, u64>>,
}

impl TaskFailureLog {
    /// Whether this failure of this run is new, i.e. should be logged. Records it.
    pub(crate) fn is_new(&self, run_id: &str, failure: &str) -> bool {
        let mut hasher = DefaultHasher::new();
        failure.hash(&mut hasher);
        let digest = hasher.finish();
        let Ok(mut last_logged) = self.last_logged.lock() else {
            return true;
        };
        if last_logged.len() >= MAX_RUNS && !last_logged.contains_key(run_id) {
            last_logged.clear();
        }
        last_logged.insert(run_id.to_string(), digest) != Some(digest)
    }

    /// Forgets the run: its task succeeded, so a later failure is news again.
    pub(crate) fn forget(&self, run_id: &str) {
        if let Ok(mut last_logged) = self.last_logged.lock() {
            last_logged.remove(run_id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_distinct_failure_of_a_run_is_new_once() {
        let log = TaskFailureLog::default();
        assert!(log.is_new("run-1", "panicked: boom"));
        assert!(!log.is_new("run-1", "panicked: boom"));
        assert!(log.is_new("run-2", "panicked: boom"));
        assert!(log.is_new("run-1", "nondeterminism at event 5"));
        assert!(log.is_new("run-1", "panicked: boom"));
        log.forget("run-1");
        assert!(log.is_new("run-1", "panicked: boom"));
    }
}
