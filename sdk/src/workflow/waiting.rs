//! What workflow code waits on besides activities: durable timers and conditions on the
//! workflow state.

use crate::error::Canceled;
use chronicle_core::workflow::{RunHandle, TimerHandle};
use std::cell::RefCell;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Resolves when a condition on the workflow state holds; made by
/// [`WorkflowContext::wait_until`](super::WorkflowContext::wait_until).
#[must_use = "futures do nothing unless awaited"]
pub struct WaitUntil<W, F> {
    pub(super) run: RunHandle,
    pub(super) state: Rc<RefCell<W>>,
    pub(super) condition: F,
}

impl<W, F: FnMut(&W) -> bool> WaitUntil<W, F> {
    fn holds(&mut self) -> bool {
        (self.condition)(&self.state.borrow())
    }
}

// No field is structurally pinned.
impl<W, F> Unpin for WaitUntil<W, F> {}

impl<W, F: FnMut(&W) -> bool> Future for WaitUntil<W, F> {
    type Output = Result<(), Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.holds() {
            return Poll::Ready(Ok(()));
        }
        if this.run.cancellation_applies() {
            return Poll::Ready(Err(Canceled));
        }
        // A cancellation request wakes these too.
        this.run.wait_for_change(cx.waker());
        Poll::Pending
    }
}

/// Resolves to `true` when a condition on the workflow state holds, `false` when the timeout
/// fires first; made by
/// [`WorkflowContext::wait_until_timeout`](super::WorkflowContext::wait_until_timeout).
#[must_use = "futures do nothing unless awaited"]
pub struct WaitUntilTimeout<W, F> {
    pub(super) wait: WaitUntil<W, F>,
    pub(super) timeout: Duration,
    pub(super) location: &'static Location<'static>,
    /// Started at the first poll.
    pub(super) timer: Option<TimerHandle>,
}

impl<W, F> Unpin for WaitUntilTimeout<W, F> {}

impl<W, F: FnMut(&W) -> bool> Future for WaitUntilTimeout<W, F> {
    type Output = Result<bool, Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let (run, timeout, location) = (&this.wait.run, this.timeout, this.location);
        let timer = this
            .timer
            .get_or_insert_with(|| run.start_timer_at(timeout, location));
        // When both happen in the same workflow task, the condition wins: what the code waited
        // for did happen.
        if this.wait.holds() {
            timer.cancel();
            return Poll::Ready(Ok(true));
        }
        match Pin::new(timer).poll(cx) {
            Poll::Ready(true) => Poll::Ready(Ok(false)),
            // Only the workflow's cancellation cancels this timer.
            Poll::Ready(false) => Poll::Ready(Err(Canceled)),
            Poll::Pending => {
                this.wait.run.wait_for_change(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// A durable timer started by [`WorkflowContext::sleep`](super::WorkflowContext::sleep).
#[must_use = "a timer does nothing for the workflow unless awaited"]
pub struct Timer {
    pub(super) handle: TimerHandle,
}

impl Timer {
    /// Cancels the timer; awaiting it then completes at once.
    pub fn cancel(&self) {
        self.handle.cancel();
    }
}

impl Future for Timer {
    type Output = Result<(), Canceled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.get_mut().handle).poll(cx).map(|fired| {
            if fired {
                Ok(())
            } else {
                Err(Canceled)
            }
        })
    }
}

/// Resolves when the workflow is asked to cancel; made by
/// [`WorkflowContext::cancel_requested`](super::WorkflowContext::cancel_requested).
#[must_use = "futures do nothing unless awaited"]
pub struct CancelRequested {
    pub(super) run: RunHandle,
}

impl Future for CancelRequested {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.run.is_cancel_requested() {
            return Poll::Ready(());
        }
        self.run.wait_for_cancel(cx.waker());
        Poll::Pending
    }
}

/// A future whose timers, activities and waits the workflow's cancellation does not reach;
/// made by [`WorkflowContext::non_cancellable`](super::WorkflowContext::non_cancellable).
#[must_use = "futures do nothing unless awaited"]
pub struct NonCancellable<F: IntoFuture> {
    pub(super) run: RunHandle,
    /// The work, turned into its future at the first poll (inside the scope: an activity call
    /// schedules its activity then).
    pub(super) work: Option<F>,
    pub(super) inner: Option<Pin<Box<F::IntoFuture>>>,
}

impl<F: IntoFuture> Unpin for NonCancellable<F> {}

impl<F: IntoFuture> Future for NonCancellable<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // What the work starts during this poll is shielded; polls are synchronous, so the
        // scope is exactly this call.
        this.run.enter_shield();
        if let Some(work) = this.work.take() {
            this.inner = Some(Box::pin(work.into_future()));
        }
        let polled = match this.inner.as_mut() {
            Some(inner) => inner.as_mut().poll(cx),
            None => Poll::Pending,
        };
        this.run.exit_shield();
        polled
    }
}

impl<W, F> fmt::Debug for WaitUntil<W, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitUntil").finish_non_exhaustive()
    }
}

impl<W, F> fmt::Debug for WaitUntilTimeout<W, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitUntilTimeout")
            .field("timeout", &self.timeout)
            .field("location", &self.location)
            .field("timer_started", &self.timer.is_some())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

impl fmt::Debug for CancelRequested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelRequested")
            .field("requested", &self.run.is_cancel_requested())
            .finish()
    }
}

impl<F: IntoFuture> fmt::Debug for NonCancellable<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonCancellable")
            .field("started", &self.inner.is_some())
            .finish_non_exhaustive()
    }
}
