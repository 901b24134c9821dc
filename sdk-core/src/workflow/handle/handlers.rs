//! Handlers that run as tasks of their own: async signal handlers started by the `chronicle`
//! crate, and whether every handler has finished.

use super::RunHandle;
use crate::failure::Failure;
use crate::workflow::definition::HandlerKind;
use futures::future::LocalBoxFuture;
use futures::FutureExt;

impl RunHandle {
    /// Runs an async signal handler's future as a task of the run, polled after the workflow
    /// function in every round. Its error fails the workflow, as a failure returned by the
    /// workflow function would.
    pub fn spawn_signal_handler(
        &self,
        name: &str,
        future: LocalBoxFuture<'static, Result<(), Failure>>,
    ) {
        let state = self.0.clone();
        let task = future.map(move |result| {
            if let Err(failure) = result {
                let mut state = state.borrow_mut();
                state.handlers.failure.get_or_insert(failure);
            }
        });
        self.spawn_handler(HandlerKind::Signal, name, None, task.boxed_local());
    }

    /// Registers a running handler and hands its future to the executor; when it returns, the
    /// handler is no longer running and `wait_until` conditions are checked again (they may
    /// wait for [`all_handlers_finished`](Self::all_handlers_finished)).
    pub(crate) fn spawn_handler(
        &self,
        kind: HandlerKind,
        name: &str,
        update_id: Option<String>,
        future: LocalBoxFuture<'static, ()>,
    ) {
        let state = self.0.clone();
        let seq = self.0.borrow_mut().handlers.start(kind, name, update_id);
        let task = future.map(move |()| {
            let mut state = state.borrow_mut();
            state.handlers.finish(seq);
            state.change_waiters.wake_all();
        });
        self.0
            .borrow_mut()
            .handlers
            .spawned
            .push(task.boxed_local());
    }

    /// Whether no update handler and no async signal handler is running: a run function that
    /// waits for this before returning lets every handler finish its work.
    pub fn all_handlers_finished(&self) -> bool {
        self.0.borrow().handlers.running.is_empty()
    }

    /// How many update and async signal handlers are running.
    pub fn running_handlers(&self) -> usize {
        self.0.borrow().handlers.running.len()
    }
}
