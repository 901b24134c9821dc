//! A run's life: start, signals, cancel requests, terminate, close (complete, fail, cancel,
//! continue-as-new, time out), and what closing does to parent and children.

use super::txn::ChildOutcome;
use super::{Effect, MutableState, Parent, PendingQueries, Txn};
use crate::ids::RunKey;
use crate::proto::command::ContinueAsNewWorkflowExecutionCommandAttributes;
use crate::proto::enums::{
    ContinueAsNewInitiator, ParentClosePolicy, RetryState, WorkflowExecutionStatus as Status,
    WorkflowTaskFailedCause,
};
use crate::proto::history::history_event::Attributes;
use crate::proto::{common, duration, failure, history, taskqueue, timestamp};
use crate::timers::TimerKind;
use std::collections::{BTreeMap, BTreeSet};

/// Everything a new run starts from (a client's start, a child, continue-as-new).
#[derive(Debug, Clone, Default)]
pub struct NewRun {
    /// The run.
    pub key: Option<RunKey>,
    /// The first run of the chain; empty: this one.
    pub first_execution_run_id: String,
    /// Workflow type.
    pub workflow_type: String,
    /// Task queue.
    pub task_queue: String,
    /// Input.
    pub input: Option<common::Payloads>,
    /// Header.
    pub header: Option<common::Header>,
    /// Memo.
    pub memo: Option<common::Memo>,
    /// Search attributes.
    pub search_attributes: Option<common::SearchAttributes>,
    /// Workflow task timeout (0: default).
    pub wft_timeout_ms: i64,
    /// Run timeout.
    pub run_timeout_ms: Option<i64>,
    /// Execution timeout.
    pub execution_timeout_ms: Option<i64>,
    /// Execution deadline carried over from earlier runs.
    pub execution_deadline_ms: Option<i64>,
    /// Retry policy, as given.
    pub retry_policy: Option<common::RetryPolicy>,
    /// The start's request id.
    pub request_id: String,
    /// Who started it.
    pub identity: String,
    /// The parent, for children.
    pub parent: Option<Parent>,
    /// The run this one continues, for continue-as-new.
    pub continued_execution_run_id: String,
    /// Why it continued.
    pub initiator: ContinueAsNewInitiator,
    /// The previous run's failure, for retries.
    pub continued_failure: Option<failure::Failure>,
    /// The previous run's result, for cron.
    pub last_completion_result: Option<common::Payloads>,
    /// The run's attempt.
    pub attempt: i32,
    /// Delay before the first workflow task.
    pub start_delay_ms: i64,
}

impl MutableState {
    /// The state of a run that is about to start.
    pub fn new_run(key: RunKey, run: &NewRun, now_ms: i64) -> MutableState {
        let wft_timeout_ms = match run.wft_timeout_ms {
            0 => super::DEFAULT_WFT_TIMEOUT_MS,
            ms => ms.min(super::MAX_WFT_TIMEOUT_MS),
        };
        let execution_deadline_ms = run
            .execution_deadline_ms
            .or(run.execution_timeout_ms.map(|ms| now_ms + ms));
        let run_deadline_ms = match (
            run.run_timeout_ms.map(|ms| now_ms + ms),
            execution_deadline_ms,
        ) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        MutableState {
            first_execution_run_id: if run.first_execution_run_id.is_empty() {
                key.run_id.clone()
            } else {
                run.first_execution_run_id.clone()
            },
            key,
            workflow_type: run.workflow_type.clone(),
            task_queue: run.task_queue.clone(),
            status: Status::Running,
            start_time_ms: now_ms,
            close_time_ms: None,
            next_event_id: 1,
            buffered: Vec::new(),
            wft: None,
            wft_attempt: 1,
            next_stamp: 1,
            sticky: None,
            last_completed_started_event_id: 0,
            activities: BTreeMap::new(),
            timers: BTreeMap::new(),
            children: BTreeMap::new(),
            cancel_requested: false,
            request_ids: BTreeSet::from([run.request_id.clone()]),
            start_request_id: run.request_id.clone(),
            parent: run.parent.clone(),
            wft_timeout_ms,
            run_timeout_ms: run.run_timeout_ms,
            execution_timeout_ms: run.execution_timeout_ms,
            run_deadline_ms,
            execution_deadline_ms,
            attempt: run.attempt.max(1),
            memo: run.memo.clone(),
            search_attributes: run.search_attributes.clone(),
            new_execution_run_id: None,
            queries: PendingQueries::default(),
        }
    }
}

impl Txn {
    /// Writes WorkflowExecutionStarted and schedules the first workflow task.
    pub fn record_start(&mut self, run: &NewRun, parent_execution: Option<&RunKey>) {
        let state = &self.state;
        let attributes = history::WorkflowExecutionStartedEventAttributes {
            workflow_type: Some(common::WorkflowType {
                name: run.workflow_type.clone(),
            }),
            parent_workflow_namespace: parent_execution
                .map(|p| p.namespace.clone())
                .unwrap_or_default(),
            parent_workflow_execution: parent_execution.map(RunKey::execution),
            parent_initiated_event_id: run
                .parent
                .as_ref()
                .map(|p| p.initiated_event_id)
                .unwrap_or_default(),
            task_queue: Some(taskqueue::TaskQueue {
                name: run.task_queue.clone(),
                kind: crate::proto::enums::TaskQueueKind::Normal as i32,
                normal_name: String::new(),
            }),
            input: run.input.clone(),
            workflow_execution_timeout: state.execution_timeout_ms.map(duration),
            workflow_run_timeout: state.run_timeout_ms.map(duration),
            workflow_task_timeout: Some(duration(state.wft_timeout_ms)),
            continued_execution_run_id: run.continued_execution_run_id.clone(),
            initiator: run.initiator as i32,
            continued_failure: run.continued_failure.clone(),
            last_completion_result: run.last_completion_result.clone(),
            original_execution_run_id: state.key.run_id.clone(),
            identity: run.identity.clone(),
            first_execution_run_id: state.first_execution_run_id.clone(),
            retry_policy: run.retry_policy.clone(),
            attempt: state.attempt,
            workflow_execution_expiration_time: state.execution_deadline_ms.map(timestamp),
            first_workflow_task_backoff: (run.start_delay_ms > 0)
                .then(|| duration(run.start_delay_ms)),
            memo: run.memo.clone(),
            search_attributes: run.search_attributes.clone(),
            header: run.header.clone(),
            workflow_id: state.key.workflow_id.clone(),
            ..Default::default()
        };
        self.write(Attributes::WorkflowExecutionStartedEventAttributes(
            attributes,
        ));
        if let Some(deadline_ms) = self.state.run_deadline_ms {
            let run = self.key().clone();
            self.effect(Effect::Timer {
                deadline_ms,
                kind: TimerKind::RunTimeout { run },
            });
        }
        // Start delays are not served yet: the first task is scheduled at once.
        self.schedule_workflow_task();
    }

    /// A signal from a client or another workflow.
    pub fn signal(
        &mut self,
        signal_name: String,
        input: Option<common::Payloads>,
        header: Option<common::Header>,
        identity: String,
        request_id: String,
        external: Option<common::WorkflowExecution>,
    ) {
        self.arrive(Attributes::WorkflowExecutionSignaledEventAttributes(
            history::WorkflowExecutionSignaledEventAttributes {
                signal_name,
                input,
                identity,
                header,
                external_workflow_execution: external,
                request_id,
                ..Default::default()
            },
        ));
        self.schedule_workflow_task();
    }

    /// A cancellation request; a repeated one changes nothing.
    pub fn request_cancel(
        &mut self,
        cause: String,
        identity: String,
        external: Option<(i64, common::WorkflowExecution)>,
    ) {
        if self.state.cancel_requested {
            return;
        }
        self.state.cancel_requested = true;
        let (external_initiated_event_id, external_workflow_execution) = match external {
            Some((id, execution)) => (id, Some(execution)),
            None => (0, None),
        };
        self.arrive(Attributes::WorkflowExecutionCancelRequestedEventAttributes(
            history::WorkflowExecutionCancelRequestedEventAttributes {
                cause,
                external_initiated_event_id,
                external_workflow_execution,
                identity,
            },
        ));
        self.schedule_workflow_task();
    }

    /// Terminates the run: a started workflow task fails with FORCE_CLOSE_COMMAND first.
    pub fn terminate(
        &mut self,
        reason: String,
        details: Option<common::Payloads>,
        identity: String,
    ) {
        if let Some(task) = self.state.wft.take() {
            if task.started && !task.transient {
                self.write(Attributes::WorkflowTaskFailedEventAttributes(
                    history::WorkflowTaskFailedEventAttributes {
                        scheduled_event_id: task.scheduled_event_id,
                        started_event_id: task.started_event_id,
                        cause: WorkflowTaskFailedCause::ForceCloseCommand as i32,
                        identity: task.identity.clone(),
                        ..Default::default()
                    },
                ));
            }
        }
        self.flush_buffer();
        let attributes = Attributes::WorkflowExecutionTerminatedEventAttributes(
            history::WorkflowExecutionTerminatedEventAttributes {
                reason,
                details,
                identity,
            },
        );
        self.close(Status::Terminated, attributes, ChildOutcome::Terminated);
    }

    /// The run (or execution) timeout fired.
    pub fn run_timed_out(&mut self) {
        if !self.state.is_running()
            || self
                .state
                .run_deadline_ms
                .is_none_or(|deadline| deadline > self.now_ms)
        {
            return;
        }
        self.state.wft = None;
        self.flush_buffer();
        let attributes = Attributes::WorkflowExecutionTimedOutEventAttributes(
            history::WorkflowExecutionTimedOutEventAttributes {
                retry_state: RetryState::Timeout as i32,
                new_execution_run_id: String::new(),
            },
        );
        self.close(
            Status::TimedOut,
            attributes,
            ChildOutcome::TimedOut(RetryState::Timeout),
        );
    }

    pub(super) fn complete_workflow(
        &mut self,
        result: Option<common::Payloads>,
        completed_id: i64,
    ) {
        let attributes = Attributes::WorkflowExecutionCompletedEventAttributes(
            history::WorkflowExecutionCompletedEventAttributes {
                result: result.clone(),
                workflow_task_completed_event_id: completed_id,
                new_execution_run_id: String::new(),
            },
        );
        self.close(
            Status::Completed,
            attributes,
            ChildOutcome::Completed(result),
        );
    }

    pub(super) fn fail_workflow(&mut self, failure: Option<failure::Failure>, completed_id: i64) {
        // Workflow retry policies are not applied yet: the run fails for good.
        let retry_state = RetryState::RetryPolicyNotSet;
        let attributes = Attributes::WorkflowExecutionFailedEventAttributes(
            history::WorkflowExecutionFailedEventAttributes {
                failure: failure.clone(),
                retry_state: retry_state as i32,
                workflow_task_completed_event_id: completed_id,
                new_execution_run_id: String::new(),
            },
        );
        self.close(
            Status::Failed,
            attributes,
            ChildOutcome::Failed(failure.map(Box::new), retry_state),
        );
    }

    pub(super) fn cancel_workflow(&mut self, details: Option<common::Payloads>, completed_id: i64) {
        let attributes = Attributes::WorkflowExecutionCanceledEventAttributes(
            history::WorkflowExecutionCanceledEventAttributes {
                workflow_task_completed_event_id: completed_id,
                details: details.clone(),
            },
        );
        self.close(
            Status::Canceled,
            attributes,
            ChildOutcome::Canceled(details),
        );
    }

    pub(super) fn continue_as_new(
        &mut self,
        mut a: ContinueAsNewWorkflowExecutionCommandAttributes,
        new_run_id: String,
        completed_id: i64,
    ) {
        if a.workflow_type.as_ref().is_none_or(|t| t.name.is_empty()) {
            a.workflow_type = Some(common::WorkflowType {
                name: self.state.workflow_type.clone(),
            });
        }
        if a.task_queue.as_ref().is_none_or(|q| q.name.is_empty()) {
            a.task_queue = Some(taskqueue::TaskQueue {
                name: self.state.task_queue.clone(),
                ..Default::default()
            });
        }
        if a.workflow_run_timeout.is_none() {
            a.workflow_run_timeout = self.state.run_timeout_ms.map(duration);
        }
        if a.workflow_task_timeout.is_none() {
            a.workflow_task_timeout = Some(duration(self.state.wft_timeout_ms));
        }
        let attributes = Attributes::WorkflowExecutionContinuedAsNewEventAttributes(
            history::WorkflowExecutionContinuedAsNewEventAttributes {
                new_execution_run_id: new_run_id.clone(),
                workflow_type: a.workflow_type.clone(),
                task_queue: a.task_queue.clone(),
                input: a.input.clone(),
                workflow_run_timeout: a.workflow_run_timeout,
                workflow_task_timeout: a.workflow_task_timeout,
                workflow_task_completed_event_id: completed_id,
                backoff_start_interval: a.backoff_start_interval,
                initiator: a.initiator,
                failure: a.failure.clone(),
                last_completion_result: a.last_completion_result.clone(),
                header: a.header.clone(),
                memo: a.memo.clone(),
                search_attributes: a.search_attributes.clone(),
                ..Default::default()
            },
        );
        self.state.new_execution_run_id = Some(new_run_id.clone());
        // The parent hears from the last run of the chain, not this one.
        let parent = self.state.parent.take();
        self.close(Status::ContinuedAsNew, attributes, ChildOutcome::Terminated);
        self.state.parent = parent;
        self.effect(Effect::ContinueAsNew {
            new_run_id,
            attributes: a,
        });
    }

    /// Writes the close event and tells parent and children.
    fn close(&mut self, status: Status, attributes: Attributes, outcome: ChildOutcome) {
        self.write(attributes);
        self.state.status = status;
        self.state.close_time_ms = Some(self.now_ms);
        self.state.wft = None;
        self.state.buffered.clear();
        self.state.activities.clear();
        self.state.timers.clear();
        if let Some(parent) = self.state.parent.clone() {
            self.effect(Effect::NotifyParent {
                parent: parent.run,
                initiated_event_id: parent.initiated_event_id,
                child: self.state.key.execution(),
                workflow_type: self.state.workflow_type.clone(),
                outcome,
            });
        }
        let children: Vec<_> = std::mem::take(&mut self.state.children)
            .into_values()
            .filter(|child| child.parent_close_policy != ParentClosePolicy::Abandon)
            .filter_map(|child| {
                Some((
                    child.namespace,
                    child.workflow_id,
                    child.run_id?,
                    child.parent_close_policy,
                ))
            })
            .collect();
        if !children.is_empty() {
            self.effect(Effect::CloseChildren { children });
        }
        let mut query_ids = std::mem::take(&mut self.state.queries.waiting);
        query_ids.append(&mut self.state.queries.attached);
        if !query_ids.is_empty() {
            self.effect(Effect::DispatchQueries { query_ids });
        }
    }
}
