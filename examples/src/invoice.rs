//! The invoice workflow: email the invoice, remind the customer at each reminder interval
//! until a "payment received" signal settles it, mark it paid, and answer "where is this
//! invoice?" queries all along, and after.
//!
//! It lives in the examples' library so that the `invoice` binary and the end-to-end tests run
//! the same code.

use chronicle::prelude::*;
use serde::{Deserialize, Serialize};

/// The task queue the invoice worker polls.
pub const TASK_QUEUE: &str = "billing";

/// How long the customer gets between reminders when the invoice does not say.
pub const DEFAULT_REMINDER_INTERVAL: Duration = Duration::from_secs(7 * 24 * 3600);

/// An invoice to collect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// The invoice number, e.g. `INV-2026-0042`.
    pub id: String,
    /// Where the invoice and reminders go.
    pub customer_email: String,
    /// What is due, in cents.
    pub amount_cents: u64,
    /// Seconds between reminders; absent means [`DEFAULT_REMINDER_INTERVAL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_interval_secs: Option<u64>,
}

impl Invoice {
    /// The time the customer gets before each reminder.
    pub fn reminder_interval(&self) -> Duration {
        self.reminder_interval_secs
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_REMINDER_INTERVAL)
    }
}

/// A payment towards an invoice, as the payment provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// What was paid, in cents.
    pub amount_cents: u64,
    /// The provider's reference.
    pub reference: String,
}

/// Where an invoice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// The invoice email is not sent yet.
    #[default]
    Created,
    /// Sent, not fully paid.
    Sent,
    /// Paid in full, and marked so in the books.
    Paid,
}

/// The answer to the `status` query.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct InvoiceStatus {
    /// The invoice number.
    pub invoice_id: String,
    /// Where it stands.
    pub state: InvoiceState,
    /// What is due, in cents.
    pub amount_cents: u64,
    /// What was paid so far, in cents.
    pub paid_cents: u64,
    /// Reminders sent so far.
    pub reminders_sent: u32,
}

/// What the workflow returns once the invoice is paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The invoice number.
    pub invoice_id: String,
    /// What was paid, in cents.
    pub paid_cents: u64,
    /// The payments' references, in the order they arrived.
    pub payment_references: Vec<String>,
    /// Reminders it took.
    pub reminders_sent: u32,
}

/// Emails the invoice to the customer.
#[chronicle::activity]
pub async fn send_invoice_email(
    _ctx: ActivityContext,
    invoice: Invoice,
) -> Result<(), ActivityError> {
    println!(
        "  [email]   invoice {} for {} sent to {}",
        invoice.id,
        money(invoice.amount_cents),
        invoice.customer_email
    );
    Ok(())
}

/// Emails a payment reminder; `number` counts from 1.
#[chronicle::activity]
pub async fn send_reminder(
    _ctx: ActivityContext,
    invoice: Invoice,
    number: u32,
) -> Result<(), ActivityError> {
    println!(
        "  [email]   reminder {number}: invoice {} ({}) is still open, sent to {}",
        invoice.id,
        money(invoice.amount_cents),
        invoice.customer_email
    );
    Ok(())
}

/// Records the invoice's new state in the books.
#[chronicle::activity]
pub async fn update_invoice_status(
    _ctx: ActivityContext,
    invoice_id: String,
    state: InvoiceState,
) -> Result<(), ActivityError> {
    println!("  [books]   invoice {invoice_id} is now {state:?}");
    Ok(())
}

/// Collects one invoice.
#[derive(Debug, Default)]
pub struct InvoiceWorkflow {
    status: InvoiceStatus,
    payment_references: Vec<String>,
}

impl InvoiceWorkflow {
    fn is_paid(&self) -> bool {
        self.status.amount_cents > 0 && self.status.paid_cents >= self.status.amount_cents
    }
}

#[chronicle::workflow]
impl InvoiceWorkflow {
    /// Sends the invoice, reminds until it is paid, marks it paid.
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, invoice: Invoice) -> WorkflowResult<Receipt> {
        ctx.update(|s| {
            s.status.invoice_id = invoice.id.clone();
            s.status.amount_cents = invoice.amount_cents;
        });
        ctx.activity(send_invoice_email, invoice.clone()).await?;
        ctx.update(|s| s.status.state = InvoiceState::Sent);

        let interval = invoice.reminder_interval();
        while !ctx.wait_until_timeout(Self::is_paid, interval).await? {
            let number = ctx.state(|s| s.status.reminders_sent) + 1;
            ctx.activity(send_reminder, (invoice.clone(), number))
                .await?;
            ctx.update(|s| s.status.reminders_sent = number);
        }

        ctx.activity(
            update_invoice_status,
            (invoice.id.clone(), InvoiceState::Paid),
        )
        .await?;
        Ok(ctx.update(|s| {
            s.status.state = InvoiceState::Paid;
            Receipt {
                invoice_id: invoice.id,
                paid_cents: s.status.paid_cents,
                payment_references: s.payment_references.clone(),
                reminders_sent: s.status.reminders_sent,
            }
        }))
    }

    /// A payment arrived; several partial payments add up.
    #[signal]
    pub fn payment_received(&mut self, payment: Payment) {
        self.status.paid_cents += payment.amount_cents;
        self.payment_references.push(payment.reference);
    }

    /// Where the invoice stands.
    #[query]
    pub fn status(&self) -> InvoiceStatus {
        self.status.clone()
    }

    /// Takes `percent` off the invoice's amount and returns the new amount due (amount less
    /// what was paid), in cents. `temporal workflow update execute --name apply_discount
    /// --input 10` calls it.
    #[update(validator = validate_discount)]
    pub async fn apply_discount(ctx: WorkflowContext<Self>, percent: f64) -> WorkflowResult<u64> {
        Ok(ctx.update(|s| {
            let factor = 1.0 - percent / 100.0;
            // Rounded to the cent; the validator keeps `factor` within 0.5..=1. No payment
            // arrived yet (the validator's rule), so all of it is due.
            s.status.amount_cents = (s.status.amount_cents as f64 * factor).round() as u64;
            s.status.amount_cents.saturating_sub(s.status.paid_cents)
        }))
    }

    /// A discount is a percentage in 0..=50, and only before any payment: a payment settles
    /// (part of) the amount as it was invoiced.
    pub fn validate_discount(&self, percent: &f64) -> Result<(), DiscountRefused> {
        if self.status.paid_cents > 0 || self.status.state == InvoiceState::Paid {
            return Err(DiscountRefused::AfterPayment);
        }
        if !(0.0..=50.0).contains(percent) {
            return Err(DiscountRefused::OutOfRange(*percent));
        }
        Ok(())
    }
}

/// Why `apply_discount` refused a discount.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscountRefused {
    /// The percentage is not within 0..=50.
    OutOfRange(f64),
    /// A payment arrived already.
    AfterPayment,
}

impl std::fmt::Display for DiscountRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DiscountRefused::OutOfRange(percent) => {
                write!(f, "a discount is 0 to 50 percent, not {percent}")
            }
            DiscountRefused::AfterPayment => {
                f.write_str("a payment was received already: no more discounts")
            }
        }
    }
}

/// A worker for the invoice workflow, the invoice batch and their activities.
pub fn worker(client: &Client) -> Worker {
    Worker::new(client, TASK_QUEUE)
        .register_workflow::<InvoiceWorkflow>()
        .register_workflow::<crate::invoice_batch::InvoiceBatchWorkflow>()
        .register_activity(send_invoice_email)
        .register_activity(send_reminder)
        .register_activity(update_invoice_status)
}

/// Cents as `123.45`.
pub fn money(cents: u64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

/// The workflow id of the invoice workflow collecting invoice `invoice_id`.
pub fn invoice_workflow_id(invoice_id: &str) -> String {
    format!("invoice-{invoice_id}")
}
