//! What workflow code sees: [`WorkflowContext`] and the futures it hands out.

use crate::definition::ActivityDefinition;
use crate::error::ActivityFailure;
use chronicle_core::failure::Failure;
use chronicle_core::payload;
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::workflow::{
    ActivityCancellationType, ActivityHandle, ActivityOptions, ActivityRequest, RunHandle,
    TimerHandle, WorkflowInfo,
};
use std::cell::RefCell;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// The workflow's window on the world: activities, timers, time, and its own state `W`.
///
/// Everything here is deterministic: on replay the same calls produce the same commands and
/// see the same results.
pub struct WorkflowContext<W> {
    run: RunHandle,
    state: Rc<RefCell<W>>,
}

impl<W> Clone for WorkflowContext<W> {
    fn clone(&self) -> Self {
        Self {
            run: self.run.clone(),
            state: self.state.clone(),
        }
    }
}

impl<W> WorkflowContext<W> {
    pub(crate) fn new(run: RunHandle, state: W) -> Self {
        Self {
            run,
            state: Rc::new(RefCell::new(state)),
        }
    }

    /// Facts about this run: ids, type, task queue, attempt, start time.
    pub fn info(&self) -> Rc<WorkflowInfo> {
        self.run.info()
    }

    /// Workflow time: when the current workflow task started. Use it instead of
    /// `SystemTime::now()`, which would differ on replay.
    pub fn now(&self) -> SystemTime {
        self.run.now()
    }

    /// Whether the code is re-running recorded history (e.g. to skip logging).
    pub fn is_replaying(&self) -> bool {
        self.run.is_replaying()
    }

    /// Calls an activity; set options on the returned call, then `.await` it.
    ///
    /// ```ignore
    /// let greeting = ctx
    ///     .activity(compose_greeting, name)
    ///     .start_to_close(Duration::from_secs(10))
    ///     .await?;
    /// ```
    #[track_caller]
    pub fn activity<A: ActivityDefinition>(&self, activity: A, input: A::Input) -> ActivityCall<A> {
        let _ = activity;
        ActivityCall {
            run: self.run.clone(),
            input,
            options: ActivityOptions::default(),
            location: Location::caller(),
            _activity: PhantomData,
        }
    }

    /// A durable timer: the workflow sleeps for `duration` of workflow time, surviving worker
    /// restarts. Use it instead of `tokio::time::sleep`.
    #[track_caller]
    pub fn sleep(&self, duration: Duration) -> Timer {
        Timer {
            handle: self.run.start_timer(duration),
        }
    }

    /// A random number, the same on every replay of this run (seeded from the run id). Use it
    /// instead of `rand`, whose numbers would differ on replay.
    ///
    /// ```ignore
    /// let jitter = Duration::from_millis(ctx.random() % 1_000);
    /// ```
    pub fn random(&self) -> u64 {
        self.run.random_u64()
    }

    /// A random (version 4) UUID, the same on every replay of this run. Use it instead of
    /// `Uuid::new_v4()`, e.g. for idempotency keys passed to activities.
    pub fn uuid(&self) -> uuid::Uuid {
        let high = self.random().to_be_bytes();
        let low = self.random().to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&high);
        bytes[8..].copy_from_slice(&low);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Runs `compute` once, the first time the workflow gets here, and records its value in
    /// history; every replay returns the recorded value without running `compute`.
    ///
    /// For small nondeterministic values that do not deserve an activity (a generated id, a
    /// quick read of local configuration). `compute` must not fail or block; anything that may
    /// belongs in an activity, which is retried.
    ///
    /// ```ignore
    /// let started_on: String = ctx.side_effect(|| hostname());
    /// ```
    ///
    /// # Panics
    /// When the value cannot be encoded as JSON, or the recorded value does not decode as `T`
    /// (the code changed the side effect's type): both fail the workflow task, like a
    /// nondeterminism error, and the workflow waits for fixed code.
    #[track_caller]
    pub fn side_effect<T, F>(&self, compute: F) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> T,
    {
        let recorded = self.run.side_effect(|| match payload::encode(&compute()) {
            Ok(value) => value,
            Err(e) => panic!("the value of a side effect could not be encoded: {e}"),
        });
        match payload::decode(&recorded, "the recorded value of a side effect") {
            Ok(value) => value,
            Err(e) => panic!("{e}"),
        }
    }

    /// Whether to take the new code path of a change identified by `patch_id`.
    ///
    /// New runs, and runs that already took the patched path, get `true`; runs that started
    /// before the change and are replaying up to this point get `false`, so they keep doing
    /// what their history says. The decision is recorded in history as a patch marker (the
    /// format of Temporal's other SDKs, so patched histories replay across them).
    ///
    /// ```ignore
    /// if ctx.patched("send-sms") {
    ///     ctx.activity(send_sms, phone).await?;
    /// } else {
    ///     ctx.activity(send_email, address).await?;
    /// }
    /// ```
    ///
    /// Once no run that could take the old path remains, replace the call with
    /// [`deprecate_patch`](Self::deprecate_patch) and drop the old branch; later, remove that
    /// call too.
    #[track_caller]
    pub fn patched(&self, patch_id: &str) -> bool {
        self.run.patched(patch_id, false)
    }

    /// Marks a patch whose old code path is gone: replays histories that recorded the patch
    /// and histories that did not, and records the patch as deprecated for new runs.
    #[track_caller]
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.run.patched(patch_id, true);
    }

    /// Reads the workflow's state.
    pub fn state<R>(&self, read: impl FnOnce(&W) -> R) -> R {
        read(&self.state.borrow())
    }

    /// Changes the workflow's state. The borrow ends with the closure, so it can never be held
    /// across an `.await`.
    pub fn update<R>(&self, change: impl FnOnce(&mut W) -> R) -> R {
        let result = change(&mut self.state.borrow_mut());
        self.run.state_changed();
        result
    }

    /// Waits until `condition` holds for the workflow's state, typically after a signal.
    ///
    /// The condition is checked at once, then again whenever the state may have changed (a
    /// signal, an [`update`](Self::update), a new workflow task), always at the same points on
    /// replay. It must read only the state it is given.
    ///
    /// ```ignore
    /// ctx.wait_until(|s| s.approved).await;
    /// ```
    pub fn wait_until<F: FnMut(&W) -> bool>(&self, condition: F) -> WaitUntil<W, F> {
        WaitUntil {
            run: self.run.clone(),
            state: self.state.clone(),
            condition,
        }
    }

    /// Waits until `condition` holds or `timeout` of workflow time passes, whichever comes
    /// first: `true` when the condition held, `false` on timeout.
    ///
    /// The timeout is a durable timer (canceled when the condition wins), exactly what the
    /// other Temporal SDKs record for the same wait.
    ///
    /// ```ignore
    /// while !ctx.wait_until_timeout(|s| s.paid.is_some(), reminder_interval).await {
    ///     ctx.activity(send_reminder, invoice.id.clone()).await?;
    /// }
    /// ```
    #[track_caller]
    pub fn wait_until_timeout<F: FnMut(&W) -> bool>(
        &self,
        condition: F,
        timeout: Duration,
    ) -> WaitUntilTimeout<W, F> {
        WaitUntilTimeout {
            wait: self.wait_until(condition),
            timeout,
            location: Location::caller(),
            timer: None,
        }
    }
}

/// Resolves when a condition on the workflow state holds; made by
/// [`WorkflowContext::wait_until`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitUntil<W, F> {
    run: RunHandle,
    state: Rc<RefCell<W>>,
    condition: F,
}

impl<W, F: FnMut(&W) -> bool> WaitUntil<W, F> {
    fn holds(&mut self) -> bool {
        (self.condition)(&self.state.borrow())
    }
}

// No field is structurally pinned.
impl<W, F> Unpin for WaitUntil<W, F> {}

impl<W, F: FnMut(&W) -> bool> Future for WaitUntil<W, F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.holds() {
            return Poll::Ready(());
        }
        this.run.wait_for_change(cx.waker());
        Poll::Pending
    }
}

/// Resolves to `true` when a condition on the workflow state holds, `false` when the timeout
/// fires first; made by [`WorkflowContext::wait_until_timeout`].
#[must_use = "futures do nothing unless awaited"]
pub struct WaitUntilTimeout<W, F> {
    wait: WaitUntil<W, F>,
    timeout: Duration,
    location: &'static Location<'static>,
    /// Started at the first poll.
    timer: Option<TimerHandle>,
}

impl<W, F> Unpin for WaitUntilTimeout<W, F> {}

impl<W, F: FnMut(&W) -> bool> Future for WaitUntilTimeout<W, F> {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.get_mut();
        let (run, timeout, location) = (&this.wait.run, this.timeout, this.location);
        let timer = this
            .timer
            .get_or_insert_with(|| run.start_timer_at(timeout, location));
        // When both happen in the same workflow task, the condition wins: what the code waited
        // for did happen.
        if this.wait.holds() {
            timer.cancel();
            return Poll::Ready(true);
        }
        match Pin::new(timer).poll(cx) {
            Poll::Ready(_) => Poll::Ready(false),
            Poll::Pending => {
                this.wait.run.wait_for_change(cx.waker());
                Poll::Pending
            }
        }
    }
}

/// An activity call being configured; `.await` it to schedule it and get its result.
#[must_use = "an activity call does nothing until it is awaited"]
pub struct ActivityCall<A: ActivityDefinition> {
    run: RunHandle,
    input: A::Input,
    options: ActivityOptions,
    location: &'static Location<'static>,
    _activity: PhantomData<A>,
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

/// A durable timer started by [`WorkflowContext::sleep`].
#[must_use = "a timer does nothing for the workflow unless awaited"]
pub struct Timer {
    handle: TimerHandle,
}

impl Timer {
    /// Cancels the timer; awaiting it then completes at once.
    pub fn cancel(&self) {
        self.handle.cancel();
    }
}

impl Future for Timer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().handle).poll(cx).map(|_| ())
    }
}
