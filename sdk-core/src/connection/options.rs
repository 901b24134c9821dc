//! Where and how to connect: [`ConnectionOptions`].

use super::RetryOptions;
use std::time::Duration;

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
    /// Deadline of each attempt of an ordinary call (long polls have their own); a call can
    /// change it with [`CallOptions::timeout`](super::CallOptions::timeout).
    pub rpc_timeout: Duration,
}

/// The default [`ConnectionOptions::rpc_timeout`], as in Temporal's other SDKs.
pub const DEFAULT_RPC_TIMEOUT: Duration = Duration::from_secs(10);

impl Default for ConnectionOptions {
    fn default() -> Self {
        Self {
            address: DEFAULT_ADDRESS.to_string(),
            namespace: DEFAULT_NAMESPACE.to_string(),
            identity: default_identity(),
            retry: RetryOptions::default(),
            rpc_timeout: DEFAULT_RPC_TIMEOUT,
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

    /// Sets the deadline of each attempt of an ordinary call.
    pub fn rpc_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_timeout = timeout;
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
