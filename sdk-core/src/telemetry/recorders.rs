//! The calls the worker and the connection make to record metrics, one per event.
//!
//! Each hook is a single call at a clear spot of the worker's code (around a poll, at the
//! start and end of a task, around an RPC), so the worker's files stay about work, not about
//! counting it.

use super::metrics::Metrics;
use crate::proto::command::{command, Command};
use crate::proto::workflowservice::{PollActivityTaskQueueResponse, PollWorkflowTaskQueueResponse};
use crate::workflow::TaskFailure;
use std::future::Future;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tonic::Status;

/// Which pollers a poll belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    Workflow,
    Activity,
}

impl TaskKind {
    /// From the name the poll loop gives its kind ("workflow" or "activity").
    fn of(kind: &str) -> Self {
        if kind == "activity" {
            Self::Activity
        } else {
            Self::Workflow
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Self::Workflow => "PollWorkflowTaskQueue",
            Self::Activity => "PollActivityTaskQueue",
        }
    }

    fn poller_type(self) -> &'static str {
        match self {
            Self::Workflow => "workflow_task",
            Self::Activity => "activity_task",
        }
    }

    pub(crate) fn worker_type(self) -> &'static str {
        match self {
            Self::Workflow => "WorkflowWorker",
            Self::Activity => "ActivityWorker",
        }
    }
}

/// Totals of one kind of task, for worker heartbeats.
#[derive(Default, Debug)]
pub(crate) struct TaskCounts {
    pub processed: AtomicU64,
    pub failed: AtomicU64,
}

/// One worker's labels and running totals; its series live in the global [`Metrics`].
#[derive(Debug)]
pub(crate) struct WorkerMetrics {
    pub namespace: String,
    pub task_queue: String,
    /// Names this worker in heartbeats (`temporal worker describe --worker-instance-key`).
    pub instance_key: String,
    pub start_time: SystemTime,
    pub workflow_tasks: TaskCounts,
    pub activity_tasks: TaskCounts,
    workflow_pollers: AtomicI32,
    activity_pollers: AtomicI32,
    last_workflow_task: Mutex<Option<SystemTime>>,
    last_activity_task: Mutex<Option<SystemTime>>,
}

impl WorkerMetrics {
    /// The metrics of a worker about to run with `options` over `connection`.
    pub(crate) fn shared(
        connection: &crate::Connection,
        options: &crate::worker::WorkerOptions,
    ) -> Arc<Self> {
        Arc::new(Self::new(connection.namespace(), &options.task_queue))
    }

    pub(crate) fn new(namespace: &str, task_queue: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            task_queue: task_queue.to_string(),
            instance_key: random_key(),
            start_time: SystemTime::now(),
            workflow_tasks: TaskCounts::default(),
            activity_tasks: TaskCounts::default(),
            workflow_pollers: AtomicI32::new(0),
            activity_pollers: AtomicI32::new(0),
            last_workflow_task: Mutex::new(None),
            last_activity_task: Mutex::new(None),
        }
    }

    fn metrics(&self) -> &'static Metrics {
        Metrics::global()
    }

    fn labels(&self) -> [&str; 2] {
        [&self.namespace, &self.task_queue]
    }

    /// Polls of `kind` in flight now.
    pub(crate) fn pollers(&self, kind: TaskKind) -> i32 {
        self.pollers_of(kind).load(Ordering::Relaxed)
    }

    /// When a poll of `kind` last returned a task.
    pub(crate) fn last_task(&self, kind: TaskKind) -> Option<SystemTime> {
        let slot = match kind {
            TaskKind::Workflow => &self.last_workflow_task,
            TaskKind::Activity => &self.last_activity_task,
        };
        slot.lock().ok().and_then(|t| *t)
    }

    fn pollers_of(&self, kind: TaskKind) -> &AtomicI32 {
        match kind {
            TaskKind::Workflow => &self.workflow_pollers,
            TaskKind::Activity => &self.activity_pollers,
        }
    }

    /// Counts a worker of `kind` starting (`temporal_worker_start`).
    pub(crate) fn started(&self, kind: TaskKind) {
        self.metrics()
            .worker_start
            .with_label_values(&[&self.namespace, &self.task_queue, kind.worker_type()])
            .inc();
    }
}

/// Counts one poll in flight, also when the poll is dropped (shutdown).
struct PollInFlight<'a> {
    worker: &'a WorkerMetrics,
    kind: TaskKind,
}

impl<'a> PollInFlight<'a> {
    fn new(worker: &'a WorkerMetrics, kind: TaskKind) -> Self {
        worker.pollers_of(kind).fetch_add(1, Ordering::Relaxed);
        num_pollers(worker, kind).inc();
        Self { worker, kind }
    }
}

impl Drop for PollInFlight<'_> {
    fn drop(&mut self) {
        self.worker
            .pollers_of(self.kind)
            .fetch_sub(1, Ordering::Relaxed);
        num_pollers(self.worker, self.kind).dec();
    }
}

fn num_pollers(worker: &WorkerMetrics, kind: TaskKind) -> prometheus::IntGauge {
    worker.metrics().num_pollers.with_label_values(&[
        &worker.namespace,
        &worker.task_queue,
        kind.poller_type(),
    ])
}

/// Runs one long poll of the `kind` ("workflow" or "activity") poll loop, recording
/// `temporal_num_pollers`, `temporal_long_request*` and the poll's outcome
/// (`temporal_workflow_task_queue_poll_succeed` / `_empty`, `temporal_activity_poll_no_task`).
pub(crate) async fn observe_poll<T>(
    worker: &WorkerMetrics,
    kind: &str,
    poll: impl Future<Output = Result<Option<T>, Status>>,
) -> Result<Option<T>, Status> {
    let kind = TaskKind::of(kind);
    let metrics = worker.metrics();
    let operation = kind.operation();
    let started = Instant::now();
    let result = {
        let _in_flight = PollInFlight::new(worker, kind);
        poll.await
    };
    metrics
        .long_request
        .with_label_values(&[&worker.namespace, operation])
        .inc();
    metrics
        .long_request_latency
        .with_label_values(&[&worker.namespace, operation])
        .observe(started.elapsed().as_secs_f64());
    match (&result, kind) {
        (Err(status), _) => {
            metrics
                .long_request_failure
                .with_label_values(&[&worker.namespace, operation, status_code(status)])
                .inc();
        }
        (Ok(Some(_)), TaskKind::Workflow) => {
            metrics
                .wft_poll_succeed
                .with_label_values(&worker.labels())
                .inc();
            set_now(&worker.last_workflow_task);
        }
        (Ok(Some(_)), TaskKind::Activity) => set_now(&worker.last_activity_task),
        (Ok(None), TaskKind::Workflow) => {
            metrics
                .wft_poll_empty
                .with_label_values(&worker.labels())
                .inc();
        }
        (Ok(None), TaskKind::Activity) => {
            metrics
                .activity_poll_no_task
                .with_label_values(&worker.labels())
                .inc();
        }
    }
    result
}

fn set_now(slot: &Mutex<Option<SystemTime>>) {
    if let Ok(mut slot) = slot.lock() {
        *slot = Some(SystemTime::now());
    }
}

/// Runs one RPC attempt of `Connection::call`, recording `temporal_request`,
/// `temporal_request_latency` and, when it fails, `temporal_request_failure`.
pub(crate) async fn observe_request<T>(
    operation: &str,
    namespace: &str,
    call: impl Future<Output = Result<T, Status>>,
) -> Result<T, Status> {
    let metrics = Metrics::global();
    let started = Instant::now();
    let result = call.await;
    metrics
        .request
        .with_label_values(&[namespace, operation])
        .inc();
    metrics
        .request_latency
        .with_label_values(&[namespace, operation])
        .observe(started.elapsed().as_secs_f64());
    if let Err(status) = &result {
        metrics
            .request_failure
            .with_label_values(&[namespace, operation, status_code(status)])
            .inc();
    }
    result
}

/// A gRPC status code as Temporal's SDKs label it: `NOT_FOUND`, `UNAVAILABLE`, ...
pub(crate) fn status_code(status: &Status) -> &'static str {
    use tonic::Code::*;
    match status.code() {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

fn seconds_between(
    from: Option<&prost_wkt_types::Timestamp>,
    to: Option<&prost_wkt_types::Timestamp>,
) -> Option<f64> {
    let from = crate::proto::system_time(from?);
    let to = crate::proto::system_time(to?);
    to.duration_since(from).ok().map(|d| d.as_secs_f64())
}

/// One workflow task, from receipt to answer: records its schedule-to-start at once, its
/// execution latency when dropped, and what the caller reports in between.
pub(crate) struct WorkflowTaskMetrics<'a> {
    worker: &'a WorkerMetrics,
    workflow_type: String,
    started: Instant,
    /// The run answered tasks before, so this one replays the recorded history first.
    replays_history: bool,
    /// False for a query delivered on its own, which is not a workflow task to count.
    counted: bool,
}

impl<'a> WorkflowTaskMetrics<'a> {
    pub(crate) fn start(
        worker: &'a WorkerMetrics,
        task: &PollWorkflowTaskQueueResponse,
        workflow_type: &str,
    ) -> Self {
        let counted = task.query.is_none();
        if counted {
            if let Some(latency) =
                seconds_between(task.scheduled_time.as_ref(), task.started_time.as_ref())
            {
                Metrics::global()
                    .wft_schedule_to_start
                    .with_label_values(&worker.labels())
                    .observe(latency);
            }
        }
        Self {
            worker,
            workflow_type: workflow_type.to_string(),
            started: Instant::now(),
            replays_history: task.previous_started_event_id > 0,
            counted,
        }
    }

    fn labels(&self) -> [&str; 3] {
        [
            &self.worker.namespace,
            &self.worker.task_queue,
            &self.workflow_type,
        ]
    }

    /// The task ran to completion with these commands: records the replay time and counts
    /// runs that these commands close.
    pub(crate) fn processed(&self, commands: &[Command]) {
        let metrics = Metrics::global();
        let labels = self.labels();
        if self.replays_history {
            metrics
                .wft_replay
                .with_label_values(&labels)
                .observe(self.started.elapsed().as_secs_f64());
        }
        for command in commands {
            let counter = match &command.attributes {
                Some(command::Attributes::CompleteWorkflowExecutionCommandAttributes(_)) => {
                    &metrics.workflow_completed
                }
                Some(command::Attributes::FailWorkflowExecutionCommandAttributes(_)) => {
                    &metrics.workflow_failed
                }
                Some(command::Attributes::CancelWorkflowExecutionCommandAttributes(_)) => {
                    &metrics.workflow_canceled
                }
                Some(command::Attributes::ContinueAsNewWorkflowExecutionCommandAttributes(_)) => {
                    &metrics.workflow_continue_as_new
                }
                _ => continue,
            };
            counter.with_label_values(&labels).inc();
        }
    }

    /// The task failed (`temporal_workflow_task_execution_failed`).
    pub(crate) fn failed(&self, failure: &TaskFailure) {
        let [namespace, task_queue, workflow_type] = self.labels();
        Metrics::global()
            .wft_failed
            .with_label_values(&[
                namespace,
                task_queue,
                workflow_type,
                failure.cause().as_str_name(),
            ])
            .inc();
        self.worker
            .workflow_tasks
            .failed
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for WorkflowTaskMetrics<'_> {
    fn drop(&mut self) {
        if !self.counted {
            return;
        }
        Metrics::global()
            .wft_execution
            .with_label_values(&self.labels())
            .observe(self.started.elapsed().as_secs_f64());
        self.worker
            .workflow_tasks
            .processed
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// One activity attempt, from receipt to its reported result (recorded when dropped).
pub(crate) struct ActivityMetrics {
    worker: Arc<WorkerMetrics>,
    labels: [String; 4],
    started: Instant,
}

impl ActivityMetrics {
    /// Records the attempt's schedule-to-start.
    pub(crate) fn start(worker: &Arc<WorkerMetrics>, task: &PollActivityTaskQueueResponse) -> Self {
        let name = |t: Option<&String>| t.cloned().unwrap_or_default();
        let labels = [
            worker.namespace.clone(),
            worker.task_queue.clone(),
            name(task.activity_type.as_ref().map(|t| &t.name)),
            name(task.workflow_type.as_ref().map(|t| &t.name)),
        ];
        let this = Self {
            worker: worker.clone(),
            labels,
            started: Instant::now(),
        };
        if let Some(latency) = seconds_between(
            task.current_attempt_scheduled_time.as_ref(),
            task.started_time.as_ref(),
        ) {
            Metrics::global()
                .activity_schedule_to_start
                .with_label_values(&this.label_refs())
                .observe(latency);
        }
        this
    }

    fn label_refs(&self) -> [&str; 4] {
        [
            &self.labels[0],
            &self.labels[1],
            &self.labels[2],
            &self.labels[3],
        ]
    }

    /// How the attempt ended: `failed` counts `temporal_activity_execution_failed`, or
    /// `temporal_activity_execution_cancelled` when the activity stopped for a cancellation.
    pub(crate) fn outcome<T, E>(&self, result: &Result<T, E>, cancelled: bool) {
        if result.is_ok() {
            return;
        }
        let metrics = Metrics::global();
        let counter = if cancelled {
            &metrics.activity_cancelled
        } else {
            &metrics.activity_failed
        };
        counter.with_label_values(&self.label_refs()).inc();
        self.worker
            .activity_tasks
            .failed
            .fetch_add(1, Ordering::Relaxed);
    }
}

impl Drop for ActivityMetrics {
    fn drop(&mut self) {
        Metrics::global()
            .activity_execution
            .with_label_values(&self.label_refs())
            .observe(self.started.elapsed().as_secs_f64());
        self.worker
            .activity_tasks
            .processed
            .fetch_add(1, Ordering::Relaxed);
    }
}

/// A random key in the layout of a UUID (Temporal shows worker instance keys as UUIDs),
/// from the standard library's randomly seeded hasher.
pub(crate) fn random_key() -> String {
    use std::collections::hash_map::RandomState;
    use std::hash::{BuildHasher, Hasher};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let word = || {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        hasher.write_u32(std::process::id());
        if let Ok(since) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            hasher.write_u128(since.as_nanos());
        }
        hasher.finish()
    };
    let (high, low) = (word(), word());
    // Version 4 and the RFC 4122 variant, as a random UUID has.
    let high = (high & !0xF000) | 0x4000;
    let low = (low & !(0xC << 60)) | (0x8 << 60);
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0xFFFF,
        low >> 48,
        low & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_look_like_uuids_and_differ() {
        let (a, b) = (random_key(), random_key());
        assert_ne!(a, b);
        let parts: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn status_codes_are_upper_snake_case() {
        assert_eq!(status_code(&Status::not_found("x")), "NOT_FOUND");
        assert_eq!(
            status_code(&Status::deadline_exceeded("x")),
            "DEADLINE_EXCEEDED"
        );
    }

    #[tokio::test]
    async fn polls_count_by_outcome_and_pollers_in_flight() {
        let worker = WorkerMetrics::new("ns", "polls-unit-test");
        let metrics = Metrics::global();
        let labels = ["ns", "polls-unit-test"];
        let empty = async { Ok::<Option<u8>, Status>(None) };
        observe_poll(&worker, "workflow", empty).await.unwrap();
        observe_poll(&worker, "activity", async { Ok::<_, Status>(None::<u8>) })
            .await
            .unwrap();
        observe_poll(&worker, "activity", async { Ok::<_, Status>(Some(1u8)) })
            .await
            .unwrap();
        let failed = async { Err::<Option<u8>, _>(Status::unavailable("down")) };
        assert!(observe_poll(&worker, "workflow", failed).await.is_err());
        assert_eq!(metrics.wft_poll_empty.with_label_values(&labels).get(), 1);
        assert_eq!(metrics.wft_poll_succeed.with_label_values(&labels).get(), 0);
        assert_eq!(
            metrics
                .activity_poll_no_task
                .with_label_values(&labels)
                .get(),
            1
        );
        assert!(worker.last_task(TaskKind::Activity).is_some());
        assert!(worker.last_task(TaskKind::Workflow).is_none());
        let failures = metrics.long_request_failure.with_label_values(&[
            "ns",
            "PollWorkflowTaskQueue",
            "UNAVAILABLE",
        ]);
        assert_eq!(failures.get(), 1);
        assert_eq!(
            metrics
                .long_request
                .with_label_values(&["ns", "PollActivityTaskQueue"])
                .get(),
            2
        );

        // A poll in flight is counted until it returns or is dropped (shutdown).
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let pending = observe_poll(&worker, "workflow", async move {
            let _ = released.await;
            Ok::<Option<u8>, Status>(None)
        });
        let mut pending = Box::pin(pending);
        assert!(futures::poll!(&mut pending).is_pending());
        assert_eq!(worker.pollers(TaskKind::Workflow), 1);
        let gauge = ["ns", "polls-unit-test", "workflow_task"];
        assert_eq!(metrics.num_pollers.with_label_values(&gauge).get(), 1);
        drop(pending);
        drop(release);
        assert_eq!(worker.pollers(TaskKind::Workflow), 0);
        assert_eq!(metrics.num_pollers.with_label_values(&gauge).get(), 0);
    }
}
