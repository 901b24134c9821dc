use super::attempt::{Attempt, WillCompleteAsync};
use super::CancellationReason;
use crate::payload::{self, Payload, PayloadError};
use serde::{de::DeserializeOwned, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Shared values a worker hands to every activity (a database pool, an HTTP client...).
#[derive(Clone, Default)]
pub struct AppData(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl std::fmt::Debug for AppData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppData")
            .field("values", &self.0.len())
            .finish()
    }
}

impl AppData {
    /// Adds a value, replacing any earlier value of the same type.
    pub fn insert<T: Any + Send + Sync>(&mut self, value: T) {
        Arc::make_mut(&mut self.0).insert(TypeId::of::<T>(), Arc::new(value));
    }

    /// The value of type `T`, if one was added.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.0
            .get(&TypeId::of::<T>())
            .and_then(|v| v.clone().downcast::<T>().ok())
    }
}

/// Facts about the running activity attempt.
#[derive(Debug, Clone)]
pub struct ActivityInfo {
    /// The activity id (unique within its workflow run).
    pub activity_id: String,
    /// The activity type name.
    pub activity_type: String,
    /// The attempt, starting at 1.
    pub attempt: u32,
    /// The calling workflow's id.
    pub workflow_id: String,
    /// The calling workflow's run id.
    pub run_id: String,
    /// The calling workflow's type.
    pub workflow_type: String,
    /// The namespace.
    pub namespace: String,
    /// The task queue this attempt was polled from.
    pub task_queue: String,
    /// When the activity was first scheduled.
    pub scheduled_time: Option<SystemTime>,
    /// When this attempt was scheduled.
    pub current_attempt_scheduled_time: Option<SystemTime>,
    /// When this attempt started.
    pub started_time: Option<SystemTime>,
    /// The start-to-close timeout (`None` when unset; the server sends unset as zero).
    pub start_to_close_timeout: Option<Duration>,
    /// The schedule-to-close timeout (`None` when unset).
    pub schedule_to_close_timeout: Option<Duration>,
    /// The heartbeat timeout.
    pub heartbeat_timeout: Option<Duration>,
    /// The task token that identifies this attempt to the server.
    pub task_token: Vec<u8>,
}

impl ActivityInfo {
    /// When this attempt must finish: the earlier of start-to-close and schedule-to-close.
    pub fn deadline(&self) -> Option<SystemTime> {
        let by_start = self
            .started_time
            .zip(self.start_to_close_timeout)
            .map(|(t, d)| t + d);
        let by_schedule = self
            .scheduled_time
            .zip(self.schedule_to_close_timeout)
            .map(|(t, d)| t + d);
        match (by_start, by_schedule) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// What an activity receives: its info, heartbeats, cancellation, and the worker's shared data.
///
/// ```no_run
/// use chronicle_core::activity::ActivityContext;
/// async fn charge(ctx: ActivityContext, amount: u64) {
///     tracing::info!(attempt = ctx.info().attempt, amount, "charging");
///     ctx.heartbeat(&"half way");
/// }
/// ```
#[derive(Clone)]
pub struct ActivityContext {
    info: Arc<ActivityInfo>,
    heartbeat_details: Arc<Vec<Payload>>,
    attempt: Attempt,
    data: AppData,
}

impl std::fmt::Debug for ActivityContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityContext")
            .field("activity_type", &self.info.activity_type)
            .field("activity_id", &self.info.activity_id)
            .field("attempt", &self.info.attempt)
            .field("workflow_id", &self.info.workflow_id)
            .finish_non_exhaustive()
    }
}

impl ActivityContext {
    pub(crate) fn new(
        info: ActivityInfo,
        heartbeat_details: Vec<Payload>,
        attempt: Attempt,
        data: AppData,
    ) -> Self {
        Self {
            info: Arc::new(info),
            heartbeat_details: Arc::new(heartbeat_details),
            attempt,
            data,
        }
    }

    /// A context for calling an activity body directly in a unit test (no server): heartbeats
    /// go nowhere, and it is cancelled only by [`cancel_for_test`](Self::cancel_for_test).
    pub fn for_test(info: ActivityInfo) -> Self {
        Self::new(info, Vec::new(), Attempt::default(), AppData::default())
    }

    /// In a unit test, asks the activity to stop as the worker would for `reason`; false if a
    /// reason was already set (the first one stays).
    pub fn cancel_for_test(&self, reason: CancellationReason) -> bool {
        self.attempt.cancel.cancel(reason)
    }

    /// Facts about this attempt.
    pub fn info(&self) -> &ActivityInfo {
        &self.info
    }

    /// Records progress; sent to the server at once, then at most once per throttle interval
    /// (0.8 × the heartbeat timeout, at most a minute; 30 s without a heartbeat timeout), the
    /// latest details winning. The last details also go with the attempt's result.
    ///
    /// Details recorded in a failed attempt come back in the next one through
    /// [`last_heartbeat_details`](Self::last_heartbeat_details). Heartbeat responses are how
    /// cancellation, pause and reset reach a running attempt: an activity that never
    /// heartbeats only learns of a worker shutdown.
    pub fn heartbeat<T: Serialize + ?Sized>(&self, details: &T) {
        let Some(heartbeater) = &self.attempt.heartbeater else {
            return;
        };
        match payload::encode(details) {
            Ok(p) => heartbeater.record(vec![p]),
            Err(e) => tracing::warn!(error = %e, "heartbeat details could not be encoded"),
        }
    }

    /// Resolves, with the reason, when this attempt is asked to stop: the workflow asked to
    /// cancel it, an operator paused or reset it, the server no longer knows it (it timed out,
    /// or the workflow closed), or the worker is shutting down. All but the last arrive as
    /// heartbeat responses, so only a heartbeating activity sees them. Race it with the work,
    /// stop, and return an error: the attempt is then reported as the reason asks (see
    /// [`CancellationReason`]).
    ///
    /// ```no_run
    /// use chronicle_core::activity::ActivityContext;
    /// async fn work(ctx: ActivityContext) -> Result<(), String> {
    ///     loop {
    ///         ctx.heartbeat(&"working");
    ///         tokio::select! {
    ///             reason = ctx.cancelled() => return Err(format!("stopped: {reason}")),
    ///             _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
    ///         }
    ///     }
    /// }
    /// ```
    pub async fn cancelled(&self) -> CancellationReason {
        self.attempt.cancel.cancelled().await
    }

    /// Why this attempt was asked to stop, if it was (see [`cancelled`](Self::cancelled)).
    pub fn cancellation_reason(&self) -> Option<CancellationReason> {
        self.attempt.cancel.reason()
    }

    /// Whether this attempt was asked to stop, for any reason (see
    /// [`cancellation_reason`](Self::cancellation_reason)).
    pub fn is_cancel_requested(&self) -> bool {
        self.cancellation_reason().is_some()
    }

    /// Says this activity will be completed later, by a client holding its task token
    /// (`info().task_token`) or its workflow and activity ids. Return it as the activity's
    /// error: the worker then reports nothing and frees the slot, and the activity stays open
    /// on the server until the client completes, fails or cancels it, or it times out.
    ///
    /// ```no_run
    /// use chronicle_core::activity::{ActivityContext, WillCompleteAsync};
    /// async fn approve(ctx: ActivityContext) -> Result<String, WillCompleteAsync> {
    ///     let token = ctx.info().task_token.clone();
    ///     // ... hand `token` to the system that will complete the activity ...
    ///     # drop(token);
    ///     Err(ctx.will_complete_async())
    /// }
    /// ```
    ///
    /// With `chronicle`'s `#[activity]` functions: `return Err(ctx.will_complete_async().into())`.
    /// Returning it without this call, or returning `Ok` or another error after it, is an
    /// ordinary result, reported as usual.
    pub fn will_complete_async(&self) -> WillCompleteAsync {
        self.attempt.will_complete_async()
    }

    /// The details of the previous attempt's last heartbeat, if it sent any.
    pub fn last_heartbeat_details<T: DeserializeOwned>(&self) -> Option<Result<T, PayloadError>> {
        self.heartbeat_details
            .first()
            .map(|p| payload::decode(p, "last heartbeat details"))
    }

    /// A value the worker was given with `Worker::data`, by type.
    pub fn data<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.data.get::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::super::attempt::WILL_COMPLETE_ASYNC_TYPE;
    use super::*;
    use crate::failure::Failure;

    fn info() -> ActivityInfo {
        ActivityInfo {
            activity_id: "1".into(),
            activity_type: "charge".into(),
            attempt: 1,
            workflow_id: "wf".into(),
            run_id: "run".into(),
            workflow_type: "Billing".into(),
            namespace: "default".into(),
            task_queue: "q".into(),
            scheduled_time: None,
            current_attempt_scheduled_time: None,
            started_time: None,
            start_to_close_timeout: None,
            schedule_to_close_timeout: None,
            heartbeat_timeout: None,
            task_token: vec![1, 2, 3],
        }
    }

    #[tokio::test]
    async fn a_test_context_is_cancelled_with_the_reason_given() {
        let ctx = ActivityContext::for_test(info());
        assert_eq!(ctx.cancellation_reason(), None);
        assert!(!ctx.is_cancel_requested());
        let waiting = tokio::spawn({
            let ctx = ctx.clone();
            async move { ctx.cancelled().await }
        });
        assert!(ctx.cancel_for_test(CancellationReason::Reset));
        assert!(!ctx.cancel_for_test(CancellationReason::Paused));
        assert_eq!(waiting.await.unwrap(), CancellationReason::Reset);
        assert_eq!(ctx.cancellation_reason(), Some(CancellationReason::Reset));
        assert!(ctx.is_cancel_requested());
        // Heartbeats without a server go nowhere, without failing.
        ctx.heartbeat(&"progress");
    }

    #[test]
    fn only_the_marker_after_the_call_hands_the_attempt_off() {
        let ctx = ActivityContext::for_test(info());
        let marker =
            |e: WillCompleteAsync| Failure::application(e.to_string(), WILL_COMPLETE_ASYNC_TYPE);
        let other = Failure::application("boom", "MyError");
        // A failure of the marker's type alone is an ordinary failure.
        let forged = Failure::application("x", WILL_COMPLETE_ASYNC_TYPE);
        assert!(!ctx.attempt.completes_async(&forged));
        let failure = marker(ctx.will_complete_async());
        assert!(ctx.attempt.completes_async(&failure));
        assert!(!ctx.attempt.completes_async(&other));
    }
}
