//! A workflow task that keeps failing is reported once, then left to time out: the server does
//! not retry it in a loop, the log says it once, and the worker's other work carries on.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::workflowservice::DescribeWorkflowExecutionRequest;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, compose_greeting, count, history, task_failure_message, wait_for_event};
use common::{HelloWorkflow, RunningWorker};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

static ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

/// Panics at every attempt.
#[derive(Default)]
struct AlwaysPanics;

#[workflow]
impl AlwaysPanics {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ATTEMPTS.fetch_add(1, Ordering::SeqCst);
        panic!("the ledger is missing");
    }
}

/// Everything the worker logs, for counting lines.
#[derive(Clone, Default)]
struct CapturedLog(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl CapturedLog {
    fn lines_with(&self, needle: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().unwrap())
            .lines()
            .filter(|line| line.contains(needle))
            .count()
    }
}

async fn pending_task_attempt(client: &Client, workflow_id: &str) -> i32 {
    let request = DescribeWorkflowExecutionRequest {
        namespace: client.connection().namespace().to_string(),
        execution: Some(chronicle_core::proto::common::WorkflowExecution {
            workflow_id: workflow_id.to_string(),
            run_id: String::new(),
        }),
    };
    let described = client
        .connection()
        .unary(
            "DescribeWorkflowExecution",
            request,
            |mut svc, r| async move { svc.describe_workflow_execution(r).await },
        )
        .await
        .unwrap();
    described
        .pending_workflow_task
        .map(|t| t.attempt)
        .unwrap_or(0)
}

#[tokio::test]
async fn a_persistently_failing_task_is_reported_once_and_not_retried_in_a_loop() {
    let log = CapturedLog::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .init();

    let client = client().await;
    let queue = unique_task_queue("failing");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<AlwaysPanics>()
            .register_workflow::<HelloWorkflow>()
            .register_activity(compose_greeting),
    );
    let started = Instant::now();
    let id = unique_id("always-panics");
    let failing = client
        .start(AlwaysPanics::run, (), &id, &queue)
        .await
        .unwrap();
    let unregistered_id = unique_id("unregistered");
    let unregistered = client
        .start_by_name("NoSuchWorkflow", vec![], &unregistered_id, &queue)
        .await
        .unwrap();

    // Attempt 1 is reported, with the panic's message.
    let failed = wait_for_event(&failing, EventType::WorkflowTaskFailed).await;
    assert!(
        task_failure_message(&failed).contains("the ledger is missing"),
        "{}",
        task_failure_message(&failed)
    );
    let failed = wait_for_event(&unregistered, EventType::WorkflowTaskFailed).await;
    assert!(task_failure_message(&failed).contains("NoSuchWorkflow"));

    // The rest of the worker carries on meanwhile.
    let hello = client
        .start(
            HelloWorkflow::run,
            "World".to_string(),
            unique_id("hello"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(hello.result().await.unwrap(), "Hello, World!");

    // The measurement: 10 s after the start, a task reported failed at every attempt
    // was at attempt 225; one reported once waits out the 10 s task timeout before each retry.
    tokio::time::sleep_until((started + Duration::from_secs(10)).into()).await;
    let attempt = pending_task_attempt(&client, &id).await;
    assert!((2..=3).contains(&attempt), "attempt {attempt} after 10 s");
    assert!(
        ATTEMPTS.load(Ordering::SeqCst) <= 3,
        "{} runs",
        ATTEMPTS.load(Ordering::SeqCst)
    );
    let unregistered_attempt = pending_task_attempt(&client, &unregistered_id).await;
    assert!(
        (2..=3).contains(&unregistered_attempt),
        "attempt {unregistered_attempt} after 10 s"
    );
    assert_eq!(
        count(&history(&failing).await, EventType::WorkflowTaskFailed),
        1
    );

    // One log line per run and failure, not one per attempt.
    assert_eq!(log.lines_with(&id), 1, "{}", log.lines_with(&id));
    assert_eq!(log.lines_with(&unregistered_id), 1);

    failing.terminate("test over").await.unwrap();
    unregistered.terminate("test over").await.unwrap();
    worker.stop().await;
}
