//! The invoice workflow of the examples end to end: reminders while unpaid, partial payments,
//! status queries during and after, and a Python client signalling and querying it by name.

mod common;

use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{python_json, server, unique_id, wait_for_some};
use common::{client, count, history, RunningWorker, WAIT};
use examples::invoice::{
    invoice_workflow_id, worker, Invoice, InvoiceState, InvoiceStatus, InvoiceWorkflow, Payment,
    TASK_QUEUE,
};
use examples::invoice_batch::{BatchMode, InvoiceBatch, InvoiceBatchWorkflow};

fn invoice(id: &str) -> Invoice {
    Invoice {
        id: id.to_string(),
        customer_email: "ap@customer.example".to_string(),
        amount_cents: 12_000,
        reminder_interval_secs: Some(1),
    }
}

/// Asks the status until `done` holds.
async fn status_when(
    handle: &chronicle::WorkflowHandle<InvoiceWorkflow>,
    what: &str,
    done: impl Fn(&InvoiceStatus) -> bool,
) -> InvoiceStatus {
    wait_for_some(what, WAIT, || async {
        let status = handle.query(InvoiceWorkflow::status, ()).await.unwrap();
        done(&status).then_some(status)
    })
    .await
}

/// The activity types scheduled, in order.
fn scheduled_activities(history: &chronicle_core::history::History) -> Vec<String> {
    history
        .events()
        .iter()
        .filter_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                a.activity_type.as_ref().map(|t| t.name.clone())
            }
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn invoice_reminds_until_paid_in_full_and_answers_status_throughout() {
    let client = client().await;
    // The examples' own task queue name, made unique so that test runs never share it.
    let queue = chronicle_tests::unique_task_queue(TASK_QUEUE);
    let worker = RunningWorker::spawn(worker(&client).configure(|o| o.task_queue = queue.clone()));
    let id = unique_id("invoice");
    let handle = client
        .start(InvoiceWorkflow::run, invoice(&id), &id, &queue)
        .await
        .unwrap();

    let status = status_when(&handle, "two reminders", |s| s.reminders_sent >= 2).await;
    assert_eq!(status.state, InvoiceState::Sent);
    assert_eq!((status.amount_cents, status.paid_cents), (12_000, 0));

    // A partial payment is recorded, and the reminders go on.
    let partial = Payment {
        amount_cents: 5_000,
        reference: "PAY-1".to_string(),
    };
    handle
        .signal(InvoiceWorkflow::payment_received, partial)
        .await
        .unwrap();
    let status = status_when(&handle, "the partial payment", |s| s.paid_cents == 5_000).await;
    assert_eq!(status.state, InvoiceState::Sent);
    let reminders_before = status.reminders_sent;
    status_when(&handle, "one more reminder", |s| {
        s.reminders_sent > reminders_before
    })
    .await;

    let rest = Payment {
        amount_cents: 7_000,
        reference: "PAY-2".to_string(),
    };
    handle
        .signal(InvoiceWorkflow::payment_received, rest)
        .await
        .unwrap();
    let receipt = handle.result().await.unwrap();
    assert_eq!(receipt.paid_cents, 12_000);
    assert_eq!(receipt.payment_references, ["PAY-1", "PAY-2"]);
    assert!(receipt.reminders_sent >= 3, "{receipt:?}");

    let status = handle.query(InvoiceWorkflow::status, ()).await.unwrap();
    assert_eq!(status.state, InvoiceState::Paid);
    assert_eq!(status.reminders_sent, receipt.reminders_sent);

    let history = history(&handle).await;
    let activities = scheduled_activities(&history);
    assert_eq!(
        activities.first().map(String::as_str),
        Some("send_invoice_email")
    );
    assert_eq!(
        activities.last().map(String::as_str),
        Some("update_invoice_status")
    );
    let reminders = activities.iter().filter(|a| *a == "send_reminder").count();
    assert_eq!(reminders as u32, receipt.reminders_sent);
    // One reminder timer per wait. The payment cancels the last one, unless that timer fired
    // in the same workflow task as the payment arrived (then the payment still wins).
    let started = count(&history, EventType::TimerStarted);
    let fired = count(&history, EventType::TimerFired);
    let canceled = count(&history, EventType::TimerCanceled);
    assert_eq!(started, reminders + 1, "{activities:?}");
    assert_eq!((fired + canceled, canceled <= 1), (started, true));
    assert_eq!(count(&history, EventType::WorkflowTaskFailed), 0);
    worker.stop().await;
}

#[tokio::test]
async fn a_python_client_signals_and_queries_the_rust_invoice_by_name() {
    let client = client().await;
    let queue = chronicle_tests::unique_task_queue(TASK_QUEUE);
    let worker = RunningWorker::spawn(worker(&client).configure(|o| o.task_queue = queue.clone()));
    let id = unique_id("py-invoice");
    let handle = client
        .start(InvoiceWorkflow::run, invoice(&id), &id, &queue)
        .await
        .unwrap();
    status_when(&handle, "the first reminder", |s| s.reminders_sent >= 1).await;

    let out = python_json(
        "invoice_client.py",
        &[&server().await.address, &id, "12000", "PY-1"],
    )
    .await
    .unwrap();
    let before: InvoiceStatus = serde_json::from_value(out["before"].clone()).unwrap();
    assert_eq!(before.state, InvoiceState::Sent);
    assert!(before.reminders_sent >= 1, "{before:?}");
    assert_eq!(out["receipt"]["paid_cents"], 12_000);
    assert_eq!(
        out["receipt"]["payment_references"],
        serde_json::json!(["PY-1"])
    );
    assert_eq!(out["after"]["state"], "paid");

    // The Rust client sees the same.
    let receipt = handle.result().await.unwrap();
    assert_eq!(receipt.payment_references, ["PY-1"]);
    worker.stop().await;
}

fn batch_of(prefix: &str, count: u64) -> Vec<Invoice> {
    (1..=count)
        .map(|i| Invoice {
            id: format!("{prefix}-{i}"),
            customer_email: "ap@customer.example".to_string(),
            amount_cents: 1_000 * i,
            reminder_interval_secs: Some(3600),
        })
        .collect()
}

async fn pay(client: &chronicle::Client, invoice: &Invoice) {
    let child = client.handle::<InvoiceWorkflow>(invoice_workflow_id(&invoice.id));
    status_when(&child, "the invoice to be sent", |s| {
        s.state == InvoiceState::Sent
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

#[tokio::test]
async fn an_invoice_batch_starts_one_child_per_invoice_and_waits_for_all() {
    let client = client().await;
    let queue = chronicle_tests::unique_task_queue(TASK_QUEUE);
    let worker = RunningWorker::spawn(worker(&client).configure(|o| o.task_queue = queue.clone()));
    let invoices = batch_of(&unique_id("B"), 3);
    let batch = InvoiceBatch {
        invoices: invoices.clone(),
        mode: BatchMode::WaitForAll,
    };
    let handle = client
        .start(InvoiceBatchWorkflow::run, batch, unique_id("batch"), &queue)
        .await
        .unwrap();
    wait_for_some("all children started", WAIT, || async {
        let progress = handle
            .query(InvoiceBatchWorkflow::progress, ())
            .await
            .ok()?;
        (progress.started == 3).then_some(())
    })
    .await;
    for invoice in invoices.iter().rev() {
        pay(&client, invoice).await;
    }
    let summary = handle.result().await.unwrap();
    let ids: Vec<String> = invoices
        .iter()
        .map(|i| invoice_workflow_id(&i.id))
        .collect();
    assert_eq!(summary.started, ids);
    let paid: Vec<u64> = summary.receipts.iter().map(|r| r.paid_cents).collect();
    assert_eq!(paid, [1_000, 2_000, 3_000], "receipts in invoice order");
    let progress = handle
        .query(InvoiceBatchWorkflow::progress, ())
        .await
        .unwrap();
    assert_eq!((progress.started, progress.paid), (3, 3));

    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::StartChildWorkflowExecutionInitiated),
        3
    );
    assert_eq!(
        count(&history, EventType::ChildWorkflowExecutionCompleted),
        3
    );
    chronicle::Replayer::new()
        .register_workflow::<InvoiceBatchWorkflow>()
        .replay(&history, "batch")
        .unwrap();
    worker.stop().await;
}

#[tokio::test]
async fn an_abandoning_invoice_batch_completes_while_its_invoices_run_on() {
    let client = client().await;
    let queue = chronicle_tests::unique_task_queue(TASK_QUEUE);
    let worker = RunningWorker::spawn(worker(&client).configure(|o| o.task_queue = queue.clone()));
    let invoices = batch_of(&unique_id("A"), 2);
    let batch = InvoiceBatch {
        invoices: invoices.clone(),
        mode: BatchMode::Abandon,
    };
    let handle = client
        .start(InvoiceBatchWorkflow::run, batch, unique_id("batch"), &queue)
        .await
        .unwrap();
    let summary = handle.result().await.unwrap();
    assert_eq!(summary.started.len(), 2);
    assert!(summary.receipts.is_empty());
    for invoice in &invoices {
        let child = client.handle::<InvoiceWorkflow>(invoice_workflow_id(&invoice.id));
        assert_eq!(
            child.describe().await.unwrap().status,
            chronicle::client::WorkflowStatus::Running
        );
        pay(&client, invoice).await;
        assert_eq!(
            child.result().await.unwrap().paid_cents,
            invoice.amount_cents
        );
    }
    worker.stop().await;
}
