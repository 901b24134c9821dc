//! The timer pump: fires due timers, and jumps virtual time to the next timer when time
//! skipping is unlocked and no run has work outstanding (study §1.3). Also the TestService
//! operations that depend on it.

use super::{Engine, Inner};
use crate::error::Result;
use crate::timers::TimerKind;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// The longest the pump sleeps without a reason to wake.
const IDLE_WAKE: Duration = Duration::from_secs(3600);

impl Engine {
    /// Runs the pump until shutdown.
    pub async fn run_pump(self: Arc<Self>) {
        let mut shutdown = self.shutdown_signal();
        loop {
            let notified = self.pump.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let wait = self.pump_once();
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(wait) => {}
                _ = super::tasks::wait_true(&mut shutdown) => return,
            }
        }
    }

    /// Fires what is due, skipping time where allowed; returns how long to sleep.
    fn pump_once(&self) -> Duration {
        let mut inner = self.lock();
        loop {
            let now = inner.clock.now_ms();
            while let Some(kind) = inner.timers.pop_due(now) {
                self.fire(&mut inner, kind);
            }
            let idle = inner.busy.is_empty() && inner.queries.is_empty();
            if inner.clock.unlocked() && idle {
                // Jump to the next *live* timer: a stale one (a task that completed before
                // its timeout, a canceled timer) must not move virtual time.
                while let Some((_, kind)) = inner.timers.first() {
                    if Self::is_live(&inner, kind) {
                        break;
                    }
                    inner.timers.drop_first();
                }
                if let Some(next) = inner.timers.next_deadline() {
                    inner.clock.advance_to(next);
                    continue;
                }
            }
            return match inner.timers.next_deadline() {
                Some(next) => Duration::from_millis((next - inner.clock.now_ms()).max(1) as u64),
                None => IDLE_WAKE,
            };
        }
    }

    /// Whether firing the timer would still do something.
    fn is_live(inner: &Inner, kind: &TimerKind) -> bool {
        use crate::state::ActivityState;
        use crate::timers::ActivityTimeout;
        let state = |run| inner.store.load(run).filter(|s| s.is_running());
        match kind {
            TimerKind::Sleeper { id } => inner.sleepers.contains_key(id),
            TimerKind::User {
                run,
                timer_id,
                started_event_id,
            } => state(run).is_some_and(|s| {
                s.timers
                    .get(timer_id)
                    .is_some_and(|t| t.started_event_id == *started_event_id)
            }),
            TimerKind::WorkflowTaskStartToClose { run, stamp } => state(run).is_some_and(|s| {
                s.wft
                    .as_ref()
                    .is_some_and(|w| w.stamp == *stamp && w.started)
            }),
            TimerKind::StickyScheduleToStart { run, stamp } => state(run).is_some_and(|s| {
                s.wft
                    .as_ref()
                    .is_some_and(|w| w.stamp == *stamp && !w.started)
            }),
            TimerKind::Activity {
                run,
                scheduled_event_id,
                attempt,
                timeout,
                stamp,
            } => state(run).is_some_and(|s| {
                s.activities
                    .get(scheduled_event_id)
                    .is_some_and(|a| match timeout {
                        ActivityTimeout::ScheduleToClose => true,
                        ActivityTimeout::ScheduleToStart => {
                            a.attempt == *attempt && a.state == ActivityState::Scheduled
                        }
                        ActivityTimeout::StartToClose => {
                            a.attempt == *attempt && a.state == ActivityState::Started
                        }
                        ActivityTimeout::Heartbeat => {
                            a.attempt == *attempt
                                && a.state == ActivityState::Started
                                && a.heartbeat_stamp == *stamp
                        }
                    })
            }),
            TimerKind::ActivityRetry {
                run,
                scheduled_event_id,
                attempt,
            } => state(run).is_some_and(|s| {
                s.activities
                    .get(scheduled_event_id)
                    .is_some_and(|a| a.attempt == *attempt && a.state == ActivityState::Backoff)
            }),
            TimerKind::RunTimeout { run } => state(run).is_some(),
        }
    }

    fn fire(&self, inner: &mut Inner, kind: TimerKind) {
        let result = match kind {
            TimerKind::User {
                run,
                timer_id,
                started_event_id,
            } => self.transact(inner, &run, |txn| {
                txn.user_timer_due(&timer_id, started_event_id);
                Ok(())
            }),
            TimerKind::WorkflowTaskStartToClose { run, stamp } => {
                self.transact(inner, &run, |txn| {
                    txn.workflow_task_timed_out(stamp);
                    Ok(())
                })
            }
            TimerKind::StickyScheduleToStart { run, stamp } => self.transact(inner, &run, |txn| {
                txn.sticky_schedule_to_start_timed_out(stamp);
                Ok(())
            }),
            TimerKind::Activity {
                run,
                scheduled_event_id,
                attempt,
                timeout,
                stamp,
            } => self.transact(inner, &run, |txn| {
                txn.activity_timeout_due(scheduled_event_id, attempt, timeout, stamp);
                Ok(())
            }),
            TimerKind::ActivityRetry {
                run,
                scheduled_event_id,
                attempt,
            } => self.transact(inner, &run, |txn| {
                txn.activity_retry_due(scheduled_event_id, attempt);
                Ok(())
            }),
            TimerKind::RunTimeout { run } => self.transact(inner, &run, |txn| {
                txn.run_timed_out();
                Ok(())
            }),
            TimerKind::Sleeper { id } => {
                if let Some((sender, relock)) = inner.sleepers.remove(&id) {
                    if relock {
                        inner.clock.lock();
                    }
                    let _ = sender.send(());
                }
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "a timer's run is gone");
        }
    }

    /// Waits until virtual time reaches `deadline_ms`; with `unlock`, releases one lock for
    /// the wait and takes it back when the time comes (UnlockTimeSkippingWithSleep).
    pub async fn sleep_until(self: &Arc<Self>, deadline_ms: i64, unlock: bool) -> Result<()> {
        let receiver = {
            let mut inner = self.lock();
            if unlock {
                inner.clock.unlock()?;
            }
            let (sender, receiver) = oneshot::channel();
            let id = Engine::next_id(&mut inner);
            inner.sleepers.insert(id, (sender, unlock));
            inner.timers.add(deadline_ms, TimerKind::Sleeper { id });
            receiver
        };
        self.pump.notify_one();
        let mut shutdown = self.shutdown_signal();
        tokio::select! {
            _ = receiver => Ok(()),
            _ = super::tasks::wait_true(&mut shutdown) => Ok(()),
        }
    }

    /// LockTimeSkipping.
    pub fn lock_time_skipping(&self) {
        self.lock().clock.lock();
    }

    /// UnlockTimeSkipping.
    pub fn unlock_time_skipping(&self) -> Result<()> {
        self.lock().clock.unlock()?;
        self.pump.notify_one();
        Ok(())
    }

    /// How far virtual time has been skipped so far.
    pub fn skipped(&self) -> Duration {
        Duration::from_millis(self.lock().clock.offset_ms().max(0) as u64)
    }
}
