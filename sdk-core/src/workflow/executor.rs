//! Polls one run's workflow future until it can make no more progress.
//!
//! Single-threaded and deterministic: the only wake-ups come from resolutions that the run
//! applies in history order, so the same history always produces the same polls.

use super::definition::WorkflowFuture;
use super::options::WorkflowExit;
use crate::failure::panic_message;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Upper bound on polls in one activation: code that keeps waking itself would otherwise spin
/// forever inside a workflow task.
const MAX_POLLS_PER_ACTIVATION: usize = 100_000;

struct WakeFlag(AtomicBool);

impl Wake for WakeFlag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

pub(crate) struct Executor {
    future: WorkflowFuture,
    flag: Arc<WakeFlag>,
    waker: Waker,
}

/// What one activation of the executor ended with.
pub(crate) enum Progress {
    /// The workflow function is waiting on something.
    Blocked,
    /// The workflow function returned.
    Finished(WorkflowExit),
}

/// Why an activation stopped without the workflow blocking or returning.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Workflow code panicked, with this message.
    Panicked(String),
    /// Workflow code kept waking itself: it was still ready after this many polls.
    Livelocked { polls: usize },
}

impl Executor {
    pub(crate) fn new(future: WorkflowFuture) -> Self {
        let flag = Arc::new(WakeFlag(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        Self {
            future,
            flag,
            waker,
        }
    }

    /// Polls until the future is blocked or done.
    pub(crate) fn run_until_blocked(&mut self) -> Result<Progress, Stopped> {
        let mut cx = Context::from_waker(&self.waker);
        for _ in 0..MAX_POLLS_PER_ACTIVATION {
            self.flag.0.store(false, Ordering::Release);
            let polled = catch_unwind(AssertUnwindSafe(|| self.future.as_mut().poll(&mut cx)));
            match polled {
                Ok(Poll::Ready(result)) => return Ok(Progress::Finished(result)),
                Ok(Poll::Pending) if !self.flag.0.load(Ordering::Acquire) => {
                    return Ok(Progress::Blocked)
                }
                Ok(Poll::Pending) => continue,
                Err(panic) => return Err(Stopped::Panicked(panic_message(panic.as_ref()))),
            }
        }
        Err(Stopped::Livelocked {
            polls: MAX_POLLS_PER_ACTIVATION,
        })
    }
}
