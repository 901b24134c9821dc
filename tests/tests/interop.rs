//! Interoperability with the real Temporal Python SDK (`temporalio`).

mod common;

use chronicle::prelude::*;
use chronicle_tests::{
    python_start_hello, server, unique_id, unique_task_queue, PythonActivityWorker,
};
use common::{client, compose_greeting, HelloWorkflow, RunningWorker};

#[tokio::test]
async fn python_client_starts_a_rust_workflow_by_name() {
    let client = client().await;
    let queue = unique_task_queue("py-client");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<HelloWorkflow>()
            .register_activity(compose_greeting),
    );
    let result = python_start_hello(
        &server().await.address,
        &queue,
        &unique_id("py-hello"),
        "Python",
        Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(result, serde_json::json!("Hello, Python!"));
    worker.stop().await;
}

/// Implemented by the Python worker (tests/python/activity_worker.py).
#[activity(name = "py_compose_greeting")]
async fn py_compose_greeting(ctx: ActivityContext, name: String) -> Result<String, ActivityError>;

#[derive(Default)]
struct AsksPython;

#[workflow]
impl AsksPython {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        python_queue: String,
        name: String,
    ) -> WorkflowResult<String> {
        Ok(ctx
            .activity(py_compose_greeting, name)
            .task_queue(python_queue)
            .start_to_close(Duration::from_secs(10))
            .await?)
    }
}

#[tokio::test]
async fn rust_workflow_calls_an_activity_served_by_python() {
    let client = client().await;
    let rust_queue = unique_task_queue("rust-wf");
    let python_queue = unique_task_queue("py-act");
    let python = PythonActivityWorker::start(&server().await.address, &python_queue)
        .await
        .unwrap();
    let worker =
        RunningWorker::spawn(Worker::new(&client, &rust_queue).register_workflow::<AsksPython>());
    let handle = client
        .start(
            AsksPython::run,
            (python_queue.clone(), "Rust".to_string()),
            unique_id("asks-python"),
            &rust_queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "Hello from Python, Rust!");
    worker.stop().await;
    assert!(python.stop().await.unwrap().success());
}
