//! Which gRPC errors are retried, and how long to wait between attempts.

use std::time::Duration;
use tonic::{Code, Status};

/// Exponential backoff for transient gRPC errors.
#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Delay before the first retry.
    pub initial_interval: Duration,
    /// Upper bound of the delay.
    pub max_interval: Duration,
    /// Multiplier applied after each retry.
    pub backoff_coefficient: f64,
    /// Attempts in all, the first included.
    pub max_attempts: u32,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            backoff_coefficient: 2.0,
            max_attempts: 10,
        }
    }
}

impl RetryOptions {
    /// The delay before retry number `retry` (0-based).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self.backoff_coefficient.powi(retry.min(64) as i32);
        self.initial_interval.mul_f64(factor).min(self.max_interval)
    }
}

/// Whether a gRPC error is worth retrying.
pub fn is_transient(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::ResourceExhausted | Code::Aborted | Code::DeadlineExceeded
    ) || (status.code() == Code::Unknown && status.message().contains("transport"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let retry = RetryOptions::default();
        assert_eq!(retry.delay(0), Duration::from_millis(100));
        assert_eq!(retry.delay(1), Duration::from_millis(200));
        assert_eq!(retry.delay(30), Duration::from_secs(5));
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient(&Status::unavailable("x")));
        assert!(!is_transient(&Status::invalid_argument("x")));
    }
}
