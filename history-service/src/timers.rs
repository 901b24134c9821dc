//! Timers as data: a deadline and what it is for.
//!
//! A timer is never cancelled; when it fires, the engine checks that what it was armed for
//! still holds (the attempt, the stamp) and otherwise drops it. So the queue can be rebuilt from
//! persisted state, and a stale timer is harmless.

use crate::ids::RunKey;
use std::collections::{BTreeSet, HashMap};

/// What a timer is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerKind {
    /// A workflow's `StartTimer` command.
    User {
        /// The run.
        run: RunKey,
        /// The timer's id.
        timer_id: String,
        /// Its TimerStarted event id.
        started_event_id: i64,
    },
    /// A workflow task's start-to-close timeout.
    WorkflowTaskStartToClose {
        /// The run.
        run: RunKey,
        /// The task's stamp.
        stamp: u64,
    },
    /// A workflow task's schedule-to-start timeout on a sticky queue.
    StickyScheduleToStart {
        /// The run.
        run: RunKey,
        /// The task's stamp.
        stamp: u64,
    },
    /// One of an activity's timeouts.
    Activity {
        /// The run.
        run: RunKey,
        /// The ActivityTaskScheduled event id.
        scheduled_event_id: i64,
        /// The attempt it was armed for.
        attempt: i32,
        /// Which timeout.
        timeout: ActivityTimeout,
        /// For heartbeats: the heartbeat stamp it was armed for.
        stamp: u64,
    },
    /// The end of an activity's retry backoff.
    ActivityRetry {
        /// The run.
        run: RunKey,
        /// The ActivityTaskScheduled event id.
        scheduled_event_id: i64,
        /// The attempt that starts then.
        attempt: i32,
    },
    /// A run's run or execution timeout.
    RunTimeout {
        /// The run.
        run: RunKey,
    },
    /// A TestService sleeper's wake-up.
    Sleeper {
        /// The sleeper's id.
        id: u64,
    },
}

/// The four activity timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityTimeout {
    /// Schedule to start, per attempt; never retried.
    ScheduleToStart,
    /// Start to close, per attempt; retried.
    StartToClose,
    /// Heartbeat, per attempt; retried.
    Heartbeat,
    /// Schedule to close, over all attempts.
    ScheduleToClose,
}

/// The timer queue, ordered by deadline then by arming order.
#[derive(Debug, Default)]
pub struct TimerQueue {
    order: BTreeSet<(i64, u64)>,
    kinds: HashMap<u64, TimerKind>,
    next_seq: u64,
}

impl TimerQueue {
    /// Arms a timer.
    pub fn add(&mut self, deadline_ms: i64, kind: TimerKind) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.order.insert((deadline_ms, seq));
        self.kinds.insert(seq, kind);
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<i64> {
        self.order.first().map(|(deadline, _)| *deadline)
    }

    /// The earliest timer.
    pub fn first(&self) -> Option<(i64, &TimerKind)> {
        let (deadline, seq) = self.order.first()?;
        Some((*deadline, self.kinds.get(seq)?))
    }

    /// Drops the earliest timer.
    pub fn drop_first(&mut self) {
        if let Some((_, seq)) = self.order.pop_first() {
            self.kinds.remove(&seq);
        }
    }

    /// Takes the earliest timer if it is due at `now_ms`.
    pub fn pop_due(&mut self, now_ms: i64) -> Option<TimerKind> {
        let &(deadline, seq) = self.order.first()?;
        if deadline > now_ms {
            return None;
        }
        self.order.remove(&(deadline, seq));
        self.kinds.remove(&seq)
    }

    /// How many timers are armed.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether none is armed.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_and_only_when_due() {
        let mut queue = TimerQueue::default();
        queue.add(20, TimerKind::Sleeper { id: 2 });
        queue.add(10, TimerKind::Sleeper { id: 1 });
        assert_eq!(queue.next_deadline(), Some(10));
        assert_eq!(queue.pop_due(5), None);
        assert_eq!(queue.pop_due(15), Some(TimerKind::Sleeper { id: 1 }));
        assert_eq!(queue.pop_due(15), None);
        assert_eq!(queue.pop_due(25), Some(TimerKind::Sleeper { id: 2 }));
        assert!(queue.is_empty());
    }
}
