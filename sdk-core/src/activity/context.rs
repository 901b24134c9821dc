use super::Heartbeater;
use crate::payload::{self, Payload, PayloadError};
use serde::{de::DeserializeOwned, Serialize};
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Shared values a worker hands to every activity (a database pool, an HTTP client...).
#[derive(Clone, Default)]
pub struct AppData(Arc<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

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

/// What an activity receives: its info, heartbeats, and the worker's shared data.
///
/// The body of an activity (with `chronicle`, annotated `#[activity]` and returning
/// `Result<T, ActivityError>`):
///
/// ```no_run
/// use chronicle_core::activity::ActivityContext;
///
/// async fn charge(ctx: ActivityContext, amount: u64) -> Result<(), String> {
///     tracing::info!(attempt = ctx.info().attempt, amount, "charging");
///     ctx.heartbeat(&"half way");
///     Ok(())
/// }
/// ```
#[derive(Clone)]
pub struct ActivityContext {
    info: Arc<ActivityInfo>,
    heartbeat_details: Arc<Vec<Payload>>,
    heartbeater: Option<Heartbeater>,
    data: AppData,
}

impl ActivityContext {
    pub(crate) fn new(
        info: ActivityInfo,
        heartbeat_details: Vec<Payload>,
        heartbeater: Option<Heartbeater>,
        data: AppData,
    ) -> Self {
        Self {
            info: Arc::new(info),
            heartbeat_details: Arc::new(heartbeat_details),
            heartbeater,
            data,
        }
    }

    /// A context for calling an activity body directly in a unit test (no server).
    pub fn for_test(info: ActivityInfo) -> Self {
        Self::new(info, Vec::new(), None, AppData::default())
    }

    /// Facts about this attempt.
    pub fn info(&self) -> &ActivityInfo {
        &self.info
    }

    /// Records progress; sent to the server at most once per throttle interval.
    ///
    /// Details recorded in a failed attempt come back in the next one through
    /// [`last_heartbeat_details`](Self::last_heartbeat_details).
    pub fn heartbeat<T: Serialize + ?Sized>(&self, details: &T) {
        let Some(heartbeater) = &self.heartbeater else {
            return;
        };
        match payload::encode(details) {
            Ok(p) => heartbeater.record(vec![p]),
            Err(e) => tracing::warn!(error = %e, "heartbeat details could not be encoded"),
        }
    }

    /// Resolves when the server asks, through a heartbeat response, to cancel this activity,
    /// or answers a heartbeat with "not found" (the attempt timed out, or the workflow closed);
    /// never without heartbeats. Race it with the work, stop, and return an error: the attempt
    /// is then reported as canceled.
    ///
    /// ```no_run
    /// # use chronicle_core::activity::ActivityContext;
    /// # async fn do_the_work(_: &ActivityContext) -> Result<u64, String> { Ok(1) }
    /// # async fn f(ctx: ActivityContext) -> Result<u64, String> {
    /// tokio::select! {
    ///     biased;
    ///     _ = ctx.cancelled() => Err("canceled".to_string()),
    ///     result = do_the_work(&ctx) => result,
    /// }
    /// # }
    /// ```
    pub async fn cancelled(&self) {
        match &self.heartbeater {
            Some(heartbeater) => heartbeater.cancelled().await,
            None => std::future::pending().await,
        }
    }

    /// Whether the server asked, through a heartbeat response, to cancel this activity.
    pub fn is_cancel_requested(&self) -> bool {
        self.heartbeater
            .as_ref()
            .is_some_and(Heartbeater::cancel_requested)
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
