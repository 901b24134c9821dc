//! The network misbehaves and nothing is lost: the server rotates every connection, a proxy
//! cuts them, and the server is unreachable for longer than the old retry budget (21 s).
//!
//! Each test checks what a caller sees (every result arrives, no error) and what the history
//! says (each activity ran once, no workflow task answer was lost to a timeout).

mod common;

use chronicle::client::WorkflowHandle;
use chronicle::prelude::*;
use chronicle::testing::{DevServer, DevServerOptions};
use chronicle_core::proto::enums::EventType;
use chronicle_tests::proxy::CutProxy;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{count, event_type, history, RunningWorker, WAIT};
use std::collections::HashMap;
use std::sync::Mutex;

/// How many times each input ran, over all attempts.
static RUNS: Mutex<Option<HashMap<String, usize>>> = Mutex::new(None);

fn runs_of(input: &str) -> usize {
    RUNS.lock()
        .unwrap()
        .as_ref()
        .and_then(|runs| runs.get(input).copied())
        .unwrap_or(0)
}

/// Records that it ran, waits `millis`, and echoes its input.
#[activity]
async fn counted_echo(
    _ctx: ActivityContext,
    input: String,
    millis: u64,
) -> Result<String, ActivityError> {
    *RUNS
        .lock()
        .unwrap()
        .get_or_insert_with(HashMap::new)
        .entry(input.clone())
        .or_default() += 1;
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(input)
}

/// One activity, then a short timer, then the activity's answer.
#[derive(Default)]
struct EchoWorkflow;

#[workflow]
impl EchoWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String, millis: u64) -> WorkflowResult<String> {
        let echoed = ctx
            .activity(counted_echo, (input, millis))
            .start_to_close(Duration::from_secs(120))
            .await?;
        ctx.sleep(Duration::from_millis(100)).await?;
        Ok(echoed)
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<EchoWorkflow>()
        .register_activity(counted_echo)
}

async fn start(
    client: &Client,
    queue: &str,
    input: &str,
    millis: u64,
) -> WorkflowHandle<EchoWorkflow> {
    client
        .start(
            EchoWorkflow::run,
            (input.to_string(), millis),
            unique_id(input),
            queue,
        )
        .await
        .expect("start")
}

/// What the network may cost.
#[derive(Clone, Copy, PartialEq)]
enum Losses {
    /// Nothing: no workflow task timed out and no activity was retried.
    None,
    /// A task the server handed to a poll whose connection was cut in that moment never
    /// reaches the worker, and waits out its timeout; that is the same for every SDK. What
    /// must not happen is a result that was computed and then dropped.
    UndeliveredPolls,
}

/// Every workflow completed with its input, and its activity ran once: no activity result was
/// dropped (it would have run again). With [`Losses::None`], also no workflow task timed out
/// (a lost answer shows as a timeout) and no activity attempt was retried.
async fn assert_nothing_lost(handles: Vec<(String, WorkflowHandle<EchoWorkflow>)>, losses: Losses) {
    let results = futures::future::join_all(handles.iter().map(|(_, h)| h.result())).await;
    for ((input, handle), result) in handles.iter().zip(results) {
        assert_eq!(
            result.as_deref().map_err(|e| e.to_string()),
            Ok(input.as_str())
        );
        assert_eq!(runs_of(input), 1, "{input} ran {} times", runs_of(input));
        if losses == Losses::UndeliveredPolls {
            continue;
        }
        let history = history(handle).await;
        assert_eq!(
            count(&history, EventType::WorkflowTaskTimedOut),
            0,
            "{input}: a lost task answer"
        );
        assert_eq!(count(&history, EventType::ActivityTaskScheduled), 1);
        let retried = history.events().iter().any(|e| {
            event_type(e) == EventType::ActivityTaskStarted
                && matches!(&e.attributes, Some(chronicle_core::proto::history::history_event::Attributes::ActivityTaskStartedEventAttributes(a)) if a.attempt != 1)
        });
        assert!(!retried, "{input}: the activity was retried");
    }
}

#[tokio::test]
async fn the_server_rotating_every_connection_loses_nothing() {
    // The server sends GOAWAY to every connection after 2 s instead of 5 minutes; calls then
    // in flight may finish within the grace period (70 s by default), new ones must move to a
    // new connection.
    let server = DevServer::start_with(
        DevServerOptions::default()
            .kill_on_process_exit(true)
            .args([
                "--dynamic-config-value",
                "frontend.keepAliveMaxConnectionAge=\"2s\"",
            ]),
    )
    .await
    .expect("a dev server");
    let client = Client::connect(ConnectionOptions::default().address(server.address()))
        .await
        .unwrap();
    let queue = unique_task_queue("rotation");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    // In waves, so that the run spans several rotations with calls of every kind in flight.
    let mut handles = Vec::new();
    for wave in 0..6 {
        let starts = (0..25).map(|i| {
            let input = unique_id(&format!("rotation-{wave}-{i}"));
            let (client, queue) = (client.clone(), queue.clone());
            async move {
                let handle = start(&client, &queue, &input, 50).await;
                (input, handle)
            }
        });
        let wave_handles = futures::future::join_all(starts).await;
        // The wave's results, before the next wave starts, keep every kind of call busy.
        for (_, handle) in &wave_handles {
            handle.result().await.expect("a result across rotations");
        }
        handles.extend(wave_handles);
    }
    assert_nothing_lost(handles, Losses::None).await;
    worker.stop().await;
}

#[tokio::test]
async fn connections_cut_again_and_again_lose_nothing() {
    let server = chronicle_tests::server().await;
    let proxy = CutProxy::start(&server.address).await.unwrap();
    let client = Client::connect(server.connection_options().address(proxy.address()))
        .await
        .unwrap();
    let queue = unique_task_queue("cuts");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    let mut handles = Vec::new();
    for i in 0..30 {
        let input = unique_id(&format!("cut-{i}"));
        handles.push((input.clone(), start(&client, &queue, &input, 200).await));
    }
    let waiting: Vec<_> = handles.iter().map(|(_, h)| h.clone()).collect();
    let all_done = futures::future::join_all(waiting.iter().map(|h| h.result()));
    tokio::pin!(all_done);
    // Cut every connection every 300 ms until all results are in (bounded: 200 cuts).
    let mut cuts = 0;
    let results = loop {
        tokio::select! {
            results = &mut all_done => break results,
            _ = tokio::time::sleep(Duration::from_millis(300)) => {
                cuts += 1;
                proxy.cut_all();
                assert!(cuts < 200, "the workflows did not finish within 200 cuts");
            }
        }
    };
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert!(
        cuts >= 2,
        "the workflows finished before the connections were cut"
    );
    assert!(proxy.accepted() > 2, "connections were re-established");
    assert_nothing_lost(handles, Losses::UndeliveredPolls).await;
    worker.stop().await;
}

#[tokio::test]
async fn an_outage_longer_than_the_old_retry_budget_is_ridden_out() {
    let server = chronicle_tests::server().await;
    let proxy = CutProxy::start(&server.address).await.unwrap();
    let client = Client::connect(server.connection_options().address(proxy.address()))
        .await
        .unwrap();
    let queue = unique_task_queue("outage");
    let worker = RunningWorker::spawn(worker(&client, &queue));

    let mut handles = Vec::new();
    for i in 0..10 {
        let input = unique_id(&format!("outage-{i}"));
        handles.push((input.clone(), start(&client, &queue, &input, 2_000).await));
    }
    // Callers wait for results while the server is away.
    let waiting: Vec<_> = handles
        .iter()
        .map(|(_, handle)| {
            let handle = handle.clone();
            tokio::spawn(async move { handle.result().await })
        })
        .collect();
    chronicle_tests::wait_for("every activity to be running", WAIT, || async {
        handles.iter().all(|(input, _)| runs_of(input) == 1)
    })
    .await;

    // The activities finish while the server is unreachable: their results must be kept and
    // reported when it is back, not dropped (and run again after their timeout).
    proxy.go_down();
    tokio::time::sleep(Duration::from_secs(25)).await;
    proxy.come_up();

    for waiting in waiting {
        let result = waiting.await.unwrap();
        assert!(result.is_ok(), "a caller saw the outage: {result:?}");
    }
    assert_nothing_lost(handles, Losses::UndeliveredPolls).await;
    worker.stop().await;
}
