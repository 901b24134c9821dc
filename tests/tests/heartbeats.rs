//! Heartbeats, long histories (several pages), and activity input that does not decode.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, history, RunningWorker};
use futures::future::join_all;

/// Heartbeats its progress, fails once, and resumes from the recorded progress.
#[activity]
async fn resumable(ctx: ActivityContext, total: u32) -> Result<u32, ActivityError> {
    let start = match ctx.last_heartbeat_details::<u32>() {
        Some(progress) => progress? + 1,
        None => 0,
    };
    for i in start..total {
        ctx.heartbeat(&i);
        if ctx.info().attempt == 1 && i == total / 2 {
            // Give the throttled heartbeat time to reach the server before failing.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Err(ActivityError::retryable("interrupted half way"));
        }
    }
    Ok(start)
}

#[derive(Default)]
struct ResumeWorkflow;

#[workflow]
impl ResumeWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(resumable, 10)
            .heartbeat_timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?)
    }
}

#[tokio::test]
async fn heartbeat_details_carry_over_to_the_next_attempt() {
    let client = client().await;
    let queue = unique_task_queue("heartbeat");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<ResumeWorkflow>()
            .register_activity(resumable),
    );
    let handle = client
        .start(ResumeWorkflow::run, (), unique_id("heartbeat"), &queue)
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        6,
        "resumed after the last recorded step (5)"
    );
    // Attempt 1 really ran to its error after waiting (it did not just time out).
    let last_failure = history(&handle).await.events().iter().find_map(|e| match &e.attributes {
        Some(chronicle_core::proto::history::history_event::Attributes::ActivityTaskStartedEventAttributes(a)) => a.last_failure.clone(),
        _ => None,
    });
    assert_eq!(
        last_failure.map(|f| f.message),
        Some("interrupted half way".to_string())
    );
    worker.stop().await;
}

#[activity]
async fn echo(_ctx: ActivityContext, n: u32) -> Result<u32, ActivityError> {
    Ok(n)
}

#[derive(Default)]
struct WideWorkflow;

#[workflow]
impl WideWorkflow {
    /// Enough activities for the history to span several pages.
    #[run]
    async fn run(ctx: WorkflowContext<Self>, width: u32) -> WorkflowResult<u32> {
        let mut sum = 0;
        for round in 0..2 {
            let calls = (0..width).map(|i| ctx.activity(echo, round * width + i).start());
            for result in join_all(calls).await {
                sum += result?;
            }
        }
        Ok(sum)
    }
}

#[tokio::test]
async fn long_histories_are_fetched_page_by_page() {
    let client = client().await;
    let queue = unique_task_queue("wide");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<WideWorkflow>()
            .register_activity(echo),
    );
    let width = 150;
    let handle = client
        .start(WideWorkflow::run, width, unique_id("wide"), &queue)
        .await
        .unwrap();
    let n = 2 * width;
    assert_eq!(handle.result().await.unwrap(), n * (n - 1) / 2);
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::ActivityTaskCompleted),
        n as usize
    );
    assert!(history.len() > 900, "{} events", history.len());
    worker.stop().await;
}

/// Calls the real `echo` with a string: the implementation cannot decode it.
#[activity(name = "echo")]
async fn echo_with_wrong_type(ctx: ActivityContext, n: String) -> Result<u32, ActivityError>;

#[derive(Default)]
struct WrongInputWorkflow;

#[workflow]
impl WrongInputWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(echo_with_wrong_type, "seven".to_string())
            .await?)
    }
}

#[tokio::test]
async fn malformed_activity_input_fails_it_for_good_with_a_clear_error() {
    let client = client().await;
    let queue = unique_task_queue("wrong-input");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<WrongInputWorkflow>()
            .register_activity(echo),
    );
    let handle = client
        .start(
            WrongInputWorkflow::run,
            (),
            unique_id("wrong-input"),
            &queue,
        )
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    let root = error.failure().unwrap().root_cause();
    assert_eq!(root.error_type(), Some("PayloadError"));
    assert!(
        root.non_retryable(),
        "the input will never decode: no retries"
    );
    assert!(
        root.message().starts_with(
            "activity echo could not decode its input: could not decode argument 1 of echo as u32"
        ),
        "{}",
        root.message()
    );
    worker.stop().await;
}
