//! Bad input gets a clear error and breaks nothing: unknown types, malformed payloads.

mod common;

use chronicle::prelude::*;
use chronicle_core::payload;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{
    client, compose_greeting, task_failure_message, wait_for_event, HelloWorkflow, RunningWorker,
};

/// An activity no worker of the queue implements.
#[activity(name = "no_such_activity")]
async fn missing_activity(ctx: ActivityContext, input: String) -> Result<String, ActivityError>;

#[derive(Default)]
struct CallsMissingActivity;

#[workflow]
impl CallsMissingActivity {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(ctx
            .activity(missing_activity, "x".to_string())
            .retry_policy(RetryPolicy::no_retries())
            .await?)
    }
}

async fn hello_worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(
        Worker::new(client, queue)
            .register_workflow::<HelloWorkflow>()
            .register_workflow::<CallsMissingActivity>()
            .register_activity(compose_greeting),
    )
}

#[tokio::test]
async fn unknown_workflow_type_fails_its_task_with_a_clear_message() {
    let client = client().await;
    let queue = unique_task_queue("unknown-workflow");
    let worker = hello_worker(&client, &queue).await;
    let handle = client
        .start_by_name("NoSuchWorkflow", vec![], unique_id("unknown"), &queue)
        .await
        .unwrap();
    let failed = wait_for_event(&handle, EventType::WorkflowTaskFailed).await;
    assert_eq!(
        task_failure_message(&failed),
        "workflow type \"NoSuchWorkflow\" is not registered on this worker (registered: CallsMissingActivity, HelloWorkflow)"
    );
    handle.terminate("test done").await.unwrap();

    // The worker is unharmed.
    let ok = client
        .start(
            HelloWorkflow::run,
            "again".to_string(),
            unique_id("hello"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(ok.result().await.unwrap(), "Hello, again!");
    worker.stop().await;
}

#[tokio::test]
async fn unknown_activity_type_fails_the_activity_with_a_clear_message() {
    let client = client().await;
    let queue = unique_task_queue("unknown-activity");
    let worker = hello_worker(&client, &queue).await;
    let handle = client
        .start(CallsMissingActivity::run, (), unique_id("missing"), &queue)
        .await
        .unwrap();
    let failure = handle.result().await.unwrap_err();
    let root = failure.failure().expect("workflow failed").root_cause();
    assert_eq!(root.error_type(), Some("NotFoundError"));
    assert!(
        root.message()
            .starts_with("activity type \"no_such_activity\" is not registered on this worker")
            && root.message().contains("registered: compose_greeting"),
        "{}",
        root.message()
    );
    worker.stop().await;
}

#[tokio::test]
async fn malformed_workflow_input_fails_the_workflow_with_a_clear_error() {
    let client = client().await;
    let queue = unique_task_queue("malformed");
    let worker = hello_worker(&client, &queue).await;
    let handle = client
        .start_by_name(
            "HelloWorkflow",
            vec![payload::encode(&42).unwrap()],
            unique_id("bad"),
            &queue,
        )
        .await
        .unwrap();
    let error = handle.result::<String>().await.unwrap_err();
    let failure = error.failure().expect("the workflow failed");
    assert_eq!(failure.error_type(), Some("PayloadError"));
    assert!(
        failure
            .message()
            .starts_with("workflow HelloWorkflow could not decode its input: could not decode argument 1 of HelloWorkflow as alloc::string::String: invalid type: integer `42`"),
        "{}",
        failure.message()
    );

    // Too many arguments is just as clear.
    let handle = client
        .start_by_name(
            "HelloWorkflow",
            vec![payload::encode("a").unwrap(), payload::encode("b").unwrap()],
            unique_id("bad"),
            &queue,
        )
        .await
        .unwrap();
    let error = handle.result::<String>().await.unwrap_err();
    assert!(
        error
            .to_string()
            .contains("HelloWorkflow expects 1 argument(s) but received 2"),
        "{error}"
    );
    worker.stop().await;
}
