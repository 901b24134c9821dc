//! Retry policies: the server's defaults and the retry-or-stop decision (study rule 5).

use crate::proto::common::RetryPolicy;
use crate::proto::enums::RetryState;
use crate::proto::failure::{failure::FailureInfo, Failure};
use crate::proto::{duration, duration_ms};

/// The default first retry interval.
const DEFAULT_INITIAL_MS: i64 = 1_000;
/// The default backoff coefficient.
const DEFAULT_COEFFICIENT: f64 = 2.0;
/// The default maximum interval, as a multiple of the initial one.
const DEFAULT_MAX_FACTOR: i64 = 100;

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RetryDecision {
    /// Try again after this many milliseconds.
    Retry {
        /// The backoff.
        delay_ms: i64,
    },
    /// Stop; the activity fails with this retry state.
    Stop(RetryState),
}

/// `policy` with the server's defaults filled in: 1 s initial interval, coefficient 2.0,
/// maximum interval 100× the initial one, unlimited attempts.
pub fn with_defaults(policy: Option<RetryPolicy>) -> RetryPolicy {
    let mut policy = policy.unwrap_or_default();
    let initial = duration_ms(policy.initial_interval.as_ref()).unwrap_or(DEFAULT_INITIAL_MS);
    policy.initial_interval = Some(duration(initial));
    if policy.backoff_coefficient < 1.0 {
        policy.backoff_coefficient = DEFAULT_COEFFICIENT;
    }
    if duration_ms(policy.maximum_interval.as_ref()).is_none() {
        policy.maximum_interval = Some(duration(initial * DEFAULT_MAX_FACTOR));
    }
    policy
}

fn application_info(failure: &Failure) -> Option<&crate::proto::failure::ApplicationFailureInfo> {
    match failure.failure_info.as_ref()? {
        FailureInfo::ApplicationFailureInfo(info) => Some(info),
        _ => None,
    }
}

/// Whether `attempt` (which just failed with `failure`) is retried, and after how long.
/// `deadline_ms` is the schedule-to-close deadline: a retry that would start after it stops
/// with RETRY_STATE_TIMEOUT.
pub fn decide(
    policy: &RetryPolicy,
    attempt: i32,
    failure: Option<&Failure>,
    now_ms: i64,
    deadline_ms: Option<i64>,
) -> RetryDecision {
    if let Some(info) = failure.and_then(application_info) {
        if info.non_retryable || policy.non_retryable_error_types.contains(&info.r#type) {
            return RetryDecision::Stop(RetryState::NonRetryableFailure);
        }
    }
    if policy.maximum_attempts > 0 && attempt >= policy.maximum_attempts {
        return RetryDecision::Stop(RetryState::MaximumAttemptsReached);
    }
    let initial = duration_ms(policy.initial_interval.as_ref()).unwrap_or(DEFAULT_INITIAL_MS);
    let maximum = duration_ms(policy.maximum_interval.as_ref()).unwrap_or(i64::MAX);
    let computed = initial as f64 * policy.backoff_coefficient.powi(attempt.max(1) - 1);
    let mut delay_ms = (computed.min(maximum as f64)) as i64;
    if let Some(next) = failure
        .and_then(application_info)
        .and_then(|info| duration_ms(info.next_retry_delay.as_ref()))
    {
        delay_ms = next;
    }
    if deadline_ms.is_some_and(|deadline| now_ms + delay_ms >= deadline) {
        return RetryDecision::Stop(RetryState::Timeout);
    }
    RetryDecision::Retry { delay_ms }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::failure::ApplicationFailureInfo;

    fn app_failure(kind: &str, non_retryable: bool) -> Failure {
        Failure {
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: kind.into(),
                    non_retryable,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_back_off_exponentially_up_to_the_cap() {
        let policy = with_defaults(None);
        let delays: Vec<_> = [1, 2, 3, 8, 20]
            .iter()
            .map(|&attempt| decide(&policy, attempt, None, 0, None))
            .collect();
        assert_eq!(
            delays,
            [1_000, 2_000, 4_000, 100_000, 100_000]
                .map(|delay_ms| RetryDecision::Retry { delay_ms })
        );
    }

    #[test]
    fn stops_on_attempts_types_flags_and_deadline() {
        let mut policy = with_defaults(None);
        policy.maximum_attempts = 2;
        policy.non_retryable_error_types = vec!["Fatal".into()];
        assert_eq!(
            decide(&policy, 2, None, 0, None),
            RetryDecision::Stop(RetryState::MaximumAttemptsReached)
        );
        let fatal = app_failure("Fatal", false);
        assert_eq!(
            decide(&policy, 1, Some(&fatal), 0, None),
            RetryDecision::Stop(RetryState::NonRetryableFailure)
        );
        let flagged = app_failure("Other", true);
        assert_eq!(
            decide(&policy, 1, Some(&flagged), 0, None),
            RetryDecision::Stop(RetryState::NonRetryableFailure)
        );
        assert_eq!(
            decide(&policy, 1, None, 0, Some(500)),
            RetryDecision::Stop(RetryState::Timeout)
        );
    }
}
