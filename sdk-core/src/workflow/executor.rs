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

/// A handler's future as the executor polls it, next to the workflow function.
pub(crate) type HandlerTask = futures::future::LocalBoxFuture<'static, ()>;

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
    /// The workflow function; `None` once it has returned.
    future: Option<WorkflowFuture>,
    /// What it returned, until the handlers it left are blocked too.
    exit: Option<WorkflowExit>,
    /// Handler futures (updates, async signals) in start order; `None` once finished.
    tasks: Vec<Option<HandlerTask>>,
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
            future: Some(future),
            exit: None,
            tasks: Vec::new(),
            flag,
            waker,
        }
    }

    /// Polls until the workflow function and every handler task are blocked (or done).
    /// `spawned` hands over the handler futures started since it was last called.
    ///
    /// Each round polls the workflow function first, then the handler tasks in the order
    /// they started, every one of them whether woken or not (a spurious poll is harmless):
    /// the same history therefore always gives the same polls. Once the workflow function
    /// has returned, the handlers still run until they are blocked, so that what they can
    /// finish in this task (an update's response) goes out before the run's completion.
    pub(crate) fn run_until_blocked(
        &mut self,
        spawned: &mut dyn FnMut() -> Vec<HandlerTask>,
    ) -> Result<Progress, Stopped> {
        let waker = self.waker.clone();
        let mut cx = Context::from_waker(&waker);
        self.tasks.extend(spawned().into_iter().map(Some));
        for _ in 0..MAX_POLLS_PER_ACTIVATION {
            self.flag.0.store(false, Ordering::Release);
            let round = catch_unwind(AssertUnwindSafe(|| self.round(&mut cx)));
            if let Err(panic) = round {
                return Err(Stopped::Panicked(panic_message(panic.as_ref())));
            }
            let new = spawned();
            let woken = self.flag.0.load(Ordering::Acquire) || !new.is_empty();
            self.tasks.extend(new.into_iter().map(Some));
            if !woken {
                return Ok(match self.exit.take() {
                    Some(exit) => Progress::Finished(exit),
                    None => Progress::Blocked,
                });
            }
        }
        Err(Stopped::Livelocked {
            polls: MAX_POLLS_PER_ACTIVATION,
        })
    }

    fn round(&mut self, cx: &mut Context<'_>) {
        if let Some(future) = self.future.as_mut() {
            if let Poll::Ready(exit) = future.as_mut().poll(cx) {
                self.future = None;
                self.exit = Some(exit);
            }
        }
        for slot in &mut self.tasks {
            if let Some(task) = slot.as_mut() {
                if task.as_mut().poll(cx).is_ready() {
                    *slot = None;
                }
            }
        }
        self.tasks.retain(Option::is_some);
    }
}
