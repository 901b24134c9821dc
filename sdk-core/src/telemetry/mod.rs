//! What a worker tells the outside world about itself: logs, metrics and its identity.
//!
//! - [`install_fallback_logging`]: a worker is never silent. When the application set no
//!   global `tracing` subscriber, [`Worker::run`](crate::worker::Worker::run) installs one that
//!   writes to stderr (filter from `RUST_LOG`, else [`DEFAULT_LOG_FILTER`]).
//! - [`metrics`]: Temporal's standard SDK metrics (`temporal_request`,
//!   `temporal_workflow_task_execution_latency`, ...), recorded into one process-wide
//!   `prometheus` registry and served over HTTP when a worker sets
//!   [`TelemetryOptions::prometheus_address`].
//! - [`SDK_NAME`] / [`SDK_VERSION`]: how Chronicle names itself to the server (workflow task
//!   metadata, worker heartbeats).
//!
//! Plugging in one's own subscriber: install it before the worker runs, and the fallback steps
//! aside.
//!
//! ```no_run
//! # async fn f(worker: chronicle_core::worker::Worker) {
//! // Any subscriber works: JSON logs, OpenTelemetry, a file...
//! tracing_subscriber::fmt()
//!     .with_env_filter("info,chronicle_core=debug")
//!     .init();
//! worker.run().await.unwrap();
//! # }
//! ```

mod logging;
pub mod metrics;
mod prometheus_server;
mod recorders;
mod slots;
mod sticky;

pub use logging::{fallback_filter, install_fallback_logging, DEFAULT_LOG_FILTER};
pub use metrics::{registry, Metrics};
pub use prometheus_server::serve_prometheus;
pub(crate) use recorders::{
    observe_poll, observe_request, random_key, ActivityMetrics, TaskCounts, TaskKind,
    WorkerMetrics, WorkflowTaskMetrics,
};
pub(crate) use slots::SlotSource;
pub(crate) use sticky::StickyMetrics;

use std::net::SocketAddr;
use std::time::Duration;

/// The SDK name Chronicle reports to the server (workflow task metadata, worker heartbeats).
///
/// Deliberately not "temporal-rust" nor anything containing "rust": the Web UI and other tools
/// match SDK names against Temporal's own SDKs (and would ask to "upgrade" to theirs).
pub const SDK_NAME: &str = "chronicle";

/// The version reported with [`SDK_NAME`]: this crate's version.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The gRPC metadata key Temporal's SDKs name themselves with (`temporal-go`,
/// `temporal-python`, ...); Chronicle's value is [`SDK_NAME`].
pub const CLIENT_NAME_HEADER: &str = "client-name";

/// The gRPC metadata key carrying the client's version; Chronicle's value is [`SDK_VERSION`].
pub const CLIENT_VERSION_HEADER: &str = "client-version";

/// How a worker logs, exports metrics and announces itself.
///
/// ```no_run
/// use chronicle_core::telemetry::TelemetryOptions;
/// let telemetry = TelemetryOptions::default()
///     .prometheus("127.0.0.1:9464".parse().unwrap())
///     .fallback_logging(false);
/// ```
#[derive(Debug, Clone)]
pub struct TelemetryOptions {
    /// Serve the Prometheus text format on `http://<address>/metrics`. Workers of one process
    /// share one registry, so several may name the same address (it is bound once).
    pub prometheus_address: Option<SocketAddr>,
    /// Install a stderr subscriber when the application set no global one (default `true`).
    pub fallback_logging: bool,
    /// How often the worker sends `RecordWorkerHeartbeat`, which `temporal worker list` and the
    /// Web UI's Workers tab read; `None` turns heartbeats off. Default 60 s, as Temporal's SDKs.
    pub worker_heartbeat_interval: Option<Duration>,
}

impl Default for TelemetryOptions {
    fn default() -> Self {
        Self {
            prometheus_address: None,
            fallback_logging: true,
            worker_heartbeat_interval: Some(Duration::from_secs(60)),
        }
    }
}

impl TelemetryOptions {
    /// Serves metrics for Prometheus at `address` (path `/metrics`).
    pub fn prometheus(mut self, address: SocketAddr) -> Self {
        self.prometheus_address = Some(address);
        self
    }

    /// Turns the fallback stderr subscriber on or off.
    pub fn fallback_logging(mut self, enabled: bool) -> Self {
        self.fallback_logging = enabled;
        self
    }

    /// Sets the worker heartbeat interval (`None`: no heartbeats).
    pub fn worker_heartbeat_interval(mut self, interval: Option<Duration>) -> Self {
        self.worker_heartbeat_interval = interval;
        self
    }
}

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The Prometheus address could not be bound.
    #[error("could not serve Prometheus metrics on {address}: {source}")]
    PrometheusBind {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed (often: the port is taken by another process).
        #[source]
        source: std::io::Error,
    },
}
