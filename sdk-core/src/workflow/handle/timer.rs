//! Durable timers from workflow code, and the future of a timer.

use super::RunHandle;
use crate::workflow::machines::timer::TimerMachine;
use crate::workflow::machines::MachineId;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

impl RunHandle {
    /// Starts a durable timer.
    #[track_caller]
    pub fn start_timer(&self, duration: Duration) -> TimerHandle {
        self.start_timer_at(duration, Location::caller())
    }

    /// Like [`start_timer`](Self::start_timer), naming the workflow code location that issued
    /// it (reported in nondeterminism errors).
    pub fn start_timer_at(
        &self,
        duration: Duration,
        location: &'static Location<'static>,
    ) -> TimerHandle {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("start a timer");
        let seq = state.commands.machines.timers.len() as u32 + 1;
        let index = state.issue_cancellable(TimerMachine::new(seq, duration, location));
        TimerHandle {
            run: self.clone(),
            index,
        }
    }
}

/// A durable timer; resolves to `true` when it fires, `false` when canceled.
pub struct TimerHandle {
    run: RunHandle,
    index: usize,
}

impl TimerHandle {
    /// Cancels the timer; the future then resolves to `false`.
    pub fn cancel(&self) {
        self.run
            .0
            .borrow_mut()
            .commands
            .cancel::<TimerMachine>(self.index);
    }
}

impl Future for TimerHandle {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.timers[self.index]
            .outcome
            .poll_cloned(cx)
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimerHandle")
            .field(&MachineId::Timer(self.index))
            .finish()
    }
}
