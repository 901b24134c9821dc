//! The gRPC connection to a Temporal frontend, with retries on transient errors.
//!
//! One [`Connection`] is shared by a client and any number of workers: tonic channels multiplex
//! over one HTTP/2 connection and are cheap to clone.

use crate::proto::WorkflowServiceClient;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};

/// Environment variable overriding the default address.
pub const ADDRESS_ENV: &str = "TEMPORAL_ADDRESS";
/// Environment variable overriding the default namespace.
pub const NAMESPACE_ENV: &str = "TEMPORAL_NAMESPACE";
/// The address of a local `temporal server start-dev`.
pub const DEFAULT_ADDRESS: &str = "127.0.0.1:7233";
/// Temporal's default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Where and how to connect.
///
/// ```
/// use chronicle_core::ConnectionOptions;
/// let options = ConnectionOptions::from_env().namespace("billing");
/// assert_eq!(options.namespace, "billing");
/// ```
#[derive(Debug, Clone)]
pub struct ConnectionOptions {
    /// `host:port` of the Temporal frontend (a `http://` or `https://` prefix is accepted).
    pub address: String,
    /// The namespace every call uses.
    pub namespace: String,
    /// The identity reported to the server (defaults to `pid@host`).
    pub identity: String,
    /// How calls are retried on transient errors.
    pub retry: RetryOptions,
}

/// Exponential backoff for transient gRPC errors.
#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Delay before the first retry.
    pub initial_interval: Duration,
    /// Upper bound of the delay.
    pub max_interval: Duration,
    /// Multiplier applied after each retry.
    pub backoff_coefficient: f64,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            backoff_coefficient: 2.0,
            max_attempts: 10,
        }
    }
}

impl RetryOptions {
    /// The delay before retry number `retry` (0-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self.backoff_coefficient.powi(retry.min(64) as i32);
        self.initial_interval.mul_f64(factor).min(self.max_interval)
    }
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            address: DEFAULT_ADDRESS.to_string(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            identity: default_identity(),
            retry: RetryOptions::default(),
        }
    }
}

impl ConnectionOptions {
    /// Defaults, overridden by `TEMPORAL_ADDRESS` and `TEMPORAL_NAMESPACE` when set.
    pub fn from_env() -> Self {
        let mut options = Self::default();
        if let Ok(address) = std::env::var(ADDRESS_ENV) {
            if !address.trim().is_empty() {
                options.address = address.trim().to_string();
            }
        }
        if let Ok(namespace) = std::env::var(NAMESPACE_ENV) {
            if !namespace.trim().is_empty() {
                options.namespace = namespace.trim().to_string();
            }
        }
        options
    }

    /// Sets the address.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// Sets the namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets the identity.
    pub fn identity(mut self, identity: impl Into<String>) -> Self {
        self.identity = identity.into();
        self
    }
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{}@{}", std::process::id(), host)
}

/// Connecting failed.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    /// The address is not a valid URI.
    #[error("invalid Temporal address {address:?}: {source}")]
    InvalidAddress {
        /// The address given.
        address: String,
        /// The parse error.
        #[source]
        source: tonic::transport::Error,
    },
    /// Nothing answered at the address.
    #[error("could not connect to Temporal at {address}: {source}")]
    Unreachable {
        /// The address given.
        address: String,
        /// The transport error.
        #[source]
        source: tonic::transport::Error,
    },
}

/// A connection to one namespace of a Temporal frontend.
#[derive(Clone)]
pub struct Connection {
    service: WorkflowServiceClient<Channel>,
    options: Arc<ConnectionOptions>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.options.address)
            .field("namespace", &self.options.namespace)
            .finish()
    }
}

impl Connection {
    /// Connects, retrying while the server is unreachable for up to the retry budget.
    pub async fn connect(options: ConnectionOptions) -> Result<Self, ConnectionError> {
        let uri = if options.address.contains("://") {
            options.address.clone()
        } else {
            format!("http://{}", options.address)
        };
        let endpoint = Endpoint::from_shared(uri)
            .map_err(|source| ConnectionError::InvalidAddress {
                address: options.address.clone(),
                source,
            })?
            .connect_timeout(Duration::from_secs(5))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(30))
            .keep_alive_while_idle(true);
        let mut retry = 0;
        let channel = loop {
            match endpoint.connect().await {
                Ok(channel) => break channel,
                Err(source) if retry + 1 >= options.retry.max_attempts.min(4) => {
                    return Err(ConnectionError::Unreachable {
                        address: options.address.clone(),
                        source,
                    })
                }
                Err(_) => {
                    tokio::time::sleep(options.retry.delay(retry)).await;
                    retry += 1;
                }
            }
        };
        let service = WorkflowServiceClient::new(channel)
            .max_decoding_message_size(256 * 1024 * 1024)
            .max_encoding_message_size(256 * 1024 * 1024);
        Ok(Self {
            service,
            options: Arc::new(options),
        })
    }

    /// The namespace every call uses.
    pub fn namespace(&self) -> &str {
        &self.options.namespace
    }

    /// The identity reported to the server.
    pub fn identity(&self) -> &str {
        &self.options.identity
    }

    /// The options this connection was made with.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }

    /// A clone of the raw generated client, for calls Chronicle does not wrap.
    pub fn raw(&self) -> WorkflowServiceClient<Channel> {
        self.service.clone()
    }

    /// Runs one RPC, retrying with backoff while the error is transient.
    ///
    /// ```no_run
    /// # async fn f(conn: chronicle_core::Connection) -> Result<(), tonic::Status> {
    /// use chronicle_core::proto::workflowservice::GetSystemInfoRequest;
    /// let info = conn
    ///     .call("GetSystemInfo", |mut svc| async move {
    ///         svc.get_system_info(GetSystemInfoRequest::default()).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn call<T, F, Fut>(&self, rpc: &'static str, mut f: F) -> Result<T, Status>
    where
        F: FnMut(WorkflowServiceClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let mut retry = 0;
        loop {
            match f(self.service.clone()).await {
                Ok(response) => return Ok(response.into_inner()),
                Err(status)
                    if is_transient(&status) && retry + 1 < self.options.retry.max_attempts =>
                {
                    let delay = self.options.retry.delay(retry);
                    tracing::debug!(rpc, code = ?status.code(), ?delay, "transient error, retrying");
                    tokio::time::sleep(delay).await;
                    retry += 1;
                }
                Err(status) => return Err(status),
            }
        }
    }
}

/// How long a long poll may wait on the server, which answers empty after about a minute.
pub const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(70);

/// Wraps a long-poll request with its deadline: the server refuses long polls without one.
pub fn long_poll<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(LONG_POLL_TIMEOUT);
    request
}

/// Whether a gRPC error is worth retrying.
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted | Code::DeadlineExceeded
    ) || (status.code() == Code::Unknown && status.message().contains("transport"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let retry = RetryOptions::default();
        assert_eq!(retry.delay(0), Duration::from_millis(100));
        assert_eq!(retry.delay(1), Duration::from_millis(200));
        assert_eq!(retry.delay(30), Duration::from_secs(5));
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient(&Status::unavailable("x")));
        assert!(!is_transient(&Status::invalid_argument("x")));
    }
}
