//! The invoice workflow end to end: email the invoice, send a reminder each time the reminder
//! interval passes unpaid, take the payment signal, mark the invoice paid, answer status
//! queries throughout.
//!
//! `cargo run -p examples --bin invoice` runs the whole story in one process (reminders every
//! 2 seconds). The halves, for several terminals:
//!
//! ```text
//! invoice worker                          run the worker until SIGTERM or ctrl-c
//! invoice start ID [AMOUNT [SECONDS]]     start collecting invoice ID (reminders every SECONDS)
//! invoice pay ID AMOUNT [REFERENCE]       signal a payment (AMOUNT like 120.00)
//! invoice status ID                       query where invoice ID stands
//! invoice batch [N] [abandon]             collect N invoices (default 3) as child workflows of
//!                                         an InvoiceBatchWorkflow, pay them, print the receipts
//! ```

use anyhow::{bail, Context};
use chronicle::Client;
use examples::invoice::{
    invoice_workflow_id, money, worker, Invoice, InvoiceState, InvoiceStatus, InvoiceWorkflow,
    Payment, TASK_QUEUE,
};
use examples::invoice_batch::{BatchMode, InvoiceBatch, InvoiceBatchWorkflow};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::init_tracing();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (client, _server) = examples::connect().await?;
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => examples::with_worker(worker(&client), story(&client)).await,
        ["worker"] => {
            eprintln!("invoice worker running on task queue {TASK_QUEUE:?}; ctrl-c or SIGTERM to stop");
            Ok(worker(&client).run_until_signal().await?)
        }
        ["start", id, rest @ ..] => {
            let amount = rest.first().map(|a| cents(a)).transpose()?.unwrap_or(12_000);
            let interval = rest.get(1).map(|s| s.parse()).transpose()?;
            let invoice = invoice(id, amount, interval);
            client
                .start(InvoiceWorkflow::run, invoice, invoice_workflow_id(id), TASK_QUEUE)
                .await?;
            println!("collecting invoice {id}");
            Ok(())
        }
        ["pay", id, amount, rest @ ..] => {
            let payment = Payment {
                amount_cents: cents(amount)?,
                reference: rest.first().unwrap_or(&"manual").to_string(),
            };
            let handle = client.handle::<InvoiceWorkflow>(invoice_workflow_id(id));
            handle
                .signal(InvoiceWorkflow::payment_received, payment)
                .await?;
            println!("payment of {amount} recorded for invoice {id}");
            Ok(())
        }
        ["batch", rest @ ..] => {
            let count = rest.first().map(|n| n.parse()).transpose()?.unwrap_or(3);
            let mode = if rest.get(1) == Some(&"abandon") {
                BatchMode::Abandon
            } else {
                BatchMode::WaitForAll
            };
            examples::with_worker(worker(&client), batch(&client, count, mode)).await
        }
        ["status", id] => {
            let handle = client.handle::<InvoiceWorkflow>(invoice_workflow_id(id));
            print_status(&handle.query(InvoiceWorkflow::status, ()).await?);
            Ok(())
        }
        _ => bail!(
            "usage: invoice [worker | start ID [AMOUNT [SECONDS]] | pay ID AMOUNT [REFERENCE] | status ID | batch [N] [abandon]]"
        ),
    }
}

/// The whole story, with reminders every 2 seconds.
async fn story(client: &Client) -> anyhow::Result<()> {
    let stamp = run_stamp();
    let id = format!("INV-{:05}", stamp);
    let invoice = invoice(&id, 12_000, Some(2));
    println!(
        "Invoice {id}: {} due from {}",
        money(invoice.amount_cents),
        invoice.customer_email
    );
    let handle = client
        .start(
            InvoiceWorkflow::run,
            invoice,
            invoice_workflow_id(&id),
            TASK_QUEUE,
        )
        .await?;

    let status = wait_for(&handle, |s| s.reminders_sent >= 2).await?;
    print!("status query: ");
    print_status(&status);

    println!("payment signal: 120.00, reference PAY-1");
    let payment = Payment {
        amount_cents: 12_000,
        reference: "PAY-1".to_string(),
    };
    handle
        .signal(InvoiceWorkflow::payment_received, payment)
        .await?;

    let receipt = handle.result().await?;
    print!("status query: ");
    print_status(&handle.query(InvoiceWorkflow::status, ()).await?);
    println!(
        "receipt: invoice {} paid {} (payments {}) after {} reminder(s)",
        receipt.invoice_id,
        money(receipt.paid_cents),
        receipt.payment_references.join(", "),
        receipt.reminders_sent
    );
    Ok(())
}

/// A batch of `count` invoices: started as children of one workflow, each paid by a signal
/// once it runs; prints the receipts.
async fn batch(client: &Client, count: usize, mode: BatchMode) -> anyhow::Result<()> {
    let stamp = run_stamp();
    let invoices: Vec<Invoice> = (1..=count)
        .map(|i| invoice(&format!("B{:05}-{i}", stamp), 1_000 * i as u64, Some(60)))
        .collect();
    let batch_id = format!("invoice-batch-{:05}", stamp);
    println!("batch {batch_id}: {count} invoices, mode {mode:?}");
    let handle = client
        .start(
            InvoiceBatchWorkflow::run,
            InvoiceBatch {
                invoices: invoices.clone(),
                mode,
            },
            &batch_id,
            TASK_QUEUE,
        )
        .await?;
    if mode == BatchMode::Abandon {
        let summary = handle.result().await?;
        println!(
            "batch completed, leaving {} invoice workflows running",
            summary.started.len()
        );
    } else {
        // The children exist once the batch says so.
        while handle
            .query(InvoiceBatchWorkflow::progress, ())
            .await?
            .started
            < count
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        println!("batch started {count} invoice workflows");
    }
    for invoice in &invoices {
        let child = client.handle::<InvoiceWorkflow>(invoice_workflow_id(&invoice.id));
        wait_for(&child, |s| s.state == InvoiceState::Sent).await?;
        let payment = Payment {
            amount_cents: invoice.amount_cents,
            reference: format!("PAY-{}", invoice.id),
        };
        child
            .signal(InvoiceWorkflow::payment_received, payment)
            .await?;
        let receipt = child.result().await?;
        println!(
            "  invoice {} paid {} ({})",
            receipt.invoice_id,
            money(receipt.paid_cents),
            receipt.payment_references.join(", ")
        );
    }
    if mode == BatchMode::WaitForAll {
        let summary = handle.result().await?;
        let total: u64 = summary.receipts.iter().map(|r| r.paid_cents).sum();
        println!(
            "batch completed: {} receipts, {} collected",
            summary.receipts.len(),
            money(total)
        );
    }
    Ok(())
}

/// Asks the `status` query until `done` holds.
async fn wait_for(
    handle: &chronicle::WorkflowHandle<InvoiceWorkflow>,
    done: impl Fn(&InvoiceStatus) -> bool,
) -> anyhow::Result<InvoiceStatus> {
    loop {
        let status = handle.query(InvoiceWorkflow::status, ()).await?;
        if done(&status) {
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_status(status: &InvoiceStatus) {
    let state = match status.state {
        InvoiceState::Created => "created",
        InvoiceState::Sent => "sent",
        InvoiceState::Paid => "paid",
    };
    println!(
        "invoice {} is {state}, {} of {} paid, {} reminder(s) sent",
        status.invoice_id,
        money(status.paid_cents),
        money(status.amount_cents),
        status.reminders_sent
    );
}

fn invoice(id: &str, amount_cents: u64, interval_secs: Option<u64>) -> Invoice {
    Invoice {
        id: id.to_string(),
        customer_email: "ap@customer.example".to_string(),
        amount_cents,
        reminder_interval_secs: interval_secs,
    }
}

/// A short number that differs between runs of the demo, for invoice and batch ids.
fn run_stamp() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() % 100_000)
        .unwrap_or_default()
}

/// `120`, `120.5` or `120.50` as cents.
fn cents(amount: &str) -> anyhow::Result<u64> {
    let (units, fraction) = amount.split_once('.').unwrap_or((amount, "0"));
    let fraction = format!("{fraction:0<2}");
    if fraction.len() > 2 {
        bail!("amount {amount:?} has more than two decimals");
    }
    let units: u64 = units
        .parse()
        .with_context(|| format!("amount {amount:?}"))?;
    let fraction: u64 = fraction
        .parse()
        .with_context(|| format!("amount {amount:?}"))?;
    Ok(units * 100 + fraction)
}
