//! The smaller parts of a run's state, each with the one idea it keeps.

use crate::payload::Payload;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::task::Waker;
use std::time::SystemTime;

/// Workflow time and facts about the history the run is in.
#[derive(Debug)]
pub(crate) struct Clock {
    /// Workflow time: the start time of the current workflow task.
    pub now: SystemTime,
    /// The id of the current workflow task's started event: the history's length so far.
    pub history_length: i64,
    /// Whether the current workflow task is a replay of one already completed.
    pub replaying: bool,
    /// SDK flags recorded for the run (from history, plus the live first task's own).
    pub flags: BTreeSet<u32>,
    /// The server suggests continuing as new (from the current task's started event).
    pub continue_as_new_suggested: bool,
    /// The history's size in bytes, as the current task's started event says.
    pub history_size_bytes: u64,
}

impl Clock {
    /// The clock at the run's start: `now`, before any workflow task, replaying.
    pub fn starting_at(now: SystemTime) -> Self {
        Self {
            now,
            history_length: 0,
            replaying: true,
            flags: BTreeSet::new(),
            continue_as_new_suggested: false,
            history_size_bytes: 0,
        }
    }
}

/// The workflow's own cancellation: whether it was asked for, who waits for it, and how deep
/// the code is in non-cancellable scopes.
#[derive(Debug, Default)]
pub(crate) struct Cancellation {
    /// A client asked the workflow to cancel.
    pub requested: bool,
    /// Code waiting for a cancellation request (`ctx.cancelled()`).
    pub waiters: Wakers,
    /// How many non-cancellable scopes are being polled: operations started meanwhile are
    /// shielded from the workflow's cancellation.
    pub shield_depth: u32,
}

impl Cancellation {
    /// Whether a cancellation of the workflow reaches code running now: requested, and not
    /// inside a non-cancellable scope.
    pub fn applies(&self) -> bool {
        self.requested && self.shield_depth == 0
    }

    /// Whether code running now is inside a non-cancellable scope.
    pub fn shielded(&self) -> bool {
        self.shield_depth > 0
    }
}

/// What versioning needs to answer the same on every replay: patch decisions and markers,
/// and recorded side-effect values.
#[derive(Debug, Default)]
pub(crate) struct Versioning {
    /// What `patched(id)` returned, so that later calls agree.
    pub patch_decisions: HashMap<String, bool>,
    /// Patches whose markers the history holds in the task being replayed.
    pub patches_in_history: HashSet<String>,
    /// Every patch of the run so far (the `TemporalChangeVersion` value).
    pub change_versions: BTreeSet<String>,
    /// Values the task being replayed recorded for side effects, in order.
    pub side_effects_in_history: VecDeque<Payload>,
}

/// The run's deterministic random numbers.
///
/// The generator is SplitMix64, written out here rather than taken from a crate: its output is
/// part of every history that used it, so it must never change with a dependency update.
#[derive(Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// Seeded from the run id with a stable 64-bit hash (FNV-1a), not `std`'s hasher, whose
    /// algorithm may change between Rust releases.
    pub fn seeded(run_id: &str) -> Self {
        let state = run_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Self { state }
    }

    /// The next number of the sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Code waiting for something, each waker once; all are woken together.
#[derive(Debug, Default)]
pub(crate) struct Wakers(Vec<Waker>);

impl Wakers {
    /// Adds `waker` unless it is already there.
    pub fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    /// Wakes and forgets them all.
    pub fn wake_all(&mut self) {
        for waker in self.0.drain(..) {
            waker.wake();
        }
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_numbers_follow_the_recorded_sequence() {
        // Histories recorded with these numbers must keep replaying: the values are fixed.
        let mut rng = Rng::seeded("run");
        let first = rng.next_u64();
        assert_eq!(first, 0x9ab3_b5e0_3cd0_7308);
        assert_ne!(rng.next_u64(), first);
        assert_ne!(Rng::seeded("other").next_u64(), first);
    }
}
