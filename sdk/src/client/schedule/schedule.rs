//! What a schedule is: its action (a typed workflow start), its times, its policies and
//! its state ([`Schedule`]).

use super::spec::ScheduleSpec;
use super::ScheduleError;
use crate::definition::{RunFn, WorkflowDefinition};
use chronicle_core::payload::{self, Payload, PayloadError};
use chronicle_core::proto::common::{Memo, SearchAttributes, WorkflowType};
use chronicle_core::proto::enums::{ScheduleOverlapPolicy as PbOverlap, TaskQueueKind};
use chronicle_core::proto::schedule as pb;
use chronicle_core::proto::taskqueue::TaskQueue;
use chronicle_core::proto::workflow::NewWorkflowExecutionInfo;
use chronicle_core::proto::{duration, std_duration};
use chronicle_core::retry_policy::RetryPolicy;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What a schedule does when an action is due while the workflow it started last still runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScheduleOverlapPolicy {
    /// Do not start another (the server's default).
    #[default]
    Skip,
    /// Start one more once the running one ends; drop the rest.
    BufferOne,
    /// Start every due one, one after another.
    BufferAll,
    /// Cancel the running one, then start.
    CancelOther,
    /// Terminate the running one, then start.
    TerminateOther,
    /// Start at once, whatever runs.
    AllowAll,
}

impl ScheduleOverlapPolicy {
    pub(super) fn to_proto(self) -> PbOverlap {
        match self {
            Self::Skip => PbOverlap::Skip,
            Self::BufferOne => PbOverlap::BufferOne,
            Self::BufferAll => PbOverlap::BufferAll,
            Self::CancelOther => PbOverlap::CancelOther,
            Self::TerminateOther => PbOverlap::TerminateOther,
            Self::AllowAll => PbOverlap::AllowAll,
        }
    }

    fn from_proto(value: i32) -> Self {
        match PbOverlap::try_from(value) {
            Ok(PbOverlap::BufferOne) => Self::BufferOne,
            Ok(PbOverlap::BufferAll) => Self::BufferAll,
            Ok(PbOverlap::CancelOther) => Self::CancelOther,
            Ok(PbOverlap::TerminateOther) => Self::TerminateOther,
            Ok(PbOverlap::AllowAll) => Self::AllowAll,
            _ => Self::Skip,
        }
    }
}

/// The workflow a schedule starts at each action. The server appends the action's time to
/// the workflow id (`<workflow_id>-2026-12-02T01:00:00Z`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ScheduleAction {
    /// The workflow type.
    pub workflow_type: String,
    /// The workflow id's prefix; the schedule's id when empty.
    pub workflow_id: String,
    /// The task queue the workflow runs on.
    pub task_queue: String,
    /// One payload per argument.
    pub input: Vec<Payload>,
    /// Limit for each workflow's whole execution.
    pub execution_timeout: Option<Duration>,
    /// Limit for one run.
    pub run_timeout: Option<Duration>,
    /// Limit for one workflow task.
    pub task_timeout: Option<Duration>,
    /// Retries of each workflow.
    pub retry_policy: Option<RetryPolicy>,
    /// Memo of each workflow started.
    pub memo: HashMap<String, Payload>,
    /// Search attributes of each workflow started.
    pub search_attributes: HashMap<String, Payload>,
}

impl ScheduleAction {
    /// Replaces the workflow and its input, typed by its `#[run]` function.
    pub fn set_workflow<W, Args, F>(&mut self, run: F, input: W::Input) -> Result<(), PayloadError>
    where
        W: WorkflowDefinition,
        F: RunFn<W, Args>,
    {
        let _ = run;
        self.input = W::encode_input(&input)?;
        self.workflow_type = W::NAME.to_string();
        Ok(())
    }

    /// The input, decoded as the input of `W`'s run function.
    pub fn input_of<W: WorkflowDefinition>(&self) -> Result<W::Input, PayloadError> {
        W::decode_input(self.input.clone())
    }

    fn to_proto(&self, schedule_id: &str) -> NewWorkflowExecutionInfo {
        let workflow_id = if self.workflow_id.is_empty() {
            schedule_id.to_string()
        } else {
            self.workflow_id.clone()
        };
        NewWorkflowExecutionInfo {
            workflow_id,
            workflow_type: Some(WorkflowType {
                name: self.workflow_type.clone(),
            }),
            task_queue: Some(TaskQueue {
                name: self.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            input: payload::to_payloads(self.input.clone()),
            workflow_execution_timeout: self.execution_timeout.map(duration),
            workflow_run_timeout: self.run_timeout.map(duration),
            workflow_task_timeout: self.task_timeout.map(duration),
            retry_policy: self.retry_policy.as_ref().map(RetryPolicy::to_proto),
            memo: (!self.memo.is_empty()).then(|| Memo {
                fields: self.memo.clone(),
            }),
            search_attributes: (!self.search_attributes.is_empty()).then(|| SearchAttributes {
                indexed_fields: self.search_attributes.clone(),
            }),
            ..Default::default()
        }
    }

    fn from_proto(info: NewWorkflowExecutionInfo) -> Self {
        Self {
            workflow_type: info.workflow_type.map(|t| t.name).unwrap_or_default(),
            workflow_id: info.workflow_id,
            task_queue: info.task_queue.map(|q| q.name).unwrap_or_default(),
            input: payload::from_payloads(info.input),
            execution_timeout: info.workflow_execution_timeout.as_ref().map(std_duration),
            run_timeout: info.workflow_run_timeout.as_ref().map(std_duration),
            task_timeout: info.workflow_task_timeout.as_ref().map(std_duration),
            retry_policy: info.retry_policy.as_ref().map(retry_policy_from_proto),
            memo: info.memo.map(|m| m.fields).unwrap_or_default(),
            search_attributes: info
                .search_attributes
                .map(|s| s.indexed_fields)
                .unwrap_or_default(),
        }
    }
}

/// The retry policy the server echoes back.
fn retry_policy_from_proto(policy: &chronicle_core::proto::common::RetryPolicy) -> RetryPolicy {
    RetryPolicy {
        initial_interval: policy.initial_interval.as_ref().map(std_duration),
        backoff_coefficient: (policy.backoff_coefficient != 0.0)
            .then_some(policy.backoff_coefficient),
        maximum_interval: policy.maximum_interval.as_ref().map(std_duration),
        maximum_attempts: u32::try_from(policy.maximum_attempts).unwrap_or(0),
        non_retryable_error_types: policy.non_retryable_error_types.clone(),
    }
}

/// A schedule: start workflow `W` at the times of a [`ScheduleSpec`].
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(Default)] struct Report;
/// # #[workflow] impl Report { #[run] async fn run(_ctx: WorkflowContext<Self>, team: String) -> WorkflowResult<()> { Ok(()) } }
/// use chronicle::client::schedule::{Schedule, ScheduleOverlapPolicy, ScheduleSpec};
/// let schedule = Schedule::new(Report::run, "ops".to_string(), ScheduleSpec::cron("0 8 * * 1"))
///     .task_queue("reports")
///     .overlap(ScheduleOverlapPolicy::BufferOne);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Schedule {
    /// The workflow it starts.
    pub action: ScheduleAction,
    /// When.
    pub spec: ScheduleSpec,
    /// What to do when an action is due while the last workflow still runs.
    pub overlap: ScheduleOverlapPolicy,
    /// How late a missed action (say, during an outage) may still be taken; the server's
    /// default (one year) when `None`.
    pub catchup_window: Option<Duration>,
    /// Pause the schedule when a workflow it started fails.
    pub pause_on_failure: bool,
    /// Whether it is paused.
    pub paused: bool,
    /// A note on its state (why it was paused, ...).
    pub note: String,
    /// How many more actions it takes; `None` for no limit.
    pub remaining_actions: Option<u64>,
    /// Why the input could not be encoded: reported when the schedule is sent.
    encode_error: Option<Arc<PayloadError>>,
}

/// Equal when everything the server would hold is equal (an encoding error is not).
impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.action,
            &self.spec,
            self.overlap,
            self.catchup_window,
            self.pause_on_failure,
            self.paused,
            &self.note,
            self.remaining_actions,
        ) == (
            &other.action,
            &other.spec,
            other.overlap,
            other.catchup_window,
            other.pause_on_failure,
            other.paused,
            &other.note,
            other.remaining_actions,
        )
    }
}

impl Schedule {
    /// Starts workflow `W` (typed by its `#[run]` function) with `input` at the times of
    /// `spec`. Set the task queue with [`task_queue`](Self::task_queue).
    pub fn new<W, Args, F>(run: F, input: W::Input, spec: ScheduleSpec) -> Self
    where
        W: WorkflowDefinition,
        F: RunFn<W, Args>,
    {
        let _ = run;
        let (input, encode_error) = match W::encode_input(&input) {
            Ok(input) => (input, None),
            Err(e) => (Vec::new(), Some(Arc::new(e))),
        };
        Self::from_action(
            ScheduleAction {
                workflow_type: W::NAME.to_string(),
                workflow_id: String::new(),
                task_queue: String::new(),
                input,
                execution_timeout: None,
                run_timeout: None,
                task_timeout: None,
                retry_policy: None,
                memo: HashMap::new(),
                search_attributes: HashMap::new(),
            },
            spec,
            encode_error,
        )
    }

    /// Starts a workflow by type name with already encoded arguments (one payload each); for
    /// workflows written with other SDKs.
    pub fn by_name(
        workflow_type: impl Into<String>,
        args: Vec<Payload>,
        spec: ScheduleSpec,
    ) -> Self {
        Self::from_action(
            ScheduleAction {
                workflow_type: workflow_type.into(),
                workflow_id: String::new(),
                task_queue: String::new(),
                input: args,
                execution_timeout: None,
                run_timeout: None,
                task_timeout: None,
                retry_policy: None,
                memo: HashMap::new(),
                search_attributes: HashMap::new(),
            },
            spec,
            None,
        )
    }

    fn from_action(
        action: ScheduleAction,
        spec: ScheduleSpec,
        encode_error: Option<Arc<PayloadError>>,
    ) -> Self {
        Self {
            action,
            spec,
            overlap: ScheduleOverlapPolicy::default(),
            catchup_window: None,
            pause_on_failure: false,
            paused: false,
            note: String::new(),
            remaining_actions: None,
            encode_error,
        }
    }

    /// The task queue the workflows run on (required).
    pub fn task_queue(mut self, task_queue: impl Into<String>) -> Self {
        self.action.task_queue = task_queue.into();
        self
    }

    /// The workflow id's prefix (the schedule's id by default); the server appends the time.
    pub fn workflow_id(mut self, workflow_id: impl Into<String>) -> Self {
        self.action.workflow_id = workflow_id.into();
        self
    }

    /// Limit for each workflow's whole execution.
    pub fn execution_timeout(mut self, timeout: Duration) -> Self {
        self.action.execution_timeout = Some(timeout);
        self
    }

    /// Retries of each workflow.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.action.retry_policy = Some(policy);
        self
    }

    /// What to do when an action is due while the last workflow still runs.
    pub fn overlap(mut self, policy: ScheduleOverlapPolicy) -> Self {
        self.overlap = policy;
        self
    }

    /// How late a missed action may still be taken.
    pub fn catchup_window(mut self, window: Duration) -> Self {
        self.catchup_window = Some(window);
        self
    }

    /// Pause the schedule when one of its workflows fails.
    pub fn pause_on_failure(mut self, pause: bool) -> Self {
        self.pause_on_failure = pause;
        self
    }

    /// Created paused, with this note.
    pub fn paused(mut self, note: impl Into<String>) -> Self {
        self.paused = true;
        self.note = note.into();
        self
    }

    /// Takes only this many actions, then stops.
    pub fn remaining_actions(mut self, actions: u64) -> Self {
        self.remaining_actions = Some(actions);
        self
    }

    /// The request form; fails if the input could not be encoded or there is no task queue.
    pub(super) fn to_proto(&self, schedule_id: &str) -> Result<pb::Schedule, ScheduleError> {
        if let Some(error) = &self.encode_error {
            return Err(ScheduleError::Encode(error.clone()));
        }
        if self.action.task_queue.is_empty() {
            return Err(ScheduleError::Invalid {
                schedule_id: schedule_id.to_string(),
                message:
                    "the schedule's workflow has no task queue (set it with `.task_queue(..)`)"
                        .to_string(),
            });
        }
        Ok(pb::Schedule {
            spec: Some(self.spec.to_proto()),
            action: Some(pb::ScheduleAction {
                action: Some(pb::schedule_action::Action::StartWorkflow(
                    self.action.to_proto(schedule_id),
                )),
            }),
            policies: Some(pb::SchedulePolicies {
                overlap_policy: self.overlap.to_proto() as i32,
                catchup_window: self.catchup_window.map(duration),
                pause_on_failure: self.pause_on_failure,
                ..Default::default()
            }),
            state: Some(pb::ScheduleState {
                notes: self.note.clone(),
                paused: self.paused,
                limited_actions: self.remaining_actions.is_some(),
                remaining_actions: self
                    .remaining_actions
                    .map(|n| i64::try_from(n).unwrap_or(i64::MAX))
                    .unwrap_or(0),
            }),
        })
    }

    /// Reads a described schedule; `None` if its action is not a workflow start (the only
    /// kind Temporal has today).
    pub(super) fn from_proto(schedule: pb::Schedule) -> Option<Self> {
        let Some(pb::schedule_action::Action::StartWorkflow(start)) =
            schedule.action.and_then(|a| a.action)
        else {
            return None;
        };
        let policies = schedule.policies.unwrap_or_default();
        let state = schedule.state.unwrap_or_default();
        Some(Self {
            action: ScheduleAction::from_proto(start),
            spec: ScheduleSpec::from_proto(schedule.spec.unwrap_or_default()),
            overlap: ScheduleOverlapPolicy::from_proto(policies.overlap_policy),
            catchup_window: policies.catchup_window.as_ref().map(std_duration),
            pause_on_failure: policies.pause_on_failure,
            paused: state.paused,
            note: state.notes,
            remaining_actions: state
                .limited_actions
                .then(|| u64::try_from(state.remaining_actions).unwrap_or(0)),
            encode_error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_survives_the_round_trip_through_its_proto() {
        let schedule = Schedule::by_name(
            "Report",
            vec![payload::encode("ops").unwrap()],
            ScheduleSpec::interval(Duration::from_secs(60)),
        )
        .task_queue("reports")
        .workflow_id("report")
        .execution_timeout(Duration::from_secs(600))
        .overlap(ScheduleOverlapPolicy::AllowAll)
        .catchup_window(Duration::from_secs(120))
        .pause_on_failure(true)
        .paused("maintenance")
        .remaining_actions(3);
        let proto = schedule.to_proto("s-1").unwrap();
        assert_eq!(Schedule::from_proto(proto), Some(schedule));
    }

    #[test]
    fn the_workflow_id_defaults_to_the_schedule_id_and_a_task_queue_is_required() {
        let schedule = Schedule::by_name("Report", vec![], ScheduleSpec::cron("@hourly"));
        let error = schedule.to_proto("s-1").unwrap_err();
        assert!(matches!(error, ScheduleError::Invalid { .. }), "{error}");
        let proto = schedule.task_queue("q").to_proto("s-1").unwrap();
        let Some(pb::schedule_action::Action::StartWorkflow(start)) =
            proto.action.and_then(|a| a.action)
        else {
            panic!("no workflow start");
        };
        assert_eq!(start.workflow_id, "s-1");
    }
}
