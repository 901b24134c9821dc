//! Waiting for the workflow's handlers: update handlers and async signal handlers run as tasks
//! of their own, and a run function that returns while one runs cuts its work short.

use super::WorkflowContext;
use chronicle_core::workflow::RunHandle;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

impl<W> WorkflowContext<W> {
    /// Whether no `#[update]` handler and no async `#[signal]` handler is running.
    ///
    /// A run that ends while handlers run stops them, and the clients of unfinished updates
    /// get an error instead of a result; the worker logs a warning when that happens.
    pub fn all_handlers_finished(&self) -> bool {
        self.run_handle().all_handlers_finished()
    }

    /// Waits until every `#[update]` and async `#[signal]` handler has finished; await it
    /// before returning from the run function (or continuing as new) so that none is cut short.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # async fn f(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
    /// ctx.wait_until_handlers_finished().await;
    /// Ok(())
    /// # }
    /// ```
    pub fn wait_until_handlers_finished(&self) -> HandlersFinished {
        HandlersFinished {
            run: self.run_handle(),
        }
    }
}

/// The future of [`WorkflowContext::wait_until_handlers_finished`].
#[derive(Debug)]
#[must_use = "a wait does nothing unless awaited"]
pub struct HandlersFinished {
    run: RunHandle,
}

impl Future for HandlersFinished {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.run.all_handlers_finished() {
            return Poll::Ready(());
        }
        // A handler that returns wakes the state's waiters.
        self.run.wait_for_change(cx.waker());
        Poll::Pending
    }
}
