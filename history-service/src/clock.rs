//! The service's clock: wall time plus a skipped offset, and the TestService's lock counter.
//!
//! Time skipping follows the Java test server's rule with the locks made explicit: time may
//! jump to the next timer only when skipping is on, no TestService lock is held, and no run has
//! outstanding work (a scheduled or started workflow task, an activity outside retry backoff, a
//! pending query). The engine answers the last question from its state (`Engine::busy`), so no
//! lock can leak. The offset only grows: virtual time never goes backwards.

use crate::error::{Result, ServiceError};
use std::time::{SystemTime, UNIX_EPOCH};

/// Virtual time and the time-skipping lock counter.
#[derive(Debug, Clone)]
pub struct Clock {
    skipping: bool,
    offset_ms: i64,
    locks: u32,
}

impl Clock {
    /// A clock; `skipping` enables jumps, `locks` is the initial lock count (the Java test
    /// server starts with one, which its clients release while they wait for results).
    pub fn new(skipping: bool, locks: u32) -> Clock {
        Clock {
            skipping,
            offset_ms: 0,
            locks,
        }
    }

    /// Current virtual time in milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        wall_ms() + self.offset_ms
    }

    /// Whether time skipping is enabled at all.
    pub fn skipping(&self) -> bool {
        self.skipping
    }

    /// Whether no TestService lock is held (work outstanding is the engine's question).
    pub fn unlocked(&self) -> bool {
        self.skipping && self.locks == 0
    }

    /// Moves virtual time forward to `target_ms` (never backwards).
    pub fn advance_to(&mut self, target_ms: i64) {
        let now = self.now_ms();
        if target_ms > now {
            self.offset_ms += target_ms - now;
        }
    }

    /// How far time has been skipped, in milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms
    }

    /// `LockTimeSkipping`.
    pub fn lock(&mut self) {
        self.locks = self.locks.saturating_add(1);
    }

    /// `UnlockTimeSkipping`: fails on an unbalanced call.
    pub fn unlock(&mut self) -> Result<()> {
        if self.locks == 0 {
            return Err(ServiceError::Unbalanced(
                "unbalanced UnlockTimeSkipping: the time-skipping lock count is already 0".into(),
            ));
        }
        self.locks -= 1;
        Ok(())
    }

    /// The current lock count.
    pub fn locks(&self) -> u32 {
        self.locks
    }
}

fn wall_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unlocks_must_balance_and_time_only_moves_forward() {
        let mut clock = Clock::new(true, 1);
        assert!(!clock.unlocked());
        clock.unlock().unwrap();
        assert!(clock.unlocked());
        assert!(clock.unlock().is_err());
        let before = clock.now_ms();
        clock.advance_to(before + 86_400_000);
        assert!(clock.now_ms() >= before + 86_400_000);
        clock.advance_to(0);
        assert!(clock.offset_ms() >= 86_400_000);
    }
}
