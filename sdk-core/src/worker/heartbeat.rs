//! Worker heartbeats: `RecordWorkerHeartbeat`, so `temporal worker list` and the Web UI's
//! Workers tab show this worker, its task queue, SDK, slots and pollers.
//!
//! The first heartbeat goes out as the worker starts, then one per
//! [`TelemetryOptions::worker_heartbeat_interval`](crate::telemetry::TelemetryOptions), one
//! saying "shutting down" when shutdown begins and a last "shutdown" when the worker stops.
//! Servers without the API (or with it switched off: `frontend.WorkerHeartbeatsEnabled`)
//! answer `Unimplemented` or `PermissionDenied`; the worker then stops heartbeating, quietly.

use super::{Shared, ShutdownHandle, WorkerError};
use crate::proto::enums::WorkerStatus;
use crate::proto::workflowservice::RecordWorkerHeartbeatRequest;
use crate::telemetry::{self, SlotSource, TaskCounts, TaskKind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use temporalio_protos::temporal::api::worker::v1::{
    WorkerHeartbeat, WorkerHostInfo, WorkerPollerInfo, WorkerSlotsInfo,
};
use tokio::sync::{oneshot, Semaphore};

/// Telemetry running alongside a worker: heartbeats, slot gauges, the metrics endpoint.
/// Dropping it (when the worker's run ends) sends the final "shutdown" heartbeat.
pub(crate) struct WorkerTelemetry {
    stopped: Option<oneshot::Sender<()>>,
}

impl Drop for WorkerTelemetry {
    fn drop(&mut self) {
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.send(());
        }
    }
}

/// Starts the worker's telemetry: serves Prometheus if asked, publishes the slot gauges,
/// counts the worker's start and begins heartbeating.
pub(crate) fn start(
    shared: &Arc<Shared>,
    workflow_slots: &Arc<Semaphore>,
    shutdown: &ShutdownHandle,
) -> Result<WorkerTelemetry, WorkerError> {
    let options = &shared.options.telemetry;
    if let Some(address) = options.prometheus_address {
        telemetry::serve_prometheus(address)
            .map_err(|error| WorkerError::InvalidOptions(error.to_string()))?;
    }
    let pools = Pools {
        workflow: (!shared.workflows.is_empty()).then(|| workflow_slots.clone()),
        activity: (!shared.activities.is_empty()).then(|| shared.activity_slots.clone()),
    };
    let worker = &shared.telemetry;
    for (kind, slots, capacity) in [
        (
            TaskKind::Workflow,
            &pools.workflow,
            shared.options.max_concurrent_workflow_tasks,
        ),
        (
            TaskKind::Activity,
            &pools.activity,
            shared.options.max_concurrent_activities,
        ),
    ] {
        let Some(slots) = slots else { continue };
        worker.started(kind);
        telemetry::Metrics::global().slots.add(SlotSource {
            namespace: worker.namespace.clone(),
            task_queue: worker.task_queue.clone(),
            kind,
            slots: Arc::downgrade(slots),
            capacity,
        });
    }
    let Some(interval) = options.worker_heartbeat_interval else {
        return Ok(WorkerTelemetry { stopped: None });
    };
    let (stopped, on_stop) = oneshot::channel();
    tokio::spawn(heartbeat_loop(
        shared.clone(),
        pools,
        shutdown.clone(),
        interval.max(Duration::from_secs(1)),
        on_stop,
    ));
    Ok(WorkerTelemetry {
        stopped: Some(stopped),
    })
}

/// The slot pools of the kinds of task the worker runs.
struct Pools {
    workflow: Option<Arc<Semaphore>>,
    activity: Option<Arc<Semaphore>>,
}

async fn heartbeat_loop(
    shared: Arc<Shared>,
    pools: Pools,
    shutdown: ShutdownHandle,
    interval: Duration,
    on_stop: oneshot::Receiver<()>,
) {
    let mut beat = Heartbeats::new(shared, pools);
    loop {
        if !beat.send(WorkerStatus::Running).await {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = shutdown.requested() => break,
        }
    }
    if beat.send(WorkerStatus::ShuttingDown).await {
        // The worker's run has ended (or was dropped) once the sender is gone either way.
        let _ = on_stop.await;
        beat.send(WorkerStatus::Shutdown).await;
    }
}

/// What one heartbeat needs from the last: the time and the totals it reported.
struct Heartbeats {
    shared: Arc<Shared>,
    pools: Pools,
    last_sent: Option<SystemTime>,
    last_totals: [(u64, u64); 2],
}

impl Heartbeats {
    fn new(shared: Arc<Shared>, pools: Pools) -> Self {
        Self {
            shared,
            pools,
            last_sent: None,
            last_totals: [(0, 0); 2],
        }
    }

    /// Sends one heartbeat; false when the server does not take them (stop trying).
    async fn send(&mut self, status: WorkerStatus) -> bool {
        let heartbeat = self.build(status);
        let connection = &self.shared.connection;
        let request = RecordWorkerHeartbeatRequest {
            namespace: connection.namespace().to_string(),
            identity: connection.identity().to_string(),
            worker_heartbeat: vec![heartbeat],
            resource_id: grouping_key().to_string(),
        };
        let sent = connection
            .call("RecordWorkerHeartbeat", |mut svc| {
                let request = request.clone();
                async move { svc.record_worker_heartbeat(request).await }
            })
            .await;
        match sent {
            Ok(_) => true,
            Err(status)
                if matches!(
                    status.code(),
                    tonic::Code::Unimplemented | tonic::Code::PermissionDenied
                ) =>
            {
                tracing::debug!(%status, "the server does not take worker heartbeats");
                false
            }
            Err(status) => {
                tracing::debug!(%status, "worker heartbeat not sent; trying again next interval");
                true
            }
        }
    }

    fn build(&mut self, status: WorkerStatus) -> WorkerHeartbeat {
        let now = SystemTime::now();
        let shared = self.shared.clone();
        let worker = &shared.telemetry;
        let options = &shared.options;
        let elapsed = self
            .last_sent
            .and_then(|last| now.duration_since(last).ok());
        self.last_sent = Some(now);
        let [workflow_last, activity_last] = &mut self.last_totals;
        let workflow_slots = slots_info(
            workflow_last,
            &worker.workflow_tasks,
            self.pools.workflow.as_deref(),
            options.max_concurrent_workflow_tasks,
        );
        let activity_slots = slots_info(
            activity_last,
            &worker.activity_tasks,
            self.pools.activity.as_deref(),
            options.max_concurrent_activities,
        );
        WorkerHeartbeat {
            worker_instance_key: worker.instance_key.clone(),
            worker_identity: shared.connection.identity().to_string(),
            host_info: Some(WorkerHostInfo {
                host_name: host_name().to_string(),
                worker_grouping_key: grouping_key().to_string(),
                process_id: std::process::id().to_string(),
                ..Default::default()
            }),
            task_queue: options.task_queue.clone(),
            sdk_name: telemetry::SDK_NAME.to_string(),
            sdk_version: telemetry::SDK_VERSION.to_string(),
            status: status as i32,
            start_time: Some(crate::proto::timestamp(worker.start_time)),
            heartbeat_time: Some(crate::proto::timestamp(now)),
            elapsed_since_last_heartbeat: elapsed.map(crate::proto::duration),
            workflow_task_slots_info: workflow_slots,
            activity_task_slots_info: activity_slots,
            workflow_poller_info: self
                .pools
                .workflow
                .as_ref()
                .map(|_| poller_info(worker, TaskKind::Workflow)),
            activity_poller_info: self
                .pools
                .activity
                .as_ref()
                .map(|_| poller_info(worker, TaskKind::Activity)),
            total_sticky_cache_hit: clamp(shared.sticky_metrics.hits.load(Ordering::Relaxed)),
            total_sticky_cache_miss: clamp(shared.sticky_metrics.misses.load(Ordering::Relaxed)),
            current_sticky_cache_size: clamp(
                shared.sticky_metrics.size.load(Ordering::Relaxed).max(0) as u64,
            ),
            ..Default::default()
        }
    }
}

/// A pool's slots and task totals; `last` holds the totals the previous heartbeat reported.
fn slots_info(
    last: &mut (u64, u64),
    counts: &TaskCounts,
    pool: Option<&Semaphore>,
    capacity: usize,
) -> Option<WorkerSlotsInfo> {
    let pool = pool?;
    let free = pool.available_permits().min(capacity);
    let processed = counts.processed.load(Ordering::Relaxed);
    let failed = counts.failed.load(Ordering::Relaxed);
    let (last_processed, last_failed) = std::mem::replace(last, (processed, failed));
    Some(WorkerSlotsInfo {
        current_available_slots: clamp(free as u64),
        current_used_slots: clamp((capacity - free) as u64),
        slot_supplier_kind: "Fixed".to_string(),
        total_processed_tasks: clamp(processed),
        total_failed_tasks: clamp(failed),
        last_interval_processed_tasks: clamp(processed.saturating_sub(last_processed)),
        last_interval_failure_tasks: clamp(failed.saturating_sub(last_failed)),
    })
}

fn poller_info(worker: &telemetry::WorkerMetrics, kind: TaskKind) -> WorkerPollerInfo {
    WorkerPollerInfo {
        current_pollers: worker.pollers(kind),
        last_successful_poll_time: worker.last_task(kind).map(crate::proto::timestamp),
        is_autoscaling: false,
    }
}

fn clamp(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

/// Groups the workers of this process (the same for all of them, as in Temporal's SDKs).
fn grouping_key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(telemetry::random_key)
}

/// The machine's host name, without a dependency: the kernel's on Linux, else `$HOSTNAME`.
fn host_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .or_else(|| std::env::var("HOSTNAME").ok())
            .or_else(|| std::env::var("COMPUTERNAME").ok())
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| "unknown".to_string())
    })
}
