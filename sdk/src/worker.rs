//! Running workflows and activities: [`Worker`], and the adapters that plug typed definitions
//! into the type-erased core.

use crate::definition::{ActivityDefinition, UpdateRejection, WorkflowDefinition};
use crate::error::WorkflowError;
use crate::workflow::WorkflowContext;
use crate::Client;
use chronicle_core::activity::{ActivityContext, ActivityFactory};
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload, PayloadError};
use chronicle_core::workflow::{
    HandlerError, HandlerKind, RunHandle, UpdateFuture, WorkflowExit, WorkflowFactory,
    WorkflowFuture, WorkflowHandlers, WorkflowInstance, UNKNOWN_UPDATE,
};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::marker::PhantomData;
use std::sync::Arc;

pub use chronicle_core::worker::{ShutdownHandle, WorkerError, WorkerOptions};

/// Polls one task queue and runs the workflows and activities registered on it.
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[activity] async fn compose_greeting(_c: ActivityContext, n: String) -> Result<String, ActivityError> { Ok(n) }
/// # #[derive(Default)] struct HelloWorkflow;
/// # #[workflow] impl HelloWorkflow { #[run] async fn run(ctx: WorkflowContext<Self>, n: String) -> WorkflowResult<String> { Ok(n) } }
/// # async fn f(client: Client) -> Result<(), Box<dyn std::error::Error>> {
/// Worker::new(&client, "hello")
///     .register_workflow::<HelloWorkflow>()
///     .register_activity(compose_greeting)
///     .run_until_signal()
///     .await?;
/// # Ok(()) }
/// ```
pub struct Worker {
    inner: chronicle_core::worker::Worker,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker for `task_queue` with default options.
    pub fn new(client: &Client, task_queue: impl Into<String>) -> Self {
        Self::with_options(client, WorkerOptions::new(task_queue))
    }

    /// A worker with explicit options.
    pub fn with_options(client: &Client, options: WorkerOptions) -> Self {
        Self {
            inner: chronicle_core::worker::Worker::new(client.connection().clone(), options),
        }
    }

    /// Changes options after construction.
    pub fn configure(mut self, change: impl FnOnce(&mut WorkerOptions)) -> Self {
        change(self.inner.options_mut());
        self
    }

    /// Registers a `#[workflow]` type.
    pub fn register_workflow<W: WorkflowDefinition>(mut self) -> Self {
        self.inner
            .register_workflow(Arc::new(WorkflowRegistration::<W>(PhantomData)));
        self
    }

    /// Registers an `#[activity]` function.
    pub fn register_activity<A: ActivityDefinition>(mut self, activity: A) -> Self {
        self.inner
            .register_activity(Arc::new(ActivityRegistration(activity)));
        self
    }

    /// Shares a value with every activity (read it with `ActivityContext::data::<T>()`).
    pub fn data<T: std::any::Any + Send + Sync>(mut self, value: T) -> Self {
        self.inner.insert_data(value);
        self
    }

    /// A handle that stops the worker.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.inner.shutdown_handle()
    }

    /// Runs until the shutdown handle is triggered.
    pub async fn run(self) -> Result<(), WorkerError> {
        self.inner.run().await
    }

    /// Runs until the process is asked to stop, with SIGTERM (what Docker, Kubernetes and
    /// systemd send) or SIGINT (ctrl-c), or until the shutdown handle is triggered; then drains
    /// as [`chronicle_core::worker::Worker::run_until`] describes, and returns.
    pub async fn run_until_signal(self) -> Result<(), WorkerError> {
        self.inner.run_until(shutdown_signal()).await
    }
}

/// Completes at the first SIGTERM or SIGINT.
///
/// If the handlers cannot be installed, it never completes (the worker then stops only
/// through its shutdown handle), and says so.
pub async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
        "SIGINT"
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
        "SIGTERM"
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<&str>();
    let received = tokio::select! {
        name = interrupt => name,
        name = terminate => name,
    };
    tracing::info!(signal = received, "shutdown requested");
}

pub(crate) struct WorkflowRegistration<W>(PhantomData<fn() -> W>);

impl<W> WorkflowRegistration<W> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<W: WorkflowDefinition> WorkflowFactory for WorkflowRegistration<W> {
    fn name(&self) -> &str {
        W::NAME
    }

    fn instantiate(&self, run: RunHandle, input: Vec<Payload>) -> WorkflowInstance {
        let ctx = WorkflowContext::new(run, W::default());
        let handlers = Box::new(Handlers { ctx: ctx.clone() });
        let run = ctx.run_handle();
        let future: WorkflowFuture = match W::decode_input(input) {
            Ok(input) => Box::pin(async move {
                match W::run(ctx, input).await {
                    Ok(output) => encode_output(&output, W::NAME).into(),
                    Err(mut error) => {
                        if let Some(next) = error.take_continue_as_new() {
                            WorkflowExit::ContinuedAsNew(next)
                        } else if error.is_cancellation() && run.is_cancel_requested() {
                            WorkflowExit::Canceled
                        } else {
                            WorkflowExit::Failed(error.into_failure())
                        }
                    }
                }
            }),
            Err(e) => {
                let failure = Failure::application(
                    format!("workflow {} could not decode its input: {e}", W::NAME),
                    "PayloadError",
                )
                .with_non_retryable(true);
                Box::pin(std::future::ready(WorkflowExit::Failed(failure)))
            }
        };
        WorkflowInstance { future, handlers }
    }
}

/// A run's signal and query handlers: the workflow's generated dispatch over its state.
struct Handlers<W> {
    ctx: WorkflowContext<W>,
}

impl<W: WorkflowDefinition> WorkflowHandlers for Handlers<W> {
    fn signal(&self, name: &str, input: Vec<Payload>) -> Result<(), HandlerError> {
        if W::ASYNC_SIGNALS.contains(&name) {
            // An async handler runs as a task of the run, from the next round of polls.
            return match W::handle_async_signal(self.ctx.clone(), name, input) {
                None => Err(HandlerError::unknown(HandlerKind::Signal, name, W::SIGNALS)),
                Some(Err(e)) => Err(payload_error(HandlerKind::Signal, name, e)),
                Some(Ok(future)) => {
                    let future = future.map(|result| result.map_err(WorkflowError::into_failure));
                    self.ctx
                        .run_handle()
                        .spawn_signal_handler(name, future.boxed_local());
                    Ok(())
                }
            };
        }
        // Signals are applied between activations; the next one wakes `wait_until`.
        let handled = self
            .ctx
            .mutate_quietly(|state| state.handle_signal(name, input));
        match handled {
            None => Err(HandlerError::unknown(HandlerKind::Signal, name, W::SIGNALS)),
            Some(Err(e)) => Err(payload_error(HandlerKind::Signal, name, e)),
            Some(Ok(())) => Ok(()),
        }
    }

    fn query(&self, name: &str, input: Vec<Payload>) -> Result<Vec<Payload>, HandlerError> {
        match self.ctx.state(|state| state.handle_query(name, input)) {
            None => Err(HandlerError::unknown(HandlerKind::Query, name, W::QUERIES)),
            Some(Err(e)) => Err(payload_error(HandlerKind::Query, name, e)),
            Some(Ok(answer)) => Ok(answer),
        }
    }

    fn update(
        &self,
        name: &str,
        input: Vec<Payload>,
        validate: bool,
    ) -> Result<UpdateFuture, Failure> {
        match W::handle_update(self.ctx.clone(), name, input, validate) {
            None => Err(Failure::application(
                HandlerError::unknown(HandlerKind::Update, name, W::UPDATES).to_string(),
                UNKNOWN_UPDATE,
            )),
            Some(Err(rejection)) => Err(Self::rejection(name, rejection)),
            Some(Ok(future)) => Ok(future
                .map(|result| result.map_err(WorkflowError::into_failure))
                .boxed_local()),
        }
    }

    fn names(&self, kind: HandlerKind) -> Vec<String> {
        let names = match kind {
            HandlerKind::Signal => W::SIGNALS,
            HandlerKind::Query => W::QUERIES,
            HandlerKind::Update => W::UPDATES,
        };
        names.iter().map(|n| n.to_string()).collect()
    }
}

impl<W: WorkflowDefinition> Handlers<W> {
    /// The failure that rejects an update.
    fn rejection(name: &str, rejection: UpdateRejection) -> Failure {
        match rejection {
            UpdateRejection::Invalid {
                message,
                error_type,
            } => Failure::application(message, error_type),
            UpdateRejection::Payload(error) => Failure::application(
                payload_error(HandlerKind::Update, name, error).to_string(),
                "PayloadError",
            ),
        }
    }
}

fn payload_error(kind: HandlerKind, name: &str, error: PayloadError) -> HandlerError {
    HandlerError::Payload {
        kind,
        name: name.to_string(),
        message: error.to_string(),
    }
}

struct ActivityRegistration<A>(A);

impl<A: ActivityDefinition> ActivityFactory for ActivityRegistration<A> {
    fn name(&self) -> &str {
        A::NAME
    }

    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Failure>> {
        let input = match A::decode_input(input) {
            Ok(input) => input,
            Err(e) => {
                // Retrying cannot change the input: fail for good, with the reason.
                let failure = Failure::application(
                    format!("activity {} could not decode its input: {e}", A::NAME),
                    "PayloadError",
                )
                .with_non_retryable(true);
                return Box::pin(std::future::ready(Err(failure)));
            }
        };
        match A::execute(ctx, input) {
            None => Box::pin(std::future::ready(Err(Failure::application(
                format!(
                    "activity {} is declared without a body in Rust: it must be served by a worker that implements it",
                    A::NAME
                ),
                "NotImplemented",
            )
            .with_non_retryable(true)))),
            Some(future) => future
                .map(|result| match result {
                    Ok(output) => encode_output(&output, A::NAME),
                    Err(e) => Err(e.into_failure()),
                })
                .boxed(),
        }
    }
}

fn encode_output<T: serde::Serialize>(output: &T, name: &str) -> Result<Vec<Payload>, Failure> {
    payload::encode(output).map(|p| vec![p]).map_err(|e| {
        Failure::application(
            format!("{name} could not encode its result: {e}"),
            "PayloadError",
        )
        .with_non_retryable(true)
    })
}
