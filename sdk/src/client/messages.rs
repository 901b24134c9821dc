//! Signals and queries from a client: [`WorkflowHandle::signal`], [`WorkflowHandle::query`] and
//! their by-name forms for workflows of other SDKs.

use super::handle::{Untyped, WorkflowHandle};
use super::{request_id, ClientError};
use crate::definition::WorkflowDefinition;
use crate::handlers::{query_name, signal_name, QueryFn, SignalFn};
use chronicle_core::connection::CallOptions;
use chronicle_core::payload::{self, Payload};
use chronicle_core::proto::enums::WorkflowExecutionStatus;
use chronicle_core::proto::query::WorkflowQuery;
use chronicle_core::proto::workflowservice::{
    QueryWorkflowRequest, SignalWorkflowExecutionRequest,
};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::Code;

impl<W: WorkflowDefinition> WorkflowHandle<W> {
    /// Sends a signal, typed by its `#[signal]` handler: the argument must be the handler's.
    ///
    /// Returns once the server has recorded the signal in the workflow's history; the workflow
    /// applies it at its next workflow task.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct Payment { amount: f64 }
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct Invoice { id: String }
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct InvoiceStatus { paid: bool }
    /// # #[derive(Default)] struct InvoiceWorkflow { paid: bool }
    /// # #[workflow] impl InvoiceWorkflow {
    /// #     #[run] async fn run(_ctx: WorkflowContext<Self>, invoice: Invoice) -> WorkflowResult<()> { Ok(()) }
    /// #     #[signal] fn payment_received(&mut self, payment: Payment) { self.paid = true; }
    /// #     #[query] fn status(&self) -> InvoiceStatus { InvoiceStatus { paid: self.paid } }
    /// # }
    /// # use chronicle::WorkflowHandle;
    /// # async fn f(handle: WorkflowHandle<InvoiceWorkflow>) -> Result<(), chronicle::client::ClientError> {
    /// handle.signal(InvoiceWorkflow::payment_received, Payment { amount: 120.0 }).await?;
    /// # Ok(()) }
    /// ```
    // A plain `fn` returning a boxed future, not an `async fn`: with a wrong handler or
    // argument, the compiler then reports the error once, not again at the call and `.await`.
    pub fn signal<S, Args>(
        &self,
        signal: S,
        input: S::Input,
    ) -> BoxFuture<'_, Result<(), ClientError>>
    where
        S: SignalFn<W, Args>,
    {
        let _ = signal;
        let prepared = signal_name::<W, S>()
            .map_err(ClientError::from)
            .and_then(|name| Ok((name, S::encode(&input).map_err(ClientError::Encode)?)));
        Box::pin(async move {
            let (name, args) = prepared?;
            self.signal_payloads(name, args).await
        })
    }

    /// Asks a query, typed by its `#[query]` handler: the argument and the answer are the
    /// handler's (`()` for a query without arguments).
    ///
    /// A running workflow answers from its current state, a closed one from the state its
    /// history rebuilds; either way a worker for its task queue must be running.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct Payment { amount: f64 }
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct Invoice { id: String }
    /// # #[derive(serde::Serialize, serde::Deserialize, Clone)] struct InvoiceStatus { paid: bool }
    /// # #[derive(Default)] struct InvoiceWorkflow { paid: bool }
    /// # #[workflow] impl InvoiceWorkflow {
    /// #     #[run] async fn run(_ctx: WorkflowContext<Self>, invoice: Invoice) -> WorkflowResult<()> { Ok(()) }
    /// #     #[signal] fn payment_received(&mut self, payment: Payment) { self.paid = true; }
    /// #     #[query] fn status(&self) -> InvoiceStatus { InvoiceStatus { paid: self.paid } }
    /// # }
    /// # use chronicle::WorkflowHandle;
    /// # async fn f(handle: WorkflowHandle<InvoiceWorkflow>) -> Result<(), chronicle::client::ClientError> {
    /// let status: InvoiceStatus = handle.query(InvoiceWorkflow::status, ()).await?;
    /// # Ok(()) }
    /// ```
    pub fn query<Q, Args>(
        &self,
        query: Q,
        input: Q::Input,
    ) -> BoxFuture<'_, Result<Q::Output, ClientError>>
    where
        Q: QueryFn<W, Args>,
        Q::Output: Send,
    {
        let _ = query;
        let prepared = query_name::<W, Q>()
            .map_err(ClientError::from)
            .and_then(|name| Ok((name, Q::encode(&input).map_err(ClientError::Encode)?)));
        Box::pin(async move {
            let (name, args) = prepared?;
            let answer = self.query_payloads(name, args).await?;
            decode_answer(name, &answer)
        })
    }
}

impl WorkflowHandle<Untyped> {
    /// Sends a signal by name with one argument (`()` for none); for workflows of other SDKs.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), chronicle::client::ClientError> {
    /// client.untyped_handle("order-7").signal("approve", "alice").await?;
    /// # Ok(()) }
    /// ```
    pub async fn signal<A: Serialize>(&self, name: &str, arg: A) -> Result<(), ClientError> {
        self.signal_payloads(name, encode_arg(&arg)?).await
    }

    /// Asks a query by name with one argument (`()` for none), decoding the answer as `T`.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), chronicle::client::ClientError> {
    /// let status: String = client.untyped_handle("order-7").query("status", ()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn query<T: DeserializeOwned, A: Serialize>(
        &self,
        name: &str,
        arg: A,
    ) -> Result<T, ClientError> {
        let answer = self.query_payloads(name, encode_arg(&arg)?).await?;
        decode_answer(name, &answer)
    }
}

impl<W> WorkflowHandle<W> {
    /// Sends a signal with already encoded arguments, one payload each.
    pub async fn signal_payloads(&self, name: &str, args: Vec<Payload>) -> Result<(), ClientError> {
        const RPC: &str = "SignalWorkflowExecution";
        let request = SignalWorkflowExecutionRequest {
            namespace: self.conn.namespace().to_string(),
            workflow_execution: Some(self.target_execution()),
            signal_name: name.to_string(),
            input: payload::to_payloads(args),
            identity: self.conn.identity().to_string(),
            request_id: request_id(),
            ..Default::default()
        };
        self.unary(RPC, request, |mut svc, request| async move {
            svc.signal_workflow_execution(request).await
        })
        .await?;
        Ok(())
    }

    /// Asks a query with already encoded arguments; returns the answer's payloads.
    pub async fn query_payloads(
        &self,
        name: &str,
        args: Vec<Payload>,
    ) -> Result<Vec<Payload>, ClientError> {
        const RPC: &str = "QueryWorkflow";
        let request = QueryWorkflowRequest {
            namespace: self.conn.namespace().to_string(),
            execution: Some(self.target_execution()),
            query: Some(WorkflowQuery {
                query_type: name.to_string(),
                query_args: payload::to_payloads(args),
                header: None,
            }),
            ..Default::default()
        };
        let response = self
            .conn
            .unary_with(
                RPC,
                // The server holds a query until a worker answers it: running out of time means
                // no worker did, and asking again would only wait as long again.
                CallOptions::default().no_retry_on_deadline(),
                request,
                |mut svc, request| async move { svc.query_workflow(request).await },
            )
            .await
            .map_err(|status| match status.code() {
                // The worker's error for the query (unknown name, bad argument, failed handler)
                // comes back as INVALID_ARGUMENT with the worker's message.
                Code::InvalidArgument => ClientError::QueryFailed {
                    query: name.to_string(),
                    message: status.message().to_string(),
                },
                Code::DeadlineExceeded => ClientError::QueryTimedOut {
                    query: name.to_string(),
                    workflow_id: self.workflow_id.clone(),
                    timeout: self.conn.options().rpc_timeout,
                },
                _ => ClientError::from_status(RPC, &self.workflow_id, status),
            })?;
        if let Some(rejected) = response.query_rejected {
            let status = WorkflowExecutionStatus::try_from(rejected.status)
                .map(|s| format!("{s:?}"))
                .unwrap_or_else(|_| rejected.status.to_string());
            return Err(ClientError::QueryRejected {
                query: name.to_string(),
                status,
            });
        }
        Ok(payload::from_payloads(response.query_result))
    }
}

fn encode_arg<A: Serialize>(arg: &A) -> Result<Vec<Payload>, ClientError> {
    // `()` means "no argument" rather than one null argument, as in the typed calls.
    let encoded = payload::encode(arg).map_err(ClientError::Encode)?;
    let is_unit =
        std::mem::size_of::<A>() == 0 && serde_json::to_value(arg).is_ok_and(|v| v.is_null());
    Ok(if is_unit { Vec::new() } else { vec![encoded] })
}

fn decode_answer<T: DeserializeOwned>(name: &str, answer: &[Payload]) -> Result<T, ClientError> {
    payload::decode_single(answer, &format!("the answer to query {name:?}"))
        .map_err(ClientError::Decode)
}
