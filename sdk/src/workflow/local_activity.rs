//! Local activity calls from workflow code: [`LocalActivityCall`] (options, then `.await`) and
//! [`LocalActivityFuture`].
//!
//! A local activity runs in the workflow worker, inside the workflow task, with no activity
//! task of its own: cheaper and faster than an activity for short work, but it holds the
//! workflow task while it runs. Its outcome is recorded in history as a marker, so replay
//! reads it instead of running the activity again.

use crate::definition::ActivityDefinition;
use crate::error::ActivityFailure;
use chronicle_core::failure::Failure;
use chronicle_core::payload;
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::workflow::{
    LocalActivityCall as LocalRequest, LocalActivityHandle, LocalActivityOptions, RunHandle,
};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A local activity call being configured; `.await` it to run it and get its result.
#[must_use = "a local activity call does nothing until it is awaited"]
pub struct LocalActivityCall<A: ActivityDefinition> {
    pub(super) run: RunHandle,
    pub(super) input: A::Input,
    pub(super) options: LocalActivityOptions,
    pub(super) location: &'static Location<'static>,
    pub(super) _activity: PhantomData<A>,
}

impl<A: ActivityDefinition> LocalActivityCall<A> {
    /// Limit for one attempt.
    pub fn start_to_close(mut self, timeout: Duration) -> Self {
        self.options.start_to_close = Some(timeout);
        self
    }

    /// Limit for the whole local activity, retries and backoffs included.
    pub fn schedule_to_close(mut self, timeout: Duration) -> Self {
        self.options.schedule_to_close = Some(timeout);
        self
    }

    /// Limit for waiting to start in the worker.
    pub fn schedule_to_start(mut self, timeout: Duration) -> Self {
        self.options.schedule_to_start = Some(timeout);
        self
    }

    /// How failed attempts are retried (Temporal's default policy when unset).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options.retry_policy = Some(policy);
        self
    }

    /// Retries waiting longer than this wait on a durable timer, in a later workflow task,
    /// instead of inside the current one (default one minute).
    pub fn local_retry_threshold(mut self, threshold: Duration) -> Self {
        self.options.local_retry_threshold = Some(threshold);
        self
    }

    /// Schedules the local activity now (rather than at the first poll) and returns its
    /// future.
    pub fn start(self) -> LocalActivityFuture<A::Output> {
        let input = match A::encode_input(&self.input) {
            Ok(input) => input,
            Err(e) => {
                let failure = Failure::application(
                    format!("could not encode the input of activity {}: {e}", A::NAME),
                    "PayloadError",
                )
                .with_non_retryable(true);
                return LocalActivityFuture {
                    state: State::Failed(Some(ActivityFailure::new(failure))),
                    activity_type: A::NAME,
                    _output: PhantomData,
                };
            }
        };
        let handle = self.run.schedule_local_activity_at(
            LocalRequest {
                activity_type: A::NAME.to_string(),
                input,
                options: self.options,
            },
            self.location,
        );
        LocalActivityFuture {
            state: State::Scheduled(Box::new(handle)),
            activity_type: A::NAME,
            _output: PhantomData,
        }
    }
}

impl<A: ActivityDefinition> IntoFuture for LocalActivityCall<A> {
    type Output = Result<A::Output, ActivityFailure>;
    type IntoFuture = LocalActivityFuture<A::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.start()
    }
}

enum State {
    Scheduled(Box<LocalActivityHandle>),
    Failed(Option<ActivityFailure>),
}

/// A local activity's result, after its retries (those past the local retry threshold wait on
/// durable timers).
#[must_use = "futures do nothing unless awaited"]
pub struct LocalActivityFuture<O> {
    state: State,
    activity_type: &'static str,
    _output: PhantomData<fn() -> O>,
}

impl<O: serde::de::DeserializeOwned> Future for LocalActivityFuture<O> {
    type Output = Result<O, ActivityFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            State::Failed(failure) => match failure.take() {
                Some(f) => Poll::Ready(Err(f)),
                None => Poll::Pending,
            },
            State::Scheduled(handle) => match Pin::new(handle.as_mut()).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(failure)) => Poll::Ready(Err(ActivityFailure::new(failure))),
                Poll::Ready(Ok(payloads)) => Poll::Ready(
                    payload::decode_single(
                        &payloads,
                        &format!("result of local activity {}", this.activity_type),
                    )
                    .map_err(|e| {
                        ActivityFailure::new(
                            Failure::application(e.to_string(), "PayloadError")
                                .with_non_retryable(true),
                        )
                    }),
                ),
            },
        }
    }
}

impl<A: ActivityDefinition> fmt::Debug for LocalActivityCall<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalActivityCall")
            .field("activity_type", &A::NAME)
            .field("options", &self.options)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl<O> fmt::Debug for LocalActivityFuture<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Scheduled(handle) => format!("{handle:?}"),
            State::Failed(_) => "failed before scheduling".to_string(),
        };
        f.debug_struct("LocalActivityFuture")
            .field("activity_type", &self.activity_type)
            .field("state", &state)
            .finish()
    }
}
