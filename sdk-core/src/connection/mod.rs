//! The gRPC connection to a Temporal frontend, with retries on transient errors.
//!
//! One [`Connection`] is shared by a client and any number of workers: tonic channels multiplex
//! over one HTTP/2 connection and are cheap to clone.

use crate::payload::DataConverter;
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
pub use retry::{is_transient, CallOptions, RetryOptions, RetryUntil};
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

/// A Temporal API request or response: what the connection's methods take and return, since
/// they walk each one for its payloads (see [`crate::payload::codec`]). Every generated message
/// is one.
pub trait ApiMessage: prost::Message + prost::Name + Default {}

impl<M: prost::Message + prost::Name + Default> ApiMessage for M {}

/// A connection to one namespace of a Temporal frontend.
#[derive(Clone)]
pub struct Connection {
    service: WorkflowService,
    options: Arc<ConnectionOptions>,
    data: DataConverter,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.options.address)
            .field("namespace", &self.options.namespace)
            .field("data_converter", &self.data)
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
            data: DataConverter::default(),
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

    /// A connection like this one whose ordinary calls give each attempt `timeout`.
    pub fn with_rpc_timeout(&self, timeout: Duration) -> Connection {
        let mut options = (*self.options).clone();
        options.rpc_timeout = timeout;
        Connection {
            service: self.service.clone(),
            options: Arc::new(options),
            data: self.data.clone(),
        }
    }

    /// A connection like this one whose calls pass every payload through `converter`: encoded
    /// in each request, decoded in each response (see [`crate::payload::codec`]).
    pub fn with_data_converter(&self, converter: DataConverter) -> Connection {
        Connection {
            service: self.service.clone(),
            options: self.options.clone(),
            data: converter,
        }
    }

    /// What this connection does to payloads on the wire.
    pub fn data_converter(&self) -> &DataConverter {
        &self.data
    }

    /// Decodes the payloads of a response that did not come through [`unary`](Self::unary)
    /// (long polls use the raw client).
    pub async fn decode_response<M: ApiMessage>(&self, message: &mut M) -> Result<(), Status> {
        self.data
            .decode_message(message)
            .await
            .map_err(codec_status)
    }

    /// Runs one RPC with the ordinary retry budget, giving each attempt the connection's
    /// `rpc_timeout`.
    ///
    /// ```no_run
    /// # async fn f(conn: chronicle_core::Connection) -> Result<(), tonic::Status> {
    /// use chronicle_core::proto::workflowservice::GetSystemInfoRequest;
    /// let info = conn
    ///     .unary("GetSystemInfo", GetSystemInfoRequest::default(), |mut svc, request| async move {
    ///         svc.get_system_info(request).await
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn unary<Req, T, F, Fut>(
        &self,
        rpc: &'static str,
        request: Req,
        f: F,
    ) -> Result<T, Status>
    where
        Req: ApiMessage + Clone,
        T: ApiMessage,
        F: FnMut(WorkflowService, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        self.unary_with(rpc, CallOptions::default(), request, f)
            .await
    }

    /// Runs one RPC as `call` says: the deadline of each attempt (sent to the server), and
    /// when to stop retrying transient errors.
    ///
    /// ```no_run
    /// # async fn f(conn: chronicle_core::Connection) -> Result<(), tonic::Status> {
    /// use chronicle_core::connection::{CallOptions, RetryUntil};
    /// use chronicle_core::proto::workflowservice::GetSystemInfoRequest;
    /// let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    /// let info = conn
    ///     .unary_with(
    ///         "GetSystemInfo",
    ///         CallOptions::default().retry(RetryUntil::Deadline(deadline)),
    ///         GetSystemInfoRequest::default(),
    ///         |mut svc, request| async move { svc.get_system_info(request).await },
    ///     )
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn unary_with<Req, T, F, Fut>(
        &self,
        rpc: &'static str,
        call: CallOptions,
        mut request: Req,
        mut f: F,
    ) -> Result<T, Status>
    where
        Req: ApiMessage + Clone,
        T: ApiMessage,
        F: FnMut(WorkflowService, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        // Once, before the first attempt: retries resend the same encoded bytes.
        self.data
            .encode_message(&mut request)
            .await
            .map_err(codec_status)?;
        let timeout = call.timeout.unwrap_or(self.options.rpc_timeout);
        let mut response = self
            .retrying(rpc, call, || {
                let mut attempt = tonic::Request::new(request.clone());
                attempt.set_timeout(timeout);
                f(self.service.clone(), attempt)
            })
            .await?;
        self.decode_response(&mut response).await?;
        Ok(response)
    }

    /// Runs one RPC built by `f`, with the ordinary retry budget. Each attempt is bounded by
    /// the connection's `rpc_timeout` on this side; prefer [`unary`](Self::unary), which also
    /// tells the server, and is the only one of the two that encodes the request's payloads
    /// (`call` decodes the response's): use `call` for requests without payloads.
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
        T: ApiMessage,
        F: FnMut(WorkflowService) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let timeout = self.options.rpc_timeout;
        let mut response = self
            .retrying(rpc, CallOptions::default(), || {
                let attempt = f(self.service.clone());
                async move {
                    tokio::time::timeout(timeout, attempt)
                        .await
                        .unwrap_or_else(|_| {
                            Err(Status::deadline_exceeded(format!(
                                "no answer within {timeout:?}"
                            )))
                        })
                }
            })
            .await?;
        self.decode_response(&mut response).await?;
        Ok(response)
    }

    /// Makes attempts until one succeeds or `call` says to give up.
    async fn retrying<T, A, Fut>(
        &self,
        rpc: &'static str,
        call: CallOptions,
        mut attempt: A,
    ) -> Result<T, Status>
    where
        A: FnMut() -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, Status>>,
    {
        let mut attempts = retry::Attempts::new(&self.options.retry, call);
        loop {
            let status =
                match crate::telemetry::observe_request(rpc, self.namespace(), attempt()).await {
                    Ok(response) => {
                        if attempts.retries() > 0 {
                            tracing::debug!(
                                rpc,
                                retries = attempts.retries(),
                                "succeeded after retrying"
                            );
                        }
                        return Ok(response.into_inner());
                    }
                    Err(status) => retry::deadline_as_such(status),
                };
            let Some(delay) = attempts.next_delay(&status) else {
                return Err(status);
            };
            // Several retries in a row mean an outage, not a blip: say so once, then quietly.
            if attempts.retries() == 5 {
                tracing::warn!(rpc, code = ?status.code(), message = status.message(), "Temporal is not answering; retrying");
            } else {
                tracing::debug!(rpc, code = ?status.code(), ?delay, "transient error, retrying");
            }
            tokio::time::sleep(delay).await;
        }
    }
}

/// A codec's failure, as the status of the call it stopped. `Internal` with no transport words
/// in it, so it is never retried: the same bytes would fail again.
fn codec_status(error: crate::payload::CodecError) -> Status {
    Status::internal(error.to_string())
}

/// How long a long poll may wait on the server, which answers empty after about a minute.
pub const LONG_POLL_TIMEOUT: Duration = Duration::from_secs(70);

/// Wraps a long-poll request with its deadline: the server refuses long polls without one.
pub fn long_poll<T>(message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(LONG_POLL_TIMEOUT);
    request
}
