//! `#[signal]` and `#[query]` handlers with 0, 1 and 2 arguments, custom wire names, and the
//! typed client calls: `handle.signal`, `handle.query` and signal-with-start.
use chronicle::client::ClientError;
use chronicle::prelude::*;
use chronicle::{QueryFn, SignalFn, WorkflowDefinition};
use serde::{Deserialize, Serialize};
use std::any::TypeId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Payment {
    pub amount_cents: u64,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub paid_cents: u64,
    pub cancelled: bool,
}

#[derive(Default)]
pub struct Invoice {
    paid_cents: u64,
    references: Vec<String>,
    notes: Vec<String>,
    cancelled: bool,
}

#[workflow]
impl Invoice {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, due_cents: u64) -> WorkflowResult<u64> {
        ctx.wait_until(move |s| s.cancelled || s.paid_cents >= due_cents)
            .await;
        Ok(ctx.state(|s| s.paid_cents))
    }

    /// No argument.
    #[signal]
    pub fn cancel(&mut self) {
        self.cancelled = true;
    }

    /// One argument, a custom name.
    #[signal(name = "payment_received")]
    pub fn pay(&mut self, payment: Payment) {
        self.paid_cents += payment.amount_cents;
        self.references.push(payment.reference);
    }

    /// Two arguments, the `#[chronicle::signal]` spelling; `()` written as the return type.
    #[chronicle::signal]
    pub fn annotate(&mut self, author: String, text: String) -> () {
        self.notes.push(format!("{author}: {text}"));
    }

    /// No argument.
    #[query]
    pub fn status(&self) -> Status {
        Status {
            paid_cents: self.paid_cents,
            cancelled: self.cancelled,
        }
    }

    /// One argument, a custom name.
    #[query(name = "has_reference")]
    pub fn paid_with(&self, reference: String) -> bool {
        self.references.contains(&reference)
    }

    /// Two arguments.
    #[query]
    pub fn notes_by(&self, author: String, limit: usize) -> Vec<String> {
        let prefix = format!("{author}: ");
        let notes = self.notes.iter().filter(|note| note.starts_with(&prefix));
        notes.take(limit).cloned().collect()
    }

    /// A query and a signal may share a name: they are different kinds.
    #[query(name = "cancel")]
    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    /// An ordinary method stays one.
    pub fn references(&self) -> &[String] {
        &self.references
    }
}

#[allow(dead_code)]
async fn client_calls(client: &Client) -> Result<(), ClientError> {
    let payment = Payment {
        amount_cents: 12_000,
        reference: "PAY-1".to_string(),
    };
    let handle = client
        .start(Invoice::run, 12_000, "invoice-1", "invoices")
        .with_signal(Invoice::pay, payment.clone())
        .await?;
    handle.signal(Invoice::cancel, ()).await?;
    handle.signal(Invoice::pay, payment).await?;
    handle
        .signal(
            Invoice::annotate,
            ("ada".to_string(), "paid early".to_string()),
        )
        .await?;

    let status: Status = handle.query(Invoice::status, ()).await?;
    let paid: bool = handle
        .query(Invoice::paid_with, "PAY-1".to_string())
        .await?;
    let notes: Vec<String> = handle
        .query(Invoice::notes_by, ("ada".to_string(), 10))
        .await?;
    let cancelled = handle.query(Invoice::is_cancelled, ()).await?;
    assert!(status.paid_cents > 0 || paid || notes.is_empty() || cancelled);

    let again = client.handle::<Invoice>("invoice-1");
    again.signal(Invoice::cancel, ()).await
}

/// Delivers a signal the way a worker does: by its wire name, with encoded arguments.
fn deliver<W: WorkflowDefinition, Args, S: SignalFn<W, Args>>(
    state: &mut W,
    _: S,
    input: S::Input,
) {
    let name = W::signal_name(TypeId::of::<S>()).expect("a #[signal] of the workflow");
    let payloads = S::encode(&input).unwrap();
    W::handle_signal(state, name, payloads)
        .expect("a known name")
        .unwrap();
}

/// Asks a query the way a worker does; returns the answer's JSON.
fn ask<W: WorkflowDefinition, Args, Q: QueryFn<W, Args>>(
    state: &W,
    _: Q,
    input: Q::Input,
) -> String {
    let name = W::query_name(TypeId::of::<Q>()).expect("a #[query] of the workflow");
    let payloads = Q::encode(&input).unwrap();
    let answer = W::handle_query(state, name, payloads)
        .expect("a known name")
        .unwrap();
    assert_eq!(answer.len(), 1);
    String::from_utf8(answer[0].data.clone()).unwrap()
}

fn main() {
    assert_eq!(
        <Invoice as WorkflowDefinition>::SIGNALS,
        ["cancel", "payment_received", "annotate"]
    );
    assert_eq!(
        <Invoice as WorkflowDefinition>::QUERIES,
        ["status", "has_reference", "notes_by", "cancel"]
    );

    let mut invoice = Invoice::default();
    assert!(invoice.references().is_empty());
    let payment = Payment {
        amount_cents: 500,
        reference: "PAY-7".to_string(),
    };
    deliver(&mut invoice, Invoice::pay, payment);
    deliver(
        &mut invoice,
        Invoice::annotate,
        ("ada".into(), "early".into()),
    );
    deliver(
        &mut invoice,
        Invoice::annotate,
        ("bob".into(), "late".into()),
    );
    deliver(&mut invoice, Invoice::cancel, ());
    let status = ask(&invoice, Invoice::status, ());
    assert!(status.contains(r#""paid_cents":500"#), "{status}");
    assert!(status.contains(r#""cancelled":true"#), "{status}");
    assert_eq!(ask(&invoice, Invoice::paid_with, "PAY-7".into()), "true");
    assert_eq!(ask(&invoice, Invoice::paid_with, "PAY-8".into()), "false");
    assert_eq!(
        ask(&invoice, Invoice::notes_by, ("ada".into(), 5)),
        r#"["ada: early"]"#
    );
    assert_eq!(ask(&invoice, Invoice::is_cancelled, ()), "true");

    // Names are looked up by kind: `cancel` is both a signal and a query.
    assert_eq!(Invoice::signal_name(TypeId::of::<fn()>()), None);
    assert!(Invoice::default()
        .handle_signal("has_reference", Vec::new())
        .is_none());
    assert!(Invoice::default()
        .handle_query("payment_received", Vec::new())
        .is_none());
}
