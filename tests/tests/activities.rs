//! Activities end to end on a real dev server: results, retries, failures, panics, timeouts.

mod common;

use chronicle::prelude::*;
use chronicle::FailureKind;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, compose_greeting, count, history, RunningWorker};

/// Greets through `compose_greeting` without setting any activity option.
#[derive(Default)]
struct DefaultsGreeting;

#[workflow]
impl DefaultsGreeting {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(ctx.activity(compose_greeting, name).await?)
    }
}

#[tokio::test]
async fn activity_result_reaches_the_client() {
    let client = client().await;
    let queue = unique_task_queue("hello");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<DefaultsGreeting>()
            .register_activity(compose_greeting),
    );
    let handle = client
        .start(
            DefaultsGreeting::run,
            "World".to_string(),
            unique_id("hello"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "Hello, World!");

    let history = history(&handle).await;
    let scheduled = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => Some(a.clone()),
            _ => None,
        })
        .expect("an ActivityTaskScheduled event");
    assert_eq!(scheduled.activity_id, "1");
    assert_eq!(scheduled.activity_type.unwrap().name, "compose_greeting");
    assert_eq!(
        scheduled.start_to_close_timeout.map(|d| d.seconds),
        Some(60),
        "the worker's default start-to-close timeout applies"
    );
    worker.stop().await;
}

/// Fails its first two attempts, then reports the attempt that succeeded.
#[activity]
async fn flaky(ctx: ActivityContext) -> Result<u32, ActivityError> {
    let attempt = ctx.info().attempt;
    if attempt < 3 {
        return Err(ActivityError::retryable(format!(
            "attempt {attempt} failed"
        )));
    }
    Ok(attempt)
}

#[derive(Default)]
struct RetryWorkflow;

#[workflow]
impl RetryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(flaky, ())
            .start_to_close(Duration::from_secs(10))
            .retry_policy(
                RetryPolicy::default()
                    .initial_interval(Duration::from_millis(100))
                    .maximum_interval(Duration::from_millis(200)),
            )
            .await?)
    }
}

#[tokio::test]
async fn failing_activity_is_retried_until_it_succeeds() {
    let client = client().await;
    let queue = unique_task_queue("retry");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<RetryWorkflow>()
            .register_activity(flaky),
    );
    let handle = client
        .start(RetryWorkflow::run, (), unique_id("retry"), &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 3, "succeeded on attempt 3");

    let history = history(&handle).await;
    let started_attempt = history.events().iter().find_map(|e| match &e.attributes {
        Some(Attributes::ActivityTaskStartedEventAttributes(a)) => Some(a.attempt),
        _ => None,
    });
    assert_eq!(started_attempt, Some(3));
    let last_failure = history.events().iter().find_map(|e| match &e.attributes {
        Some(Attributes::ActivityTaskStartedEventAttributes(a)) => a.last_failure.clone(),
        _ => None,
    });
    assert_eq!(
        last_failure.map(|f| f.message),
        Some("attempt 2 failed".to_string())
    );
    worker.stop().await;
}

#[activity]
async fn charge_card(_ctx: ActivityContext, amount: u64) -> Result<(), ActivityError> {
    let cause = ActivityError::retryable(format!("card limit is below {amount}"))
        .with_type("LimitExceeded");
    Err(ActivityError::non_retryable("card declined")
        .with_type("PaymentDeclined")
        .with_details(&amount)
        .with_cause(cause))
}

#[derive(Default)]
struct ChargeWorkflow;

#[workflow]
impl ChargeWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, amount: u64) -> WorkflowResult<()> {
        ctx.activity(charge_card, amount).await?;
        Ok(())
    }
}

#[tokio::test]
async fn non_retryable_failure_fails_the_workflow_with_its_chain() {
    let client = client().await;
    let queue = unique_task_queue("charge");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<ChargeWorkflow>()
            .register_activity(charge_card),
    );
    let handle = client
        .start(ChargeWorkflow::run, 250, unique_id("charge"), &queue)
        .await
        .unwrap();
    let error = handle.result().await.unwrap_err();
    let failure = error.failure().expect("the workflow failed").clone();
    let chain = failure.chain();
    assert_eq!(
        chain.len(),
        3,
        "activity failure > application error > cause: {failure:?}"
    );
    assert_eq!(chain[0].kind(), FailureKind::Activity);
    assert_eq!(chain[1].message(), "card declined");
    assert_eq!(chain[1].error_type(), Some("PaymentDeclined"));
    assert!(chain[1].non_retryable());
    assert_eq!(chain[1].details::<u64>().unwrap().unwrap(), 250);
    assert_eq!(chain[2].error_type(), Some("LimitExceeded"));
    let shown = error.to_string();
    assert!(
        shown.contains("card declined (PaymentDeclined)")
            && shown.contains("card limit is below 250"),
        "{shown}"
    );
    // Non-retryable: exactly one attempt.
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::ActivityTaskStarted), 1);
    worker.stop().await;
}

/// Takes several arguments and returns nothing (`binary/null`).
#[activity]
async fn record(
    _ctx: ActivityContext,
    key: String,
    value: u32,
    tags: Vec<String>,
) -> Result<(), ActivityError> {
    assert_eq!((key.as_str(), value, tags.len()), ("k", 7, 2));
    Ok(())
}

#[activity]
async fn panics_once(ctx: ActivityContext) -> Result<String, ActivityError> {
    if ctx.info().attempt == 1 {
        panic!("activity bug on attempt 1");
    }
    Ok(format!("recovered on attempt {}", ctx.info().attempt))
}

#[activity]
async fn too_slow(_ctx: ActivityContext) -> Result<(), ActivityError> {
    tokio::time::sleep(Duration::from_secs(20)).await;
    Ok(())
}

#[derive(Default)]
struct MixedWorkflow;

#[workflow]
impl MixedWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<(String, bool)> {
        ctx.activity(
            record,
            ("k".to_string(), 7, vec!["a".to_string(), "b".to_string()]),
        )
        .await?;
        let recovered = ctx
            .activity(panics_once, ())
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?;
        let timed_out = ctx
            .activity(too_slow, ())
            .start_to_close(Duration::from_secs(1))
            .retry_policy(RetryPolicy::no_retries())
            .await
            .expect_err("the activity cannot finish in time")
            .is_timeout();
        Ok((recovered, timed_out))
    }
}

#[tokio::test]
async fn arguments_panics_and_timeouts() {
    let client = client().await;
    let queue = unique_task_queue("mixed");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<MixedWorkflow>()
            .register_activity(record)
            .register_activity(panics_once)
            .register_activity(too_slow),
    );
    let handle = client
        .start(MixedWorkflow::run, (), unique_id("mixed"), &queue)
        .await
        .unwrap();
    let (recovered, timed_out) = handle.result().await.unwrap();
    assert_eq!(
        recovered, "recovered on attempt 2",
        "a panicking attempt is a failed attempt"
    );
    assert!(timed_out);

    let history = history(&handle).await;
    let panic_failure = history.events().iter().find_map(|e| match &e.attributes {
        Some(Attributes::ActivityTaskStartedEventAttributes(a)) if a.attempt == 2 => {
            a.last_failure.clone()
        }
        _ => None,
    });
    assert!(
        panic_failure.is_some_and(|f| f.message.contains("activity bug on attempt 1")),
        "the panic message is the attempt's failure"
    );
    let input = history.events().iter().find_map(|e| match &e.attributes {
        Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => a.input.clone(),
        _ => None,
    });
    assert_eq!(
        input.map(|p| p.payloads.len()),
        Some(3),
        "one payload per argument"
    );
    worker.stop().await;
}

/// Waits twice before answering: on tokio's blocking pool (as activities around synchronous
/// libraries do) and on a timer. Guards against attempts that are not resumed after `Pending`.
#[activity]
async fn blocking_work(_ctx: ActivityContext, n: u64) -> Result<u64, ActivityError> {
    let tripled = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(20));
        n * 3
    })
    .await?;
    tokio::time::sleep(Duration::from_millis(50)).await;
    Ok(tripled)
}

#[derive(Default)]
struct BlockingWorkflow;

#[workflow]
impl BlockingWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u64) -> WorkflowResult<u64> {
        Ok(ctx
            .activity(blocking_work, n)
            .start_to_close(Duration::from_secs(5))
            .retry_policy(RetryPolicy::no_retries())
            .await?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activities_can_await_the_blocking_pool() {
    let client = client().await;
    let queue = unique_task_queue("blocking");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<BlockingWorkflow>()
            .register_activity(blocking_work),
    );
    let handle = client
        .start(BlockingWorkflow::run, 14, unique_id("blocking"), &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 42);
    worker.stop().await;
}
