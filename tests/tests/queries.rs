//! Queries end to end: while the workflow runs, with a signal still unseen by the workflow
//! code, after it completed and after it failed; and the errors a caller gets.

mod common;

use chronicle::client::ClientError;
use chronicle::prelude::*;
use chronicle::WorkflowHandle;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue, wait_for};
use common::{client, count, history, wait_for_event, RunningWorker, WAIT};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Progress {
    stage: String,
    steps: Vec<String>,
}

/// Moves through stages on signals; fails when told to.
#[derive(Default)]
struct Stages {
    progress: Progress,
    next: Option<String>,
}

#[activity]
async fn record(_ctx: ActivityContext, step: String) -> Result<String, ActivityError> {
    Ok(format!("recorded {step}"))
}

#[workflow]
impl Stages {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Progress> {
        ctx.update(|s| s.progress.stage = "waiting".to_string());
        loop {
            ctx.wait_until(|s| s.next.is_some()).await?;
            let Some(step) = ctx.update(|s| s.next.take()) else {
                continue;
            };
            match step.as_str() {
                "finish" => {
                    ctx.update(|s| s.progress.stage = "done".to_string());
                    return Ok(ctx.state(|s| s.progress.clone()));
                }
                "fail" => {
                    ctx.update(|s| s.progress.stage = "failed".to_string());
                    return Err(WorkflowError::new("told to fail"));
                }
                _ => {
                    ctx.update(|s| s.progress.stage = format!("recording {step}"));
                    let recorded = ctx.activity(record, step.clone()).await?;
                    ctx.update(|s| {
                        s.progress.steps.push(recorded);
                        s.progress.stage = format!("recorded {step}");
                    });
                }
            }
        }
    }

    #[signal]
    fn advance(&mut self, step: String) {
        self.next = Some(step);
    }

    #[query]
    fn progress(&self) -> Progress {
        self.progress.clone()
    }

    #[query(name = "step")]
    fn step_at(&self, index: usize) -> Option<String> {
        self.progress.steps.get(index).cloned()
    }

    #[query]
    fn explode(&self) -> u32 {
        panic!("the query handler blew up")
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<Stages>()
        .register_activity(record)
}

/// A running `Stages` workflow whose first task is done, with its worker.
async fn started_stages(prefix: &str) -> (Client, RunningWorker, WorkflowHandle<Stages>) {
    let client = client().await;
    let queue = unique_task_queue(prefix);
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Stages::run, (), unique_id(prefix), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    (client, worker, handle)
}

#[tokio::test]
async fn queries_answer_while_running_and_after_completion() {
    let (_client, worker, handle) = started_stages("query-lifecycle").await;
    let progress = handle.query(Stages::progress, ()).await.unwrap();
    assert_eq!(progress.stage, "waiting");
    assert!(progress.steps.is_empty());

    handle
        .signal(Stages::advance, "draft".to_string())
        .await
        .unwrap();
    wait_for("the step to be recorded", WAIT, || async {
        handle.query(Stages::step_at, 0).await.unwrap().is_some()
    })
    .await;
    let step = handle.query(Stages::step_at, 0).await.unwrap();
    assert_eq!(step.as_deref(), Some("recorded draft"));
    assert_eq!(handle.query(Stages::step_at, 5).await.unwrap(), None);

    handle
        .signal(Stages::advance, "finish".to_string())
        .await
        .unwrap();
    let result = handle.result().await.unwrap();
    // After completion the state is rebuilt from history.
    let progress = handle.query(Stages::progress, ()).await.unwrap();
    assert_eq!(progress, result);
    assert_eq!(progress.stage, "done");
    assert_eq!(progress.steps, ["recorded draft"]);

    // Queries leave no trace in history.
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    worker.stop().await;
}

#[tokio::test]
async fn a_query_sees_a_signal_the_workflow_code_has_not_run_after_yet() {
    let client = client().await;
    let queue = unique_task_queue("query-pending");
    let first = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Stages::run, (), unique_id("query-pending"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    first.stop().await;

    // The signal waits in a workflow task no worker has taken: the server holds the query
    // for that task, and the answer must include what the task does.
    handle
        .signal(Stages::advance, "review".to_string())
        .await
        .unwrap();
    let query = tokio::spawn({
        let handle = handle.clone();
        async move { handle.query(Stages::progress, ()).await }
    });
    let second = RunningWorker::spawn(worker(&client, &queue));
    let answer = tokio::time::timeout(WAIT, query)
        .await
        .expect("the query is answered")
        .unwrap()
        .unwrap();
    // Never "waiting": the answer comes from the state after the task that took the signal
    // (the activity it scheduled may have completed since).
    assert!(
        ["recording review", "recorded review"].contains(&answer.stage.as_str()),
        "{answer:?}"
    );
    wait_for("the step to be recorded", WAIT, || async {
        handle.query(Stages::step_at, 0).await.unwrap().is_some()
    })
    .await;
    handle
        .signal(Stages::advance, "finish".to_string())
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap().steps, ["recorded review"]);
    second.stop().await;
}

#[tokio::test]
async fn queries_answer_after_the_workflow_failed() {
    let client = client().await;
    let queue = unique_task_queue("query-failed");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Stages::run, (), unique_id("query-failed"), &queue)
        .await
        .unwrap();
    handle
        .signal(Stages::advance, "fail".to_string())
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    assert!(error.to_string().contains("told to fail"), "{error}");
    let progress = handle.query(Stages::progress, ()).await.unwrap();
    assert_eq!(progress.stage, "failed");
    worker.stop().await;
}

#[tokio::test]
async fn bad_queries_are_errors_for_the_caller_and_leave_the_workflow_alone() {
    let (client, worker, handle) = started_stages("bad-queries").await;
    let id = handle.workflow_id().to_string();
    let untyped = client.untyped_handle(&id);

    let error = untyped
        .query::<String, _>("no_such_query", ())
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ClientError::QueryFailed { .. }),
        "{error:?}"
    );
    assert!(message.contains("\"no_such_query\""), "{message}");
    assert!(
        message.contains("known query names: progress, step, explode"),
        "{message}"
    );

    let error = untyped
        .query::<Option<String>, _>("step", "not a number")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ClientError::QueryFailed { .. }),
        "{error:?}"
    );
    assert!(
        message.contains("could not decode argument 1 of query step"),
        "{message}"
    );

    let error = handle.query(Stages::explode, ()).await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains("the query handler blew up"), "{message}");

    // A typed query whose answer does not decode as the caller's type.
    let error = untyped.query::<u32, _>("progress", ()).await.unwrap_err();
    assert!(matches!(error, ClientError::Decode(_)), "{error:?}");

    // None of it touched the workflow.
    handle
        .signal(Stages::advance, "finish".to_string())
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap().stage, "done");
    assert_eq!(
        count(&history(&handle).await, EventType::WorkflowTaskFailed),
        0
    );
    worker.stop().await;
}

/// Keeps its own context in its state, so that a query can try to use it.
#[derive(Default)]
struct Sneaky {
    ctx: Option<WorkflowContext<Sneaky>>,
    done: bool,
}

#[workflow]
impl Sneaky {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.update(|s| s.ctx = Some(ctx.clone()));
        ctx.wait_until(|s| s.done).await?;
        ctx.update(|s| s.ctx = None);
        Ok(())
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }

    /// Tries to start a timer from a query.
    #[query]
    fn sneak(&self) -> bool {
        let _timer = self
            .ctx
            .as_ref()
            .map(|ctx| ctx.sleep(Duration::from_secs(60)));
        true
    }
}

#[tokio::test]
async fn a_query_that_issues_a_command_fails_for_its_caller_only() {
    let client = client().await;
    let queue = unique_task_queue("sneaky-query");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Sneaky>());
    let handle = client
        .start(Sneaky::run, (), unique_id("sneaky-query"), &queue)
        .await
        .unwrap();
    wait_for_event(&handle, EventType::WorkflowTaskCompleted).await;
    let error = handle.query(Sneaky::sneak, ()).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("tried to start a timer") && message.contains("cannot issue commands"),
        "{message}"
    );
    handle.signal(Sneaky::finish, ()).await.unwrap();
    handle.result().await.unwrap();
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::TimerStarted), 0);
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    worker.stop().await;
}

#[tokio::test]
async fn built_in_queries_tell_what_the_workflow_waits_on_and_what_it_handles() {
    let (client, worker, handle) = started_stages("builtin-queries").await;
    let id = handle.workflow_id().to_string();
    let untyped = client.untyped_handle(&id);

    // What the web UI's stack trace tab and `temporal workflow stack` show.
    let stack: String = untyped.query("__stack_trace", ()).await.unwrap();
    assert!(stack.contains("1 wait_until condition(s)"), "{stack}");

    let metadata: serde_json::Value = untyped
        .query("__temporal_workflow_metadata", ())
        .await
        .unwrap();
    let definition = &metadata["definition"];
    assert_eq!(definition["type"], "Stages");
    assert_eq!(
        definition["queryDefinitions"],
        serde_json::json!([{"name": "progress"}, {"name": "step"}, {"name": "explode"}])
    );
    assert_eq!(
        definition["signalDefinitions"],
        serde_json::json!([{"name": "advance"}])
    );
    handle.terminate("done").await.unwrap();
    worker.stop().await;
}

#[tokio::test]
async fn a_query_no_worker_serves_fails_within_its_timeout() {
    let client = client().await;
    // Nobody polls this queue.
    let queue = unique_task_queue("unserved");
    let id = unique_id("unserved");
    client
        .start(common::HelloWorkflow::run, "World".to_string(), &id, &queue)
        .await
        .unwrap();
    let timeout = Duration::from_secs(3);
    let asked = std::time::Instant::now();
    let error = client
        .untyped_handle(&id)
        .with_rpc_timeout(timeout)
        .query::<String, _>("status", ())
        .await
        .unwrap_err();
    let waited = asked.elapsed();
    assert!(
        matches!(&error, ClientError::QueryTimedOut { query, .. } if query == "status"),
        "{error:?}"
    );
    assert!(error.to_string().contains("no worker answered"), "{error}");
    // Not retried: the old client asked 10 times, each waiting out the timeout.
    assert!(waited < timeout * 3, "the query took {waited:?}");
}
