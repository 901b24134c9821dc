//! The invoice batch: a parent workflow that starts one [`InvoiceWorkflow`] child per invoice,
//! then waits for all of them, or leaves them running on their own and completes.

use crate::invoice::{invoice_workflow_id, Invoice, InvoiceWorkflow, Receipt};
use chronicle::prelude::*;
use chronicle::ParentClosePolicy;
use futures::future::join_all;
use serde::{Deserialize, Serialize};

/// What the batch does once its invoices are started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchMode {
    /// Wait until every invoice is paid, and return the receipts.
    #[default]
    WaitForAll,
    /// Complete at once; the invoice workflows run on by themselves.
    Abandon,
}

/// A batch of invoices to collect.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceBatch {
    /// The invoices.
    pub invoices: Vec<Invoice>,
    /// Wait for them, or not.
    pub mode: BatchMode,
}

/// What the batch returns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSummary {
    /// The invoice workflows started, by workflow id.
    pub started: Vec<String>,
    /// Their receipts (empty when the batch abandoned them).
    pub receipts: Vec<Receipt>,
}

/// Progress of a batch, for the `progress` query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BatchProgress {
    /// Invoice workflows started.
    pub started: usize,
    /// Invoices paid.
    pub paid: usize,
}

/// Starts one invoice workflow per invoice, as children.
#[derive(Debug, Default)]
pub struct InvoiceBatchWorkflow {
    progress: BatchProgress,
}

#[chronicle::workflow]
impl InvoiceBatchWorkflow {
    /// Starts the children, all in one workflow task, then waits for them or not.
    #[run]
    pub async fn run(
        ctx: WorkflowContext<Self>,
        batch: InvoiceBatch,
    ) -> WorkflowResult<BatchSummary> {
        let policy = match batch.mode {
            BatchMode::WaitForAll => ParentClosePolicy::Terminate,
            BatchMode::Abandon => ParentClosePolicy::Abandon,
        };
        let starts = batch.invoices.into_iter().map(|invoice| {
            ctx.child_workflow(InvoiceWorkflow::run, invoice.clone())
                .workflow_id(invoice_workflow_id(&invoice.id))
                .parent_close_policy(policy)
                .start()
        });
        let mut children = Vec::new();
        for started in join_all(starts).await {
            children.push(started?);
        }
        ctx.update(|s| s.progress.started = children.len());
        let started = children
            .iter()
            .map(|c| c.workflow_id().to_string())
            .collect();
        if batch.mode == BatchMode::Abandon {
            return Ok(BatchSummary {
                started,
                receipts: Vec::new(),
            });
        }

        let results = children.iter().map(|child| {
            let ctx = ctx.clone();
            let result = child.result();
            async move {
                let receipt = result.await;
                ctx.update(|s| s.progress.paid += 1);
                receipt
            }
        });
        let mut receipts = Vec::new();
        for receipt in join_all(results).await {
            receipts.push(receipt?);
        }
        Ok(BatchSummary { started, receipts })
    }

    /// How many invoices are started and paid.
    #[query]
    pub fn progress(&self) -> BatchProgress {
        self.progress
    }
}
