use std::sync::Arc;
use tokio::sync::watch;

/// Stops a running worker: pollers stop at once, in-flight tasks finish (bounded by the
/// worker's shutdown timeout).
///
/// ```no_run
/// # async fn f(worker: chronicle_core::worker::Worker) {
/// let shutdown = worker.shutdown_handle();
/// tokio::spawn(async move {
///     tokio::signal::ctrl_c().await.ok();
///     shutdown.shutdown();
/// });
/// worker.run().await.unwrap();
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ShutdownHandle(Arc<watch::Sender<bool>>);

impl Default for ShutdownHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl ShutdownHandle {
    /// A handle not yet triggered.
    pub fn new() -> Self {
        Self(Arc::new(watch::channel(false).0))
    }

    /// Requests shutdown (idempotent).
    pub fn shutdown(&self) {
        self.0.send_replace(true);
    }

    /// Whether shutdown was requested.
    pub fn is_requested(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once shutdown is requested.
    pub async fn requested(&self) {
        let mut rx = self.0.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we wait.
        let _ = rx.wait_for(|requested| *requested).await;
    }
}
