//! Async handlers end to end: async signal handlers that run activities and timers, a run
//! function that waits until every handler has finished, the warning when a run ends with
//! handlers still running, and an async signal handler's error failing the workflow.

mod common;

use chronicle::prelude::*;
use chronicle_tests::{unique_id, unique_task_queue, wait_for};
use common::{client, RunningWorker, WAIT};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[chronicle::activity]
async fn check_item(_ctx: ActivityContext, item: String) -> Result<String, ActivityError> {
    Ok(item.to_uppercase())
}

#[derive(Default)]
struct Basket {
    items: Vec<String>,
    closing: bool,
}

#[workflow]
impl Basket {
    /// Collects items until closed; waits for the handlers first when `wait_for_handlers`.
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        wait_for_handlers: bool,
    ) -> WorkflowResult<Vec<String>> {
        ctx.wait_until(|s| s.closing).await?;
        if wait_for_handlers {
            ctx.wait_until_handlers_finished().await;
            assert!(ctx.all_handlers_finished());
        }
        let mut items = ctx.state(|s| s.items.clone());
        items.sort();
        Ok(items)
    }

    /// Checks the item with an activity, then adds it.
    #[signal]
    async fn add_checked(ctx: WorkflowContext<Self>, item: String) -> WorkflowResult<()> {
        let checked = ctx.activity(check_item, item).await?;
        ctx.update(|s| s.items.push(checked));
        Ok(())
    }

    /// Adds the item after a while.
    #[signal]
    async fn add_later(ctx: WorkflowContext<Self>, item: String, delay_ms: u64) {
        if ctx.sleep(Duration::from_millis(delay_ms)).await.is_ok() {
            ctx.update(|s| s.items.push(item));
        }
    }

    #[signal]
    async fn explode(_ctx: WorkflowContext<Self>, why: String) -> WorkflowResult<()> {
        Err(WorkflowError::new(why).with_type("Exploded"))
    }

    #[update]
    async fn count_later(ctx: WorkflowContext<Self>, delay_ms: u64) -> WorkflowResult<usize> {
        ctx.sleep(Duration::from_millis(delay_ms)).await?;
        Ok(ctx.state(|s| s.items.len()))
    }

    #[signal]
    fn close(&mut self) {
        self.closing = true;
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Basket>()
        .register_activity(check_item)
}

/// Everything logged in this process, as text.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut bytes) = self.0.lock() {
            bytes.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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

fn lines_with(captured: &Captured, needles: &[&str]) -> Vec<String> {
    let bytes = captured.0.lock().map(|b| b.clone()).unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter(|line| needles.iter().all(|n| line.contains(n)))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn async_signal_handlers_run_activities_and_timers_and_the_run_waits_for_them() {
    let captured = capture();
    let client = client().await;
    let queue = unique_task_queue("async-signals");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let id = unique_id("async-signals");
    let handle = client.start(Basket::run, true, &id, &queue).await.unwrap();
    handle
        .signal(Basket::add_checked, "apple".to_string())
        .await
        .unwrap();
    handle
        .signal(Basket::add_later, ("pear".to_string(), 1500))
        .await
        .unwrap();
    // Closing at once: only the wait for the handlers lets them add their items.
    handle.signal(Basket::close, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), ["APPLE", "pear"]);
    assert!(lines_with(&captured, &["TMPRL1102", &id]).is_empty());
    worker.stop().await;
}

#[tokio::test]
async fn a_run_that_ends_with_handlers_running_logs_which_ones() {
    let captured = capture();
    let client = client().await;
    let queue = unique_task_queue("unfinished-handlers");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let id = unique_id("unfinished-handlers");
    let handle = client.start(Basket::run, false, &id, &queue).await.unwrap();
    let update = handle
        .start_update(Basket::count_later, 60_000)
        .await
        .unwrap();
    handle
        .signal(Basket::add_later, ("plum".to_string(), 60_000))
        .await
        .unwrap();
    handle.signal(Basket::close, ()).await.unwrap();
    assert!(handle.result().await.unwrap().is_empty());
    wait_for("both warnings", WAIT, || async {
        lines_with(&captured, &["TMPRL1102", &id]).len() == 2
    })
    .await;
    let updates = lines_with(&captured, &["TMPRL1102", &id, "update handlers"]);
    assert!(
        updates[0].contains(&format!("count_later (id {})", update.id())),
        "{updates:?}"
    );
    let signals = lines_with(&captured, &["TMPRL1102", &id, "signal handlers"]);
    assert!(signals[0].contains("add_later"), "{signals:?}");
    // The update's caller gets an error, not a result.
    assert!(update.result().await.is_err());
    worker.stop().await;
}

#[tokio::test]
async fn an_async_signal_handler_error_fails_the_workflow() {
    let client = client().await;
    let queue = unique_task_queue("exploding-signal");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Basket::run, true, unique_id("exploding-signal"), &queue)
        .await
        .unwrap();
    handle
        .signal(Basket::explode, "kaboom".to_string())
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(error.to_string().contains("kaboom"), "{error}");
    worker.stop().await;
}
