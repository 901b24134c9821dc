//! Temporal's standard SDK metrics, by their standard names and labels.
//!
//! Names and labels follow Temporal's "SDK metrics" reference (and its core SDK), with the
//! `temporal_` prefix, so existing Temporal dashboards and alerts work unchanged. Histograms
//! are in seconds (Prometheus' base unit, as the Go and Java SDKs report them).
//!
//! All workers and clients of a process record into one registry ([`registry`]); workers
//! tell their series apart by the `namespace` and `task_queue` labels.

use super::slots::SlotGauges;
use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use std::sync::OnceLock;

/// Label: the namespace.
pub const NAMESPACE: &str = "namespace";
/// Label: the task queue.
pub const TASK_QUEUE: &str = "task_queue";
/// Label: the workflow type.
pub const WORKFLOW_TYPE: &str = "workflow_type";
/// Label: the activity type.
pub const ACTIVITY_TYPE: &str = "activity_type";
/// Label: `WorkflowWorker` or `ActivityWorker`.
pub const WORKER_TYPE: &str = "worker_type";
/// Label: `workflow_task` or `activity_task`.
pub const POLLER_TYPE: &str = "poller_type";
/// Label: the gRPC method (`StartWorkflowExecution`, ...).
pub const OPERATION: &str = "operation";
/// Label: the gRPC status of a failed request, `UPPER_SNAKE_CASE` (`NOT_FOUND`, ...).
pub const STATUS_CODE: &str = "status_code";
/// Label: why a workflow task failed (the `WorkflowTaskFailedCause`, e.g.
/// `WORKFLOW_TASK_FAILED_CAUSE_NON_DETERMINISTIC_ERROR`).
pub const FAILURE_REASON: &str = "failure_reason";

/// Counter: RPCs sent (each attempt), labels `namespace`, `operation`.
pub const REQUEST: &str = "temporal_request";
/// Counter: RPCs that failed, labels `namespace`, `operation`, `status_code`.
pub const REQUEST_FAILURE: &str = "temporal_request_failure";
/// Histogram: RPC latency.
pub const REQUEST_LATENCY: &str = "temporal_request_latency";
/// Counter: long polls sent.
pub const LONG_REQUEST: &str = "temporal_long_request";
/// Counter: long polls that failed (an empty answer is not a failure).
pub const LONG_REQUEST_FAILURE: &str = "temporal_long_request_failure";
/// Histogram: long poll latency.
pub const LONG_REQUEST_LATENCY: &str = "temporal_long_request_latency";
/// Counter: workers started, labels `namespace`, `task_queue`, `worker_type`.
pub const WORKER_START: &str = "temporal_worker_start";
/// Gauge: polls in flight, labels `namespace`, `task_queue`, `poller_type`.
pub const NUM_POLLERS: &str = "temporal_num_pollers";
/// Gauge: free task slots, labels `namespace`, `task_queue`, `worker_type`.
pub const TASK_SLOTS_AVAILABLE: &str = "temporal_worker_task_slots_available";
/// Gauge: task slots in use.
pub const TASK_SLOTS_USED: &str = "temporal_worker_task_slots_used";
/// Counter: workflow task polls that returned a task, labels `namespace`, `task_queue`.
pub const WORKFLOW_TASK_QUEUE_POLL_SUCCEED: &str = "temporal_workflow_task_queue_poll_succeed";
/// Counter: workflow task polls that expired empty.
pub const WORKFLOW_TASK_QUEUE_POLL_EMPTY: &str = "temporal_workflow_task_queue_poll_empty";
/// Histogram: workflow task schedule-to-start, labels `namespace`, `task_queue`.
pub const WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY: &str =
    "temporal_workflow_task_schedule_to_start_latency";
/// Histogram: workflow task execution, from receipt to answer, labels `namespace`,
/// `task_queue`, `workflow_type`.
pub const WORKFLOW_TASK_EXECUTION_LATENCY: &str = "temporal_workflow_task_execution_latency";
/// Histogram: time to replay the recorded history of a task that is not the run's first.
pub const WORKFLOW_TASK_REPLAY_LATENCY: &str = "temporal_workflow_task_replay_latency";
/// Counter: workflow tasks that failed, labels `namespace`, `task_queue`, `workflow_type`,
/// `failure_reason`.
pub const WORKFLOW_TASK_EXECUTION_FAILED: &str = "temporal_workflow_task_execution_failed";
/// Counter: runs completed, labels `namespace`, `task_queue`, `workflow_type`.
pub const WORKFLOW_COMPLETED: &str = "temporal_workflow_completed";
/// Counter: runs failed.
pub const WORKFLOW_FAILED: &str = "temporal_workflow_failed";
/// Counter: runs cancelled.
pub const WORKFLOW_CANCELED: &str = "temporal_workflow_canceled";
/// Counter: runs that continued as new.
pub const WORKFLOW_CONTINUE_AS_NEW: &str = "temporal_workflow_continue_as_new";
/// Counter: activity polls that expired empty, labels `namespace`, `task_queue`.
pub const ACTIVITY_POLL_NO_TASK: &str = "temporal_activity_poll_no_task";
/// Histogram: activity attempt schedule-to-start, labels `namespace`, `task_queue`,
/// `activity_type`, `workflow_type`.
pub const ACTIVITY_SCHEDULE_TO_START_LATENCY: &str = "temporal_activity_schedule_to_start_latency";
/// Histogram: activity attempt execution, from receipt to the reported result.
pub const ACTIVITY_EXECUTION_LATENCY: &str = "temporal_activity_execution_latency";
/// Counter: activity attempts that failed.
pub const ACTIVITY_EXECUTION_FAILED: &str = "temporal_activity_execution_failed";
/// Counter: activity attempts that ended cancelled.
pub const ACTIVITY_EXECUTION_CANCELLED: &str = "temporal_activity_execution_cancelled";

// The sticky workflow cache (Temporal's names), labels `namespace`, `task_queue`.
/// Counter: workflow tasks answered from a run in the sticky cache, without replay.
pub const STICKY_CACHE_HIT: &str = "temporal_sticky_cache_hit";
/// Counter: workflow tasks of a run with earlier tasks that had to replay its whole history
/// (the run was not cached, or its cached state did not line up with the task).
pub const STICKY_CACHE_MISS: &str = "temporal_sticky_cache_miss";
/// Gauge: runs in the sticky cache.
pub const STICKY_CACHE_SIZE: &str = "temporal_sticky_cache_size";
/// Counter: runs evicted from the sticky cache to make room (least recently used).
pub const STICKY_CACHE_FORCED_EVICTION: &str = "temporal_sticky_cache_total_forced_eviction";
/// Counter: every run leaving the sticky cache, labels `namespace`, `task_queue` and
/// [`EVICTION_REASON`] (Chronicle's own; Temporal's SDKs only count forced evictions).
pub const STICKY_CACHE_EVICTION: &str = "temporal_sticky_cache_eviction";
/// Counter: history events the worker received for workflow tasks, in poll responses and
/// fetched pages, labels `namespace`, `task_queue` (Chronicle's own: what sticky execution
/// saves).
pub const WORKFLOW_TASK_HISTORY_EVENTS: &str = "temporal_workflow_task_history_events";
/// Label: why a run left the sticky cache (`workflow_completed`, `cache_full`,
/// `nondeterminism`, `task_failed`, `server_rejected`, `history_mismatch`, `task_in_flight`,
/// `evict_after_every_task`, `shutdown`).
pub const EVICTION_REASON: &str = "reason";

/// Bucket bounds (seconds) for work done in the worker: workflow tasks, RPCs.
const FAST_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];
/// Bucket bounds (seconds) for waits and activities, which can take minutes.
const SLOW_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Every metric family Chronicle records, registered in one [`Registry`].
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub(crate) request: IntCounterVec,
    pub(crate) request_failure: IntCounterVec,
    pub(crate) request_latency: HistogramVec,
    pub(crate) long_request: IntCounterVec,
    pub(crate) long_request_failure: IntCounterVec,
    pub(crate) long_request_latency: HistogramVec,
    pub(crate) worker_start: IntCounterVec,
    pub(crate) num_pollers: IntGaugeVec,
    pub(crate) slots: SlotGauges,
    pub(crate) wft_poll_succeed: IntCounterVec,
    pub(crate) wft_poll_empty: IntCounterVec,
    pub(crate) wft_schedule_to_start: HistogramVec,
    pub(crate) wft_execution: HistogramVec,
    pub(crate) wft_replay: HistogramVec,
    pub(crate) wft_failed: IntCounterVec,
    pub(crate) workflow_completed: IntCounterVec,
    pub(crate) workflow_failed: IntCounterVec,
    pub(crate) workflow_canceled: IntCounterVec,
    pub(crate) workflow_continue_as_new: IntCounterVec,
    pub(crate) activity_poll_no_task: IntCounterVec,
    pub(crate) activity_schedule_to_start: HistogramVec,
    pub(crate) activity_execution: HistogramVec,
    pub(crate) activity_failed: IntCounterVec,
    pub(crate) activity_cancelled: IntCounterVec,
    pub(crate) sticky_hit: IntCounterVec,
    pub(crate) sticky_miss: IntCounterVec,
    pub(crate) sticky_size: IntGaugeVec,
    pub(crate) sticky_forced_eviction: IntCounterVec,
    pub(crate) sticky_eviction: IntCounterVec,
    pub(crate) wft_history_events: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The process-wide registry every Chronicle metric is recorded in; gather it to export the
/// metrics some other way, or register your own metrics next to them.
pub fn registry() -> &'static Registry {
    &Metrics::global().registry
}

const WORKER: &[&str] = &[NAMESPACE, TASK_QUEUE];
const WORKFLOW: &[&str] = &[NAMESPACE, TASK_QUEUE, WORKFLOW_TYPE];
const ACTIVITY: &[&str] = &[NAMESPACE, TASK_QUEUE, ACTIVITY_TYPE, WORKFLOW_TYPE];
const REQUEST_LABELS: &[&str] = &[NAMESPACE, OPERATION];
const FAILED_REQUEST_LABELS: &[&str] = &[NAMESPACE, OPERATION, STATUS_CODE];

impl Metrics {
    /// The process-wide instance.
    pub fn global() -> &'static Metrics {
        static METRICS: OnceLock<Metrics> = OnceLock::new();
        METRICS.get_or_init(|| Metrics::new(Registry::new()))
    }

    /// The registry these metrics are in.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn new(registry: Registry) -> Self {
        let r = &registry;
        Self {
            request: counter(r, REQUEST, "RPCs sent", REQUEST_LABELS),
            request_failure: counter(r, REQUEST_FAILURE, "RPCs failed", FAILED_REQUEST_LABELS),
            request_latency: histogram(
                r,
                REQUEST_LATENCY,
                "RPC latency",
                REQUEST_LABELS,
                FAST_BUCKETS,
            ),
            long_request: counter(r, LONG_REQUEST, "Long polls sent", REQUEST_LABELS),
            long_request_failure: counter(
                r,
                LONG_REQUEST_FAILURE,
                "Long polls failed",
                FAILED_REQUEST_LABELS,
            ),
            long_request_latency: histogram(
                r,
                LONG_REQUEST_LATENCY,
                "Long poll latency",
                REQUEST_LABELS,
                SLOW_BUCKETS,
            ),
            worker_start: counter(
                r,
                WORKER_START,
                "Workers started",
                &[NAMESPACE, TASK_QUEUE, WORKER_TYPE],
            ),
            num_pollers: gauge(
                r,
                NUM_POLLERS,
                "Polls in flight",
                &[NAMESPACE, TASK_QUEUE, POLLER_TYPE],
            ),
            slots: register(
                r,
                SlotGauges::new(
                    unregistered_gauge(
                        TASK_SLOTS_AVAILABLE,
                        "Free task slots",
                        &[NAMESPACE, TASK_QUEUE, WORKER_TYPE],
                    ),
                    unregistered_gauge(
                        TASK_SLOTS_USED,
                        "Task slots in use",
                        &[NAMESPACE, TASK_QUEUE, WORKER_TYPE],
                    ),
                ),
            ),
            wft_poll_succeed: counter(
                r,
                WORKFLOW_TASK_QUEUE_POLL_SUCCEED,
                "Workflow task polls that got a task",
                WORKER,
            ),
            wft_poll_empty: counter(
                r,
                WORKFLOW_TASK_QUEUE_POLL_EMPTY,
                "Workflow task polls that expired empty",
                WORKER,
            ),
            wft_schedule_to_start: histogram(
                r,
                WORKFLOW_TASK_SCHEDULE_TO_START_LATENCY,
                "Workflow task schedule-to-start",
                WORKER,
                SLOW_BUCKETS,
            ),
            wft_execution: histogram(
                r,
                WORKFLOW_TASK_EXECUTION_LATENCY,
                "Workflow task execution",
                WORKFLOW,
                FAST_BUCKETS,
            ),
            wft_replay: histogram(
                r,
                WORKFLOW_TASK_REPLAY_LATENCY,
                "Workflow task history replay",
                WORKFLOW,
                FAST_BUCKETS,
            ),
            wft_failed: counter(
                r,
                WORKFLOW_TASK_EXECUTION_FAILED,
                "Workflow tasks failed",
                &[NAMESPACE, TASK_QUEUE, WORKFLOW_TYPE, FAILURE_REASON],
            ),
            workflow_completed: counter(r, WORKFLOW_COMPLETED, "Workflow runs completed", WORKFLOW),
            workflow_failed: counter(r, WORKFLOW_FAILED, "Workflow runs failed", WORKFLOW),
            workflow_canceled: counter(r, WORKFLOW_CANCELED, "Workflow runs cancelled", WORKFLOW),
            workflow_continue_as_new: counter(
                r,
                WORKFLOW_CONTINUE_AS_NEW,
                "Workflow runs continued as new",
                WORKFLOW,
            ),
            activity_poll_no_task: counter(
                r,
                ACTIVITY_POLL_NO_TASK,
                "Activity polls that expired empty",
                WORKER,
            ),
            activity_schedule_to_start: histogram(
                r,
                ACTIVITY_SCHEDULE_TO_START_LATENCY,
                "Activity attempt schedule-to-start",
                ACTIVITY,
                SLOW_BUCKETS,
            ),
            activity_execution: histogram(
                r,
                ACTIVITY_EXECUTION_LATENCY,
                "Activity attempt execution",
                ACTIVITY,
                SLOW_BUCKETS,
            ),
            activity_failed: counter(
                r,
                ACTIVITY_EXECUTION_FAILED,
                "Activity attempts failed",
                ACTIVITY,
            ),
            activity_cancelled: counter(
                r,
                ACTIVITY_EXECUTION_CANCELLED,
                "Activity attempts cancelled",
                ACTIVITY,
            ),
            sticky_hit: counter(r, STICKY_CACHE_HIT, "Sticky cache hits", WORKER),
            sticky_miss: counter(r, STICKY_CACHE_MISS, "Sticky cache misses", WORKER),
            sticky_size: gauge(r, STICKY_CACHE_SIZE, "Runs in the sticky cache", WORKER),
            sticky_forced_eviction: counter(
                r,
                STICKY_CACHE_FORCED_EVICTION,
                "Runs evicted from the sticky cache to make room",
                WORKER,
            ),
            sticky_eviction: counter(
                r,
                STICKY_CACHE_EVICTION,
                "Runs evicted from the sticky cache, by reason",
                &[NAMESPACE, TASK_QUEUE, EVICTION_REASON],
            ),
            wft_history_events: counter(
                r,
                WORKFLOW_TASK_HISTORY_EVENTS,
                "History events received for workflow tasks",
                WORKER,
            ),
            registry,
        }
    }
}

// The names and labels are constants of this file, so registration can only fail on a
// programming error caught by the unit tests; it is logged rather than panicking.
fn register<C: Collector + Clone + 'static>(registry: &Registry, collector: C) -> C {
    if let Err(error) = registry.register(Box::new(collector.clone())) {
        tracing::error!(%error, "could not register a metric");
    }
    collector
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    match IntCounterVec::new(Opts::new(name, help), labels) {
        Ok(vec) => register(registry, vec),
        Err(error) => unreachable_metric(name, error),
    }
}

fn gauge(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    register(registry, unregistered_gauge(name, help, labels))
}

fn unregistered_gauge(name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    match IntGaugeVec::new(Opts::new(name, help), labels) {
        Ok(vec) => vec,
        Err(error) => unreachable_metric(name, error),
    }
}

fn histogram(
    registry: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> HistogramVec {
    let opts = HistogramOpts::new(name, help).buckets(buckets.to_vec());
    match HistogramVec::new(opts, labels) {
        Ok(vec) => register(registry, vec),
        Err(error) => unreachable_metric(name, error),
    }
}

#[cold]
fn unreachable_metric<T>(name: &str, error: prometheus::Error) -> T {
    // Only a malformed constant name reaches this; the unit tests build every family.
    unreachable!("metric {name} is malformed: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::Encoder;

    #[test]
    fn every_family_registers_and_renders_with_the_temporal_prefix() {
        let metrics = Metrics::new(Registry::new());
        metrics
            .request
            .with_label_values(&["default", "StartWorkflowExecution"])
            .inc();
        metrics
            .wft_execution
            .with_label_values(&["default", "q", "Greet"])
            .observe(0.01);
        let families = metrics.registry.gather();
        assert!(families.iter().all(|f| f.name().starts_with("temporal_")));
        let mut text = Vec::new();
        prometheus::TextEncoder::new()
            .encode(&families, &mut text)
            .unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains(
            r#"temporal_request{namespace="default",operation="StartWorkflowExecution"} 1"#
        ));
        assert!(text.contains(
            r#"temporal_workflow_task_execution_latency_count{namespace="default",task_queue="q",workflow_type="Greet"} 1"#
        ));
    }
}
