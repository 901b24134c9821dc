//! Other workflows, from workflow code: child workflows ([`ChildWorkflowCall`],
//! [`ChildWorkflow`]) and signals or cancel requests to any workflow ([`ExternalWorkflow`]).

use super::WorkflowContext;
use crate::definition::{RunFn, WorkflowDefinition};
use crate::error::{ChildWorkflowFailure, ExternalWorkflowFailure};
use crate::handlers::{signal_name, SignalFn};
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload};
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::search_attributes::SearchAttribute;
use chronicle_core::workflow::{
    ChildHandle, ChildWorkflowRequest, ExternalHandle, ParentClosePolicy, RunHandle,
};
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
    /// ```ignore
    /// let receipt = ctx
    ///     .child_workflow(InvoiceWorkflow::run, invoice)
    ///     .workflow_id(format!("invoice-{}", id))
    ///     .await?;
    /// ```
    #[track_caller]
    pub fn child_workflow<C, Args, F>(&self, run: F, input: C::Input) -> ChildWorkflowCall<C>
    where
        C: WorkflowDefinition,
        F: RunFn<C, Args>,
    {
        let _ = run;
        ChildWorkflowCall {
            run: self.run_handle(),
            input: C::encode_input(&input).map_err(|e| {
                Failure::application(
                    format!(
                        "could not encode the input of child workflow {}: {e}",
                        C::NAME
                    ),
                    "PayloadError",
                )
                .with_non_retryable(true)
            }),
            request: ChildWorkflowRequest {
                workflow_type: C::NAME.to_string(),
                ..Default::default()
            },
            location: Location::caller(),
            _workflow: PhantomData,
        }
    }

    /// Another workflow, of type `X`, by id (its latest run): signal it or ask it to cancel.
    pub fn external_workflow<X: WorkflowDefinition>(
        &self,
        workflow_id: impl Into<String>,
    ) -> ExternalWorkflow<X> {
        ExternalWorkflow {
            run: self.run_handle(),
            workflow_id: workflow_id.into(),
            run_id: String::new(),
            _workflow: PhantomData,
        }
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

impl<C: WorkflowDefinition> ChildWorkflowCall<C> {
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

    /// Adds a memo field to the child.
    pub fn memo<T: serde::Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        match payload::encode(value) {
            Ok(value) => {
                self.request.memo.insert(key.into(), value);
            }
            Err(e) => {
                self.input = Err(Failure::application(
                    format!("could not encode memo field of child workflow: {e}"),
                    "PayloadError",
                )
                .with_non_retryable(true))
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

impl<C: WorkflowDefinition> IntoFuture for ChildWorkflowCall<C> {
    type Output = Result<C::Output, ChildWorkflowFailure>;
    type IntoFuture = ChildResult<C>;

    fn into_future(self) -> ChildResult<C> {
        ChildResult {
            handle: self.issue(),
            _workflow: PhantomData,
        }
    }
}

/// A child being started; resolves to its [`ChildWorkflow`] once it runs.
#[must_use = "futures do nothing unless awaited"]
pub struct ChildStart<C> {
    handle: Option<Result<ChildHandle, Failure>>,
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
            Poll::Ready(Ok(_run_id)) => Poll::Ready(Ok(ChildWorkflow {
                handle: handle.clone(),
                _workflow: PhantomData,
            })),
        }
    }
}

/// A running child workflow.
pub struct ChildWorkflow<C> {
    handle: ChildHandle,
    _workflow: PhantomData<fn() -> C>,
}

impl<C: WorkflowDefinition> ChildWorkflow<C> {
    /// The child's workflow id.
    pub fn workflow_id(&self) -> String {
        self.handle.workflow_id()
    }

    /// The child's run id.
    pub fn run_id(&self) -> String {
        self.handle.run_id().unwrap_or_default()
    }

    /// The child's result (wait for it, or drop this and let the child run on).
    pub fn result(&self) -> ChildResult<C> {
        ChildResult {
            handle: Ok(self.handle.clone()),
            _workflow: PhantomData,
        }
    }

    /// Asks the child to cancel; its result then says how it ended.
    pub fn cancel(&self) {
        self.handle.cancel();
    }

    /// Sends the child a signal, typed by its `#[signal]` handler.
    #[track_caller]
    pub fn signal<S, Args>(&self, signal: S, input: S::Input) -> ExternalOperation
    where
        S: SignalFn<C, Args>,
    {
        let _ = signal;
        let run = self.handle.run_handle();
        signal_external::<C, S, Args>(
            &run,
            self.handle.workflow_id(),
            self.run_id(),
            &input,
            Location::caller(),
        )
    }
}

/// A child's result.
#[must_use = "futures do nothing unless awaited"]
pub struct ChildResult<C> {
    handle: Result<ChildHandle, Failure>,
    _workflow: PhantomData<fn() -> C>,
}

impl<C> Unpin for ChildResult<C> {}

impl<C: WorkflowDefinition> Future for ChildResult<C> {
    type Output = Result<C::Output, ChildWorkflowFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let handle = match &self.handle {
            Ok(handle) => handle,
            Err(failure) => return Poll::Ready(Err(ChildWorkflowFailure::new(failure.clone()))),
        };
        handle.poll_result(cx).map(|result| match result {
            Err(failure) => Err(ChildWorkflowFailure::new(failure)),
            Ok(payloads) => payload::decode_single(
                &payloads,
                &format!("the result of child workflow {}", C::NAME),
            )
            .map_err(|e| {
                ChildWorkflowFailure::new(
                    Failure::application(e.to_string(), "PayloadError").with_non_retryable(true),
                )
            }),
        })
    }
}

/// Another workflow, addressed by id: see [`WorkflowContext::external_workflow`].
pub struct ExternalWorkflow<X> {
    run: RunHandle,
    workflow_id: String,
    run_id: String,
    _workflow: PhantomData<fn() -> X>,
}

impl<X: WorkflowDefinition> ExternalWorkflow<X> {
    /// Targets one run instead of the latest.
    pub fn for_run(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// Sends it a signal, typed by its `#[signal]` handler; resolves once delivered.
    #[track_caller]
    pub fn signal<S, Args>(&self, signal: S, input: S::Input) -> ExternalOperation
    where
        S: SignalFn<X, Args>,
    {
        let _ = signal;
        signal_external::<X, S, Args>(
            &self.run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            &input,
            Location::caller(),
        )
    }

    /// Asks it to cancel; resolves once the request is recorded in its history.
    #[track_caller]
    pub fn cancel(&self) -> ExternalOperation {
        ExternalOperation {
            handle: Ok(self.run.cancel_external_at(
                self.workflow_id.clone(),
                self.run_id.clone(),
                Location::caller(),
            )),
        }
    }
}

fn signal_external<X: WorkflowDefinition, S: SignalFn<X, Args>, Args>(
    run: &RunHandle,
    workflow_id: String,
    run_id: String,
    input: &S::Input,
    location: &'static Location<'static>,
) -> ExternalOperation {
    let prepared = signal_name::<X, S>()
        .map_err(|e| Failure::application(e.to_string(), "NotAHandler").with_non_retryable(true))
        .and_then(|name| {
            let args = S::encode(input).map_err(|e| {
                Failure::application(e.to_string(), "PayloadError").with_non_retryable(true)
            })?;
            Ok((name, args))
        });
    ExternalOperation {
        handle: prepared.map(|(name, args)| {
            run.signal_external_at(workflow_id, run_id, name.to_string(), args, location)
        }),
    }
}

/// A signal or cancel request to another workflow, resolving once the server delivered it.
#[must_use = "the request is sent with the workflow task, but only awaiting it tells whether it arrived"]
pub struct ExternalOperation {
    handle: Result<ExternalHandle, Failure>,
}

impl Future for ExternalOperation {
    type Output = Result<(), ExternalWorkflowFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &self.handle {
            Err(failure) => Poll::Ready(Err(ExternalWorkflowFailure::new(failure.clone()))),
            Ok(handle) => handle
                .poll_done(cx)
                .map(|done| done.map_err(ExternalWorkflowFailure::new)),
        }
    }
}
