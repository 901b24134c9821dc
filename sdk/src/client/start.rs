//! Starting a workflow: the [`StartWorkflow`] builder.

use super::handle::WorkflowHandle;
use super::{request_id, ClientError};
use crate::definition::WorkflowDefinition;
use crate::handlers::{signal_name, SignalFn};
use chronicle_core::payload::{self, Payload, PayloadError};
use chronicle_core::proto::common::{Memo, SearchAttributes, WorkflowType};
use chronicle_core::proto::duration;
use chronicle_core::proto::enums::{
    TaskQueueKind, WorkflowIdConflictPolicy as PbConflict, WorkflowIdReusePolicy as PbReuse,
};
use chronicle_core::proto::taskqueue::TaskQueue;
use chronicle_core::proto::workflowservice::{
    SignalWithStartWorkflowExecutionRequest, StartWorkflowExecutionRequest,
};
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::search_attributes::SearchAttribute;
use chronicle_core::Connection;
use futures::future::BoxFuture;
use std::collections::HashMap;
use std::future::IntoFuture;
use std::marker::PhantomData;
use std::time::Duration;

/// Whether a new run may reuse the id of a workflow that has **closed**.
///
/// What happens when a run with the id is still **open** is the
/// [`IdConflictPolicy`]'s business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdReusePolicy {
    /// Any closed run's id may be reused (the server's default).
    #[default]
    AllowDuplicate,
    /// Only the id of a run that failed, was canceled, terminated or timed out may be reused.
    AllowDuplicateFailedOnly,
    /// An id is never reused.
    RejectDuplicate,
    /// A running workflow with the id is terminated and a new run started. Deprecated by
    /// Temporal in favour of [`IdConflictPolicy::TerminateExisting`].
    TerminateIfRunning,
}

impl IdReusePolicy {
    fn to_proto(self) -> PbReuse {
        match self {
            IdReusePolicy::AllowDuplicate => PbReuse::AllowDuplicate,
            IdReusePolicy::AllowDuplicateFailedOnly => PbReuse::AllowDuplicateFailedOnly,
            IdReusePolicy::RejectDuplicate => PbReuse::RejectDuplicate,
            #[allow(deprecated)]
            IdReusePolicy::TerminateIfRunning => PbReuse::TerminateIfRunning,
        }
    }
}

/// What to do when a workflow with the id is still **running**.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdConflictPolicy {
    /// Fail with [`ClientError::AlreadyStarted`] (the server's default).
    #[default]
    Fail,
    /// Return a handle to the running workflow instead of starting one.
    UseExisting,
    /// Terminate the running workflow and start a new run.
    TerminateExisting,
}

impl IdConflictPolicy {
    fn to_proto(self) -> PbConflict {
        match self {
            IdConflictPolicy::Fail => PbConflict::Fail,
            IdConflictPolicy::UseExisting => PbConflict::UseExisting,
            IdConflictPolicy::TerminateExisting => PbConflict::TerminateExisting,
        }
    }
}

/// A workflow start, ready to be sent: set options, then `.await` it.
///
/// Made by [`Client::start`](super::Client::start) (typed) or
/// [`Client::start_by_name`](super::Client::start_by_name) (by type name); awaiting it sends
/// `StartWorkflowExecution` and gives a [`WorkflowHandle`] of the new run.
///
/// ```no_run
/// # use chronicle::client::{Client, IdReusePolicy};
/// # async fn f(client: Client) -> Result<(), chronicle::client::ClientError> {
/// use std::time::Duration;
/// let handle = client
///     .start_by_name("GreetingWorkflow", vec![], "greeting-1", "hello")
///     .id_reuse_policy(IdReusePolicy::RejectDuplicate)
///     .execution_timeout(Duration::from_secs(3600))
///     .await?;
/// # Ok(()) }
/// ```
#[must_use = "a workflow start does nothing until it is awaited"]
pub struct StartWorkflow<W> {
    pub(super) conn: Connection,
    pub(super) spec: StartSpec,
    _workflow: PhantomData<fn() -> W>,
}

/// Everything a start request is made of, apart from the connection.
#[derive(Debug)]
pub(crate) struct StartSpec {
    pub(crate) workflow_type: String,
    pub(crate) input: Result<Vec<Payload>, PayloadError>,
    pub(crate) workflow_id: String,
    pub(crate) task_queue: String,
    pub(crate) id_reuse_policy: Option<IdReusePolicy>,
    pub(crate) id_conflict_policy: Option<IdConflictPolicy>,
    pub(crate) execution_timeout: Option<Duration>,
    pub(crate) run_timeout: Option<Duration>,
    pub(crate) task_timeout: Option<Duration>,
    pub(crate) start_delay: Option<Duration>,
    pub(crate) retry_policy: Option<RetryPolicy>,
    pub(crate) memo: HashMap<String, Payload>,
    pub(crate) search_attributes: HashMap<String, Payload>,
    /// Signal-with-start: the signal's name and arguments, or why they could not be made.
    pub(crate) signal: Option<Result<(String, Vec<Payload>), ClientError>>,
}

/// Writes a start request of either kind, start or signal-with-start, from a [`StartSpec`]:
/// one list of fields for both, so an option cannot reach one request and miss the other.
/// Fails (with `?`) when the input could not be encoded.
macro_rules! start_request {
    ($request:ident, $spec:expr, $namespace:expr, $identity:expr, $request_id:expr $(, $field:ident: $value:expr)* $(,)?) => {{
        let spec: StartSpec = $spec;
        let input = spec.input.map_err(ClientError::Encode)?;
        let mut request = $request {
            namespace: $namespace.to_string(),
            workflow_id: spec.workflow_id,
            workflow_type: Some(WorkflowType {
                name: spec.workflow_type,
            }),
            task_queue: Some(TaskQueue {
                name: spec.task_queue,
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: payload::to_payloads(input),
            workflow_execution_timeout: spec.execution_timeout.map(duration),
            workflow_run_timeout: spec.run_timeout.map(duration),
            workflow_task_timeout: spec.task_timeout.map(duration),
            workflow_start_delay: spec.start_delay.map(duration),
            identity: $identity.to_string(),
            request_id: $request_id,
            retry_policy: spec.retry_policy.as_ref().map(RetryPolicy::to_proto),
            memo: (!spec.memo.is_empty()).then_some(Memo { fields: spec.memo }),
            search_attributes: (!spec.search_attributes.is_empty()).then_some(SearchAttributes {
                indexed_fields: spec.search_attributes,
            }),
            $($field: $value,)*
            ..Default::default()
        };
        if let Some(policy) = spec.id_reuse_policy {
            request.set_workflow_id_reuse_policy(policy.to_proto());
        }
        if let Some(policy) = spec.id_conflict_policy {
            request.set_workflow_id_conflict_policy(policy.to_proto());
        }
        request
    }};
}

impl StartSpec {
    pub(crate) fn new(
        workflow_type: String,
        input: Result<Vec<Payload>, PayloadError>,
        workflow_id: String,
        task_queue: String,
    ) -> Self {
        Self {
            workflow_type,
            input,
            workflow_id,
            task_queue,
            id_reuse_policy: None,
            id_conflict_policy: None,
            execution_timeout: None,
            run_timeout: None,
            task_timeout: None,
            start_delay: None,
            retry_policy: None,
            memo: HashMap::new(),
            search_attributes: HashMap::new(),
            signal: None,
        }
    }

    /// The start request; fails when the input could not be encoded.
    pub(crate) fn into_request(
        self,
        namespace: &str,
        identity: &str,
        request_id: String,
    ) -> Result<StartWorkflowExecutionRequest, ClientError> {
        Ok(start_request!(
            StartWorkflowExecutionRequest,
            self,
            namespace,
            identity,
            request_id
        ))
    }

    /// The signal-with-start request: the start request's fields, and the signal.
    pub(crate) fn into_signal_with_start_request(
        self,
        namespace: &str,
        identity: &str,
        request_id: String,
        signal_name: String,
        signal_args: Vec<Payload>,
    ) -> Result<SignalWithStartWorkflowExecutionRequest, ClientError> {
        Ok(start_request!(
            SignalWithStartWorkflowExecutionRequest,
            self,
            namespace,
            identity,
            request_id,
            signal_name: signal_name,
            signal_input: payload::to_payloads(signal_args),
        ))
    }
}

impl<W> std::fmt::Debug for StartWorkflow<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartWorkflow")
            .field("workflow_type", &self.spec.workflow_type)
            .field("workflow_id", &self.spec.workflow_id)
            .field("task_queue", &self.spec.task_queue)
            .finish_non_exhaustive()
    }
}

impl<W> StartWorkflow<W> {
    pub(crate) fn new(conn: Connection, spec: StartSpec) -> Self {
        Self {
            conn,
            spec,
            _workflow: PhantomData,
        }
    }

    /// Whether the id of a closed workflow may be reused (server default: allow).
    pub fn id_reuse_policy(mut self, policy: IdReusePolicy) -> Self {
        self.spec.id_reuse_policy = Some(policy);
        self
    }

    /// What to do when a workflow with the id is running (server default: fail).
    pub fn id_conflict_policy(mut self, policy: IdConflictPolicy) -> Self {
        self.spec.id_conflict_policy = Some(policy);
        self
    }

    /// Limit for the whole workflow execution, continue-as-new runs and retries included.
    pub fn execution_timeout(mut self, timeout: Duration) -> Self {
        self.spec.execution_timeout = Some(timeout);
        self
    }

    /// Limit for a single run.
    pub fn run_timeout(mut self, timeout: Duration) -> Self {
        self.spec.run_timeout = Some(timeout);
        self
    }

    /// Limit for a single workflow task (server default: 10 s).
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.spec.task_timeout = Some(timeout);
        self
    }

    /// Delays the first workflow task.
    pub fn start_delay(mut self, delay: Duration) -> Self {
        self.spec.start_delay = Some(delay);
        self
    }

    /// Retries the whole workflow on failure (by default a workflow is not retried).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.spec.retry_policy = Some(policy);
        self
    }

    /// Adds a memo field: any serde value, stored with the workflow and shown by `describe`
    /// and `temporal workflow describe`, not indexed.
    pub fn memo<T: serde::Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        match payload::encode(value) {
            Ok(value) => {
                self.spec.memo.insert(key.into(), value);
            }
            Err(e) => self.spec.input = Err(e),
        }
        self
    }

    /// Sets a search attribute, indexed by the server for `temporal workflow list --query`.
    pub fn search_attribute(mut self, name: impl Into<String>, value: SearchAttribute) -> Self {
        self.spec
            .search_attributes
            .insert(name.into(), value.to_payload());
        self
    }

    /// Turns the start into a signal-with-start, with already encoded signal arguments (one
    /// payload each): see [`with_signal`](StartWorkflow::with_signal).
    pub fn with_signal_payloads(mut self, name: impl Into<String>, args: Vec<Payload>) -> Self {
        self.spec.signal = Some(Ok((name.into(), args)));
        self
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.spec.workflow_id
    }

    /// Gives each attempt of the start call `timeout` instead of the connection's
    /// `rpc_timeout`.
    pub fn rpc_timeout(mut self, timeout: Duration) -> Self {
        self.conn = self.conn.with_rpc_timeout(timeout);
        self
    }

    async fn send(mut self) -> Result<WorkflowHandle<W>, ClientError> {
        let workflow_id = self.spec.workflow_id.clone();
        let signal = self.spec.signal.take().transpose()?;
        let (namespace, identity) = (self.conn.namespace(), self.conn.identity());
        // One request id for all attempts: the server recognises a retried start.
        let (rpc, answer) = match signal {
            None => {
                const RPC: &str = "StartWorkflowExecution";
                let request = self.spec.into_request(namespace, identity, request_id())?;
                let answer = self
                    .conn
                    .unary(RPC, request, |mut svc, request| async move {
                        svc.start_workflow_execution(request).await
                    })
                    .await
                    .map(|response| (response.run_id, response.started));
                (RPC, answer)
            }
            Some((name, args)) => {
                const RPC: &str = "SignalWithStartWorkflowExecution";
                let request = self.spec.into_signal_with_start_request(
                    namespace,
                    identity,
                    request_id(),
                    name,
                    args,
                )?;
                let answer = self
                    .conn
                    .unary(RPC, request, |mut svc, request| async move {
                        svc.signal_with_start_workflow_execution(request).await
                    })
                    .await
                    .map(|response| (response.run_id, response.started));
                (RPC, answer)
            }
        };
        let (run_id, started) =
            answer.map_err(|status| ClientError::from_status(rpc, &workflow_id, status))?;
        if run_id.is_empty() {
            return Err(ClientError::UnexpectedResponse {
                rpc,
                detail: "the response has no run id".to_string(),
            });
        }
        tracing::debug!(workflow_id, run_id, started, rpc, "workflow started");
        Ok(WorkflowHandle::started(self.conn, workflow_id, run_id))
    }
}

impl<W: WorkflowDefinition> StartWorkflow<W> {
    /// Turns the start into a signal-with-start: the signal is delivered to the workflow with
    /// this id if one is running, and otherwise the workflow is started with the signal
    /// already in its history, applied before its run function first runs. The handle is
    /// that of the run that received the signal.
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
    /// # async fn f(client: Client, invoice: Invoice, payment: Payment) -> Result<(), chronicle::client::ClientError> {
    /// let handle = client
    ///     .start(InvoiceWorkflow::run, invoice, "invoice-42", "billing")
    ///     .with_signal(InvoiceWorkflow::payment_received, payment)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with_signal<S, Args>(mut self, signal: S, input: S::Input) -> Self
    where
        S: SignalFn<W, Args>,
    {
        let _ = signal;
        let encoded = signal_name::<W, S>()
            .map_err(ClientError::from)
            .and_then(|name| {
                let args = S::encode(&input).map_err(ClientError::Encode)?;
                Ok((name.to_string(), args))
            });
        self.spec.signal = Some(encoded);
        self
    }
}

impl<W: 'static> IntoFuture for StartWorkflow<W> {
    type Output = Result<WorkflowHandle<W>, ClientError>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
