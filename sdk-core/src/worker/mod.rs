//! The polling worker: workflow-task and activity-task pollers for one task queue.
//!
//! Each poller loop takes a concurrency permit before it polls, so a busy worker stops asking
//! for work it could not start; the task's handler holds the permit until it has answered the
//! server. Shutdown stops the pollers, then waits (bounded) for the handlers to finish.

mod activity_task;
mod heartbeat;
mod poller;
mod shutdown;
mod workflow_task;

pub use shutdown::ShutdownHandle;

use crate::activity::{ActivityFactory, AppData};
use crate::connection::Connection;
use crate::workflow::{ActivityOptions, WorkflowFactory};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use crate::connection::long_poll;
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
    /// How long shutdown waits for in-flight tasks.
    pub shutdown_timeout: Duration,
    /// Start-to-close timeout of activities that set neither it nor schedule-to-close.
    pub default_activity_start_to_close: Duration,
    /// Most activities one workflow task may ask the server to hand straight back to this
    /// worker (eager dispatch, saving a poll each); 0 turns it off.
    pub max_eager_activities_per_task: usize,
    /// Logging fallback, Prometheus endpoint and worker heartbeats.
    pub telemetry: crate::telemetry::TelemetryOptions,
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
    pub telemetry: Arc<crate::telemetry::WorkerMetrics>,
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

    /// Like [`run`](Self::run), also shutting down when `signal` completes (e.g. ctrl-c).
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
        let shared = Arc::new(Shared {
            telemetry: crate::telemetry::WorkerMetrics::shared(&self.connection, &self.options),
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
        });
        let shutdown = self.shutdown;
        tracing::info!(
            task_queue = %shared.options.task_queue,
            workflows = ?shared.registered_workflows(),
            activities = ?shared.registered_activities(),
            "worker started"
        );

        let workflow_slots = Arc::new(Semaphore::new(shared.options.max_concurrent_workflow_tasks));
        let activity_slots = shared.activity_slots.clone();
        let _telemetry = heartbeat::start(&shared, &workflow_slots, &shutdown)?;
        let mut pollers = tokio::task::JoinSet::new();
        if !shared.workflows.is_empty() {
            for _ in 0..shared.options.workflow_pollers {
                pollers.spawn(workflow_task::poll_loop(
                    shared.clone(),
                    workflow_slots.clone(),
                    shutdown.clone(),
                ));
            }
        }
        if !shared.activities.is_empty() {
            for _ in 0..shared.options.activity_pollers {
                pollers.spawn(activity_task::poll_loop(
                    shared.clone(),
                    activity_slots.clone(),
                    shutdown.clone(),
                ));
            }
        }

        tokio::select! {
            _ = shutdown.requested() => {}
            _ = signal => shutdown.shutdown(),
        }
        tracing::info!(task_queue = %shared.options.task_queue, "worker shutting down");
        while pollers.join_next().await.is_some() {}

        // Every in-flight handler holds a permit: getting them all back means all are done.
        let drained = async {
            let _w = workflow_slots
                .acquire_many(shared.options.max_concurrent_workflow_tasks as u32)
                .await;
            let _a = activity_slots
                .acquire_many(shared.options.max_concurrent_activities as u32)
                .await;
        };
        if tokio::time::timeout(shared.options.shutdown_timeout, drained)
            .await
            .is_err()
        {
            tracing::warn!(
                timeout = ?shared.options.shutdown_timeout,
                "shutdown timed out with tasks still running; the server will retry them"
            );
        }
        tracing::info!(task_queue = %shared.options.task_queue, "worker stopped");
        Ok(())
    }
}
