//! Task queues: a backlog of task references per queue, and a wake-up for its pollers.
//!
//! Queues hold references only (run plus stamp or attempt); a task is validated against the
//! run's state when a poller takes it, so a stale or duplicate reference is simply skipped.

use crate::ids::{QueueKey, RunKey};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::Notify;

/// A reference to a task on a queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRef {
    /// A run's workflow task with this stamp.
    Workflow {
        /// The run.
        run: RunKey,
        /// The task's stamp.
        stamp: u64,
    },
    /// An activity attempt.
    Activity {
        /// The run.
        run: RunKey,
        /// The ActivityTaskScheduled event id.
        scheduled_event_id: i64,
        /// The attempt.
        attempt: i32,
    },
    /// A direct query task.
    Query {
        /// The query's id.
        query_id: u64,
    },
}

/// All task queues.
#[derive(Debug, Default)]
pub struct Matching {
    queues: HashMap<QueueKey, VecDeque<TaskRef>>,
    wakers: HashMap<QueueKey, Arc<Notify>>,
}

impl Matching {
    /// Adds a task and wakes the queue's pollers.
    pub fn push(&mut self, queue: QueueKey, task: TaskRef) {
        self.queues
            .entry(queue.clone())
            .or_default()
            .push_back(task);
        self.waker(&queue).notify_waiters();
    }

    /// Takes the oldest task of a queue.
    pub fn pop(&mut self, queue: &QueueKey) -> Option<TaskRef> {
        self.queues.get_mut(queue)?.pop_front()
    }

    /// The queue's wake-up (pollers wait on it between attempts).
    pub fn waker(&mut self, queue: &QueueKey) -> Arc<Notify> {
        self.wakers.entry(queue.clone()).or_default().clone()
    }

    /// How many tasks wait on a queue.
    pub fn backlog(&self, queue: &QueueKey) -> usize {
        self.queues.get(queue).map_or(0, VecDeque::len)
    }
}
