//! Signals end to end: history order, signals before the first workflow task and several in
//! one task, signal-with-start, and signals the workflow cannot take.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::HistoryEvent;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, event_type, history, wait_for_event, RunningWorker};

/// Collects the items it is signalled until it is closed; returns them in the order applied.
#[derive(Default)]
struct Collector {
    items: Vec<String>,
    closed: bool,
    /// What the run function saw of the state when it first ran.
    seen_at_start: Vec<String>,
}

#[workflow]
impl Collector {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<(Vec<String>, Vec<String>)> {
        let at_start = ctx.state(|s| s.items.clone());
        ctx.update(|s| s.seen_at_start = at_start.clone());
        ctx.wait_until(|s| s.closed).await?;
        Ok((at_start, ctx.state(|s| s.items.clone())))
    }

    #[signal]
    fn add(&mut self, item: String) {
        assert_ne!(item, "boom", "this collector does not take bombs");
        self.items.push(item);
    }

    #[signal(name = "close-collector")]
    fn close(&mut self) {
        self.closed = true;
    }

    #[query]
    fn items(&self) -> Vec<String> {
        self.items.clone()
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue).register_workflow::<Collector>()
}

/// The positions of the signal events and of the workflow task starts, for order checks.
fn positions(events: &[HistoryEvent], kind: EventType) -> Vec<i64> {
    events
        .iter()
        .filter(|e| event_type(e) == kind)
        .map(|e| e.event_id)
        .collect()
}

#[tokio::test]
async fn signals_sent_before_the_first_task_reach_the_state_first_in_order() {
    let client = client().await;
    let queue = unique_task_queue("early-signals");
    // No worker yet: every signal lands in history before the first workflow task.
    let handle = client
        .start(Collector::run, (), unique_id("early-signals"), &queue)
        .await
        .unwrap();
    for item in ["a", "b", "c"] {
        handle
            .signal(Collector::add, item.to_string())
            .await
            .unwrap();
    }
    handle.signal(Collector::close, ()).await.unwrap();

    let worker = RunningWorker::spawn(worker(&client, &queue));
    let (at_start, items) = handle.result().await.unwrap();
    assert_eq!(
        at_start,
        ["a", "b", "c"],
        "signals apply before the run function starts"
    );
    assert_eq!(items, ["a", "b", "c"]);

    let history = history(&handle).await;
    let signals = positions(history.events(), EventType::WorkflowExecutionSignaled);
    let tasks = positions(history.events(), EventType::WorkflowTaskStarted);
    assert_eq!(signals.len(), 4);
    assert!(
        signals.iter().all(|s| *s < tasks[0]),
        "{signals:?} {tasks:?}"
    );
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    worker.stop().await;
}

#[tokio::test]
async fn several_signals_in_one_task_apply_in_history_order_also_on_replay() {
    let client = client().await;
    let queue = unique_task_queue("batched-signals");
    let first = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Collector::run, (), unique_id("batched-signals"), &queue)
        .await
        .unwrap();
    // The run function has started (and waits) before the first signal.
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    handle
        .signal(Collector::add, "one".to_string())
        .await
        .unwrap();
    chronicle_tests::wait_for("the first signal to be applied", common::WAIT, || async {
        handle.query(Collector::items, ()).await.ok() == Some(vec!["one".to_string()])
    })
    .await;
    first.stop().await;

    // With no worker, these three pile up for one workflow task; a new worker replays the
    // first part of the history (with its signal) and then takes them together.
    for item in ["two", "three", "four"] {
        handle
            .signal(Collector::add, item.to_string())
            .await
            .unwrap();
    }
    handle.signal(Collector::close, ()).await.unwrap();
    let second = RunningWorker::spawn(worker(&client, &queue));
    let (at_start, items) = handle.result().await.unwrap();
    assert!(at_start.is_empty(), "{at_start:?}");
    assert_eq!(items, ["one", "two", "three", "four"]);

    // No workflow task completed between the last four signals: one task took them all.
    let history = history(&handle).await;
    let signals = positions(history.events(), EventType::WorkflowExecutionSignaled);
    let completed = positions(history.events(), EventType::WorkflowTaskCompleted);
    let batch = &signals[1..];
    assert_eq!(batch.len(), 4, "{signals:?}");
    assert!(
        !completed.iter().any(|c| batch[0] < *c && *c < batch[3]),
        "signals {signals:?}, completed tasks {completed:?}"
    );
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    second.stop().await;
}

#[tokio::test]
async fn signal_with_start_starts_with_the_signal_then_signals_the_running_workflow() {
    let client = client().await;
    let queue = unique_task_queue("signal-with-start");
    let id = unique_id("signal-with-start");
    let first = client
        .start(Collector::run, (), &id, &queue)
        .with_signal(Collector::add, "first".to_string())
        .await
        .unwrap();
    let second = client
        .start(Collector::run, (), &id, &queue)
        .with_signal(Collector::add, "second".to_string())
        .await
        .unwrap();
    assert_eq!(
        first.run_id(),
        second.run_id(),
        "the open workflow took the signal"
    );

    // The worker starts only now: both signals precede the first workflow task.
    let worker = RunningWorker::spawn(worker(&client, &queue));
    wait_for_event(&first, EventType::WorkflowTaskCompleted).await;
    second.signal(Collector::close, ()).await.unwrap();
    let (at_start, items) = first.result().await.unwrap();
    assert_eq!(
        at_start,
        ["first", "second"],
        "applied before the run function starts"
    );
    assert_eq!(items, ["first", "second"]);
    let history = history(&first).await;
    assert_eq!(count(&history, EventType::WorkflowExecutionStarted), 1);
    worker.stop().await;
}

#[tokio::test]
async fn unknown_and_malformed_signals_are_dropped_without_losing_the_others() {
    let client = client().await;
    let queue = unique_task_queue("bad-signals");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let id = unique_id("bad-signals");
    let handle = client.start(Collector::run, (), &id, &queue).await.unwrap();
    let untyped = client.untyped_handle(&id);
    handle
        .signal(Collector::add, "before".to_string())
        .await
        .unwrap();
    untyped.signal("no_such_signal", "x").await.unwrap();
    untyped.signal("add", 42).await.unwrap(); // a number where a string is expected
    untyped
        .signal_payloads("add", vec![]) // no argument at all
        .await
        .unwrap();
    handle
        .signal(Collector::add, "after".to_string())
        .await
        .unwrap();
    handle.signal(Collector::close, ()).await.unwrap();

    let (_, items) = handle.result().await.unwrap();
    assert_eq!(items, ["before", "after"]);
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::WorkflowExecutionSignaled), 6);
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    worker.stop().await;
}

#[tokio::test]
async fn a_function_that_is_not_a_signal_handler_is_refused_before_any_call() {
    #[derive(Default)]
    struct Counter(u32);
    #[workflow]
    impl Counter {
        #[run]
        async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
            Ok(())
        }
        #[allow(dead_code)]
        fn bump(&mut self, by: u32) {
            self.0 += by;
        }
    }
    let client = client().await;
    let handle = client.handle::<Counter>(unique_id("not-a-handler"));
    let error = handle.signal(Counter::bump, 1).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("is not a #[signal] of workflow Counter"),
        "{message}"
    );
    assert!(message.contains("bump"), "{message}");
}

#[tokio::test]
async fn a_panicking_signal_handler_fails_the_workflow_task_not_the_worker() {
    let client = client().await;
    let queue = unique_task_queue("panicking-signal");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Collector::run, (), unique_id("panicking-signal"), &queue)
        .await
        .unwrap();
    handle
        .signal(Collector::add, "boom".to_string())
        .await
        .unwrap();
    let failed = wait_for_event(&handle, EventType::WorkflowTaskFailed).await;
    let message = common::task_failure_message(&failed);
    assert!(
        message.contains("in the handler of signal \"add\""),
        "{message}"
    );
    assert!(message.contains("does not take bombs"), "{message}");

    // The worker lives on: another workflow on it completes.
    let other = client
        .start(Collector::run, (), unique_id("after-panic"), &queue)
        .with_signal(Collector::close, ())
        .await
        .unwrap();
    other.result().await.unwrap();
    handle.terminate("test done").await.unwrap();
    worker.stop().await;
}
