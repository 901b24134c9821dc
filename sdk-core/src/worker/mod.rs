//! The polling worker: workflow-task and activity-task pollers for one task queue.
//!
//! Each poller loop takes a concurrency permit before it polls, so a busy worker stops asking
//! for work it could not start; the task's handler holds the permit until it has answered the
//! server. Shutdown stops the pollers, then waits (bounded) for the handlers to finish.

mod activity_task;
mod cache;
mod heartbeat;
mod local_activity;
mod poller;
mod run_host;
mod shutdown;
mod sticky;
mod task_failures;
mod workflow_task;

pub use run_host::THREAD_NAME as WORKFLOW_THREAD_NAME;
pub use shutdown::ShutdownHandle;
pub use sticky::EVICT_AFTER_EVERY_TASK_ENV;

use crate::activity::{ActivityFactory, AppData};
use crate::connection::{CallOptions, Connection, RetryUntil};
use crate::proto::enums::TaskQueueType;
use crate::proto::workflowservice::{DescribeNamespaceRequest, ShutdownWorkerRequest};
use crate::workflow::{ActivityOptions, WorkflowFactory};
use poller::PollerControl;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use task_failures::TaskFailureLog;
use tokio::sync::Semaphore;

/// How a worker polls and how much it runs at once.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The task queue to poll.
    pub task_queue: String,
    /// Concurrent workflow-task pollers.
    pub workflow_pollers: usize,
    /// Concurrent activity-task pollers.
    pub activity_pollers: usize,
    /// Workflow tasks processed at once.
    pub max_concurrent_workflow_tasks: usize,
    /// Activities run at once.
    pub max_concurrent_activities: usize,
    /// The grace period of shutdown: how long in-flight workflow tasks and activities may take
    /// to finish once shutdown begins. Activities still running after it are cancelled
    /// (heartbeating ones see it through `ActivityContext::cancelled`).
    pub shutdown_timeout: Duration,
    /// Start-to-close timeout of activities that set neither it nor schedule-to-close.
    pub default_activity_start_to_close: Duration,
    /// Most activities one workflow task may ask the server to hand straight back to this
    /// worker (eager dispatch, saving a poll each); 0 turns it off.
    pub max_eager_activities_per_task: usize,
    /// Logging fallback, Prometheus endpoint and worker heartbeats.
    pub telemetry: crate::telemetry::TelemetryOptions,
    /// Most workflow runs kept in memory between their workflow tasks (the sticky cache),
    /// least recently used out first. A cached run's next task carries only its new events,
    /// from this worker's own sticky queue. 0 turns the cache and the sticky queue off: every
    /// task then replays the run's whole history. A cached run holds its state and workflow
    /// future, not its history: about 6 KiB for a small workflow (the 1,000 of the default
    /// took 5.7 MiB in the long-history benchmark's `cache` mode).
    pub max_cached_workflows: usize,
    /// How long the server holds a cached run's next task for this worker's sticky queue
    /// before sending it, with the whole history, to the normal queue.
    pub sticky_schedule_to_start_timeout: Duration,
    /// Testing: evict every run from the sticky cache once its task is answered, so that each
    /// task takes the cache-miss path (fetch the whole history, replay it). Defaults to
    /// whether the environment variable [`EVICT_AFTER_EVERY_TASK_ENV`] is `1`.
    pub evict_after_every_task: bool,
}

impl WorkerOptions {
    /// Defaults for `task_queue`.
    pub fn new(task_queue: impl Into<String>) -> Self {
        Self {
            task_queue: task_queue.into(),
            workflow_pollers: 2,
            activity_pollers: 2,
            max_concurrent_workflow_tasks: 200,
            max_concurrent_activities: 200,
            shutdown_timeout: Duration::from_secs(30),
            default_activity_start_to_close: Duration::from_secs(60),
            max_eager_activities_per_task: 3,
            telemetry: Default::default(),
            // As Temporal's Python SDK and core; about 6 KiB each for a small workflow (measured).
            max_cached_workflows: 1000,
            // As Temporal's core (Go's default is 5 s).
            sticky_schedule_to_start_timeout: Duration::from_secs(10),
            evict_after_every_task: sticky::evict_after_every_task_from_env(),
        }
    }
}

/// Why a worker could not run.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Nothing registered.
    #[error("worker for task queue {0:?} has no workflows and no activities registered")]
    NothingRegistered(String),
    /// Invalid options.
    #[error("invalid worker options: {0}")]
    InvalidOptions(String),
    /// The thread that runs workflow code could not be started.
    #[error("could not start the workflow thread: {0}")]
    WorkflowThread(#[source] std::io::Error),
}

pub(crate) struct Shared {
    pub connection: Connection,
    pub options: WorkerOptions,
    pub workflows: HashMap<String, Arc<dyn WorkflowFactory>>,
    pub activities: HashMap<String, Arc<dyn ActivityFactory>>,
    pub data: AppData,
    pub default_activity_options: ActivityOptions,
    /// Concurrency permits for activities; eager dispatch reserves from the same pool.
    pub activity_slots: Arc<Semaphore>,
    /// Which workflow task failures were already logged, so a failing task is logged once.
    pub task_failures: TaskFailureLog,
    /// The running activity attempts, for shutdown to cancel.
    pub running_activities: crate::activity::RunningActivities,
    /// The worker's metrics.
    pub telemetry: Arc<crate::telemetry::WorkerMetrics>,
    /// The thread that owns the cached runs and runs workflow code.
    pub runs: run_host::RunHost,
    /// The worker's sticky queue; `None` when the cache is off.
    pub sticky_queue: Option<sticky::StickyQueue>,
    /// The sticky cache's figures.
    pub sticky_metrics: Arc<crate::telemetry::StickyMetrics>,
}

impl Shared {
    fn registered_workflows(&self) -> Vec<String> {
        let mut names: Vec<_> = self.workflows.keys().cloned().collect();
        names.sort();
        names
    }

    fn registered_activities(&self) -> Vec<String> {
        let mut names: Vec<_> = self.activities.keys().cloned().collect();
        names.sort();
        names
    }
}

/// A worker for one task queue.
pub struct Worker {
    connection: Connection,
    options: WorkerOptions,
    workflows: HashMap<String, Arc<dyn WorkflowFactory>>,
    activities: HashMap<String, Arc<dyn ActivityFactory>>,
    data: AppData,
    shutdown: ShutdownHandle,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut workflows: Vec<_> = self.workflows.keys().collect();
        workflows.sort();
        let mut activities: Vec<_> = self.activities.keys().collect();
        activities.sort();
        f.debug_struct("Worker")
            .field("task_queue", &self.options.task_queue)
            .field("namespace", &self.connection.namespace())
            .field("workflows", &workflows)
            .field("activities", &activities)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A worker polling `options.task_queue` over `connection`.
    pub fn new(connection: Connection, options: WorkerOptions) -> Self {
        Self {
            connection,
            options,
            workflows: HashMap::new(),
            activities: HashMap::new(),
            data: AppData::default(),
            shutdown: ShutdownHandle::new(),
        }
    }

    /// Registers a workflow type (a later registration of the same name replaces it).
    pub fn register_workflow(&mut self, factory: Arc<dyn WorkflowFactory>) {
        self.workflows.insert(factory.name().to_string(), factory);
    }

    /// Registers an activity type (a later registration of the same name replaces it).
    pub fn register_activity(&mut self, factory: Arc<dyn ActivityFactory>) {
        self.activities.insert(factory.name().to_string(), factory);
    }

    /// Adds a value that activities can read with `ActivityContext::data`.
    pub fn insert_data<T: std::any::Any + Send + Sync>(&mut self, value: T) {
        self.data.insert(value);
    }

    /// The options.
    pub fn options_mut(&mut self) -> &mut WorkerOptions {
        &mut self.options
    }

    /// A handle that stops this worker.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.shutdown.clone()
    }

    /// Polls and runs tasks until shutdown is requested, then drains in-flight tasks.
    pub async fn run(self) -> Result<(), WorkerError> {
        self.run_until(std::future::pending()).await
    }

    /// Like [`run`](Self::run), also shutting down when `signal` completes (e.g. SIGTERM).
    ///
    /// Shutdown goes in steps:
    /// 1. no new poll starts, and the worker calls `ShutdownWorker`; a server that can then
    ///    completes the polls still waiting (a task they already received is still run), on
    ///    one that cannot they are dropped;
    /// 2. in-flight workflow tasks and activities get [`WorkerOptions::shutdown_timeout`] to
    ///    finish and report;
    /// 3. activities still running then are cancelled, and get a moment to report that.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> Result<(), WorkerError> {
        crate::telemetry::install_fallback_logging(&self.options.telemetry);
        if self.workflows.is_empty() && self.activities.is_empty() {
            return Err(WorkerError::NothingRegistered(self.options.task_queue));
        }
        let o = &self.options;
        if o.workflow_pollers == 0
            || o.activity_pollers == 0
            || o.max_concurrent_workflow_tasks == 0
            || o.max_concurrent_activities == 0
        {
            return Err(WorkerError::InvalidOptions(
                "pollers and concurrency limits must be at least 1".to_string(),
            ));
        }
        let max_activities = o.max_concurrent_activities;
        let telemetry = crate::telemetry::WorkerMetrics::shared(&self.connection, &self.options);
        let sticky_metrics = Arc::new(crate::telemetry::StickyMetrics::new(&telemetry));
        let runs = run_host::RunHost::start(
            o.max_cached_workflows,
            o.evict_after_every_task,
            sticky_metrics.clone(),
        )
        .map_err(WorkerError::WorkflowThread)?;
        let sticky_queue = (o.max_cached_workflows > 0).then(|| {
            sticky::StickyQueue::new(
                &o.task_queue,
                &telemetry.instance_key,
                o.sticky_schedule_to_start_timeout,
            )
        });
        let shared = Arc::new(Shared {
            telemetry,
            runs,
            sticky_queue,
            sticky_metrics,
            default_activity_options: ActivityOptions {
                start_to_close: Some(o.default_activity_start_to_close),
                ..Default::default()
            },
            connection: self.connection,
            options: self.options,
            workflows: self.workflows,
            activities: self.activities,
            data: self.data,
            activity_slots: Arc::new(Semaphore::new(max_activities)),
            task_failures: TaskFailureLog::default(),
            running_activities: Default::default(),
        });
        let shutdown = self.shutdown;
        tracing::info!(
            task_queue = %shared.options.task_queue,
            namespace = %shared.connection.namespace(),
            workflows = ?shared.registered_workflows(),
            activities = ?shared.registered_activities(),
            "worker started"
        );

        let workflow_slots = Arc::new(Semaphore::new(shared.options.max_concurrent_workflow_tasks));
        let activity_slots = shared.activity_slots.clone();
        let control = PollerControl::new(shutdown.clone());
        let _telemetry = heartbeat::start(&shared, &workflow_slots, &shutdown)?;
        let mut pollers = tokio::task::JoinSet::new();
        if !shared.workflows.is_empty() {
            // Both queues share the workflow-task slots.
            let mut queues = Vec::new();
            match &shared.sticky_queue {
                None => queues.push((shared.options.workflow_pollers, poller::task_queue(&shared))),
                Some(sticky) => {
                    let (normal, sticky_pollers) =
                        sticky::split_pollers(shared.options.workflow_pollers);
                    queues.push((normal, poller::task_queue(&shared)));
                    queues.push((sticky_pollers, sticky.task_queue()));
                }
            }
            for (count, queue) in queues {
                for _ in 0..count {
                    pollers.spawn(workflow_task::poll_loop(
                        shared.clone(),
                        workflow_slots.clone(),
                        control.clone(),
                        queue.clone(),
                    ));
                }
            }
        }
        if !shared.activities.is_empty() {
            for _ in 0..shared.options.activity_pollers {
                pollers.spawn(activity_task::poll_loop(
                    shared.clone(),
                    activity_slots.clone(),
                    control.clone(),
                ));
            }
        }

        tokio::select! {
            _ = shutdown.requested() => {}
            _ = signal => shutdown.shutdown(),
        }
        let grace = shared.options.shutdown_timeout;
        let grace_ends = tokio::time::Instant::now() + grace;
        tracing::info!(
            task_queue = %shared.options.task_queue,
            grace = ?grace,
            "worker shutting down: no new polls; in-flight work may finish"
        );

        // Step 1: a server that completes outstanding polls on `ShutdownWorker` (a namespace
        // capability) does so, and the polls are left to return; on one that does not, they
        // are dropped at once, as the other SDKs do.
        let polls_complete = polls_complete_on_shutdown(&shared).await;
        shutdown_worker(&shared).await;
        let polls_end = async { while pollers.join_next().await.is_some() {} };
        let wait = if polls_complete {
            grace
        } else {
            Duration::ZERO
        };
        if tokio::time::timeout(wait, polls_end).await.is_err() {
            tracing::debug!(polls_complete, "dropping outstanding polls");
            control.abort_polls();
            while pollers.join_next().await.is_some() {}
        }

        // Step 2: every in-flight handler holds a permit, so getting them all back means all
        // are done.
        let workflow_tasks_done = workflow_slots
            .clone()
            .acquire_many_owned(shared.options.max_concurrent_workflow_tasks as u32);
        let activities_done = activity_slots
            .clone()
            .acquire_many_owned(shared.options.max_concurrent_activities as u32);
        let drained = async { tokio::join!(workflow_tasks_done, activities_done) };
        if tokio::time::timeout_at(grace_ends, drained).await.is_err() {
            // Step 3.
            let running =
                shared.options.max_concurrent_activities - activity_slots.available_permits();
            tracing::warn!(
                grace = ?grace,
                activities = running,
                "shutdown grace period over; cancelling the activities still running"
            );
            shared
                .running_activities
                .cancel_all(crate::activity::CancellationReason::WorkerShutdown);
            let activities_done = activity_slots
                .clone()
                .acquire_many_owned(shared.options.max_concurrent_activities as u32);
            if tokio::time::timeout(CANCEL_REPORT_WAIT, activities_done)
                .await
                .is_err()
            {
                tracing::warn!(
                    "activities ignored their cancellation; the server retries them after their timeout"
                );
            }
        }
        // No task is in flight any more: the cached runs go (their next tasks were sent to the
        // normal queue by `ShutdownWorker`, which named the sticky queue).
        let _ = shared.runs.run(|runs| runs.release_all()).await;
        tracing::info!(task_queue = %shared.options.task_queue, "worker stopped");
        Ok(())
    }
}

/// How long cancelled activities have to report, once the grace period is over.
const CANCEL_REPORT_WAIT: Duration = Duration::from_secs(5);

/// Whether the namespace says its server completes a worker's outstanding polls when the worker
/// calls `ShutdownWorker` (`worker_poll_complete_on_shutdown`); `false` when it cannot tell.
async fn polls_complete_on_shutdown(shared: &Shared) -> bool {
    let request = DescribeNamespaceRequest {
        namespace: shared.connection.namespace().to_string(),
        ..Default::default()
    };
    let described = shared
        .connection
        .unary_with(
            "DescribeNamespace",
            CallOptions::default()
                .timeout(Duration::from_secs(2))
                .retry(RetryUntil::Never),
            request,
            |mut svc, request| async move { svc.describe_namespace(request).await },
        )
        .await;
    described
        .ok()
        .and_then(|namespace| namespace.namespace_info)
        .and_then(|info| info.capabilities)
        .is_some_and(|capabilities| capabilities.worker_poll_complete_on_shutdown)
}

/// Tells the server this worker is going away: it ends the worker's outstanding polls and
/// stops routing work to it.
async fn shutdown_worker(shared: &Shared) {
    let request = ShutdownWorkerRequest {
        namespace: shared.connection.namespace().to_string(),
        identity: shared.connection.identity().to_string(),
        reason: "graceful shutdown".to_string(),
        // Names this worker's polls, which the server then ends.
        worker_instance_key: shared.telemetry.instance_key.clone(),
        task_queue: shared.options.task_queue.clone(),
        task_queue_types: vec![
            TaskQueueType::Workflow as i32,
            TaskQueueType::Activity as i32,
        ],
        // The server then sends the next tasks of this worker's cached runs to the normal
        // queue at once, instead of after the sticky schedule-to-start timeout.
        sticky_task_queue: shared
            .sticky_queue
            .as_ref()
            .map(|q| q.name.clone())
            .unwrap_or_default(),
        ..Default::default()
    };
    let answered = shared
        .connection
        .unary_with(
            "ShutdownWorker",
            CallOptions::default()
                .timeout(Duration::from_secs(5))
                .retry(RetryUntil::Never),
            request,
            |mut svc, request| async move { svc.shutdown_worker(request).await },
        )
        .await;
    if let Err(status) = answered {
        tracing::debug!(%status, "ShutdownWorker failed; outstanding polls end by themselves");
    }
}
