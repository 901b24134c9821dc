//! Activity calls from workflow code: [`ActivityCall`] (options, then `.await`) and
//! [`ActivityFuture`].

use crate::definition::ActivityDefinition;
use crate::error::ActivityFailure;
use chronicle_core::failure::Failure;
use chronicle_core::payload;
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::workflow::{
    ActivityCancellationType, ActivityHandle, ActivityOptions, ActivityRequest, RunHandle,
};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// An activity call being configured; `.await` it to schedule it and get its result.
#[must_use = "an activity call does nothing until it is awaited"]
pub struct ActivityCall<A: ActivityDefinition> {
    pub(super) run: RunHandle,
    pub(super) input: A::Input,
    pub(super) options: ActivityOptions,
    pub(super) location: &'static Location<'static>,
    pub(super) _activity: PhantomData<A>,
}

impl<A: ActivityDefinition> ActivityCall<A> {
    /// Limit for one attempt.
    pub fn start_to_close(mut self, timeout: Duration) -> Self {
        self.options.start_to_close = Some(timeout);
        self
    }

    /// Limit for the whole activity, retries included.
    pub fn schedule_to_close(mut self, timeout: Duration) -> Self {
        self.options.schedule_to_close = Some(timeout);
        self
    }

    /// Limit for waiting in the task queue.
    pub fn schedule_to_start(mut self, timeout: Duration) -> Self {
        self.options.schedule_to_start = Some(timeout);
        self
    }

    /// Longest gap between heartbeats.
    pub fn heartbeat_timeout(mut self, timeout: Duration) -> Self {
        self.options.heartbeat_timeout = Some(timeout);
        self
    }

    /// How the server retries failed attempts.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.options.retry_policy = Some(policy);
        self
    }

    /// The task queue to schedule on (the workflow's own by default).
    pub fn task_queue(mut self, task_queue: impl Into<String>) -> Self {
        self.options.task_queue = Some(task_queue.into());
        self
    }

    /// What cancelling the call waits for.
    pub fn cancellation_type(mut self, cancellation: ActivityCancellationType) -> Self {
        self.options.cancellation_type = cancellation;
        self
    }

    /// Schedules the activity now (rather than at the first poll) and returns its future.
    pub fn start(self) -> ActivityFuture<A::Output> {
        let input = match A::encode_input(&self.input) {
            Ok(input) => input,
            Err(e) => {
                let failure = Failure::application(
                    format!("could not encode the input of activity {}: {e}", A::NAME),
                    "PayloadError",
                )
                .with_non_retryable(true);
                return ActivityFuture {
                    state: FutureState::Failed(Some(ActivityFailure::new(failure))),
                    activity_type: A::NAME,
                    _output: PhantomData,
                };
            }
        };
        let handle = self.run.schedule_activity_at(
            ActivityRequest {
                activity_type: A::NAME.to_string(),
                input,
                options: self.options,
            },
            self.location,
        );
        ActivityFuture {
            state: FutureState::Scheduled(handle),
            activity_type: A::NAME,
            _output: PhantomData,
        }
    }
}

impl<A: ActivityDefinition> IntoFuture for ActivityCall<A> {
    type Output = Result<A::Output, ActivityFailure>;
    type IntoFuture = ActivityFuture<A::Output>;

    fn into_future(self) -> Self::IntoFuture {
        self.start()
    }
}

enum FutureState {
    Scheduled(ActivityHandle),
    Failed(Option<ActivityFailure>),
}

/// A scheduled activity's result. Dropping it does not cancel the activity; call
/// [`cancel`](Self::cancel) for that.
#[must_use = "futures do nothing unless awaited"]
pub struct ActivityFuture<O> {
    state: FutureState,
    activity_type: &'static str,
    _output: PhantomData<fn() -> O>,
}

impl<O> ActivityFuture<O> {
    /// Requests cancellation with the call's cancellation type.
    pub fn cancel(&self) {
        if let FutureState::Scheduled(handle) = &self.state {
            handle.cancel();
        }
    }
}

impl<O: serde::de::DeserializeOwned> Future for ActivityFuture<O> {
    type Output = Result<O, ActivityFailure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        match &mut this.state {
            FutureState::Failed(failure) => match failure.take() {
                Some(f) => Poll::Ready(Err(f)),
                None => Poll::Pending,
            },
            FutureState::Scheduled(handle) => match Pin::new(handle).poll(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(failure)) => Poll::Ready(Err(ActivityFailure::new(failure))),
                Poll::Ready(Ok(payloads)) => Poll::Ready(
                    payload::decode_single(
                        &payloads,
                        &format!("result of activity {}", this.activity_type),
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

impl<A: ActivityDefinition> fmt::Debug for ActivityCall<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActivityCall")
            .field("activity_type", &A::NAME)
            .field("options", &self.options)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl<O> fmt::Debug for ActivityFuture<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            FutureState::Scheduled(_) => "scheduled",
            FutureState::Failed(_) => "failed before scheduling",
        };
        f.debug_struct("ActivityFuture")
            .field("activity_type", &self.activity_type)
            .field("state", &state)
            .finish()
    }
}
