//! How the server retries an activity (or, later, a workflow).

use crate::proto::{self, common};
use std::time::Duration;

/// A retry policy; fields left `None` take the server's defaults (1 s initial interval,
/// coefficient 2, maximum 100 × initial, unlimited attempts).
///
/// ```
/// use chronicle_core::retry_policy::RetryPolicy;
/// use std::time::Duration;
/// let policy = RetryPolicy::default()
///     .initial_interval(Duration::from_millis(100))
///     .maximum_attempts(3)
///     .non_retryable_error_types(["InvalidCard"]);
/// assert_eq!(policy.to_proto().maximum_attempts, 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryPolicy {
    /// Delay before the first retry.
    pub initial_interval: Option<Duration>,
    /// Multiplier for each further retry.
    pub backoff_coefficient: Option<f64>,
    /// Upper bound of the delay.
    pub maximum_interval: Option<Duration>,
    /// Attempts in all, the first included; 0 means unlimited.
    pub maximum_attempts: u32,
    /// Application error types that are never retried.
    pub non_retryable_error_types: Vec<String>,
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn no_retries() -> Self {
        Self::default().maximum_attempts(1)
    }

    /// Sets the delay before the first retry.
    pub fn initial_interval(mut self, d: Duration) -> Self {
        self.initial_interval = Some(d);
        self
    }

    /// Sets the backoff multiplier.
    pub fn backoff_coefficient(mut self, c: f64) -> Self {
        self.backoff_coefficient = Some(c);
        self
    }

    /// Sets the upper bound of the delay.
    pub fn maximum_interval(mut self, d: Duration) -> Self {
        self.maximum_interval = Some(d);
        self
    }

    /// Sets the number of attempts in all (0 = unlimited).
    pub fn maximum_attempts(mut self, n: u32) -> Self {
        self.maximum_attempts = n;
        self
    }

    /// Sets the error types that are never retried.
    pub fn non_retryable_error_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.non_retryable_error_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> common::RetryPolicy {
        common::RetryPolicy {
            initial_interval: self.initial_interval.map(proto::duration),
            backoff_coefficient: self.backoff_coefficient.unwrap_or(0.0),
            maximum_interval: self.maximum_interval.map(proto::duration),
            maximum_attempts: self.maximum_attempts as i32,
            non_retryable_error_types: self.non_retryable_error_types.clone(),
        }
    }
}
