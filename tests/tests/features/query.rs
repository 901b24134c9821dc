//! features/query: a query answers from the current state between signals; with no worker it
//! times out; wrong arguments, an unknown name and an unexpected answer type are errors.

use crate::common::RunningWorker;
use crate::{check_history, start_worker};
use chronicle::client::ClientError;
use chronicle::prelude::*;
use chronicle::Replayer;
use chronicle_core::payload::encode;
use chronicle_tests::unique_id;

/// The workflow of every query scenario: counts `inc_counter` signals until `finish`.
#[derive(Default)]
struct QueryWorkflow {
    counter: u32,
    be_done: bool,
}

#[workflow(name = "Workflow")]
impl QueryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_until(|s| s.be_done).await?;
        Ok(())
    }

    #[query(name = "get_counter")]
    fn counter(&self) -> u32 {
        self.counter
    }

    #[query]
    fn simple_query(&self) -> bool {
        true
    }

    #[query(name = "the_query")]
    fn the_query(&self, arg: i64) -> String {
        format!("hi {arg}")
    }

    #[query(name = "q")]
    fn string_q(&self) -> String {
        "hi bob".to_string()
    }

    #[signal(name = "inc_counter")]
    fn inc_counter(&mut self) {
        self.counter += 1;
    }

    #[signal(name = "finish")]
    fn finish(&mut self) {
        self.be_done = true;
    }
}

fn query_worker(client: &Client, queue: &str) -> RunningWorker {
    RunningWorker::spawn(Worker::new(client, queue).register_workflow::<QueryWorkflow>())
}

/// Starts the workflow on a fresh queue with a worker for it.
async fn start(
    prefix: &str,
) -> (
    Client,
    String,
    RunningWorker,
    chronicle::WorkflowHandle<QueryWorkflow>,
) {
    let (client, queue, worker) =
        start_worker(prefix, |w| w.register_workflow::<QueryWorkflow>()).await;
    let handle = client
        .start(QueryWorkflow::run, (), unique_id(prefix), &queue)
        .await
        .unwrap();
    (client, queue, worker, handle)
}

/// Sends `finish`, waits for the result and checks the history replays.
async fn finish(handle: &chronicle::WorkflowHandle<QueryWorkflow>, scenario: &str) {
    handle.signal(QueryWorkflow::finish, ()).await.unwrap();
    handle.result().await.unwrap();
    check_history(
        handle,
        scenario,
        Replayer::new().register_workflow::<QueryWorkflow>(),
    )
    .await;
}

#[tokio::test]
async fn query_successful_query() {
    let (_, _, worker, handle) = start("successful-query").await;
    assert_eq!(handle.query(QueryWorkflow::counter, ()).await.unwrap(), 0);
    handle.signal(QueryWorkflow::inc_counter, ()).await.unwrap();
    assert_eq!(handle.query(QueryWorkflow::counter, ()).await.unwrap(), 1);
    for _ in 0..3 {
        handle.signal(QueryWorkflow::inc_counter, ()).await.unwrap();
    }
    assert_eq!(handle.query(QueryWorkflow::counter, ()).await.unwrap(), 4);
    finish(&handle, "query/successful_query").await;
    worker.stop().await;
}

#[tokio::test]
async fn query_timeout_due_to_no_active_workers() {
    let (client, queue, worker, handle) = start("query-no-workers").await;
    // Known to the worker first, so the query below cannot be answered from a first task.
    assert!(handle.query(QueryWorkflow::simple_query, ()).await.unwrap());
    worker.stop().await;

    let error = handle
        .clone()
        .with_rpc_timeout(Duration::from_secs(1))
        .query(QueryWorkflow::simple_query, ())
        .await
        .unwrap_err();
    match &error {
        ClientError::QueryTimedOut { query, timeout, .. } => {
            assert_eq!(query, "simple_query");
            assert_eq!(*timeout, Duration::from_secs(1));
        }
        // The server may give up first, with CANCELLED or DEADLINE_EXCEEDED, as the original
        // allows.
        ClientError::Rpc { status, .. }
            if matches!(
                status.code(),
                tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
            ) => {}
        other => panic!("expected the query to time out, got {other:?}"),
    }

    let worker = query_worker(&client, &queue);
    finish(&handle, "query/timeout_due_to_no_active_workers").await;
    worker.stop().await;
}

/// The error of a query expected to fail on the worker.
fn query_failed(result: Result<Vec<chronicle::Payload>, ClientError>, what: &str) -> String {
    match result {
        Err(ClientError::QueryFailed { message, .. }) => message,
        other => panic!("{what}: expected the query to fail, got {other:?}"),
    }
}

#[tokio::test]
async fn query_unexpected_arguments() {
    let (client, _, worker, handle) = start("query-arguments").await;
    let untyped = client.untyped_handle(handle.workflow_id());
    let answer: String = untyped.query("the_query", 123).await.unwrap();
    assert_eq!(answer, "hi 123");

    // One argument of the wrong type: Rust knows the handler's type, so this is refused too
    // (the Python original accepts it and leaves rejecting it as a TODO).
    let message = query_failed(
        untyped
            .query_payloads("the_query", vec![encode(&true).unwrap()])
            .await,
        "an argument of the wrong type",
    );
    assert!(message.contains("could not decode argument 1"), "{message}");

    // An extra argument.
    let message = query_failed(
        untyped
            .query_payloads(
                "the_query",
                vec![encode(&123).unwrap(), encode(&true).unwrap()],
            )
            .await,
        "an extra argument",
    );
    assert!(
        message.contains("expects 1 argument(s) but received 2"),
        "{message}"
    );

    // No argument where one is expected.
    let message = query_failed(
        untyped.query_payloads("the_query", vec![]).await,
        "a missing argument",
    );
    assert!(
        message.contains("expects 1 argument(s) but received 0"),
        "{message}"
    );
    finish(&handle, "query/unexpected_arguments").await;
    worker.stop().await;
}

#[tokio::test]
async fn query_unexpected_query_type_name() {
    let (client, _, worker, handle) = start("query-unknown-name").await;
    let message = query_failed(
        client
            .untyped_handle(handle.workflow_id())
            .query_payloads("nonexistent", vec![])
            .await,
        "an unknown query",
    );
    assert!(
        message.contains("\"nonexistent\" is not handled by this workflow"),
        "{message}"
    );
    finish(&handle, "query/unexpected_query_type_name").await;
    worker.stop().await;
}

#[tokio::test]
async fn query_unexpected_return_type() {
    let (client, _, worker, handle) = start("query-return-type").await;
    // The handler answers a string; the caller expects a number.
    let error = client
        .untyped_handle(handle.workflow_id())
        .query::<i64, _>("q", ())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");
    assert_eq!(
        handle.query(QueryWorkflow::string_q, ()).await.unwrap(),
        "hi bob"
    );
    finish(&handle, "query/unexpected_return_type").await;
    worker.stop().await;
}
