//! A run's mutable state: everything the service knows about one run besides its events.
//!
//! All of it is plain data (no closures, no channels), so a store can persist it as it is and
//! rebuild timers and task queues from it.

mod activity;
mod commands;
mod events;
mod lifecycle;
mod relations;
mod retry;
mod txn;
mod workflow_task;

pub use activity::ActivityResult;
pub use commands::Completion;
pub use events::event_type_of;
pub use events::is_close_event;
pub use lifecycle::NewRun;
pub use retry::RetryDecision;
pub use txn::{ChildOutcome, Effect, Txn};
pub use workflow_task::StartedWorkflowTask;

use crate::ids::RunKey;
use crate::proto::{common, enums, failure, history};
use std::collections::{BTreeMap, BTreeSet};

/// Default workflow task start-to-close timeout.
pub const DEFAULT_WFT_TIMEOUT_MS: i64 = 10_000;
/// The largest workflow task timeout the server accepts.
pub const MAX_WFT_TIMEOUT_MS: i64 = 120_000;

/// Everything about one run except its written events.
#[derive(Debug, Clone)]
pub struct MutableState {
    /// The run.
    pub key: RunKey,
    /// The first run of the chain (continue-as-new and retries keep it).
    pub first_execution_run_id: String,
    /// The workflow type.
    pub workflow_type: String,
    /// The normal task queue.
    pub task_queue: String,
    /// Running, Completed, ...
    pub status: enums::WorkflowExecutionStatus,
    /// When the run started (virtual ms).
    pub start_time_ms: i64,
    /// When it closed.
    pub close_time_ms: Option<i64>,
    /// The id the next written event gets.
    pub next_event_id: i64,
    /// Events that arrived while a workflow task was started; written after its completion.
    pub buffered: Vec<history::HistoryEvent>,
    /// The workflow task scheduled or started, if any.
    pub wft: Option<WorkflowTask>,
    /// The attempt the next workflow task gets (above 1 after failures: transient tasks).
    pub wft_attempt: i32,
    /// Source of workflow task stamps.
    pub next_stamp: u64,
    /// The sticky queue of the worker that completed the last task, if it asked for one.
    pub sticky: Option<Sticky>,
    /// Started event id of the last completed workflow task.
    pub last_completed_started_event_id: i64,
    /// Pending activities by scheduled event id.
    pub activities: BTreeMap<i64, Activity>,
    /// Pending timers by timer id.
    pub timers: BTreeMap<String, UserTimer>,
    /// Children by initiated event id.
    pub children: BTreeMap<i64, Child>,
    /// Whether cancellation was requested.
    pub cancel_requested: bool,
    /// Request ids seen (start, signal, cancel, terminate): repeats are answered, not applied.
    pub request_ids: BTreeSet<String>,
    /// The request id that started the run.
    pub start_request_id: String,
    /// The parent, for children.
    pub parent: Option<Parent>,
    /// Workflow task timeout.
    pub wft_timeout_ms: i64,
    /// Run timeout, if any.
    pub run_timeout_ms: Option<i64>,
    /// Execution timeout (spans continue-as-new), if any.
    pub execution_timeout_ms: Option<i64>,
    /// When the run times out (the earlier of run and execution deadlines).
    pub run_deadline_ms: Option<i64>,
    /// When the whole execution times out (carried over continue-as-new).
    pub execution_deadline_ms: Option<i64>,
    /// The run's attempt (workflow retries).
    pub attempt: i32,
    /// Memo.
    pub memo: Option<common::Memo>,
    /// Search attributes.
    pub search_attributes: Option<common::SearchAttributes>,
    /// The run started after this one (continue-as-new), if any.
    pub new_execution_run_id: Option<String>,
    /// Queries waiting for the next workflow task, and those riding on the current one.
    pub queries: PendingQueries,
}

/// Query ids waiting on this run.
#[derive(Debug, Clone, Default)]
pub struct PendingQueries {
    /// Waiting for the next workflow task.
    pub waiting: Vec<u64>,
    /// Handed out with the current (started) workflow task.
    pub attached: Vec<u64>,
}

/// A workflow task scheduled or started.
#[derive(Debug, Clone)]
pub struct WorkflowTask {
    /// Unique per scheduled task of the run; names the task in tokens and timers.
    pub stamp: u64,
    /// Its scheduled event id (for transient tasks, the id it would get).
    pub scheduled_event_id: i64,
    /// Its started event id once started (for transient tasks, the id it would get).
    pub started_event_id: i64,
    /// Its attempt.
    pub attempt: i32,
    /// Whether a worker holds it.
    pub started: bool,
    /// Transient: attempt 2 or more, its Scheduled/Started events not written.
    pub transient: bool,
    /// The queue it is on.
    pub queue: String,
    /// Whether that queue is the sticky one.
    pub sticky: bool,
    /// When it was scheduled.
    pub scheduled_time_ms: i64,
    /// When it was started.
    pub started_time_ms: i64,
    /// Who started it.
    pub identity: String,
}

/// A sticky queue.
#[derive(Debug, Clone)]
pub struct Sticky {
    /// The sticky queue's name.
    pub queue: String,
    /// Its schedule-to-start timeout.
    pub schedule_to_start_ms: i64,
}

/// An activity's place in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityState {
    /// On its task queue.
    Scheduled,
    /// Held by a worker.
    Started,
    /// Waiting out a retry backoff.
    Backoff,
}

/// A pending activity.
#[derive(Debug, Clone)]
pub struct Activity {
    /// Its ActivityTaskScheduled event id.
    pub scheduled_event_id: i64,
    /// The activity id.
    pub activity_id: String,
    /// The activity type.
    pub activity_type: String,
    /// Its task queue.
    pub task_queue: String,
    /// Input.
    pub input: Option<common::Payloads>,
    /// Header.
    pub header: Option<common::Header>,
    /// Current attempt.
    pub attempt: i32,
    /// Lifecycle state.
    pub state: ActivityState,
    /// Schedule-to-close timeout, if any.
    pub schedule_to_close_ms: Option<i64>,
    /// Schedule-to-start timeout, if any.
    pub schedule_to_start_ms: Option<i64>,
    /// Start-to-close timeout.
    pub start_to_close_ms: i64,
    /// Heartbeat timeout, if any.
    pub heartbeat_ms: Option<i64>,
    /// The retry policy with defaults filled in.
    pub retry_policy: common::RetryPolicy,
    /// When the first attempt was scheduled.
    pub first_scheduled_ms: i64,
    /// When the current attempt was scheduled.
    pub current_scheduled_ms: i64,
    /// When the current attempt started.
    pub started_ms: i64,
    /// Identity of the worker of the current attempt.
    pub identity: String,
    /// Request id of the current attempt's start.
    pub request_id: String,
    /// Latest heartbeat details.
    pub heartbeat_details: Option<common::Payloads>,
    /// When the last heartbeat came (or the attempt started).
    pub last_heartbeat_ms: i64,
    /// Bumped by every heartbeat: a heartbeat timer armed before is stale.
    pub heartbeat_stamp: u64,
    /// The last attempt's failure.
    pub last_failure: Option<failure::Failure>,
    /// Whether the workflow asked to cancel it.
    pub cancel_requested: bool,
    /// The ActivityTaskCancelRequested event id.
    pub cancel_requested_event_id: i64,
}

/// A pending timer.
#[derive(Debug, Clone)]
pub struct UserTimer {
    /// Its TimerStarted event id.
    pub started_event_id: i64,
    /// When it fires.
    pub deadline_ms: i64,
}

/// A child workflow started by this run.
#[derive(Debug, Clone)]
pub struct Child {
    /// Its namespace.
    pub namespace: String,
    /// Its workflow id.
    pub workflow_id: String,
    /// Its first run id, once started.
    pub run_id: Option<String>,
    /// Its workflow type.
    pub workflow_type: String,
    /// ChildWorkflowExecutionStarted event id, once started.
    pub started_event_id: i64,
    /// What happens to it when this run closes.
    pub parent_close_policy: enums::ParentClosePolicy,
}

/// A child's parent.
#[derive(Debug, Clone)]
pub struct Parent {
    /// The parent run.
    pub run: RunKey,
    /// The parent's StartChildWorkflowExecutionInitiated event id.
    pub initiated_event_id: i64,
}

impl MutableState {
    /// Whether the run is still running.
    pub fn is_running(&self) -> bool {
        self.status == enums::WorkflowExecutionStatus::Running
    }

    /// Whether the run has work outstanding that holds time skipping back: a workflow task, or
    /// an activity outside its retry backoff.
    pub fn is_busy(&self) -> bool {
        self.is_running()
            && (self.wft.is_some()
                || self
                    .activities
                    .values()
                    .any(|activity| activity.state != ActivityState::Backoff))
    }
}
