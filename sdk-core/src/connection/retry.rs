//! Which gRPC errors are retried, for how long, and how long to wait between attempts.
//!
//! Every call retries transient errors. What differs is when it gives up ([`RetryUntil`]):
//! ordinary calls after a budget that outlasts a server restart, calls that wait for an outcome
//! (a workflow's result, the answer to a task) at their own deadline or never.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tonic::{Code, Status};

/// Exponential backoff with jitter for transient gRPC errors.
#[derive(Debug, Clone)]
pub struct RetryOptions {
    /// Delay before the first retry.
    pub initial_interval: Duration,
    /// Upper bound of the delay.
    pub max_interval: Duration,
    /// Multiplier applied after each retry.
    pub backoff_coefficient: f64,
    /// Each delay is moved at random by up to this fraction of itself (0.2: ±20 %), so that
    /// workers cut off together do not come back in lockstep.
    pub jitter: f64,
    /// Attempts in all, the first included, for calls with the ordinary budget.
    pub max_attempts: u32,
    /// How long calls with the ordinary budget keep retrying: long enough to ride out a server
    /// restart or a rolling deploy.
    pub max_elapsed: Duration,
}

impl Default for RetryOptions {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_millis(100),
            max_interval: Duration::from_secs(5),
            backoff_coefficient: 2.0,
            jitter: 0.2,
            max_attempts: u32::MAX,
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryOptions {
    /// The delay before retry number `retry` (0-based), without jitter.
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = self.backoff_coefficient.powi(retry.min(64) as i32);
        self.initial_interval.mul_f64(factor).min(self.max_interval)
    }

    /// The delay before retry number `retry`, with jitter applied.
    pub fn jittered_delay(&self, retry: u32) -> Duration {
        let spread = self.jitter.clamp(0.0, 1.0);
        // A factor in [1 - spread, 1 + spread).
        let factor = 1.0 - spread + 2.0 * spread * random_unit();
        self.delay(retry).mul_f64(factor)
    }
}

/// When a call stops retrying transient errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryUntil {
    /// The connection's ordinary budget: [`RetryOptions::max_elapsed`] and
    /// [`RetryOptions::max_attempts`].
    Budget,
    /// This instant: the call's outcome is worthless afterwards (a task token past its
    /// timeout, an activity past its deadline).
    Deadline(Instant),
    /// Never: the caller waits for an outcome for as long as it takes (a workflow's result, a
    /// long poll), and drops the future to give up.
    Forever,
    /// No retry at all.
    Never,
}

/// How one call is made: the deadline of each attempt and when to stop retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallOptions {
    /// Deadline of each attempt, sent to the server; `None`: the connection's
    /// `rpc_timeout`.
    pub timeout: Option<Duration>,
    /// When retrying stops.
    pub retry: RetryUntil,
    /// Whether an attempt that ran out of time is retried. Not for queries: the server holds a
    /// query until a worker answers it, so a query that timed out would only time out again.
    pub retry_deadline_exceeded: bool,
}

impl Default for CallOptions {
    fn default() -> Self {
        Self {
            timeout: None,
            retry: RetryUntil::Budget,
            retry_deadline_exceeded: true,
        }
    }
}

impl CallOptions {
    /// Sets the deadline of each attempt.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets when retrying stops.
    pub fn retry(mut self, retry: RetryUntil) -> Self {
        self.retry = retry;
        self
    }

    /// An attempt that ran out of time is an answer, not a transient error.
    pub fn no_retry_on_deadline(mut self) -> Self {
        self.retry_deadline_exceeded = false;
        self
    }
}

/// The retry bookkeeping of one call.
#[derive(Debug)]
pub(crate) struct Attempts<'a> {
    options: &'a RetryOptions,
    call: CallOptions,
    started: Instant,
    retries: u32,
}

impl<'a> Attempts<'a> {
    pub(crate) fn new(options: &'a RetryOptions, call: CallOptions) -> Self {
        Self {
            options,
            call,
            started: Instant::now(),
            retries: 0,
        }
    }

    /// The delay before retrying after `status`, or `None` when the call must give up.
    pub(crate) fn next_delay(&mut self, status: &Status) -> Option<Duration> {
        if !is_transient(status)
            || (status.code() == Code::DeadlineExceeded && !self.call.retry_deadline_exceeded)
        {
            return None;
        }
        let delay = self.options.jittered_delay(self.retries);
        let now = Instant::now();
        let allowed = match self.call.retry {
            RetryUntil::Never => false,
            RetryUntil::Forever => true,
            RetryUntil::Deadline(deadline) => now + delay < deadline,
            RetryUntil::Budget => {
                self.retries.saturating_add(1) < self.options.max_attempts
                    && now + delay < self.started + self.options.max_elapsed
            }
        };
        self.retries += 1;
        allowed.then_some(delay)
    }

    /// Retries so far.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }
}

/// Whether a gRPC error is worth retrying.
///
/// Besides the codes that say "try again", this includes what a call sees when its connection
/// goes away under it: the server closes every connection now and then (GOAWAY, after
/// `frontend.keepAliveMaxConnectionAge`), and a call caught at that moment ends as `Cancelled`
/// ("connection closed") or `Unknown`/`Internal` with a transport or HTTP/2 error.
pub fn is_transient(status: &Status) -> bool {
    match status.code() {
        Code::Unavailable
        | Code::ResourceExhausted
        | Code::Aborted
        | Code::DeadlineExceeded
        | Code::Cancelled => true,
        Code::Unknown | Code::Internal => {
            let message = status.message().to_ascii_lowercase();
            [
                "transport",
                "h2 protocol",
                "connection",
                "broken pipe",
                "stream",
            ]
            .iter()
            .any(|hint| message.contains(hint))
        }
        _ => false,
    }
}

/// The status of an attempt that ran out of time, whichever side noticed first: tonic reports
/// its own timer as `Cancelled` ("Timeout expired"), which would read as a cut connection.
pub(crate) fn deadline_as_such(status: Status) -> Status {
    if status.code() == Code::Cancelled && status.message() == "Timeout expired" {
        Status::deadline_exceeded(status.message().to_string())
    } else {
        status
    }
}

/// A number in [0, 1), different at every call; for jitter, not for anything that needs good
/// randomness.
fn random_unit() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
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
    fn jitter_stays_within_its_spread_and_varies() {
        let retry = RetryOptions::default();
        let delays: Vec<_> = (0..50).map(|_| retry.jittered_delay(3)).collect();
        for delay in &delays {
            assert!(*delay >= Duration::from_millis(640) && *delay < Duration::from_millis(960));
        }
        assert!(delays.iter().any(|d| *d != delays[0]), "jitter must vary");
    }

    #[test]
    fn transient_codes() {
        assert!(is_transient(&Status::unavailable("x")));
        assert!(is_transient(&Status::cancelled("connection closed")));
        assert!(is_transient(&Status::unknown("transport error")));
        assert!(is_transient(&Status::internal(
            "h2 protocol error: stream reset"
        )));
        assert!(!is_transient(&Status::internal("workflow task failed")));
        assert!(!is_transient(&Status::invalid_argument("x")));
        assert!(!is_transient(&Status::not_found("x")));
    }

    #[test]
    fn the_client_side_timer_reads_as_a_deadline() {
        let status = deadline_as_such(Status::cancelled("Timeout expired"));
        assert_eq!(status.code(), Code::DeadlineExceeded);
        let status = deadline_as_such(Status::cancelled("connection closed"));
        assert_eq!(status.code(), Code::Cancelled);
    }

    #[test]
    fn deadline_exceeded_is_final_when_asked() {
        let options = RetryOptions::default();
        let mut query = Attempts::new(&options, CallOptions::default().no_retry_on_deadline());
        assert_eq!(query.next_delay(&Status::deadline_exceeded("x")), None);
        assert!(query.next_delay(&Status::unavailable("x")).is_some());
    }

    #[test]
    fn budgets_end_where_they_say() {
        let options = RetryOptions {
            max_elapsed: Duration::from_millis(300),
            ..RetryOptions::default()
        };
        let unavailable = Status::unavailable("x");
        let mut budget = Attempts::new(&options, CallOptions::default());
        assert!(budget.next_delay(&unavailable).is_some());
        // 0.1 + 0.2 (±20 %) reaches past 300 ms by the third retry at the latest.
        let given = (0..5)
            .filter_map(|_| budget.next_delay(&unavailable))
            .count();
        assert!(given <= 2, "{given} retries within a 300 ms budget");

        let mut never = Attempts::new(&options, CallOptions::default().retry(RetryUntil::Never));
        assert_eq!(never.next_delay(&unavailable), None);

        let mut forever =
            Attempts::new(&options, CallOptions::default().retry(RetryUntil::Forever));
        assert!((0..100).all(|_| forever.next_delay(&unavailable).is_some()));

        let past = Instant::now();
        let mut deadline = Attempts::new(
            &options,
            CallOptions::default().retry(RetryUntil::Deadline(past)),
        );
        assert_eq!(deadline.next_delay(&unavailable), None);
    }
}
