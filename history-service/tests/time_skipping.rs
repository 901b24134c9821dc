//! Time skipping: a workflow that sleeps 30 days completes as soon as its timer is all that is
//! outstanding. Wall time is measured and printed, never asserted.

mod common;

use chronicle_history_service::proto::command::{
    command::Attributes as A, StartTimerCommandAttributes,
};
use chronicle_history_service::proto::duration;
use chronicle_history_service::proto::enums::EventType as E;
use common::{complete_workflow, harness};
use std::time::Instant;

const THIRTY_DAYS_MS: i64 = 30 * 24 * 3600 * 1000;

#[tokio::test]
async fn a_thirty_day_timer_fires_at_once_when_nothing_else_is_outstanding() {
    let mut h = harness(true).await;
    let wall = Instant::now();
    let virtual_start = h.service.engine().now_ms();
    h.start("sleeper").await;
    let task = h.poll().await;
    h.complete(
        task.task_token,
        vec![A::StartTimerCommandAttributes(
            StartTimerCommandAttributes {
                timer_id: "t".into(),
                start_to_fire_timeout: Some(duration(THIRTY_DAYS_MS)),
            },
        )],
    )
    .await
    .unwrap();
    let task = h.poll().await;
    let events = common::types(&task.history.unwrap().events);
    assert!(
        events.contains(&E::TimerFired),
        "the timer fired: {events:?}"
    );
    h.complete(task.task_token, vec![complete_workflow()])
        .await
        .unwrap();
    let elapsed = wall.elapsed();
    let skipped = h.service.engine().now_ms() - virtual_start;
    assert!(
        skipped >= THIRTY_DAYS_MS,
        "virtual time advanced by {skipped} ms"
    );
    println!(
        "30-day timer: {:.1} ms of wall time, {:.1} days of virtual time",
        elapsed.as_secs_f64() * 1000.0,
        skipped as f64 / 86_400_000.0
    );
}

#[tokio::test]
async fn a_test_service_lock_holds_time_still() {
    let h = harness(true).await;
    let engine = h.service.engine().clone();
    engine.lock_time_skipping();
    let before = engine.now_ms();
    // With the lock held, a sleeper's timer must not make time jump; release it after a
    // moment of real time and the sleep completes.
    let sleeper = {
        let engine = engine.clone();
        tokio::spawn(async move { engine.sleep_until(before + THIRTY_DAYS_MS, false).await })
    };
    tokio::task::yield_now().await;
    assert!(
        engine.now_ms() - before < THIRTY_DAYS_MS,
        "time did not jump while locked"
    );
    engine.unlock_time_skipping().unwrap();
    sleeper.await.unwrap().unwrap();
    assert!(engine.now_ms() - before >= THIRTY_DAYS_MS);
    assert!(
        engine.unlock_time_skipping().is_err(),
        "unbalanced unlocks fail"
    );
}
