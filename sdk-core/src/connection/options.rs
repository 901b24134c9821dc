//! Where and how to connect: [`ConnectionOptions`].

use super::env_config::{self, ConfigError};
use super::tls::{Tls, TlsOptions};
use super::RetryOptions;
use std::collections::BTreeMap;
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
///
/// Temporal Cloud with an API key (TLS is then on by default):
///
/// ```no_run
/// use chronicle_core::ConnectionOptions;
/// let options = ConnectionOptions::default()
///     .address("us-east-1.aws.api.temporal.io:7233")
///     .namespace("my-ns.a1b2c")
///     .api_key(std::env::var("MY_TEMPORAL_KEY").unwrap_or_default());
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
    /// TLS: [`Tls::Auto`] (the default) turns it on when an API key is set.
    pub tls: Tls,
    /// Sent as `authorization: Bearer <key>` on every call.
    pub api_key: Option<ApiKey>,
    /// Extra gRPC metadata sent on every call (names are lowercased, `_` becomes `-`).
    pub headers: BTreeMap<String, String>,
    /// A configuration error [`ConnectionOptions::from_env`] met, reported by `connect`.
    pub(crate) config_error: Option<ConfigError>,
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
            tls: Tls::Auto,
            api_key: None,
            headers: BTreeMap::new(),
            config_error: None,
        }
    }
}

impl ConnectionOptions {
    /// Temporal's environment configuration, shared with the `temporal` CLI and the other SDKs:
    /// the profile file, then the `TEMPORAL_*` environment variables over it, then Chronicle's
    /// defaults for what neither sets.
    ///
    /// - File: `TEMPORAL_CONFIG_FILE`, else `temporalio/temporal.toml` in the user's config
    ///   directory (`$XDG_CONFIG_HOME` or `~/.config` on Linux, `~/Library/Application
    ///   Support` on macOS, `%APPDATA%` on Windows); a missing file is no error.
    /// - Profile: `TEMPORAL_PROFILE`, else `default` (a named profile must exist).
    /// - Variables: `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
    ///   `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH` / `_DATA`,
    ///   `TEMPORAL_TLS_CLIENT_KEY_PATH` / `_DATA`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH` / `_DATA`,
    ///   `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_TLS_DISABLE_HOST_VERIFICATION`, and
    ///   `TEMPORAL_GRPC_META_<NAME>` (one header each; empty removes the file's header).
    ///
    /// Never fails: when the file or a variable is invalid, the error is logged and kept, and
    /// [`Connection::connect`](super::Connection::connect) returns it instead of connecting
    /// somewhere the configuration did not mean. Use [`ConnectionOptions::try_from_env`] to
    /// handle it yourself.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), chronicle_core::ConnectionError> {
    /// // TEMPORAL_ADDRESS=my-ns.a1b2c.tmprl.cloud:7233 TEMPORAL_NAMESPACE=my-ns.a1b2c
    /// // TEMPORAL_API_KEY=... ./my-worker
    /// let connection =
    ///     chronicle_core::Connection::connect(chronicle_core::ConnectionOptions::from_env())
    ///         .await?;
    /// # Ok(()) }
    /// ```
    pub fn from_env() -> Self {
        match Self::try_from_env() {
            Ok(options) => options,
            Err(error) => {
                tracing::error!(%error, "invalid Temporal environment configuration");
                Self {
                    config_error: Some(error),
                    ..Self::default()
                }
            }
        }
    }

    /// Like [`ConnectionOptions::from_env`], but returns a configuration error.
    pub fn try_from_env() -> Result<Self, ConfigError> {
        Self::try_from_vars(std::env::vars_os().filter_map(|(name, value)| {
            Some((name.into_string().ok()?, value.into_string().ok()?))
        }))
    }

    /// Like [`ConnectionOptions::try_from_env`], reading these variables instead of the
    /// process's (for tests, or a configuration from elsewhere).
    ///
    /// ```
    /// use chronicle_core::ConnectionOptions;
    /// let options = ConnectionOptions::try_from_vars([
    ///     ("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml"),
    ///     ("TEMPORAL_ADDRESS", "temporal.internal:7233"),
    ///     ("TEMPORAL_GRPC_META_X_TEAM", "payments"),
    /// ])?;
    /// assert_eq!(options.address, "temporal.internal:7233");
    /// assert_eq!(options.headers["x-team"], "payments");
    /// # Ok::<(), chronicle_core::connection::ConfigError>(())
    /// ```
    pub fn try_from_vars<K, V>(vars: impl IntoIterator<Item = (K, V)>) -> Result<Self, ConfigError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(name, value)| (name.into(), value.into()))
            .collect();
        env_config::load(&vars)?.apply(Self::default())
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

    /// Turns TLS on with these options.
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Tls::Enabled(tls);
        self
    }

    /// Connects in plaintext, even with an API key.
    pub fn without_tls(mut self) -> Self {
        self.tls = Tls::Disabled;
        self
    }

    /// Sends this API key as `authorization: Bearer <key>` on every call; with
    /// [`Tls::Auto`] this also turns TLS on.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(ApiKey::new(key));
        self
    }

    /// Adds a gRPC metadata header sent on every call.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }
}

/// An API key; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
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
