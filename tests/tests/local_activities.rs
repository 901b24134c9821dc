//! Local activities end to end on a real dev server: results recorded as core's markers, retries
//! inside the task and after a durable timer, failures, workflow task heartbeats, a worker
//! killed in the middle of one, nondeterminism, and histories shared with the Python SDK.

mod common;

use chronicle::prelude::*;
use chronicle::{History, Replayer};
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_core::proto::history::MarkerRecordedEventAttributes;
use chronicle_tests::{python, python_script, server, unique_id, unique_task_queue};
use common::{client, count, event_type, history, RunningWorker, WAIT};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const TEN_SECONDS: Duration = Duration::from_secs(10);

// The workflow of tests/python/local_activities.py, written in Chronicle.

#[activity]
async fn la_greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[activity]
async fn la_flaky(ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    let attempt = ctx.info().attempt;
    if attempt < 3 {
        return Err(ActivityError::retryable(format!("attempt {attempt} fails")));
    }
    Ok(format!("{name} on attempt {attempt}"))
}

#[activity]
async fn la_refuse(name: String) -> Result<String, ActivityError> {
    Err(ActivityError::non_retryable(format!("{name} refused")).with_type("Refused"))
}

#[derive(Default)]
struct LocalActivityWorkflow;

#[workflow(name = "LocalActivityWorkflow")]
impl LocalActivityWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .local_activity(la_greet, name.clone())
            .start_to_close(TEN_SECONDS)
            .await?;
        let flaky = ctx
            .local_activity(la_flaky, name.clone())
            .start_to_close(TEN_SECONDS)
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(10)))
            .await?;
        let refused = match ctx
            .local_activity(la_refuse, name)
            .start_to_close(TEN_SECONDS)
            .await
        {
            Ok(_) => "not refused".to_string(),
            Err(failure) => failure.cause().message().to_string(),
        };
        Ok(format!("{greeting} {flaky} {refused}"))
    }
}

fn local_worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<LocalActivityWorkflow>()
        .register_activity(la_greet)
        .register_activity(la_flaky)
        .register_activity(la_refuse)
}

fn markers(history: &History) -> Vec<MarkerRecordedEventAttributes> {
    history
        .events()
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::MarkerRecordedEventAttributes(m)) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

/// The marker's `data` detail, parsed.
fn marker_data(marker: &MarkerRecordedEventAttributes) -> serde_json::Value {
    let payload = &marker.details["data"].payloads[0];
    assert_eq!(payload.metadata["encoding"], b"json/plain");
    serde_json::from_slice(&payload.data).expect("marker data is JSON")
}

#[tokio::test]
async fn results_retries_and_failures_are_recorded_as_core_markers() {
    let client = client().await;
    let queue = unique_task_queue("local");
    let worker = RunningWorker::spawn(local_worker(&client, &queue));
    let handle = client
        .start(
            LocalActivityWorkflow::run,
            "World".to_string(),
            unique_id("local"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        "Hello, World! World on attempt 3 World refused"
    );
    worker.stop().await;

    let history = history(&handle).await;
    // Everything ran inside the first workflow task: no activity tasks, no timers.
    assert_eq!(count(&history, EventType::ActivityTaskScheduled), 0);
    assert_eq!(count(&history, EventType::TimerStarted), 0);
    assert_eq!(count(&history, EventType::WorkflowTaskCompleted), 1);
    let markers = markers(&history);
    assert_eq!(markers.len(), 3);
    for (marker, (seq, attempt, activity_type)) in
        markers
            .iter()
            .zip([(1, 1, "la_greet"), (2, 3, "la_flaky"), (3, 1, "la_refuse")])
    {
        assert_eq!(marker.marker_name, "core_local_activity");
        let data = marker_data(marker);
        let keys: Vec<_> = data.as_object().unwrap().keys().cloned().collect();
        let mut expected = vec![
            "activity_id",
            "activity_type",
            "attempt",
            "backoff",
            "complete_time",
            "original_schedule_time",
            "seq",
        ];
        expected.sort();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort();
        assert_eq!(keys_sorted, expected);
        assert_eq!(data["seq"], seq);
        assert_eq!(data["attempt"], attempt);
        assert_eq!(data["activity_id"], seq.to_string());
        assert_eq!(data["activity_type"], activity_type);
        assert!(data["backoff"].is_null());
        assert!(data["complete_time"]["seconds"].as_i64().unwrap() > 0);
        assert!(data["original_schedule_time"]["seconds"].as_i64().unwrap() > 0);
    }
    // A result in `result`, a failure in the marker's own field, as core writes them.
    assert_eq!(
        markers[0].details["result"].payloads[0].data,
        b"\"Hello, World!\""
    );
    assert!(!markers[2].details.contains_key("result"));
    let failure = markers[2]
        .failure
        .as_ref()
        .expect("the failure is recorded");
    assert_eq!(failure.message, "World refused");
}

/// Fails until attempt `FAIL_UNTIL`, counting its runs.
#[activity]
async fn counted(ctx: ActivityContext, fail_until: u32) -> Result<u32, ActivityError> {
    let runs = ctx
        .data::<Arc<AtomicU32>>()
        .expect("the counter is registered");
    runs.fetch_add(1, Ordering::SeqCst);
    let attempt = ctx.info().attempt;
    if attempt < fail_until {
        return Err(ActivityError::retryable(format!("attempt {attempt} fails")));
    }
    Ok(attempt)
}

#[derive(Default)]
struct BackoffWorkflow;

#[workflow]
impl BackoffWorkflow {
    /// `(fail_until, initial interval ms, local retry threshold ms, maximum attempts)`.
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        input: (u32, u64, u64, u32),
    ) -> WorkflowResult<String> {
        let (fail_until, initial, threshold, maximum_attempts) = input;
        let policy = RetryPolicy::default()
            .initial_interval(Duration::from_millis(initial))
            .backoff_coefficient(1.0)
            .maximum_attempts(maximum_attempts);
        match ctx
            .local_activity(counted, fail_until)
            .start_to_close(TEN_SECONDS)
            .retry_policy(policy)
            .local_retry_threshold(Duration::from_millis(threshold))
            .await
        {
            Ok(attempt) => Ok(format!("succeeded on attempt {attempt}")),
            Err(failure) => Ok(format!(
                "failed: {:?} / {} / {}",
                failure.failure().kind(),
                failure.cause().message(),
                failure.cause().error_type().unwrap_or_default()
            )),
        }
    }
}

async fn run_backoff(input: (u32, u64, u64, u32)) -> (String, History, u32) {
    let client = client().await;
    let queue = unique_task_queue("la-backoff");
    let runs = Arc::new(AtomicU32::new(0));
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<BackoffWorkflow>()
            .register_activity(counted)
            .data(runs.clone()),
    );
    let handle = client
        .start(BackoffWorkflow::run, input, unique_id("la-backoff"), &queue)
        .await
        .unwrap();
    let result = handle.result().await.unwrap();
    worker.stop().await;
    (result, history(&handle).await, runs.load(Ordering::SeqCst))
}

#[tokio::test]
async fn short_backoffs_are_retried_inside_the_workflow_task() {
    let (result, history, runs) = run_backoff((4, 20, 60_000, 0)).await;
    assert_eq!(result, "succeeded on attempt 4");
    assert_eq!(runs, 4);
    assert_eq!(count(&history, EventType::TimerStarted), 0);
    assert_eq!(count(&history, EventType::WorkflowTaskCompleted), 1);
    let markers = markers(&history);
    assert_eq!(markers.len(), 1);
    assert_eq!(marker_data(&markers[0])["attempt"], 4);
}

#[tokio::test]
async fn a_backoff_over_the_threshold_waits_on_a_durable_timer() {
    // Backoff 1.5 s, threshold 1 s: attempt 2 runs after a timer.
    let (result, history, runs) = run_backoff((2, 1_500, 1_000, 0)).await;
    assert_eq!(result, "succeeded on attempt 2");
    assert_eq!(runs, 2);
    let kinds: Vec<_> = history
        .events()
        .iter()
        .map(event_type)
        .filter(|k| {
            matches!(
                k,
                EventType::MarkerRecorded | EventType::TimerStarted | EventType::TimerFired
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            EventType::MarkerRecorded,
            EventType::TimerStarted,
            EventType::TimerFired,
            EventType::MarkerRecorded
        ]
    );
    let markers = markers(&history);
    let first = marker_data(&markers[0]);
    assert_eq!(first["attempt"], 1);
    assert_eq!(first["backoff"]["seconds"], 1);
    assert_eq!(first["backoff"]["nanos"], 500_000_000);
    assert_eq!(
        markers[0].failure.as_ref().map(|f| f.message.as_str()),
        Some("attempt 1 fails")
    );
    let second = marker_data(&markers[1]);
    assert_eq!(second["seq"], 2, "the retry is a new local activity");
    assert_eq!(second["attempt"], 2);
    assert_eq!(
        second["original_schedule_time"],
        first["original_schedule_time"]
    );
    let timer = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::TimerStartedEventAttributes(t)) => Some(t.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        timer.start_to_fire_timeout.map(|d| (d.seconds, d.nanos)),
        Some((1, 500_000_000))
    );
}

#[tokio::test]
async fn failure_after_the_last_attempt_is_an_activity_error() {
    let (result, history, runs) = run_backoff((10, 10, 60_000, 3)).await;
    assert_eq!(result, "failed: Activity / attempt 3 fails / ActivityError");
    assert_eq!(runs, 3);
    let markers = markers(&history);
    assert_eq!(markers.len(), 1);
    assert_eq!(marker_data(&markers[0])["attempt"], 3);
}

#[derive(Default)]
struct SlowLocalWorkflow;

#[workflow]
impl SlowLocalWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, millis: u64) -> WorkflowResult<u64> {
        Ok(ctx
            .local_activity(slow_local, millis)
            .start_to_close(TEN_SECONDS)
            .await?)
    }
}

#[activity]
async fn slow_local(ctx: ActivityContext, millis: u64) -> Result<u64, ActivityError> {
    let runs = ctx
        .data::<Arc<AtomicU32>>()
        .expect("the counter is registered");
    runs.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(millis)).await;
    Ok(millis)
}

#[tokio::test]
async fn a_local_activity_longer_than_the_task_timeout_heartbeats_the_task() {
    let client = client().await;
    let queue = unique_task_queue("la-slow");
    let runs = Arc::new(AtomicU32::new(0));
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<SlowLocalWorkflow>()
            .register_activity(slow_local)
            .data(runs.clone()),
    );
    // Task timeout 2 s: the worker answers after 1.6 s asking for a new task, and again.
    let handle = client
        .start(SlowLocalWorkflow::run, 4_000, unique_id("la-slow"), &queue)
        .task_timeout(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 4_000);
    worker.stop().await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the activity ran once");
    let history = history(&handle).await;
    assert!(count(&history, EventType::WorkflowTaskCompleted) >= 3);
    assert_eq!(count(&history, EventType::WorkflowTaskTimedOut), 0);
    assert_eq!(markers(&history).len(), 1);
}

#[activity]
async fn crash_step(_input: String) -> Result<String, ActivityError> {
    Ok("finished by the second worker".to_string())
}

#[derive(Default)]
struct LocalCrashWorkflow;

/// The same workflow as in `tests/src/bin/local_activity_worker.rs`, whose `crash_step` never
/// finishes.
#[workflow(name = "LocalCrashWorkflow")]
impl LocalCrashWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        Ok(ctx
            .local_activity(crash_step, input)
            .start_to_close(Duration::from_secs(600))
            .await?)
    }
}

#[tokio::test]
async fn a_worker_killed_in_a_local_activity_is_replaced_and_the_workflow_completes() {
    let client = client().await;
    let queue = unique_task_queue("la-crash");
    let address = server().await.address.clone();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_local_activity_worker"))
        .args([&address, &queue])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("run local_activity_worker");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
    let workflow_id = unique_id("la-crash");
    let handle = client
        .start(
            LocalCrashWorkflow::run,
            "x".to_string(),
            &workflow_id,
            &queue,
        )
        .task_timeout(Duration::from_secs(2))
        .await
        .unwrap();
    let started = format!("LOCAL ACTIVITY STARTED {workflow_id}");
    tokio::time::timeout(WAIT, async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if line.trim() == started {
                return;
            }
        }
        panic!("the worker exited before the local activity started");
    })
    .await
    .expect("the local activity started");
    // SIGKILL: no shutdown, no answer for the task it holds.
    child.start_kill().expect("kill the worker");
    child.wait().await.expect("the worker exits");

    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<LocalCrashWorkflow>()
            .register_activity(crash_step),
    );
    assert_eq!(
        handle.result().await.unwrap(),
        "finished by the second worker"
    );
    worker.stop().await;
    let history = history(&handle).await;
    // The killed worker's task timed out; the new worker's attempt ran the activity.
    assert!(count(&history, EventType::WorkflowTaskTimedOut) >= 1);
    let markers = markers(&history);
    assert_eq!(markers.len(), 1);
    assert_eq!(marker_data(&markers[0])["activity_type"], "crash_step");
}

// Nondeterminism and cross-SDK replay.

fn python_fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/local_activities/python.json")
}

#[test]
fn a_history_recorded_by_the_python_sdk_replays() {
    Replayer::new()
        .register_workflow::<LocalActivityWorkflow>()
        .replay_file(python_fixture())
        .unwrap();
}

/// `LocalActivityWorkflow` with its first local activity's type changed.
#[derive(Default)]
struct ChangedLocalActivity;

#[activity]
async fn la_greet_v2(name: String) -> Result<String, ActivityError> {
    Ok(name)
}

#[workflow(name = "LocalActivityWorkflow")]
impl ChangedLocalActivity {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx
            .local_activity(la_greet_v2, name) // the change
            .start_to_close(TEN_SECONDS)
            .await?)
    }
}

#[test]
fn changing_the_local_activity_type_is_nondeterminism() {
    let error = Replayer::new()
        .register_workflow::<ChangedLocalActivity>()
        .replay_file(python_fixture())
        .expect_err("the changed code must not replay");
    let message = error.to_string();
    let nondeterminism = error.nondeterminism().expect("a nondeterminism error");
    assert_eq!(nondeterminism.event_id, 5, "{message}");
    for expected in ["la_greet_v2", "core_local_activity", "local_activities.rs"] {
        assert!(message.contains(expected), "{expected:?} not in {message}");
    }
}

/// Runs `local_activities.py` with `args`, `stdin` on its standard input; parses its JSON.
async fn python_local(args: &[&str], stdin: &str) -> serde_json::Value {
    let mut child = tokio::process::Command::new(python())
        .arg(python_script("local_activities.py"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run python");
    let mut input = child.stdin.take().expect("piped");
    input.write_all(stdin.as_bytes()).await.unwrap();
    drop(input);
    let output = child.wait_with_output().await.unwrap();
    assert!(
        output.status.success(),
        "local_activities.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the script prints JSON")
}

#[tokio::test]
async fn a_history_recorded_by_chronicle_replays_in_python() {
    let client = client().await;
    let queue = unique_task_queue("la-to-py");
    let worker = RunningWorker::spawn(local_worker(&client, &queue));
    let handle = client
        .start(
            LocalActivityWorkflow::run,
            "World".to_string(),
            unique_id("la-to-py"),
            &queue,
        )
        .await
        .unwrap();
    handle.result().await.unwrap();
    worker.stop().await;
    let json = history(&handle).await.to_json();
    let replayed = python_local(&["replay"], &json).await;
    assert_eq!(replayed, serde_json::json!({"replayed": true}));
}

#[tokio::test]
async fn a_history_python_records_now_replays_in_chronicle() {
    let address = server().await.address.clone();
    let queue = unique_task_queue("la-from-py");
    let recorded = python_local(
        &[
            "record",
            &address,
            &queue,
            &unique_id("la-from-py"),
            "World",
        ],
        "",
    )
    .await;
    assert_eq!(
        recorded["result"],
        "Hello, World! World on attempt 3 World refused"
    );
    let history = History::from_json_value(recorded["history"].clone()).unwrap();
    Replayer::new()
        .register_workflow::<LocalActivityWorkflow>()
        .replay(&history, "recorded by Python")
        .unwrap();
}
