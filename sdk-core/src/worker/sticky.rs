//! The worker's sticky queue: a task queue of its own, where the server sends the next
//! workflow task of a run this worker keeps cached, with only the events that are new to it.

use crate::proto::enums::TaskQueueKind;
use crate::proto::taskqueue::{StickyExecutionAttributes, TaskQueue};
use std::time::Duration;

/// The environment variable that turns on [`WorkerOptions::evict_after_every_task`]
/// (`1`), so that a whole test suite runs with a full replay at every task.
///
/// [`WorkerOptions::evict_after_every_task`]: super::WorkerOptions::evict_after_every_task
pub const EVICT_AFTER_EVERY_TASK_ENV: &str = "CHRONICLE_EVICT_AFTER_EVERY_TASK";

/// Whether [`EVICT_AFTER_EVERY_TASK_ENV`] is set to `1`.
pub(super) fn evict_after_every_task_from_env() -> bool {
    std::env::var(EVICT_AFTER_EVERY_TASK_ENV).is_ok_and(|v| v == "1")
}

/// A worker's sticky queue.
#[derive(Debug, Clone)]
pub(crate) struct StickyQueue {
    /// Unique to the worker (its task queue and instance key).
    pub name: String,
    normal_name: String,
    schedule_to_start_timeout: Duration,
}

impl StickyQueue {
    pub(super) fn new(
        task_queue: &str,
        instance_key: &str,
        schedule_to_start_timeout: Duration,
    ) -> Self {
        Self {
            name: format!("{task_queue}-sticky-{instance_key}"),
            normal_name: task_queue.to_string(),
            schedule_to_start_timeout,
        }
    }

    /// The queue as a poll names it.
    pub(super) fn task_queue(&self) -> TaskQueue {
        TaskQueue {
            name: self.name.clone(),
            kind: TaskQueueKind::Sticky as i32,
            normal_name: self.normal_name.clone(),
        }
    }

    /// What a task completion tells the server: send the run's next task here, and if no
    /// poller of this worker takes it within the timeout, to the normal queue.
    pub(super) fn attributes(&self) -> StickyExecutionAttributes {
        StickyExecutionAttributes {
            worker_task_queue: Some(self.task_queue()),
            schedule_to_start_timeout: Some(crate::proto::duration(self.schedule_to_start_timeout)),
        }
    }
}

/// How a worker's `pollers` workflow-task pollers split between its normal and its sticky
/// queue: half each, rounded towards the normal queue (which every new run's first task and
/// every cache miss of other workers goes through), at least one each.
pub(super) fn split_pollers(pollers: usize) -> (usize, usize) {
    let normal = pollers.div_ceil(2).max(1);
    let sticky = (pollers - normal.min(pollers)).max(1);
    (normal, sticky)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pollers_split_between_the_queues_with_at_least_one_each() {
        assert_eq!(split_pollers(1), (1, 1));
        assert_eq!(split_pollers(2), (1, 1));
        assert_eq!(split_pollers(4), (2, 2));
        assert_eq!(split_pollers(5), (3, 2));
    }

    #[test]
    fn the_sticky_queue_names_its_normal_queue() {
        let queue = StickyQueue::new("orders", "abc", Duration::from_secs(10));
        let polled = queue.task_queue();
        assert_eq!(polled.kind, TaskQueueKind::Sticky as i32);
        assert_eq!(polled.normal_name, "orders");
        assert_eq!(polled.name, "orders-sticky-abc");
        let attributes = queue.attributes();
        assert_eq!(
            attributes.schedule_to_start_timeout.map(|d| d.seconds),
            Some(10)
        );
    }
}
