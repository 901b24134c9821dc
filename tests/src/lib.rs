//! Harness for Chronicle's end-to-end tests.
//!
//! Every test binary (`tests/tests/*.rs`) shares one Temporal server:
//! - `CHRONICLE_TEST_ADDRESS` set (CI starts one server for all binaries): that server;
//! - else `CHRONICLE_TEST_BACKEND=embedded`: one in-process
//!   [`chronicle_history_service::HistoryService`] per test binary (real time, no external
//!   binaries);
//! - else one [`DevServer`] per test binary, started lazily by the first test that asks.
//!
//! ```no_run
//! use chronicle_tests::{server, unique_task_queue};
//!
//! #[tokio::test]
//! async fn my_test() {
//!     let options = server().await.connection_options();
//!     let task_queue = unique_task_queue("my-test");
//!     // ...
//! }
//! ```
//!
//! # Lifetime of the shared server
//! Each `#[tokio::test]` runs on its own runtime, which ends with the test, so the server must
//! belong to none of them. The first caller starts it on a dedicated thread that owns a
//! runtime of its own and keeps the [`DevServer`] there for the rest of the process. Statics are
//! never dropped, so the server's watchdog ([`DevServerOptions::kill_on_process_exit`]) is what
//! stops it: it holds the read end of a pipe whose write end only the test process has, and kills
//! the server and deletes its database when the test binary exits in any way (normal end, panic,
//! abort, signal).

pub mod proxy;
pub mod secure;
pub mod workloads;

use chronicle::testing::{DevServer, DevServerOptions};
use chronicle_core::ConnectionOptions;
use std::future::Future;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, BufReader};

/// Use the Temporal server at this address instead of starting one.
pub const TEST_ADDRESS_ENV: &str = "CHRONICLE_TEST_ADDRESS";
/// Which server a test binary starts when [`TEST_ADDRESS_ENV`] is unset: `dev-server`
/// (default) or `embedded`.
pub const TEST_BACKEND_ENV: &str = "CHRONICLE_TEST_BACKEND";
/// The Python interpreter for the interop scripts (default `python3`).
pub const PYTHON_ENV: &str = "CHRONICLE_PYTHON";

/// The Temporal server the tests of this binary share.
#[derive(Debug, Clone)]
pub struct TestServer {
    /// `host:port` of its gRPC frontend.
    pub address: String,
    /// The namespace the tests use.
    pub namespace: String,
    /// Whether this process started it (false: `CHRONICLE_TEST_ADDRESS`).
    pub started_here: bool,
}

impl TestServer {
    /// Options to connect to it.
    pub fn connection_options(&self) -> ConnectionOptions {
        ConnectionOptions::default()
            .address(self.address.clone())
            .namespace(self.namespace.clone())
    }
}

static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();

/// The shared server, started on first use; panics with the reason if it cannot be had (then
/// every test of the binary fails with the same message, without trying again).
pub async fn server() -> &'static TestServer {
    if let Some(server) = SERVER.get() {
        return unwrap_server(server);
    }
    // Starting takes seconds: do it off the test's runtime (and let concurrent first callers
    // wait in the blocking pool, where `OnceLock` makes all but one of them wait for the first).
    let server = match tokio::runtime::Handle::try_current() {
        Ok(_) => tokio::task::spawn_blocking(|| SERVER.get_or_init(init_server))
            .await
            .expect("the task starting the test server panicked"),
        Err(_) => SERVER.get_or_init(init_server),
    };
    unwrap_server(server)
}

/// Options to connect to the shared server (see [`server`]).
pub async fn connection_options() -> ConnectionOptions {
    server().await.connection_options()
}

fn unwrap_server(server: &'static Result<TestServer, String>) -> &'static TestServer {
    match server {
        Ok(server) => server,
        Err(error) => panic!("no Temporal server for the tests: {error}"),
    }
}

/// A Keyword search attribute registered on the test server.
pub const CUSTOMER_ATTRIBUTE: &str = "ChronicleCustomer";
/// An Int search attribute registered on the test server.
pub const AMOUNT_ATTRIBUTE: &str = "ChronicleAmountCents";

fn init_server() -> Result<TestServer, String> {
    if let Ok(address) = std::env::var(TEST_ADDRESS_ENV) {
        if !address.trim().is_empty() {
            return Ok(TestServer {
                address: address.trim().to_string(),
                namespace: "default".to_string(),
                started_here: false,
            });
        }
    }
    let backend = std::env::var(TEST_BACKEND_ENV).unwrap_or_default();
    match backend.trim() {
        "" | "dev-server" => {}
        "embedded" => return start_embedded(),
        other => {
            return Err(format!(
                "{TEST_BACKEND_ENV}={other:?}: expected \"embedded\" or \"dev-server\""
            ))
        }
    }
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("chronicle-test-server".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = sender.send(Err(format!("could not build a runtime: {error}")));
                    return;
                }
            };
            runtime.block_on(async move {
                let options = DevServerOptions::default()
                    .kill_on_process_exit(true)
                    .search_attribute(CUSTOMER_ATTRIBUTE, "Keyword")
                    .search_attribute(AMOUNT_ATTRIBUTE, "Int");
                match DevServer::start_with(options).await {
                    Ok(server) => {
                        let _ = sender.send(Ok(server.address()));
                        // Owned by this thread's future until the process exits; the watchdog
                        // then stops it.
                        let _keep = server;
                        std::future::pending::<()>().await;
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.to_string()));
                    }
                }
            });
        })
        .map_err(|error| format!("could not start the server thread: {error}"))?;
    let address = receiver
        .recv()
        .map_err(|_| "the server thread ended without an answer".to_string())??;
    Ok(TestServer {
        address,
        namespace: "default".to_string(),
        started_here: true,
    })
}

/// A server of the test's own, with the shared server's options changed by `adjust` (say,
/// `--dynamic-config-value` flags a test depends on). It stops when dropped; it ignores
/// [`TEST_ADDRESS_ENV`], since a server started elsewhere cannot be given the flags.
pub async fn dedicated_server(
    adjust: impl FnOnce(DevServerOptions) -> DevServerOptions,
) -> DevServer {
    let options = DevServerOptions::default()
        .kill_on_process_exit(true)
        .search_attribute(CUSTOMER_ATTRIBUTE, "Keyword")
        .search_attribute(AMOUNT_ATTRIBUTE, "Int");
    DevServer::start_with(adjust(options))
        .await
        .unwrap_or_else(|error| panic!("could not start a dedicated dev server: {error}"))
}

/// Starts the embedded history service on a thread of its own (see the module docs on why
/// the server must belong to no test's runtime).
fn start_embedded() -> Result<TestServer, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("chronicle-embedded-server".to_string())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    let _ = sender.send(Err(format!("could not build a runtime: {error}")));
                    return;
                }
            };
            runtime.block_on(async move {
                match chronicle_history_service::HistoryService::builder()
                    .start()
                    .await
                {
                    Ok(service) => {
                        let _ = sender.send(Ok(service.target()));
                        // Serves until the test process exits.
                        let _keep = service;
                        std::future::pending::<()>().await;
                    }
                    Err(error) => {
                        let _ = sender.send(Err(error.to_string()));
                    }
                }
            });
        })
        .map_err(|error| format!("could not start the embedded server thread: {error}"))?;
    let address = receiver
        .recv()
        .map_err(|_| "the embedded server thread ended without an answer".to_string())??;
    Ok(TestServer {
        address,
        namespace: "default".to_string(),
        started_here: true,
    })
}

/// A fresh id: `prefix-<pid>-<counter>-<time>`, unique across test binaries and runs, so tests
/// sharing a server never see each other's workflows.
pub fn unique_id(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!(
        "{prefix}-{}-{}-{millis}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A fresh task queue name (see [`unique_id`]).
pub fn unique_task_queue(prefix: &str) -> String {
    unique_id(&format!("{prefix}-tq"))
}

/// Polls `condition` every 50 ms until it holds; panics naming `what` if it still does not after
/// `timeout`. For waiting on an event, never as a sleep.
///
/// ```no_run
/// # async fn f(done: std::sync::Arc<std::sync::atomic::AtomicBool>) {
/// use std::sync::atomic::Ordering;
/// chronicle_tests::wait_for("the activity to run", std::time::Duration::from_secs(10), || {
///     let done = done.clone();
///     async move { done.load(Ordering::SeqCst) }
/// })
/// .await;
/// # }
/// ```
pub async fn wait_for<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for_some(what, timeout, || {
        let check = condition();
        async move { check.await.then_some(()) }
    })
    .await
}

/// Like [`wait_for`], for a condition that yields a value once it holds.
pub async fn wait_for_some<T, F, Fut>(what: &str, timeout: Duration, mut condition: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    let deadline = start + timeout;
    loop {
        if let Some(value) = condition().await {
            return value;
        }
        let now = Instant::now();
        if now >= deadline {
            panic!(
                "timed out after {:?} waiting for {what}",
                now.duration_since(start)
            );
        }
        tokio::time::sleep(Duration::from_millis(50).min(deadline - now)).await;
    }
}

/// The Python interpreter for the interop scripts: `$CHRONICLE_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var(PYTHON_ENV)
        .ok()
        .filter(|python| !python.trim().is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

/// The path of a script in `tests/python/`.
pub fn python_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name)
}

/// A running `tests/python/activity_worker.py`: a Python worker serving the activity
/// `py_compose_greeting` on one task queue. Dropping it closes its stdin, which stops it.
#[derive(Debug)]
pub struct PythonActivityWorker {
    child: tokio::process::Child,
}

impl PythonActivityWorker {
    /// Starts the worker and waits (up to 60 s) until it printed `READY`.
    pub async fn start(address: &str, task_queue: &str) -> anyhow::Result<Self> {
        let script = python_script("activity_worker.py");
        let mut child = tokio::process::Command::new(python())
            .arg(&script)
            .arg(address)
            .arg(task_queue)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|error| {
                anyhow::anyhow!("could not run {} {}: {error}", python(), script.display())
            })?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let ready = async {
            while let Some(line) = lines.next_line().await? {
                if line.trim() == "READY" {
                    return Ok(true);
                }
            }
            Ok::<_, std::io::Error>(false)
        };
        match tokio::time::timeout(Duration::from_secs(60), ready).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                let status = child.wait().await?;
                anyhow::bail!("activity_worker.py exited before it was ready ({status})");
            }
            Ok(Err(error)) => anyhow::bail!("reading activity_worker.py's output: {error}"),
            Err(_) => anyhow::bail!("activity_worker.py was not ready within 60 s"),
        }
        // Keep draining stdout so the worker never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Self { child })
    }

    /// Closes the worker's stdin and waits for it to exit.
    pub async fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        drop(self.child.stdin.take());
        Ok(tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await??)
    }
}

/// Runs `tests/python/start_hello.py`: a Python client starting workflow type `HelloWorkflow`
/// with `name` and returning its JSON result. Waits at most `execution_timeout` for the result.
pub async fn python_start_hello(
    address: &str,
    task_queue: &str,
    workflow_id: &str,
    name: &str,
    execution_timeout: Duration,
) -> anyhow::Result<serde_json::Value> {
    let timeout = execution_timeout.as_secs_f64().to_string();
    python_json(
        "start_hello.py",
        &[address, task_queue, workflow_id, name, &timeout],
    )
    .await
}

/// Runs `tests/python/<script>` with `args` and parses the one line of JSON it prints. A
/// non-zero exit is an error carrying the script's stderr.
pub async fn python_json(script: &str, args: &[&str]) -> anyhow::Result<serde_json::Value> {
    let path = python_script(script);
    let output = tokio::process::Command::new(python())
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|error| {
            anyhow::anyhow!("could not run {} {}: {error}", python(), path.display())
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        anyhow::bail!(
            "{script} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_str(stdout.trim())
        .map_err(|error| anyhow::anyhow!("{script} printed {stdout:?}, not JSON: {error}"))
}
