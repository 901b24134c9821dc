//! Other workflows addressed by id, from workflow code: [`ExternalWorkflow`] (signal it, or ask
//! it to cancel) and the [`ExternalOperation`] that says whether the request arrived. Children
//! share the signal helpers.

use super::children::payload_failure;
use crate::client::Untyped;
use crate::definition::WorkflowDefinition;
use crate::error::ExternalWorkflowFailure;
use crate::handlers::{signal_name, SignalFn};
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload};
use chronicle_core::workflow::{ExternalHandle, RunHandle};
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Another workflow, addressed by id: see
/// [`WorkflowContext::external_workflow`](super::WorkflowContext::external_workflow) and
/// [`WorkflowContext::untyped_external_workflow`](super::WorkflowContext::untyped_external_workflow).
pub struct ExternalWorkflow<X> {
    run: RunHandle,
    workflow_id: String,
    run_id: String,
    _workflow: PhantomData<fn() -> X>,
}

impl<X> ExternalWorkflow<X> {
    pub(super) fn new(run: RunHandle, workflow_id: String) -> Self {
        Self {
            run,
            workflow_id,
            run_id: String::new(),
            _workflow: PhantomData,
        }
    }

    /// Targets one run instead of the latest.
    pub fn for_run(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The run targeted, if not the latest.
    pub fn run_id(&self) -> Option<&str> {
        Some(self.run_id.as_str()).filter(|id| !id.is_empty())
    }

    /// Sends it a signal by name, with already encoded arguments (one payload each); resolves
    /// once delivered.
    #[track_caller]
    pub fn signal_payloads(
        &self,
        name: impl Into<String>,
        args: Vec<Payload>,
    ) -> ExternalOperation {
        signal_external(
            &self.run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            Ok((name.into(), args)),
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

impl<X: WorkflowDefinition> ExternalWorkflow<X> {
    /// Sends it a signal, typed by its `#[signal]` handler; resolves once delivered.
    #[track_caller]
    pub fn signal<S, Args>(&self, signal: S, input: S::Input) -> ExternalOperation
    where
        S: SignalFn<X, Args>,
    {
        let _ = signal;
        signal_external(
            &self.run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            typed_signal::<X, S, Args>(&input),
            Location::caller(),
        )
    }
}

impl ExternalWorkflow<Untyped> {
    /// Sends it a signal by name with one argument (`()` for none); resolves once delivered.
    #[track_caller]
    pub fn signal<A: Serialize>(&self, name: &str, arg: A) -> ExternalOperation {
        signal_external(
            &self.run,
            self.workflow_id.clone(),
            self.run_id.clone(),
            untyped_signal(name, &arg),
            Location::caller(),
        )
    }
}

/// The wire name and payloads of a typed signal.
pub(super) fn typed_signal<X: WorkflowDefinition, S: SignalFn<X, Args>, Args>(
    input: &S::Input,
) -> Result<(String, Vec<Payload>), Failure> {
    let name = signal_name::<X, S>()
        .map_err(|e| Failure::application(e.to_string(), "NotAHandler").with_non_retryable(true))?;
    let args = S::encode(input).map_err(|e| payload_failure(e.to_string()))?;
    Ok((name.to_string(), args))
}

/// The payloads of a signal by name: `()` means no argument rather than one null argument, as
/// in the typed calls and the client's untyped `signal`.
pub(super) fn untyped_signal<A: Serialize>(
    name: &str,
    arg: &A,
) -> Result<(String, Vec<Payload>), Failure> {
    let encoded = payload::encode(arg).map_err(|e| {
        payload_failure(format!(
            "could not encode the argument of signal {name:?}: {e}"
        ))
    })?;
    let is_unit =
        std::mem::size_of::<A>() == 0 && serde_json::to_value(arg).is_ok_and(|v| v.is_null());
    let args = if is_unit { Vec::new() } else { vec![encoded] };
    Ok((name.to_string(), args))
}

pub(super) fn signal_external(
    run: &RunHandle,
    workflow_id: String,
    run_id: String,
    prepared: Result<(String, Vec<Payload>), Failure>,
    location: &'static Location<'static>,
) -> ExternalOperation {
    ExternalOperation {
        handle: prepared
            .map(|(name, args)| run.signal_external_at(workflow_id, run_id, name, args, location)),
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

impl<X> fmt::Debug for ExternalWorkflow<X> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalWorkflow")
            .field("workflow_id", &self.workflow_id)
            .field("run_id", &self.run_id())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ExternalOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalOperation")
            .field("issued", &self.handle.is_ok())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untyped_signals_send_one_payload_or_none_for_unit() {
        let (name, args) = untyped_signal("approve", &"alice").unwrap();
        assert_eq!(name, "approve");
        assert_eq!(args, vec![payload::encode("alice").unwrap()]);
        let (_, args) = untyped_signal("ping", &()).unwrap();
        assert!(args.is_empty());
        let (_, args) = untyped_signal("maybe", &None::<u8>).unwrap();
        assert_eq!(args.len(), 1, "a null that is not `()` is an argument");
    }
}
