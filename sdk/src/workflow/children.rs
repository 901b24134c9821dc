//! Other workflows, from workflow code: child workflows ([`ChildWorkflowCall`],
//! [`ChildWorkflow`]); the ways to reach them, and any workflow by id ([`ExternalWorkflow`], in
//! `external.rs`), start here on the context.
//!
//! Both come typed (by a `#[workflow]` type, its `#[run]` function and its `#[signal]` methods)
//! or by name, as [`Untyped`], for workflows written with another SDK.

use super::external::{
    signal_external, typed_signal, untyped_signal, ExternalOperation, ExternalWorkflow,
};
use super::WorkflowContext;
use crate::client::Untyped;
use crate::definition::{RunFn, WorkflowDefinition};
use crate::error::ChildWorkflowFailure;
use crate::handlers::SignalFn;
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload, PayloadError};
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::search_attributes::SearchAttribute;
use chronicle_core::workflow::{
    ChildHandle, ChildWorkflowCancellationType, ChildWorkflowRequest, ParentClosePolicy, RunHandle,
};
use serde::Serialize;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

impl<W> WorkflowContext<W> {
    /// Starts a child workflow `C`, typed by its `#[run]` function: set options, then `.await`
    /// its result, or `.start().await` to carry on while it runs.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct InvoiceWorkflow;
    /// # #[workflow] impl InvoiceWorkflow {
    /// #     #[run] async fn run(_ctx: WorkflowContext<Self>, amount: u64) -> WorkflowResult<String> { Ok(String::new()) }
    /// # }
    /// # #[derive(Default)] struct Billing;
    /// # #[workflow] impl Billing { #[run]
    /// async fn run(ctx: WorkflowContext<Self>, id: u32) -> WorkflowResult<String> {
    ///     let receipt = ctx
    ///         .child_workflow(InvoiceWorkflow::run, 250)
    ///         .workflow_id(format!("invoice-{id}"))
    ///         .await?;
    ///     Ok(receipt)
    /// }
    /// # }
    /// ```
    #[track_caller]
    pub fn child_workflow<C, Args, F>(&self, run: F, input: C::Input) -> ChildWorkflowCall<C>
    where
        C: WorkflowDefinition,
        F: RunFn<C, Args>,
    {
        let _ = run;
        let input = C::encode_input(&input).map_err(|e| {
            payload_failure(format!(
                "could not encode the input of child workflow {}: {e}",
                C::NAME
            ))
        });
        ChildWorkflowCall::new(self.run_handle(), C::NAME.to_string(), input)
    }

    /// Starts a child workflow by its type name, with already encoded arguments (one payload
    /// per argument); for workflows written with other SDKs. Its result is the raw payloads.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// use chronicle::payload;
    /// # #[derive(Default)] struct Orders;
    /// # #[workflow] impl Orders { #[run]
    /// async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<i64> {
    ///     let result = ctx
    ///         .child_workflow_by_name("ParallelWorkflow", vec![payload::encode(&3)?])
    ///         .task_queue("python-workers")
    ///         .await?;
    ///     Ok(payload::decode_single(&result, "the sum")?)
    /// }
    /// # }
    /// ```
    #[track_caller]
    pub fn child_workflow_by_name(
        &self,
        workflow_type: impl Into<String>,
        args: Vec<Payload>,
    ) -> ChildWorkflowCall<Untyped> {
        ChildWorkflowCall::new(self.run_handle(), workflow_type.into(), Ok(args))
    }

    /// Another workflow, of type `X`, by id (its latest run): signal it or ask it to cancel.
    pub fn external_workflow<X: WorkflowDefinition>(
        &self,
        workflow_id: impl Into<String>,
    ) -> ExternalWorkflow<X> {
        ExternalWorkflow::new(self.run_handle(), workflow_id.into())
    }

    /// Another workflow by id, whatever its type (for example, written with another SDK):
    /// signal it by name or ask it to cancel.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct Orders;
    /// # #[workflow] impl Orders { #[run]
    /// async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
    ///     ctx.untyped_external_workflow("shipment-7")
    ///         .signal("address_changed", "Main Street 1")
    ///         .await?;
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn untyped_external_workflow(
        &self,
        workflow_id: impl Into<String>,
    ) -> ExternalWorkflow<Untyped> {
        ExternalWorkflow::new(self.run_handle(), workflow_id.into())
    }
}

/// What types a child workflow's result: a `#[workflow]` type (its run function's output), or
/// [`Untyped`] (the raw payloads).
pub trait ChildKind: 'static {
    /// What awaiting the child gives on success.
    type Output;
    /// Decodes the child's result payloads.
    #[doc(hidden)]
    fn decode_result(
        payloads: Vec<Payload>,
        workflow_type: &str,
    ) -> Result<Self::Output, PayloadError>;
}

impl<W: WorkflowDefinition> ChildKind for W {
    type Output = W::Output;

    fn decode_result(
        payloads: Vec<Payload>,
        workflow_type: &str,
    ) -> Result<W::Output, PayloadError> {
        payload::decode_single(
            &payloads,
            &format!("the result of child workflow {workflow_type}"),
        )
    }
}

impl ChildKind for Untyped {
    type Output = Vec<Payload>;

    fn decode_result(payloads: Vec<Payload>, _: &str) -> Result<Vec<Payload>, PayloadError> {
        Ok(payloads)
    }
}

/// A child workflow being configured; `.await` it for its result.
#[must_use = "a child workflow call does nothing until it is awaited or started"]
pub struct ChildWorkflowCall<C> {
    run: RunHandle,
    input: Result<Vec<Payload>, Failure>,
    request: ChildWorkflowRequest,
    location: &'static Location<'static>,
    _workflow: PhantomData<fn() -> C>,
}

impl<C> ChildWorkflowCall<C> {
    #[track_caller]
    fn new(run: RunHandle, workflow_type: String, input: Result<Vec<Payload>, Failure>) -> Self {
        Self {
            run,
            input,
            request: ChildWorkflowRequest {
                workflow_type,
                ..Default::default()
            },
            location: Location::caller(),
            _workflow: PhantomData,
        }
    }

    /// The child's workflow id (by default derived from the parent's, unique per run).
    pub fn workflow_id(mut self, id: impl Into<String>) -> Self {
        self.request.workflow_id = Some(id.into());
        self
    }

    /// The task queue (the parent's by default).
    pub fn task_queue(mut self, task_queue: impl Into<String>) -> Self {
        self.request.task_queue = Some(task_queue.into());
        self
    }

    /// Limit for the child's whole execution.
    pub fn execution_timeout(mut self, timeout: Duration) -> Self {
        self.request.execution_timeout = Some(timeout);
        self
    }

    /// Limit for one run of the child.
    pub fn run_timeout(mut self, timeout: Duration) -> Self {
        self.request.run_timeout = Some(timeout);
        self
    }

    /// Limit for one workflow task of the child.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.request.task_timeout = Some(timeout);
        self
    }

    /// Retries of the whole child (by default it is not retried).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.request.retry_policy = Some(policy);
        self
    }

    /// What happens to the child when this workflow closes (default: terminated).
    pub fn parent_close_policy(mut self, policy: ParentClosePolicy) -> Self {
        self.request.parent_close_policy = policy;
        self
    }

    /// What canceling the child (with [`ChildWorkflow::cancel`], or by this workflow's own
    /// cancellation) sends, and when the wait for its result ends; by default
    /// [`WaitCancellationCompleted`](ChildWorkflowCancellationType::WaitCancellationCompleted):
    /// the child is asked to cancel and its result is how it really ended.
    pub fn cancellation_type(mut self, cancellation_type: ChildWorkflowCancellationType) -> Self {
        self.request.cancellation_type = cancellation_type;
        self
    }

    /// Adds a memo field to the child.
    pub fn memo<T: serde::Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        match payload::encode(value) {
            Ok(value) => {
                self.request.memo.insert(key.into(), value);
            }
            Err(e) => {
                self.input = Err(payload_failure(format!(
                    "could not encode memo field of child workflow: {e}"
                )))
            }
        }
        self
    }

    /// Sets a search attribute of the child.
    pub fn search_attribute(mut self, name: impl Into<String>, value: SearchAttribute) -> Self {
        self.request
            .search_attributes
            .insert(name.into(), value.to_payload());
        self
    }

    /// Starts the child; the future resolves once it is running (or could not start).
    pub fn start(self) -> ChildStart<C> {
        ChildStart {
            workflow_type: self.request.workflow_type.clone(),
            handle: Some(self.issue()),
            _workflow: PhantomData,
        }
    }

    /// Issues the start command, unless the input could not be encoded.
    fn issue(self) -> Result<ChildHandle, Failure> {
        let input = self.input?;
        let request = ChildWorkflowRequest {
            input,
            ..self.request
        };
        Ok(self.run.start_child_at(request, self.location))
    }
}

impl<C: ChildKind> IntoFuture for ChildWorkflowCall<C> {
    type Output = Result<C::Output, ChildWorkflowFailure>;
    type IntoFuture = ChildResult<C>;

    fn into_future(self) -> ChildResult<C> {
        let workflow_type = self.request.workflow_type.clone();
        ChildResult {
            handle: self.issue(),
            workflow_type,
            _workflow: PhantomData,
        }
    }
}

/// A child being started; resolves to its [`ChildWorkflow`] once it runs.
#[must_use = "futures do nothing unless awaited"]
pub struct ChildStart<C> {
    handle: Option<Result<ChildHandle, Failure>>,
    workflow_type: String,
    _workflow: PhantomData<fn() -> C>,
}

impl<C> Unpin for ChildStart<C> {}

impl<C> Future for ChildStart<C> {
    type Output = Result<ChildWorkflow<C>, ChildWorkflowFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let handle = match this.handle.as_ref() {
            None => return Poll::Pending,
            Some(Err(failure)) => {
                let failure = failure.clone();
                this.handle = None;
                return Poll::Ready(Err(ChildWorkflowFailure::new(failure)));
            }
            Some(Ok(handle)) => handle,
        };
        match handle.poll_start(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(failure)) => Poll::Ready(Err(ChildWorkflowFailure::new(failure))),
            Poll::Ready(Ok(run_id)) => Poll::Ready(Ok(ChildWorkflow {
                workflow_type: this.workflow_type.clone(),
                workflow_id: handle.workflow_id(),
                run_id,
                handle: handle.clone(),
                _workflow: PhantomData,
            })),
        }
    }
}

/// A running child workflow.
pub struct ChildWorkflow<C> {
    handle: ChildHandle,
    workflow_type: String,
    workflow_id: String,
    run_id: String,
    _workflow: PhantomData<fn() -> C>,
}

impl<C> ChildWorkflow<C> {
    /// The child's workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The child's run id (always known: the child has started).
    pub fn run_id(&self) -> Option<&str> {
        Some(&self.run_id)
    }

    /// Cancels the child as its [cancellation type](ChildWorkflowCall::cancellation_type)
    /// says: by default it is asked to cancel and its result then says how it ended.
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// Sends the child a signal by name, with already encoded arguments (one payload each).
    #[track_caller]
    pub fn signal_payloads(
        &self,
        name: impl Into<String>,
        args: Vec<Payload>,
    ) -> ExternalOperation {
        let run = self.handle.run_handle();
        signal_external(
            &run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            Ok((name.into(), args)),
            Location::caller(),
        )
    }
}

impl<C: ChildKind> ChildWorkflow<C> {
    /// The child's result (wait for it, or drop this and let the child run on).
    pub fn result(&self) -> ChildResult<C> {
        ChildResult {
            handle: Ok(self.handle.clone()),
            workflow_type: self.workflow_type.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<C: WorkflowDefinition> ChildWorkflow<C> {
    /// Sends the child a signal, typed by its `#[signal]` handler.
    #[track_caller]
    pub fn signal<S, Args>(&self, signal: S, input: S::Input) -> ExternalOperation
    where
        S: SignalFn<C, Args>,
    {
        let _ = signal;
        let run = self.handle.run_handle();
        signal_external(
            &run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            typed_signal::<C, S, Args>(&input),
            Location::caller(),
        )
    }
}

impl ChildWorkflow<Untyped> {
    /// Sends the child a signal by name with one argument (`()` for none).
    #[track_caller]
    pub fn signal<A: Serialize>(&self, name: &str, arg: A) -> ExternalOperation {
        let run = self.handle.run_handle();
        signal_external(
            &run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            untyped_signal(name, &arg),
            Location::caller(),
        )
    }
}

/// A child's result.
#[must_use = "futures do nothing unless awaited"]
pub struct ChildResult<C> {
    handle: Result<ChildHandle, Failure>,
    workflow_type: String,
    _workflow: PhantomData<fn() -> C>,
}

impl<C> Unpin for ChildResult<C> {}

impl<C: ChildKind> Future for ChildResult<C> {
    type Output = Result<C::Output, ChildWorkflowFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let handle = match &self.handle {
            Ok(handle) => handle,
            Err(failure) => return Poll::Ready(Err(ChildWorkflowFailure::new(failure.clone()))),
        };
        handle.poll_result(cx).map(|result| match result {
            Err(failure) => Err(ChildWorkflowFailure::new(failure)),
            Ok(payloads) => C::decode_result(payloads, &self.workflow_type)
                .map_err(|e| ChildWorkflowFailure::new(payload_failure(e.to_string()))),
        })
    }
}

/// A failure for a value that could not be encoded or decoded: retrying cannot help.
pub(super) fn payload_failure(message: String) -> Failure {
    Failure::application(message, "PayloadError").with_non_retryable(true)
}

impl<C> fmt::Debug for ChildWorkflowCall<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildWorkflowCall")
            .field("workflow_type", &self.request.workflow_type)
            .field("workflow_id", &self.request.workflow_id)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for ChildStart<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let workflow_id = match &self.handle {
            Some(Ok(handle)) => Some(handle.workflow_id()),
            _ => None,
        };
        f.debug_struct("ChildStart")
            .field("workflow_type", &self.workflow_type)
            .field("workflow_id", &workflow_id)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for ChildWorkflow<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildWorkflow")
            .field("workflow_type", &self.workflow_type)
            .field("workflow_id", &self.workflow_id)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

impl<C> fmt::Debug for ChildResult<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildResult")
            .field("workflow_type", &self.workflow_type)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_children_return_the_raw_payloads() {
        let payloads = vec![payload::encode(&3).unwrap(), payload::encode(&4).unwrap()];
        let raw = <Untyped as ChildKind>::decode_result(payloads.clone(), "Py").unwrap();
        assert_eq!(raw, payloads);
    }
}
