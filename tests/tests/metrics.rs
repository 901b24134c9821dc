//! Temporal's standard SDK metrics, scraped from the worker's Prometheus endpoint over HTTP.

mod common;

use chronicle::prelude::*;
use chronicle::RetryPolicy;
use chronicle_tests::{unique_id, unique_task_queue, wait_for_some};
use common::{client, compose_greeting, HelloWorkflow, RunningWorker, WAIT};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[activity]
async fn flaky(ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    if ctx.info().attempt == 1 {
        return Err(ActivityError::retryable("first attempts always fail here"));
    }
    Ok(n + 1)
}

#[derive(Default)]
struct FlakyWorkflow;

#[workflow]
impl FlakyWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        let retry = RetryPolicy::default().initial_interval(Duration::from_millis(100));
        Ok(ctx
            .activity(flaky, n)
            .start_to_close(Duration::from_secs(10))
            .retry_policy(retry)
            .await?)
    }
}

#[derive(Default)]
struct RefusingWorkflow;

#[workflow]
impl RefusingWorkflow {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, _n: u32) -> WorkflowResult<()> {
        Err(WorkflowError::new("refused"))
    }
}

/// One scraped sample: its labels and value.
#[derive(Debug)]
struct Sample {
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Fetches `/metrics` with a bare HTTP/1.1 GET and parses the text format into samples by
/// series name.
async fn scrape(address: SocketAddr) -> BTreeMap<String, Vec<Sample>> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect to the metrics endpoint");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{head}"
    );
    let mut samples: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    for line in body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let (name, labels) = match series.split_once('{') {
            Some((name, rest)) => (name, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        let labels = labels
            .split("\",")
            .filter(|pair| !pair.is_empty())
            .filter_map(|pair| pair.split_once("=\""))
            .map(|(k, v)| (k.to_string(), v.trim_end_matches('"').to_string()))
            .collect();
        samples.entry(name.to_string()).or_default().push(Sample {
            labels,
            value: value.parse().expect("a number"),
        });
    }
    samples
}

/// The sum of `name`'s samples whose labels include all of `labels`.
fn value(samples: &BTreeMap<String, Vec<Sample>>, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .get(name)
        .into_iter()
        .flatten()
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn worker_exports_temporal_sdk_metrics_to_prometheus() {
    let client = client().await;
    let queue = unique_task_queue("metrics");
    let address = free_port();
    let worker = Worker::new(&client, &queue)
        .register_workflow::<HelloWorkflow>()
        .register_workflow::<FlakyWorkflow>()
        .register_workflow::<RefusingWorkflow>()
        .register_activity(compose_greeting)
        .register_activity(flaky)
        .configure(|o| {
            o.max_concurrent_workflow_tasks = 7;
            o.max_concurrent_activities = 5;
            o.telemetry.prometheus_address = Some(address);
        });
    let worker = RunningWorker::spawn(worker);

    for i in 0..3 {
        let handle = client
            .start(
                HelloWorkflow::run,
                format!("n{i}"),
                unique_id("metrics-hello"),
                &queue,
            )
            .await
            .unwrap();
        handle.result().await.unwrap();
    }
    let flaky_run = client
        .start(FlakyWorkflow::run, 1, unique_id("metrics-flaky"), &queue)
        .await
        .unwrap();
    assert_eq!(flaky_run.result().await.unwrap(), 2);
    let refusing = client
        .start(
            RefusingWorkflow::run,
            1,
            unique_id("metrics-refusing"),
            &queue,
        )
        .await
        .unwrap();
    assert!(refusing.result().await.is_err());
    // A type no worker of the queue knows: its workflow task fails.
    let unknown = client
        .start_by_name(
            "NotRegisteredHere",
            vec![],
            unique_id("metrics-unknown"),
            &queue,
        )
        .await
        .unwrap();
    // A request the server refuses: describing a workflow that does not exist.
    let missing = client.untyped_handle(unique_id("metrics-missing"));
    assert!(missing.describe().await.is_err());

    let q = queue.as_str();
    let ns = "default";
    let metrics = wait_for_some(
        "the unknown type's task failure to be counted",
        WAIT,
        || async {
            let metrics = scrape(address).await;
            let failed = value(
                &metrics,
                "temporal_workflow_task_execution_failed",
                &[("task_queue", q), ("workflow_type", "NotRegisteredHere")],
            );
            (failed >= 1.0).then_some(metrics)
        },
    )
    .await;
    unknown.terminate("test over").await.unwrap();

    let hello = [
        ("namespace", ns),
        ("task_queue", q),
        ("workflow_type", "HelloWorkflow"),
    ];
    let greeting = [
        ("namespace", ns),
        ("task_queue", q),
        ("activity_type", "compose_greeting"),
        ("workflow_type", "HelloWorkflow"),
    ];
    let at = |name: &str, labels: &[(&str, &str)]| value(&metrics, name, labels);

    // Runs closed, by how they closed.
    assert_eq!(at("temporal_workflow_completed", &hello), 3.0);
    assert_eq!(
        at(
            "temporal_workflow_completed",
            &[("task_queue", q), ("workflow_type", "FlakyWorkflow")]
        ),
        1.0
    );
    assert_eq!(
        at(
            "temporal_workflow_failed",
            &[("task_queue", q), ("workflow_type", "RefusingWorkflow")]
        ),
        1.0
    );
    assert_eq!(at("temporal_workflow_failed", &hello), 0.0);
    let reason = metrics["temporal_workflow_task_execution_failed"]
        .iter()
        .find(|s| s.labels.get("task_queue").map(String::as_str) == Some(q))
        .and_then(|s| s.labels.get("failure_reason"))
        .cloned()
        .unwrap_or_default();
    assert!(
        reason.starts_with("WORKFLOW_TASK_FAILED_CAUSE_"),
        "{reason}"
    );

    // Workflow tasks: at least two per hello run (start, then the activity's result), the
    // second of which replays the first's history.
    let executed = at("temporal_workflow_task_execution_latency_count", &hello);
    assert!(executed >= 6.0, "{executed} hello workflow tasks");
    let replayed = at("temporal_workflow_task_replay_latency_count", &hello);
    assert!((3.0..=executed).contains(&replayed), "{replayed} replays");
    let scheduled = at(
        "temporal_workflow_task_schedule_to_start_latency_count",
        &[("task_queue", q)],
    );
    assert!(
        scheduled >= executed,
        "{scheduled} schedule-to-start samples"
    );
    let succeeded = at(
        "temporal_workflow_task_queue_poll_succeed",
        &[("namespace", ns), ("task_queue", q)],
    );
    assert!(succeeded >= executed, "{succeeded} successful polls");

    // Activities: one attempt per hello run; the flaky activity failed once, then passed.
    assert_eq!(
        at("temporal_activity_execution_latency_count", &greeting),
        3.0
    );
    assert_eq!(
        at(
            "temporal_activity_schedule_to_start_latency_count",
            &greeting
        ),
        3.0
    );
    assert_eq!(at("temporal_activity_execution_failed", &greeting), 0.0);
    assert_eq!(
        at(
            "temporal_activity_execution_failed",
            &[("task_queue", q), ("activity_type", "flaky")]
        ),
        1.0
    );
    assert_eq!(
        at(
            "temporal_activity_execution_latency_count",
            &[("task_queue", q), ("activity_type", "flaky")]
        ),
        2.0
    );

    // Slots: free + used is the configured limit, per kind of worker.
    for (worker_type, limit) in [("WorkflowWorker", 7.0), ("ActivityWorker", 5.0)] {
        let labels = [
            ("namespace", ns),
            ("task_queue", q),
            ("worker_type", worker_type),
        ];
        let free = at("temporal_worker_task_slots_available", &labels);
        let used = at("temporal_worker_task_slots_used", &labels);
        assert_eq!(
            free + used,
            limit,
            "{worker_type}: {free} free, {used} used"
        );
        assert_eq!(at("temporal_worker_start", &labels), 1.0);
    }
    let pollers = at(
        "temporal_num_pollers",
        &[("task_queue", q), ("poller_type", "workflow_task")],
    );
    assert!((0.0..=2.0).contains(&pollers), "{pollers} workflow pollers");
    assert!(metrics["temporal_num_pollers"].iter().any(|s| s
        .labels
        .get("task_queue")
        .map(String::as_str)
        == Some(q)
        && s.labels.get("poller_type").map(String::as_str) == Some("activity_task")));

    // RPCs, by operation; failures carry the gRPC status.
    let responded = at(
        "temporal_request",
        &[
            ("namespace", ns),
            ("operation", "RespondWorkflowTaskCompleted"),
        ],
    );
    assert!(
        responded >= executed,
        "{responded} RespondWorkflowTaskCompleted"
    );
    assert!(
        at(
            "temporal_request",
            &[("operation", "RespondActivityTaskCompleted")]
        ) >= 4.0
    );
    assert!(
        at(
            "temporal_request_latency_count",
            &[("operation", "StartWorkflowExecution")]
        ) >= 6.0
    );
    assert!(
        at(
            "temporal_request_failure",
            &[
                ("namespace", ns),
                ("operation", "DescribeWorkflowExecution"),
                ("status_code", "NOT_FOUND")
            ]
        ) >= 1.0
    );
    assert!(
        at(
            "temporal_long_request",
            &[("namespace", ns), ("operation", "PollWorkflowTaskQueue")]
        ) >= succeeded
    );
    assert!(
        at(
            "temporal_long_request",
            &[("operation", "PollActivityTaskQueue")]
        ) >= 1.0
    );

    // Every Chronicle series carries Temporal's prefix.
    assert!(
        metrics.keys().all(|name| name.starts_with("temporal_")),
        "{:?}",
        metrics.keys()
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_taken_metrics_port_stops_the_worker_with_a_clear_error() {
    let client = client().await;
    // Another program's socket on the port the worker is told to use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap();
    let worker = Worker::new(&client, unique_task_queue("metrics-taken"))
        .register_activity(compose_greeting)
        .configure(|o| o.telemetry.prometheus_address = Some(address));
    let error = worker.run().await.expect_err("the port is taken");
    let message = error.to_string();
    assert!(message.contains(&address.to_string()), "{message}");
    assert!(message.contains("Prometheus"), "{message}");
}
