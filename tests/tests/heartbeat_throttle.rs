//! Heartbeat throttling as the other SDKs do it: the first heartbeat goes out at once, later
//! ones wait for the interval (0.8 × the heartbeat timeout) with the latest details winning,
//! and the latest details go with the attempt's failure, so the next attempt resumes from them.

mod common;

use chronicle::prelude::*;
use chronicle_tests::{unique_id, unique_task_queue, wait_for, wait_for_some};
use common::{client, RunningWorker, WAIT};
use futures::FutureExt;
use std::sync::atomic::{AtomicBool, Ordering};

/// The heartbeat details the server has for the pending activity of `handle`'s workflow.
async fn server_details<W>(handle: &chronicle::WorkflowHandle<W>) -> Option<u32> {
    let description = handle.describe().await.unwrap();
    let pending = description.pending_activities.first()?;
    let first = pending.heartbeat_details.first()?;
    Some(chronicle_core::payload::decode::<u32>(first, "details").unwrap())
}

/// Records step 1 and waits until the server has it; then records steps 2 to 100 and fails
/// at once. The retry returns the step it would resume from.
#[activity]
async fn bursty(ctx: ActivityContext) -> Result<u32, ActivityError> {
    if let Some(progress) = ctx.last_heartbeat_details::<u32>() {
        return Ok(progress?);
    }
    ctx.heartbeat(&1u32);
    let client = ctx
        .data::<Client>()
        .expect("the test gives the worker a client");
    let handle = client.untyped_handle(&ctx.info().workflow_id);
    wait_for("the server to have step 1", WAIT, || {
        server_details(&handle).map(|d| d == Some(1))
    })
    .await;
    for step in 2..=100u32 {
        ctx.heartbeat(&step);
    }
    Err(ActivityError::retryable("failed right after recording"))
}

#[derive(Default)]
struct Bursty;

#[workflow]
impl Bursty {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx
            .activity(bursty, ())
            // A 24 s interval: only the first step goes out as a heartbeat.
            .heartbeat_timeout(Duration::from_secs(30))
            .retry_policy(RetryPolicy::default().initial_interval(Duration::from_millis(100)))
            .await?)
    }
}

#[tokio::test]
async fn details_recorded_just_before_a_failure_reach_the_next_attempt() {
    let client = client().await;
    let queue = unique_task_queue("heartbeat-flush");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<Bursty>()
            .register_activity(bursty)
            .data(client.clone()),
    );
    let handle = client
        .start(Bursty::run, (), unique_id("heartbeat-flush"), &queue)
        .await
        .unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        100,
        "the latest step, not the first"
    );
    worker.stop().await;
}

static FIRST_SEEN: AtomicBool = AtomicBool::new(false);
static BURST_RECORDED: AtomicBool = AtomicBool::new(false);
static MAY_FINISH: AtomicBool = AtomicBool::new(false);

async fn until(flag: &AtomicBool) {
    while !flag.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Records step 1, then (once the test saw it on the server) steps 2 to 50, then waits.
#[activity]
async fn chatty(ctx: ActivityContext) -> Result<(), ActivityError> {
    ctx.heartbeat(&1u32);
    until(&FIRST_SEEN).await;
    for step in 2..=50u32 {
        ctx.heartbeat(&step);
    }
    BURST_RECORDED.store(true, Ordering::SeqCst);
    until(&MAY_FINISH).await;
    Ok(())
}

#[derive(Default)]
struct Chatty;

#[workflow]
impl Chatty {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(ctx
            .activity(chatty, ())
            .heartbeat_timeout(Duration::from_secs(30))
            .await?)
    }
}

#[tokio::test]
async fn heartbeats_within_the_interval_wait_for_it() {
    let client = client().await;
    let queue = unique_task_queue("heartbeat-throttle");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<Chatty>()
            .register_activity(chatty),
    );
    let handle = client
        .start(Chatty::run, (), unique_id("heartbeat-throttle"), &queue)
        .await
        .unwrap();
    // The first heartbeat went out at once.
    let first = wait_for_some("the first heartbeat", WAIT, || server_details(&handle)).await;
    assert_eq!(first, 1);
    FIRST_SEEN.store(true, Ordering::SeqCst);
    wait_for("the burst to be recorded", WAIT, || async {
        BURST_RECORDED.load(Ordering::SeqCst)
    })
    .await;
    // The next 49 wait for the 24 s interval: the server still has step 1.
    assert_eq!(server_details(&handle).await, Some(1));
    MAY_FINISH.store(true, Ordering::SeqCst);
    handle.result().await.unwrap();
    worker.stop().await;
}
