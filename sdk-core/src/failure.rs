//! Failures as Temporal represents them: a message, a kind, and a cause chain.
//!
//! [`Failure`] wraps the protobuf message losslessly (so nothing another SDK put in it is lost on
//! the way through) and adds the accessors Rust code wants.

use crate::payload::{self, Payload, PayloadError};
use crate::proto::failure::{self as pb, failure::FailureInfo};
use serde::de::DeserializeOwned;
use std::fmt;

/// The value of a failure's `source` field for failures Chronicle creates.
pub const SOURCE: &str = "ChronicleRustSDK";

/// A Temporal failure with its cause chain.
///
/// Boxed: the message is large, and failures travel inside `Result`s on hot paths.
#[derive(Clone, PartialEq)]
pub struct Failure(Box<pb::Failure>);

/// What kind of failure this is, from its `failure_info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Raised by user code (an activity's or workflow's error).
    Application,
    /// A timeout (start-to-close, schedule-to-close, schedule-to-start, heartbeat).
    Timeout,
    /// Cancellation.
    Canceled,
    /// Termination by a client.
    Terminated,
    /// Raised by the server.
    Server,
    /// An activity failed; its cause says why.
    Activity,
    /// A child workflow failed; its cause says why.
    ChildWorkflow,
    /// Anything else (reset, Nexus, or a kind newer than this SDK).
    Other,
}

impl Failure {
    /// An application failure with a message and an error type name.
    pub fn application(message: impl Into<String>, error_type: impl Into<String>) -> Self {
        Failure::from_proto(pb::Failure {
            message: message.into(),
            source: SOURCE.to_string(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                pb::ApplicationFailureInfo {
                    r#type: error_type.into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        })
    }

    /// A cancellation.
    pub fn canceled(message: impl Into<String>) -> Self {
        Failure::from_proto(pb::Failure {
            message: message.into(),
            source: SOURCE.to_string(),
            failure_info: Some(FailureInfo::CanceledFailureInfo(
                pb::CanceledFailureInfo::default(),
            )),
            ..Default::default()
        })
    }

    /// Marks an application failure as not retryable.
    pub fn with_non_retryable(mut self, non_retryable: bool) -> Self {
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &mut self.0.failure_info {
            info.non_retryable = non_retryable;
        }
        self
    }

    /// Sets the error type name of an application failure.
    pub fn with_error_type(mut self, error_type: impl Into<String>) -> Self {
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &mut self.0.failure_info {
            info.r#type = error_type.into();
        }
        self
    }

    /// Attaches details to an application failure.
    pub fn with_details(mut self, details: Vec<Payload>) -> Self {
        if let Some(FailureInfo::ApplicationFailureInfo(info)) = &mut self.0.failure_info {
            info.details = payload::to_payloads(details);
        }
        self
    }

    /// Sets the cause.
    pub fn with_cause(mut self, cause: Failure) -> Self {
        self.0.cause = Some(cause.0);
        self
    }

    /// Sets the stack trace text.
    pub fn with_stack_trace(mut self, trace: impl Into<String>) -> Self {
        self.0.stack_trace = trace.into();
        self
    }

    /// The failure's message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The failure's kind.
    pub fn kind(&self) -> FailureKind {
        match &self.0.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(_)) => FailureKind::Application,
            Some(FailureInfo::TimeoutFailureInfo(_)) => FailureKind::Timeout,
            Some(FailureInfo::CanceledFailureInfo(_)) => FailureKind::Canceled,
            Some(FailureInfo::TerminatedFailureInfo(_)) => FailureKind::Terminated,
            Some(FailureInfo::ServerFailureInfo(_)) => FailureKind::Server,
            Some(FailureInfo::ActivityFailureInfo(_)) => FailureKind::Activity,
            Some(FailureInfo::ChildWorkflowExecutionFailureInfo(_)) => FailureKind::ChildWorkflow,
            _ => FailureKind::Other,
        }
    }

    /// The application error type name, for application failures.
    pub fn error_type(&self) -> Option<&str> {
        match &self.0.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => Some(&info.r#type),
            _ => None,
        }
    }

    /// Whether an application or server failure was marked non-retryable.
    pub fn non_retryable(&self) -> bool {
        match &self.0.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => info.non_retryable,
            Some(FailureInfo::ServerFailureInfo(info)) => info.non_retryable,
            _ => false,
        }
    }

    /// Decodes the first detail payload of an application failure.
    pub fn details<T: DeserializeOwned>(&self) -> Option<Result<T, PayloadError>> {
        match &self.0.failure_info {
            Some(FailureInfo::ApplicationFailureInfo(info)) => info
                .details
                .as_ref()
                .and_then(|d| d.payloads.first())
                .map(|p| payload::decode(p, "failure details")),
            _ => None,
        }
    }

    /// The direct cause, if any.
    pub fn cause(&self) -> Option<Failure> {
        self.0.cause.clone().map(Failure)
    }

    /// This failure followed by its causes, outermost first.
    pub fn chain(&self) -> Vec<Failure> {
        let mut out = vec![self.clone()];
        while let Some(next) = out.last().and_then(Failure::cause) {
            out.push(next);
        }
        out
    }

    /// The innermost cause (the failure itself when it has none).
    pub fn root_cause(&self) -> Failure {
        self.chain().pop().unwrap_or_else(|| self.clone())
    }

    /// Whether this failure or one of its causes is a cancellation.
    pub fn involves_cancellation(&self) -> bool {
        self.chain()
            .iter()
            .any(|f| f.kind() == FailureKind::Canceled)
    }

    /// Wraps a protobuf failure, reading back the message and stack trace of any level that
    /// another SDK encoded into `encoded_attributes` (see
    /// [`DataConverter::encode_failure_attributes`](crate::payload::DataConverter::encode_failure_attributes)).
    pub fn from_proto(mut failure: pb::Failure) -> Self {
        payload::decode_failure_attributes(&mut failure);
        Failure(Box::new(failure))
    }

    /// The underlying protobuf message.
    pub fn as_proto(&self) -> &pb::Failure {
        &self.0
    }

    /// Converts into the protobuf message.
    pub fn into_proto(self) -> pb::Failure {
        *self.0
    }
}

impl From<pb::Failure> for Failure {
    fn from(f: pb::Failure) -> Self {
        Failure::from_proto(f)
    }
}

impl fmt::Display for Failure {
    /// Writes the chain as `message (Type): cause message (Type): ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, failure) in self.chain().iter().enumerate() {
            if i > 0 {
                f.write_str(": ")?;
            }
            f.write_str(failure.message())?;
            match failure.error_type() {
                Some(t) if !t.is_empty() => write!(f, " ({t})")?,
                _ => {}
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("message", &self.message())
            .field("kind", &self.kind())
            .field("error_type", &self.error_type())
            .field("non_retryable", &self.non_retryable())
            .field("cause", &self.cause())
            .finish()
    }
}

impl std::error::Error for Failure {}

/// Text of a caught panic's payload.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic with a non-string payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_and_display() {
        let inner = Failure::application("card declined", "PaymentError").with_non_retryable(true);
        let outer = Failure::application("activity failed", "").with_cause(inner);
        assert_eq!(outer.chain().len(), 2);
        assert!(outer.root_cause().non_retryable());
        assert_eq!(
            outer.to_string(),
            "activity failed: card declined (PaymentError)"
        );
    }
}
