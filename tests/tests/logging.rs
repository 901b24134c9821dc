//! Logging: workflow code's lines appear once despite replays, and a worker whose application
//! set no subscriber still writes to stderr.

mod common;

use chronicle::prelude::*;
use chronicle_tests::{server, unique_id, unique_task_queue, TEST_ADDRESS_ENV};
use common::{client, compose_greeting, RunningWorker};
use std::io::Write;
use std::process::Output;
use std::sync::{Arc, Mutex, OnceLock};

/// Everything logged in this process (after `capture`), as plain text lines.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut lines) = self.0.lock() {
            lines.extend_from_slice(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber as this process's global one (once) and returns it.
fn capture() -> Captured {
    static CAPTURED: OnceLock<Captured> = OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_ansi(false)
                .with_writer(move || writer.clone())
                .init();
            captured
        })
        .clone()
}

fn lines_with(captured: &Captured, needle: &str) -> Vec<String> {
    let bytes = captured.0.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| line.contains(needle))
        .map(str::to_string)
        .collect()
}

#[derive(Default)]
struct ChattyWorkflow;

#[workflow]
impl ChattyWorkflow {
    /// Logs between steps; every step after a timer or an activity replays the earlier ones.
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        ctx.log().info("chatty step one");
        ctx.sleep(Duration::from_millis(50)).await?;
        ctx.log().warn(format_args!("chatty step two for {name}"));
        let greeting = ctx
            .activity(compose_greeting, name)
            .start_to_close(Duration::from_secs(10))
            .await?;
        ctx.log().info("chatty step three");
        Ok(greeting)
    }
}

#[tokio::test]
async fn workflow_log_lines_appear_once_despite_replays() {
    let captured = capture();
    let client = client().await;
    let queue = unique_task_queue("chatty");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<ChattyWorkflow>()
            .register_activity(compose_greeting),
    );
    let id = unique_id("chatty");
    let handle = client
        .start(ChattyWorkflow::run, "Ada".to_string(), &id, &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "Hello, Ada!");
    worker.stop().await;

    // Three workflow tasks ran (start, timer fired, activity done), each replaying the steps
    // before it: a plain log line in step one would be printed three times.
    let steps = lines_with(&captured, &format!("workflow_id={id}"));
    for step in [
        "chatty step one",
        "chatty step two for Ada",
        "chatty step three",
    ] {
        let hits: Vec<_> = steps.iter().filter(|l| l.contains(step)).collect();
        assert_eq!(
            hits.len(),
            1,
            "{step:?} logged {} times: {steps:#?}",
            hits.len()
        );
        let line = hits[0];
        assert!(line.contains("chronicle::workflow"), "{line}");
        assert!(line.contains("workflow_type=ChattyWorkflow"), "{line}");
        assert!(line.contains("run_id="), "{line}");
    }
    assert!(steps
        .iter()
        .any(|l| l.contains("WARN") && l.contains("step two")));
}

/// Set in the child processes of [`fallback_subscriber_writes_to_stderr`].
const CHILD_ENV: &str = "CHRONICLE_LOGGING_CHILD";

/// The child's part: run a worker that stops at once, with whatever subscriber the parent
/// asked for. Does nothing when run as an ordinary test.
#[tokio::test]
async fn fallback_child() {
    let Ok(mode) = std::env::var(CHILD_ENV) else {
        return;
    };
    if mode == "own-subscriber" {
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(std::io::stdout)
            .init();
    }
    let client = client().await;
    let worker = Worker::new(&client, unique_task_queue("fallback"))
        .register_activity(compose_greeting)
        .configure(|o| o.telemetry.fallback_logging = mode != "disabled");
    // Asked to stop before it starts: it logs its start and stop lines, then returns.
    let shutdown = worker.shutdown_handle();
    shutdown.shutdown();
    worker.run().await.expect("the worker runs");
}

/// Runs [`fallback_child`] in a new process of this test binary.
async fn run_child(mode: &str, rust_log: Option<&str>) -> Output {
    let mut command = tokio::process::Command::new(std::env::current_exe().unwrap());
    command
        .args([
            "--exact",
            "fallback_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env(TEST_ADDRESS_ENV, &server().await.address)
        .env_remove("RUST_LOG");
    if let Some(filter) = rust_log {
        command.env("RUST_LOG", filter);
    }
    let output = command.output().await.expect("run the child test process");
    assert!(output.status.success(), "child failed: {output:?}");
    output
}

#[tokio::test]
async fn fallback_subscriber_writes_to_stderr() {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).to_string();

    // No subscriber: the worker's own lines reach stderr, at info by default, uncoloured.
    let plain = run_child("none", None).await;
    let stderr = text(&plain.stderr);
    assert!(stderr.contains("worker started"), "stderr: {stderr}");
    assert!(stderr.contains("INFO"), "stderr: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr}"
    );

    // RUST_LOG decides the level.
    let quiet = run_child("none", Some("error")).await;
    assert!(!text(&quiet.stderr).contains("worker started"));

    // The application's subscriber is kept: the lines go where it writes, not to stderr.
    let own = run_child("own-subscriber", None).await;
    assert!(!text(&own.stderr).contains("worker started"));
    assert!(text(&own.stdout).contains("worker started"));

    // Switched off: nothing.
    let disabled = run_child("disabled", None).await;
    assert!(!text(&disabled.stderr).contains("worker started"));
}
