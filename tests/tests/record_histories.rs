//! Records the histories that `replay_histories.rs` replays: runs every example workflow on the
//! dev server and writes its history to `tests/fixtures/histories/<name>.json`, in the form
//! `temporal workflow show --output json` writes.
//!
//! Not part of the normal run (it rewrites committed files); after changing an example
//! workflow on purpose, re-record with:
//!
//! ```sh
//! cargo test -p chronicle-tests --test record_histories -- --ignored
//! ```

mod common;

use chronicle::WorkflowHandle;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, RunningWorker};
use examples::invoice::{invoice_workflow_id, Invoice, InvoiceState, InvoiceWorkflow, Payment};
use examples::invoice_batch::{BatchMode, InvoiceBatch, InvoiceBatchWorkflow};
use examples::onboarding::{NewUser, OnboardingWorkflow};
use std::path::PathBuf;

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/histories")
        .join(format!("{name}.json"))
}

async fn save<W>(handle: &WorkflowHandle<W>, name: &str) {
    let history = handle.fetch_history().await.unwrap();
    let path = fixture_path(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, history.to_json()).unwrap();
    println!("recorded {} ({} events)", path.display(), history.len());
}

#[tokio::test]
#[ignore = "rewrites the committed fixtures; run on purpose with --ignored"]
async fn record_example_histories() {
    let client = client().await;

    let queue = unique_task_queue("record-hello");
    let worker = RunningWorker::spawn(
        examples::hello::worker(&client).configure(|o| o.task_queue = queue.clone()),
    );
    let handle = client
        .start(
            examples::hello::HelloWorkflow::run,
            "World".to_string(),
            unique_id("hello"),
            &queue,
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "Hello, World!");
    save(&handle, "hello").await;
    worker.stop().await;

    let queue = unique_task_queue("record-onboarding");
    let database = std::env::temp_dir().join(format!("{}.sqlite", unique_id("onboarding")));
    let worker = RunningWorker::spawn(
        examples::onboarding::worker(&client, database.clone())
            .configure(|o| o.task_queue = queue.clone()),
    );
    let user = NewUser {
        name: "Ada".to_string(),
        email: "ada@example.com".to_string(),
    };
    let handle = client
        .start(
            OnboardingWorkflow::run,
            user,
            unique_id("onboarding"),
            &queue,
        )
        .await
        .unwrap();
    handle.result().await.unwrap();
    save(&handle, "onboarding").await;
    worker.stop().await;
    let _ = std::fs::remove_file(database);

    let queue = unique_task_queue("record-invoice");
    let worker = RunningWorker::spawn(
        examples::invoice::worker(&client).configure(|o| o.task_queue = queue.clone()),
    );
    let invoice = Invoice {
        id: "INV-1".to_string(),
        customer_email: "ap@customer.example".to_string(),
        amount_cents: 12_000,
        reminder_interval_secs: Some(1),
    };
    let handle = client
        .start(InvoiceWorkflow::run, invoice, unique_id("invoice"), &queue)
        .await
        .unwrap();
    chronicle_tests::wait_for("two reminders", common::WAIT, || async {
        let status = handle.query(InvoiceWorkflow::status, ()).await.unwrap();
        status.reminders_sent >= 2
    })
    .await;
    for (cents, reference) in [(5_000, "PAY-1"), (7_000, "PAY-2")] {
        let payment = Payment {
            amount_cents: cents,
            reference: reference.to_string(),
        };
        handle
            .signal(InvoiceWorkflow::payment_received, payment)
            .await
            .unwrap();
    }
    handle.result().await.unwrap();
    save(&handle, "invoice").await;

    let invoices: Vec<Invoice> = (1..=2)
        .map(|i| Invoice {
            id: unique_id(&format!("INV-B{i}")),
            customer_email: "ap@customer.example".to_string(),
            amount_cents: 1_000 * i,
            reminder_interval_secs: Some(3600),
        })
        .collect();
    let batch = InvoiceBatch {
        invoices: invoices.clone(),
        mode: BatchMode::WaitForAll,
    };
    let handle = client
        .start(
            InvoiceBatchWorkflow::run,
            batch,
            unique_id("invoice-batch"),
            &queue,
        )
        .await
        .unwrap();
    for invoice in &invoices {
        let child = client.handle::<InvoiceWorkflow>(invoice_workflow_id(&invoice.id));
        chronicle_tests::wait_for("the invoice to be sent", common::WAIT, || async {
            child
                .query(InvoiceWorkflow::status, ())
                .await
                .is_ok_and(|s| s.state == InvoiceState::Sent)
        })
        .await;
        let payment = Payment {
            amount_cents: invoice.amount_cents,
            reference: format!("PAY-{}", invoice.id),
        };
        child
            .signal(InvoiceWorkflow::payment_received, payment)
            .await
            .unwrap();
    }
    handle.result().await.unwrap();
    save(&handle, "invoice-batch").await;
    worker.stop().await;
}
