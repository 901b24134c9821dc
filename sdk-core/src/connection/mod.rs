//! The gRPC connection to a Temporal frontend, with retries on transient errors.
//!
//! One [`Connection`] is shared by a client and any number of workers: tonic channels multiplex
//! over one HTTP/2 connection and are cheap to clone.

use crate::proto::WorkflowServiceClient;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tonic::Status;

mod endpoint;
pub mod env_config;
mod headers;
mod options;
mod retry;
mod tls;

pub use env_config::ConfigError;
pub use headers::{
    normalize_header_name, RequestHeaders, WorkflowService, AUTHORIZATION_HEADER, NAMESPACE_HEADER,
};
pub use options::{
    ApiKey, ConnectionOptions, ADDRESS_ENV, DEFAULT_ADDRESS, DEFAULT_NAMESPACE, NAMESPACE_ENV,
};
pub use retry::{is_transient, RetryOptions};
pub use tls::{ClientCertificate, PemSource, Tls, TlsError, TlsOptions};

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
    /// The TLS settings could not be applied (an unreadable or invalid certificate or key).
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The environment configuration or a header is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// A connection to one namespace of a Temporal frontend.
#[derive(Clone)]
pub struct Connection {
    service: WorkflowService,
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
        let endpoint = endpoint::endpoint(&options)?;
        let headers = RequestHeaders::new(&options)?;
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
        let service = WorkflowServiceClient::with_interceptor(channel, headers)
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
    pub fn raw(&self) -> WorkflowService {
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
        F: FnMut(WorkflowService) -> Fut,
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
