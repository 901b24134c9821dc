//! The errors workflow and activity code returns and receives.

use chronicle_core::failure::{Failure, FailureKind};
use chronicle_core::payload::{self, PayloadError};
use chronicle_core::workflow::ContinueAsNew;
use serde::Serialize;
use std::fmt;

/// What a workflow's `#[run]` function returns.
pub type WorkflowResult<T> = Result<T, WorkflowError>;

/// An error returned by an activity: fails this attempt, and the server retries it unless it is
/// non-retryable or the retry policy is exhausted.
///
/// Any `std::error::Error + Send + Sync + 'static` converts into it with `?` (retryable, with
/// its `source()` chain as the cause chain and its type name as the error type). That blanket
/// conversion is why `ActivityError` is not itself a `std::error::Error`; workflows differ, see
/// [`WorkflowError`] and the crate docs on `?`.
///
/// ```
/// use chronicle::ActivityError;
/// let e = ActivityError::non_retryable("card declined").with_type("PaymentDeclined");
/// assert!(e.failure().non_retryable());
/// assert_eq!(e.failure().error_type(), Some("PaymentDeclined"));
/// ```
pub struct ActivityError {
    failure: Failure,
}

impl ActivityError {
    /// A retryable error with a message (error type `ActivityError`).
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            failure: Failure::application(message, "ActivityError"),
        }
    }

    /// An error that is never retried.
    pub fn non_retryable(message: impl Into<String>) -> Self {
        Self::retryable(message).with_non_retryable(true)
    }

    /// Sets the error type name (matched by `RetryPolicy::non_retryable_error_types`).
    pub fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.failure = self.failure.with_error_type(error_type);
        self
    }

    /// Marks the error (non-)retryable.
    pub fn with_non_retryable(mut self, non_retryable: bool) -> Self {
        self.failure = self.failure.with_non_retryable(non_retryable);
        self
    }

    /// Attaches a detail value that the workflow (or client) can decode.
    pub fn with_details<T: Serialize>(mut self, details: &T) -> Self {
        match payload::encode(details) {
            Ok(p) => self.failure = self.failure.with_details(vec![p]),
            Err(e) => tracing::warn!(error = %e, "activity error details could not be encoded"),
        }
        self
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: impl Into<ActivityError>) -> Self {
        self.failure = self.failure.with_cause(cause.into().failure);
        self
    }

    /// The Temporal failure this error is reported as.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Converts into the Temporal failure.
    pub fn into_failure(self) -> Failure {
        self.failure
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for ActivityError {
    fn from(error: E) -> Self {
        Self {
            failure: failure_from_error(&error, short_type_name::<E>()),
        }
    }
}

fn failure_from_error(error: &(dyn std::error::Error + 'static), error_type: &str) -> Failure {
    let mut failure = Failure::application(error.to_string(), error_type);
    if let Some(source) = error.source() {
        failure = failure.with_cause(failure_from_error(source, ""));
    }
    failure
}

fn short_type_name<E>() -> &'static str {
    let full = std::any::type_name::<E>();
    let without_generics = full.split('<').next().unwrap_or(full);
    without_generics
        .rsplit("::")
        .next()
        .unwrap_or(without_generics)
}

impl fmt::Display for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.failure.fmt(f)
    }
}

impl fmt::Debug for ActivityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActivityError").field(&self.failure).finish()
    }
}

/// An activity called from a workflow failed (after its retries), timed out or was canceled.
///
/// `?` turns it into a [`WorkflowError`] that keeps the whole cause chain, so the client sees
/// `Activity task failed: card declined (PaymentDeclined)`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{failure}")]
pub struct ActivityFailure {
    failure: Failure,
}

impl ActivityFailure {
    pub(crate) fn new(failure: Failure) -> Self {
        Self { failure }
    }

    /// The whole failure (kind `Activity`, with the cause below it).
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Why the activity failed: the application error, the timeout, or the cancellation.
    pub fn cause(&self) -> Failure {
        self.failure.cause().unwrap_or_else(|| self.failure.clone())
    }

    /// Whether the activity timed out.
    pub fn is_timeout(&self) -> bool {
        self.cause().kind() == FailureKind::Timeout
    }

    /// Whether the activity was canceled.
    pub fn is_canceled(&self) -> bool {
        self.cause().kind() == FailureKind::Canceled
    }
}

/// A child workflow failed, timed out, was canceled or terminated, or could not start.
///
/// `?` turns it into a [`WorkflowError`] keeping the chain:
/// `Child Workflow execution failed: card declined (PaymentDeclined)`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{failure}")]
pub struct ChildWorkflowFailure {
    failure: Failure,
}

impl ChildWorkflowFailure {
    pub(crate) fn new(failure: Failure) -> Self {
        Self { failure }
    }

    /// The whole failure (kind `ChildWorkflow` with the child's failure as cause, or the reason
    /// it could not start).
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Why the child ended: its own failure, its timeout, its cancellation.
    pub fn cause(&self) -> Failure {
        self.failure.cause().unwrap_or_else(|| self.failure.clone())
    }

    /// Whether the child was canceled.
    pub fn is_canceled(&self) -> bool {
        self.failure.involves_cancellation()
    }
}

impl From<ChildWorkflowFailure> for WorkflowError {
    fn from(e: ChildWorkflowFailure) -> Self {
        e.failure.into()
    }
}

/// A signal or cancel request could not reach another workflow (for example, none runs with
/// that id).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{failure}")]
pub struct ExternalWorkflowFailure {
    failure: Failure,
}

impl ExternalWorkflowFailure {
    pub(crate) fn new(failure: Failure) -> Self {
        Self { failure }
    }

    /// The failure.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }
}

impl From<ExternalWorkflowFailure> for WorkflowError {
    fn from(e: ExternalWorkflowFailure) -> Self {
        e.failure.into()
    }
}

/// The error a workflow returns: fails the workflow execution with this failure.
///
/// Unlike [`ActivityError`], it does not convert from every `std::error::Error`: `?` works on
/// the failures of what the workflow awaited ([`ActivityFailure`], [`ChildWorkflowFailure`],
/// [`ExternalWorkflowFailure`], [`Canceled`]) and on [`PayloadError`]. Other errors need a
/// deliberate `map_err(|e| WorkflowError::new(e.to_string()))`, because a workflow's failure is
/// part of its recorded history.
///
/// ```
/// use chronicle::WorkflowError;
/// let e = WorkflowError::new("invoice amount must be positive").with_type("InvalidInvoice");
/// assert_eq!(e.failure().error_type(), Some("InvalidInvoice"));
/// ```
#[derive(Clone, thiserror::Error)]
#[error("{failure}")]
pub struct WorkflowError {
    failure: Failure,
    /// Set by `ctx.continue_as_new(..)`: not a failure, the next run.
    continue_as_new: Option<Box<ContinueAsNew>>,
}

impl WorkflowError {
    /// An application error with a message (error type `WorkflowError`).
    pub fn new(message: impl Into<String>) -> Self {
        Failure::application(message, "WorkflowError").into()
    }

    pub(crate) fn continue_as_new(next: ContinueAsNew) -> Self {
        Self {
            failure: Failure::application(
                format!("continuing as new ({})", next.workflow_type),
                "ContinueAsNew",
            ),
            continue_as_new: Some(Box::new(next)),
        }
    }

    /// The next run, when this is a request to continue as new.
    pub(crate) fn take_continue_as_new(&mut self) -> Option<Box<ContinueAsNew>> {
        self.continue_as_new.take()
    }

    /// Whether this error comes from a cancellation: of the workflow (`Canceled` from a timer
    /// or wait), or of an activity or child workflow it awaited. Returned after the workflow was
    /// asked to cancel, it ends the workflow as canceled rather than failed.
    pub fn is_cancellation(&self) -> bool {
        self.failure.involves_cancellation()
    }

    /// Sets the error type name.
    pub fn with_type(mut self, error_type: impl Into<String>) -> Self {
        self.failure = self.failure.with_error_type(error_type);
        self
    }

    /// Attaches a detail value.
    pub fn with_details<T: Serialize>(mut self, details: &T) -> Self {
        if let Ok(p) = payload::encode(details) {
            self.failure = self.failure.with_details(vec![p]);
        }
        self
    }

    /// The Temporal failure the workflow fails with.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Converts into the Temporal failure.
    pub fn into_failure(self) -> Failure {
        self.failure
    }
}

impl fmt::Debug for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("WorkflowError").field(&self.failure).finish()
    }
}

impl From<ActivityFailure> for WorkflowError {
    fn from(e: ActivityFailure) -> Self {
        e.failure.into()
    }
}

impl From<Failure> for WorkflowError {
    fn from(failure: Failure) -> Self {
        Self {
            failure,
            continue_as_new: None,
        }
    }
}

impl From<PayloadError> for WorkflowError {
    fn from(e: PayloadError) -> Self {
        Failure::application(e.to_string(), "PayloadError")
            .with_non_retryable(true)
            .into()
    }
}

/// What a timer or a wait returns once the workflow has been asked to cancel (outside a non-cancellable scope).
///
/// `?` turns it into a [`WorkflowError`] that ends the workflow as canceled. Or handle it: run
/// cleanup in [`WorkflowContext::non_cancellable`](crate::WorkflowContext::non_cancellable),
/// then return, or carry on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the workflow was asked to cancel")]
pub struct Canceled;

impl From<Canceled> for WorkflowError {
    fn from(_: Canceled) -> Self {
        Failure::canceled("the workflow was asked to cancel").into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn std_errors_keep_their_chain() {
        let e: ActivityError = Outer(std::io::Error::other("disk full")).into();
        assert_eq!(e.failure().error_type(), Some("Outer"));
        assert_eq!(e.failure().chain().len(), 2);
        assert_eq!(e.failure().root_cause().message(), "disk full");
        assert!(!e.failure().non_retryable());
    }

    #[test]
    fn with_type_keeps_flags_and_details() {
        let e = ActivityError::non_retryable("no")
            .with_details(&42)
            .with_type("Declined");
        assert!(e.failure().non_retryable());
        assert_eq!(e.failure().details::<u32>().unwrap().unwrap(), 42);
    }
}
