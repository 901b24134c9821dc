//! An in-process test environment on the embedded history service: no CLI, no Python, no
//! network beyond loopback, started in milliseconds. With time skipping, a workflow that
//! sleeps for a month completes as soon as nothing but its timer is outstanding.

use crate::client::{Client, ClientError};
use crate::worker::Worker;
use chronicle_core::ConnectionOptions;
use chronicle_history_service::{HistoryService, StartError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Why a [`TestEnvironment`] could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestEnvironmentError {
    /// The embedded service did not start.
    #[error("the embedded history service did not start: {0}")]
    Start(#[from] StartError),
    /// The client could not connect to it.
    #[error("could not connect to the embedded history service: {0}")]
    Connect(#[from] ClientError),
}

/// Holds time still while it lives (see [`TestEnvironment::hold_time`]).
#[derive(Debug)]
pub struct TimeLock {
    engine: std::sync::Arc<chronicle_history_service::Engine>,
}

impl TimeLock {
    /// Releases the lock while `duration` of environment time passes, and takes it back at
    /// exactly that moment, so nothing scheduled later runs before the caller acts.
    pub async fn sleep(&self, duration: Duration) {
        let deadline = self.engine.now_ms() + duration.as_millis() as i64;
        // This lock is held, so the unlock inside is balanced.
        let _ = self.engine.sleep_until(deadline, true).await;
    }
}

impl Drop for TimeLock {
    fn drop(&mut self) {
        // Balanced by construction: the lock was taken in `hold_time` and re-taken by each
        // `sleep`.
        let _ = self.engine.unlock_time_skipping();
    }
}

/// An embedded history service with a client connected to it.
///
/// ```no_run
/// use chronicle::testing::TestEnvironment;
/// use std::time::Duration;
///
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let env = TestEnvironment::start_time_skipping().await?;
/// let worker = env.worker("my-queue"); // register workflows and activities, then run it
/// env.sleep(Duration::from_secs(7 * 24 * 3600)).await; // a week, at once
/// # drop(worker);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct TestEnvironment {
    service: HistoryService,
    client: Client,
    time_skipping: bool,
}

impl TestEnvironment {
    /// An environment whose time jumps to the next timer whenever nothing else is
    /// outstanding (no workflow task, no running activity, no query).
    pub async fn start_time_skipping() -> Result<TestEnvironment, TestEnvironmentError> {
        Self::start(true).await
    }

    /// An environment in real time.
    pub async fn start_local() -> Result<TestEnvironment, TestEnvironmentError> {
        Self::start(false).await
    }

    async fn start(time_skipping: bool) -> Result<TestEnvironment, TestEnvironmentError> {
        let service = HistoryService::builder()
            .time_skipping(time_skipping)
            .start()
            .await?;
        let client = Client::connect(
            ConnectionOptions::default()
                .address(service.target())
                .namespace("default"),
        )
        .await?;
        Ok(TestEnvironment {
            service,
            client,
            time_skipping,
        })
    }

    /// The client connected to the environment.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A worker builder for `task_queue` on the environment.
    pub fn worker(&self, task_queue: impl Into<String>) -> Worker {
        Worker::new(&self.client, task_queue)
    }

    /// Options to connect more clients (`127.0.0.1:PORT`, namespace `default`).
    pub fn connection_options(&self) -> ConnectionOptions {
        ConnectionOptions::default()
            .address(self.service.target())
            .namespace("default")
    }

    /// Whether time skips.
    pub fn supports_time_skipping(&self) -> bool {
        self.time_skipping
    }

    /// The environment's current time (virtual with time skipping).
    pub fn now(&self) -> SystemTime {
        let ms = self.service.engine().now_ms().max(0) as u64;
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    /// How much time has been skipped so far.
    pub fn skipped(&self) -> Duration {
        self.service.engine().skipped()
    }

    /// Lets `duration` of environment time pass: at once with time skipping (once nothing
    /// else is outstanding), in real time otherwise.
    pub async fn sleep(&self, duration: Duration) {
        if self.time_skipping {
            let engine = self.service.engine();
            let deadline = engine.now_ms() + duration.as_millis() as i64;
            // Only an unbalanced unlock can fail, and this sleep does not unlock.
            let _ = engine.sleep_until(deadline, false).await;
        } else {
            tokio::time::sleep(duration).await;
        }
    }

    /// Holds time still (it runs at wall-clock pace) until the returned lock is dropped;
    /// [`TimeLock::sleep`] lets a precise amount of time pass meanwhile. Without time
    /// skipping the lock changes nothing.
    pub fn hold_time(&self) -> TimeLock {
        let engine = self.service.engine().clone();
        engine.lock_time_skipping();
        TimeLock { engine }
    }

    /// Stops the service.
    pub async fn shutdown(self) {
        self.service.shutdown().await;
    }
}
