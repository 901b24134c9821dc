//! Sticky execution end to end: cached runs take only their new events from the worker's sticky
//! queue; misses, capacity evictions, queries from the cache and failures all still end well.
//!
//! The figures come from the process-wide metrics registry, by the test's own task queue.
//! Tests that count cache hits set `evict_after_every_task` off explicitly, so they keep their
//! meaning when the suite runs with `CHRONICLE_EVICT_AFTER_EVERY_TASK=1`.

mod common;

use chronicle::prelude::*;
use chronicle::telemetry::metrics::{
    EVICTION_REASON, STICKY_CACHE_EVICTION, STICKY_CACHE_HIT, STICKY_CACHE_MISS, STICKY_CACHE_SIZE,
    WORKFLOW_TASK_HISTORY_EVENTS,
};
use chronicle::WorkerOptions;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue, wait_for};
use common::{client, count, history, wait_for_event, RunningWorker, WAIT};
use std::sync::atomic::{AtomicBool, Ordering};

#[activity]
async fn step(_ctx: ActivityContext, i: u32) -> Result<u32, ActivityError> {
    Ok(i)
}

/// Runs `step` n times in sequence and returns the sum.
#[derive(Default)]
struct Steps;

#[workflow]
impl Steps {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let mut sum = 0;
        for i in 0..n {
            sum += ctx
                .activity(step, i)
                .start_to_close(Duration::from_secs(10))
                .await?;
        }
        Ok(sum)
    }
}

/// Set while `Gate`'s signal handler should panic on a [`BOMB`].
static PANIC_ON_SIGNAL: AtomicBool = AtomicBool::new(false);
const STAY: u8 = 0;
const OPEN: u8 = 1;
const BOMB: u8 = 2;

/// Waits for `open`, then runs one step. Its query reports how often it was signalled.
#[derive(Default)]
struct Gate {
    signals: u32,
    open: bool,
}

#[workflow]
impl Gate {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        ctx.wait_until(|s| s.open).await?;
        let done = ctx
            .activity(step, 7)
            .start_to_close(Duration::from_secs(10))
            .await?;
        Ok(done + ctx.state(|s| s.signals))
    }

    /// `STAY` counts, `OPEN` opens, `BOMB` opens unless [`PANIC_ON_SIGNAL`] is set.
    #[signal]
    fn knock(&mut self, knock: u8) {
        assert!(
            !(knock == BOMB && PANIC_ON_SIGNAL.load(Ordering::SeqCst)),
            "the handler was told to panic"
        );
        self.signals += 1;
        self.open = knock != STAY;
    }

    #[query]
    fn signals(&self) -> u32 {
        self.signals
    }
}

/// The sum of a metric's series for `queue`, optionally of one eviction reason.
fn metric(name: &str, queue: &str, reason: Option<&str>) -> f64 {
    chronicle::telemetry::registry()
        .gather()
        .iter()
        .filter(|family| family.name() == name)
        .flat_map(|family| family.get_metric())
        .filter(|m| {
            let labels = m.get_label();
            let has = |key: &str, value: &str| {
                labels.iter().any(|l| l.name() == key && l.value() == value)
            };
            has("task_queue", queue) && reason.is_none_or(|r| has(EVICTION_REASON, r))
        })
        .map(|m| m.get_counter().get_value() + m.get_gauge().get_value())
        .sum()
}

fn worker(client: &Client, queue: &str, change: impl FnOnce(&mut WorkerOptions)) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Steps>()
        .register_workflow::<Gate>()
        .register_activity(step)
        .configure(|o| {
            o.evict_after_every_task = false;
            change(o);
        })
}

#[tokio::test]
async fn tasks_of_a_cached_run_are_sticky_hits_that_bring_only_new_events() {
    let client = client().await;
    let queue = unique_task_queue("sticky-hits");
    let running = RunningWorker::spawn(worker(&client, &queue, |_| {}));
    let handle = client
        .start(Steps::run, 10, unique_id("sticky-hits"), &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 45);
    let history = history(&handle).await;
    let tasks = count(&history, EventType::WorkflowTaskCompleted);
    assert_eq!(tasks, 11);
    // Every task after the first found its run cached.
    assert_eq!(metric(STICKY_CACHE_HIT, &queue, None), 10.0);
    assert_eq!(metric(STICKY_CACHE_MISS, &queue, None), 0.0);
    // Each event reached the worker at most once (a full replay at every task would have
    // brought about 6 * 11 * 12 / 2 = 396).
    let fetched = metric(WORKFLOW_TASK_HISTORY_EVENTS, &queue, None);
    assert!(
        fetched <= history.events().len() as f64,
        "{fetched} events fetched for a history of {}",
        history.events().len()
    );
    // The completed run left the cache.
    assert_eq!(metric(STICKY_CACHE_SIZE, &queue, None), 0.0);
    assert_eq!(
        metric(STICKY_CACHE_EVICTION, &queue, Some("workflow_completed")),
        1.0
    );
    running.stop().await;
}

#[tokio::test]
async fn sticky_tasks_of_evicted_runs_fetch_the_whole_history_and_replay() {
    let client = client().await;
    let queue = unique_task_queue("sticky-miss");
    let running = RunningWorker::spawn(worker(&client, &queue, |o| {
        o.evict_after_every_task = true;
    }));
    let handle = client
        .start(Steps::run, 4, unique_id("sticky-miss"), &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 6);
    // Tasks 2-5 came on the sticky queue (the worker still answers with sticky attributes)
    // and found no run: each fetched the history from event 1.
    assert_eq!(metric(STICKY_CACHE_HIT, &queue, None), 0.0);
    assert_eq!(metric(STICKY_CACHE_MISS, &queue, None), 4.0);
    assert_eq!(
        metric(
            STICKY_CACHE_EVICTION,
            &queue,
            Some("evict_after_every_task")
        ),
        4.0
    );
    running.stop().await;
}

#[tokio::test]
async fn a_worker_started_after_another_stopped_replays_the_run_it_did_not_cache() {
    let client = client().await;
    let queue = unique_task_queue("sticky-restart");
    let first = RunningWorker::spawn(worker(&client, &queue, |_| {}));
    let handle = client
        .start(Gate::run, (), unique_id("sticky-restart"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    // Stopping names the sticky queue to the server, which sends the next task to the
    // normal queue at once.
    first.stop().await;
    let second = RunningWorker::spawn(worker(&client, &queue, |_| {}));
    handle.signal(Gate::knock, OPEN).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 8);
    assert!(metric(STICKY_CACHE_MISS, &queue, None) >= 1.0);
    assert!(
        metric(STICKY_CACHE_EVICTION, &queue, Some("shutdown")) >= 1.0,
        "the first worker released its cached run"
    );
    second.stop().await;
}

#[tokio::test]
async fn one_cache_slot_serves_two_interleaved_workflows() {
    let client = client().await;
    let queue = unique_task_queue("sticky-capacity");
    let running = RunningWorker::spawn(worker(&client, &queue, |o| {
        o.max_cached_workflows = 1;
    }));
    let a = client
        .start(Steps::run, 6, unique_id("sticky-capacity-a"), &queue)
        .await
        .unwrap();
    let b = client
        .start(Steps::run, 6, unique_id("sticky-capacity-b"), &queue)
        .await
        .unwrap();
    let (a, b) = tokio::join!(a.result(), b.result());
    assert_eq!((a.unwrap(), b.unwrap()), (15, 15));
    assert!(metric(STICKY_CACHE_SIZE, &queue, None) <= 1.0);
    // One run at a time fits: the other's tasks replayed.
    assert!(metric(STICKY_CACHE_MISS, &queue, None) >= 1.0);
    running.stop().await;
}

#[tokio::test]
async fn queries_are_answered_from_the_cached_run_without_history() {
    let client = client().await;
    let queue = unique_task_queue("sticky-query");
    let running = RunningWorker::spawn(worker(&client, &queue, |_| {}));
    let handle = client
        .start(Gate::run, (), unique_id("sticky-query"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    handle.signal(Gate::knock, STAY).await.unwrap();
    wait_for("the signal's task to be answered", WAIT, || async {
        count(&history(&handle).await, EventType::WorkflowTaskCompleted) == 2
    })
    .await;
    let hits = metric(STICKY_CACHE_HIT, &queue, None);
    let fetched = metric(WORKFLOW_TASK_HISTORY_EVENTS, &queue, None);
    assert_eq!(handle.query(Gate::signals, ()).await.unwrap(), 1);
    // The query came on the sticky queue with no events and was answered from the cache.
    assert_eq!(metric(STICKY_CACHE_HIT, &queue, None), hits + 1.0);
    assert_eq!(metric(WORKFLOW_TASK_HISTORY_EVENTS, &queue, None), fetched);
    handle.signal(Gate::knock, OPEN).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 9);
    running.stop().await;
}

#[tokio::test]
async fn a_failed_task_evicts_its_run_and_the_retry_replays() {
    let client = client().await;
    let queue = unique_task_queue("sticky-failure");
    let running = RunningWorker::spawn(worker(&client, &queue, |_| {}));
    let handle = client
        .start(Gate::run, (), unique_id("sticky-failure"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    PANIC_ON_SIGNAL.store(true, Ordering::SeqCst);
    handle.signal(Gate::knock, BOMB).await.unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskFailed).await;
    assert_eq!(
        metric(STICKY_CACHE_EVICTION, &queue, Some("task_failed")),
        1.0
    );
    PANIC_ON_SIGNAL.store(false, Ordering::SeqCst);
    // The retry (after the task timeout) replays the whole history, now without the panic.
    assert_eq!(handle.result().await.unwrap(), 8);
    assert!(metric(STICKY_CACHE_MISS, &queue, None) >= 1.0);
    running.stop().await;
}
