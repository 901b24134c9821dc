//! Other workflows: children (start, started, failed to start, closed) and external signals
//! and cancellation requests, seen from the run that initiates them.

use super::txn::ChildOutcome;
use super::{Child, Effect, Txn};
use crate::proto::command::{
    RequestCancelExternalWorkflowExecutionCommandAttributes,
    SignalExternalWorkflowExecutionCommandAttributes, StartChildWorkflowExecutionCommandAttributes,
};
use crate::proto::enums::{
    CancelExternalWorkflowExecutionFailedCause, ParentClosePolicy,
    SignalExternalWorkflowExecutionFailedCause, StartChildWorkflowExecutionFailedCause,
};
use crate::proto::history::history_event::Attributes;
use crate::proto::{common, history};

impl Txn {
    fn namespace_or_own(&self, namespace: &str) -> String {
        if namespace.is_empty() {
            self.state.key.namespace.clone()
        } else {
            namespace.to_string()
        }
    }

    pub(super) fn initiate_child(
        &mut self,
        mut a: StartChildWorkflowExecutionCommandAttributes,
        completed_id: i64,
    ) {
        a.namespace = self.namespace_or_own(&a.namespace);
        if a.task_queue.as_ref().is_none_or(|q| q.name.is_empty()) {
            a.task_queue = Some(crate::proto::taskqueue::TaskQueue {
                name: self.state.task_queue.clone(),
                ..Default::default()
            });
        }
        let initiated_event_id = self.write(
            Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(
                history::StartChildWorkflowExecutionInitiatedEventAttributes {
                    namespace: a.namespace.clone(),
                    workflow_id: a.workflow_id.clone(),
                    workflow_type: a.workflow_type.clone(),
                    task_queue: a.task_queue.clone(),
                    input: a.input.clone(),
                    workflow_execution_timeout: a.workflow_execution_timeout,
                    workflow_run_timeout: a.workflow_run_timeout,
                    workflow_task_timeout: a.workflow_task_timeout,
                    parent_close_policy: a.parent_close_policy,
                    control: a.control.clone(),
                    workflow_task_completed_event_id: completed_id,
                    workflow_id_reuse_policy: a.workflow_id_reuse_policy,
                    retry_policy: a.retry_policy.clone(),
                    cron_schedule: a.cron_schedule.clone(),
                    header: a.header.clone(),
                    memo: a.memo.clone(),
                    search_attributes: a.search_attributes.clone(),
                    ..Default::default()
                },
            ),
        );
        let policy = match ParentClosePolicy::try_from(a.parent_close_policy) {
            Ok(ParentClosePolicy::Unspecified) | Err(_) => ParentClosePolicy::Terminate,
            Ok(policy) => policy,
        };
        self.state.children.insert(
            initiated_event_id,
            Child {
                namespace: a.namespace.clone(),
                workflow_id: a.workflow_id.clone(),
                run_id: None,
                workflow_type: a
                    .workflow_type
                    .as_ref()
                    .map(|t| t.name.clone())
                    .unwrap_or_default(),
                started_event_id: 0,
                parent_close_policy: policy,
            },
        );
        self.effect(Effect::StartChild {
            initiated_event_id,
            attributes: a,
        });
    }

    /// The child started.
    pub fn child_started(&mut self, initiated_event_id: i64, execution: common::WorkflowExecution) {
        let Some(child) = self.state.children.get_mut(&initiated_event_id) else {
            return;
        };
        child.run_id = Some(execution.run_id.clone());
        let attributes = history::ChildWorkflowExecutionStartedEventAttributes {
            namespace: child.namespace.clone(),
            initiated_event_id,
            workflow_execution: Some(execution),
            workflow_type: Some(common::WorkflowType {
                name: child.workflow_type.clone(),
            }),
            ..Default::default()
        };
        let next_id = self.state.next_event_id;
        if self.arrive(Attributes::ChildWorkflowExecutionStartedEventAttributes(
            attributes,
        )) {
            if let Some(child) = self.state.children.get_mut(&initiated_event_id) {
                child.started_event_id = next_id;
            }
        }
        self.schedule_workflow_task();
    }

    /// The child could not start: its id is taken.
    pub fn child_start_failed(&mut self, initiated_event_id: i64) {
        let Some(child) = self.state.children.remove(&initiated_event_id) else {
            return;
        };
        self.arrive(
            Attributes::StartChildWorkflowExecutionFailedEventAttributes(
                history::StartChildWorkflowExecutionFailedEventAttributes {
                    namespace: child.namespace,
                    workflow_id: child.workflow_id,
                    workflow_type: Some(common::WorkflowType {
                        name: child.workflow_type,
                    }),
                    cause: StartChildWorkflowExecutionFailedCause::WorkflowAlreadyExists as i32,
                    initiated_event_id,
                    ..Default::default()
                },
            ),
        );
        self.schedule_workflow_task();
    }

    /// The child closed.
    pub fn child_closed(
        &mut self,
        initiated_event_id: i64,
        execution: common::WorkflowExecution,
        outcome: ChildOutcome,
    ) {
        let Some(child) = self.state.children.remove(&initiated_event_id) else {
            return;
        };
        let namespace = child.namespace.clone();
        let workflow_execution = Some(execution);
        let workflow_type = Some(common::WorkflowType {
            name: child.workflow_type.clone(),
        });
        let started_event_id = child.started_event_id;
        let attributes = match outcome {
            ChildOutcome::Completed(result) => {
                Attributes::ChildWorkflowExecutionCompletedEventAttributes(
                    history::ChildWorkflowExecutionCompletedEventAttributes {
                        result,
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                )
            }
            ChildOutcome::Failed(failure, retry_state) => {
                Attributes::ChildWorkflowExecutionFailedEventAttributes(
                    history::ChildWorkflowExecutionFailedEventAttributes {
                        failure: failure.map(|f| *f),
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: retry_state as i32,
                        ..Default::default()
                    },
                )
            }
            ChildOutcome::Canceled(details) => {
                Attributes::ChildWorkflowExecutionCanceledEventAttributes(
                    history::ChildWorkflowExecutionCanceledEventAttributes {
                        details,
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                )
            }
            ChildOutcome::TimedOut(retry_state) => {
                Attributes::ChildWorkflowExecutionTimedOutEventAttributes(
                    history::ChildWorkflowExecutionTimedOutEventAttributes {
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        retry_state: retry_state as i32,
                        ..Default::default()
                    },
                )
            }
            ChildOutcome::Terminated => {
                Attributes::ChildWorkflowExecutionTerminatedEventAttributes(
                    history::ChildWorkflowExecutionTerminatedEventAttributes {
                        namespace,
                        workflow_execution,
                        workflow_type,
                        initiated_event_id,
                        started_event_id,
                        ..Default::default()
                    },
                )
            }
        };
        self.arrive(attributes);
        self.schedule_workflow_task();
    }

    pub(super) fn initiate_signal_external(
        &mut self,
        a: SignalExternalWorkflowExecutionCommandAttributes,
        completed_id: i64,
    ) {
        let namespace = self.namespace_or_own(&a.namespace);
        let initiated_event_id = self.write(
            Attributes::SignalExternalWorkflowExecutionInitiatedEventAttributes(
                history::SignalExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: completed_id,
                    namespace: namespace.clone(),
                    workflow_execution: a.execution.clone(),
                    signal_name: a.signal_name.clone(),
                    input: a.input.clone(),
                    control: a.control.clone(),
                    child_workflow_only: a.child_workflow_only,
                    header: a.header.clone(),
                    ..Default::default()
                },
            ),
        );
        self.effect(Effect::SignalExternal {
            initiated_event_id,
            namespace,
            execution: a.execution.unwrap_or_default(),
            signal_name: a.signal_name,
            input: a.input,
            header: a.header,
        });
    }

    /// The outcome of a signal this run sent: `None` delivered, else why not.
    pub fn signal_external_done(
        &mut self,
        initiated_event_id: i64,
        namespace: String,
        execution: common::WorkflowExecution,
        failed: Option<SignalExternalWorkflowExecutionFailedCause>,
    ) {
        let attributes = match failed {
            None => Attributes::ExternalWorkflowExecutionSignaledEventAttributes(
                history::ExternalWorkflowExecutionSignaledEventAttributes {
                    initiated_event_id,
                    namespace,
                    workflow_execution: Some(execution),
                    ..Default::default()
                },
            ),
            Some(cause) => Attributes::SignalExternalWorkflowExecutionFailedEventAttributes(
                history::SignalExternalWorkflowExecutionFailedEventAttributes {
                    cause: cause as i32,
                    namespace,
                    workflow_execution: Some(execution),
                    initiated_event_id,
                    ..Default::default()
                },
            ),
        };
        self.arrive(attributes);
        self.schedule_workflow_task();
    }

    pub(super) fn initiate_cancel_external(
        &mut self,
        a: RequestCancelExternalWorkflowExecutionCommandAttributes,
        completed_id: i64,
    ) {
        let namespace = self.namespace_or_own(&a.namespace);
        let execution = common::WorkflowExecution {
            workflow_id: a.workflow_id.clone(),
            run_id: a.run_id.clone(),
        };
        let initiated_event_id = self.write(
            Attributes::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes(
                history::RequestCancelExternalWorkflowExecutionInitiatedEventAttributes {
                    workflow_task_completed_event_id: completed_id,
                    namespace: namespace.clone(),
                    workflow_execution: Some(execution.clone()),
                    control: a.control.clone(),
                    child_workflow_only: a.child_workflow_only,
                    reason: a.reason.clone(),
                    ..Default::default()
                },
            ),
        );
        self.effect(Effect::CancelExternal {
            initiated_event_id,
            namespace,
            execution,
        });
    }

    /// The outcome of a cancellation request this run sent.
    pub fn cancel_external_done(
        &mut self,
        initiated_event_id: i64,
        namespace: String,
        execution: common::WorkflowExecution,
        failed: Option<CancelExternalWorkflowExecutionFailedCause>,
    ) {
        let attributes = match failed {
            None => Attributes::ExternalWorkflowExecutionCancelRequestedEventAttributes(
                history::ExternalWorkflowExecutionCancelRequestedEventAttributes {
                    initiated_event_id,
                    namespace,
                    workflow_execution: Some(execution),
                    ..Default::default()
                },
            ),
            Some(cause) => Attributes::RequestCancelExternalWorkflowExecutionFailedEventAttributes(
                history::RequestCancelExternalWorkflowExecutionFailedEventAttributes {
                    cause: cause as i32,
                    namespace,
                    workflow_execution: Some(execution),
                    initiated_event_id,
                    ..Default::default()
                },
            ),
        };
        self.arrive(attributes);
        self.schedule_workflow_task();
    }

    /// A user timer fired (stale ones, for timers canceled meanwhile, do nothing).
    pub fn user_timer_due(&mut self, timer_id: &str, started_event_id: i64) {
        let current = self
            .state
            .timers
            .get(timer_id)
            .is_some_and(|t| t.started_event_id == started_event_id);
        if !current || !self.state.is_running() {
            return;
        }
        self.state.timers.remove(timer_id);
        self.arrive(Attributes::TimerFiredEventAttributes(
            history::TimerFiredEventAttributes {
                timer_id: timer_id.to_string(),
                started_event_id,
            },
        ));
        self.schedule_workflow_task();
    }
}
