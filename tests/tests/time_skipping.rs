//! Chronicle on the in-process, time-skipping environment (`chronicle::testing`): a month of
//! workflow time in well under a second. Wall time is measured and printed, never asserted.

mod common;

use chronicle::prelude::*;
use chronicle::testing::TestEnvironment;
use chronicle_tests::unique_id;
use common::RunningWorker;
use examples::invoice::{worker, Invoice, InvoiceState, InvoiceWorkflow, Payment};
use std::time::Instant;

const DAY: Duration = Duration::from_secs(24 * 3600);

#[derive(Default)]
struct Sleeper;

#[workflow]
impl Sleeper {
    /// Sleeps `days` and reports how much workflow time passed, in whole days.
    #[run]
    async fn run(ctx: WorkflowContext<Self>, days: u64) -> WorkflowResult<u64> {
        let before = ctx.now();
        ctx.sleep(DAY * days as u32).await?;
        let after = ctx.now();
        Ok(after.duration_since(before).unwrap_or_default().as_secs() / DAY.as_secs())
    }
}

#[tokio::test]
async fn a_workflow_sleeping_thirty_days_completes_at_once() {
    let wall = Instant::now();
    let env = TestEnvironment::start_time_skipping().await.unwrap();
    let started = wall.elapsed();
    let worker = RunningWorker::spawn(env.worker("sleepers").register_workflow::<Sleeper>());
    let handle = env
        .client()
        .start(Sleeper::run, 30, unique_id("sleeper"), "sleepers")
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 30);
    println!(
        "environment started in {:.1} ms; 30-day workflow done after {:.1} ms of wall time \
         ({:.1} days skipped)",
        started.as_secs_f64() * 1000.0,
        wall.elapsed().as_secs_f64() * 1000.0,
        env.skipped().as_secs_f64() / DAY.as_secs_f64()
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_thirty_day_invoice_gets_weekly_reminders_then_is_paid() {
    let wall = Instant::now();
    let env = TestEnvironment::start_time_skipping().await.unwrap();
    let queue = chronicle_tests::unique_task_queue("billing");
    let worker =
        RunningWorker::spawn(worker(env.client()).configure(|o| o.task_queue = queue.clone()));
    let id = unique_id("invoice");
    let invoice = Invoice {
        id: id.clone(),
        customer_email: "ap@customer.example".into(),
        amount_cents: 12_000,
        reminder_interval_secs: None, // the default: weekly
    };
    let time = env.hold_time();
    let handle = env
        .client()
        .start(InvoiceWorkflow::run, invoice, &id, &queue)
        .await
        .unwrap();
    time.sleep(30 * DAY).await;
    // Day 30, time held: reminders went out on days 7, 14, 21 and 28.
    let status = handle.query(InvoiceWorkflow::status, ()).await.unwrap();
    assert_eq!(status.state, InvoiceState::Sent);
    assert_eq!(status.reminders_sent, 4);
    handle
        .signal(
            InvoiceWorkflow::payment_received,
            Payment {
                amount_cents: 12_000,
                reference: "PAY-30".into(),
            },
        )
        .await
        .unwrap();
    drop(time);
    let receipt = handle.result().await.unwrap();
    assert_eq!(receipt.reminders_sent, 4);
    assert_eq!(receipt.paid_cents, 12_000);
    println!(
        "30-day invoice with 4 weekly reminders: {:.1} ms of wall time",
        wall.elapsed().as_secs_f64() * 1000.0
    );
    worker.stop().await;
}
