//! An embedded, time-skipping Temporal history service.
//!
//! It serves Temporal's `WorkflowService` (and the test server's `TestService`) over gRPC on
//! a loopback port, behaving as the real server does for what it covers: the events each
//! command writes, buffered events, transient workflow tasks, deferred `ActivityTaskStarted`,
//! activity retries and timeouts, id reuse and conflict policies, queries, children,
//! continue-as-new, signals and cancellation. With time skipping on, virtual time jumps to the
//! next timer whenever nothing but timers is outstanding, so a workflow that sleeps for a month
//! completes in milliseconds.
//!
//! ```no_run
//! use chronicle_history_service::HistoryService;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let service = HistoryService::builder().time_skipping(true).start().await?;
//! println!("connect a Temporal client to {}", service.target());
//! # Ok(()) }
//! ```

// The protocol still carries deprecated fields (namespace on commands, control, binary
// checksums); a server must keep serving them.
#![allow(deprecated)]

pub mod clock;
pub mod engine;
pub mod error;
pub mod filter;
pub mod grpc;
pub mod ids;
pub mod matching;
pub mod proto;
pub mod state;
pub mod store;
pub mod timers;
pub mod token;

pub use engine::{Engine, EngineConfig};
pub use error::ServiceError;
pub use store::{MemoryStore, Store};

use grpc::testservice::test_service_server::TestServiceServer;
use grpc::workflowservice::workflow_service_server::WorkflowServiceServer;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tonic::codec::CompressionEncoding;

/// gRPC messages up to this size are accepted (the real server's default limit).
const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The port could not be bound.
    #[error("could not listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port asked for (0: any free one).
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// Not called inside a Tokio runtime.
    #[error("HistoryService::start must run inside a Tokio runtime")]
    NoRuntime,
}

/// Settings for [`HistoryService`].
#[derive(Debug)]
pub struct HistoryServiceBuilder {
    time_skipping: bool,
    initial_locks: u32,
    port: u16,
    namespaces: Vec<String>,
}

impl Default for HistoryServiceBuilder {
    fn default() -> Self {
        HistoryServiceBuilder {
            time_skipping: false,
            initial_locks: 0,
            port: 0,
            namespaces: vec!["default".to_string()],
        }
    }
}

impl HistoryServiceBuilder {
    /// Whether virtual time may jump to the next timer when nothing else is outstanding
    /// (default false: real time).
    pub fn time_skipping(mut self, enabled: bool) -> Self {
        self.time_skipping = enabled;
        self
    }

    /// How many TestService locks are held at start (default 0: skipping starts unlocked).
    /// The Java test server starts with one, which SDK test environments release while they
    /// wait for a result.
    pub fn initial_time_skipping_locks(mut self, locks: u32) -> Self {
        self.initial_locks = locks;
        self
    }

    /// The loopback port to listen on (default 0: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Serves this namespace too (`default` is always served).
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        let namespace = namespace.into();
        if !self.namespaces.contains(&namespace) {
            self.namespaces.push(namespace);
        }
        self
    }

    /// Starts the service on the current Tokio runtime.
    pub async fn start(self) -> Result<HistoryService, StartError> {
        tokio::runtime::Handle::try_current().map_err(|_| StartError::NoRuntime)?;
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, self.port))
            .await
            .map_err(|source| StartError::Bind {
                port: self.port,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            port: self.port,
            source,
        })?;
        let engine = Engine::new(
            EngineConfig {
                time_skipping: self.time_skipping,
                initial_locks: self.initial_locks,
                namespaces: self.namespaces,
            },
            Box::new(MemoryStore::default()),
        );
        let pump = tokio::spawn(engine.clone().run_pump());
        let workflow = WorkflowServiceServer::new(grpc::WorkflowServiceImpl::new(engine.clone()))
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES)
            .accept_compressed(CompressionEncoding::Gzip);
        let test = TestServiceServer::new(grpc::TestServiceImpl::new(engine.clone()))
            .accept_compressed(CompressionEncoding::Gzip);
        let mut stop = engine.shutdown_receiver();
        // No Nagle: small request/response pairs would otherwise wait for delayed ACKs.
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tokio::spawn(async move {
            let result = tonic::transport::Server::builder()
                .serve_with_incoming_shutdown(
                    grpc::Router::new(workflow, test),
                    incoming,
                    async move {
                        let _ = stop.wait_for(|stop| *stop).await;
                    },
                )
                .await;
            if let Err(error) = result {
                tracing::warn!(%error, "the history service's gRPC server stopped");
            }
        });
        Ok(HistoryService {
            engine,
            address,
            tasks: vec![pump, server],
        })
    }
}

/// A running history service; dropping it stops it.
#[derive(Debug)]
pub struct HistoryService {
    engine: Arc<Engine>,
    address: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl HistoryService {
    /// Settings for a new service.
    pub fn builder() -> HistoryServiceBuilder {
        HistoryServiceBuilder::default()
    }

    /// The address it listens on (always 127.0.0.1).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `host:port`, as Temporal clients take it.
    pub fn target(&self) -> String {
        self.address.to_string()
    }

    /// The engine, for in-process inspection (virtual time, skipped time).
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Stops the service and waits for its tasks.
    pub async fn shutdown(mut self) {
        self.engine.shutdown();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
    }
}

impl Drop for HistoryService {
    fn drop(&mut self) {
        self.engine.shutdown();
    }
}
