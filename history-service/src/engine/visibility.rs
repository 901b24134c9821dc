//! DescribeWorkflowExecution, ListWorkflowExecutions and CountWorkflowExecutions.

use super::Engine;
use crate::error::{Result, ServiceError};
use crate::filter::Filter;
use crate::proto::enums::{PendingActivityState, PendingWorkflowTaskState};
use crate::proto::wfs::{
    CountWorkflowExecutionsRequest, CountWorkflowExecutionsResponse,
    DescribeWorkflowExecutionRequest, DescribeWorkflowExecutionResponse,
    ListWorkflowExecutionsRequest, ListWorkflowExecutionsResponse,
};
use crate::proto::{common, duration, taskqueue, timestamp, workflow};
use crate::state::{ActivityState, MutableState};

fn execution_info(state: &MutableState, history_length: i64) -> workflow::WorkflowExecutionInfo {
    workflow::WorkflowExecutionInfo {
        execution: Some(state.key.execution()),
        r#type: Some(common::WorkflowType {
            name: state.workflow_type.clone(),
        }),
        start_time: Some(timestamp(state.start_time_ms)),
        close_time: state.close_time_ms.map(timestamp),
        status: state.status as i32,
        history_length,
        parent_execution: state.parent.as_ref().map(|p| p.run.execution()),
        parent_namespace_id: state
            .parent
            .as_ref()
            .map(|p| p.run.namespace.clone())
            .unwrap_or_default(),
        execution_time: Some(timestamp(state.start_time_ms)),
        memo: state.memo.clone(),
        search_attributes: state.search_attributes.clone(),
        task_queue: state.task_queue.clone(),
        first_run_id: state.first_execution_run_id.clone(),
        execution_duration: state
            .close_time_ms
            .map(|close| duration(close - state.start_time_ms)),
        ..Default::default()
    }
}

impl Engine {
    /// DescribeWorkflowExecution: execution info, pending activities, children and task.
    pub fn describe(
        &self,
        request: DescribeWorkflowExecutionRequest,
    ) -> Result<DescribeWorkflowExecutionResponse> {
        self.check_namespace(&request.namespace)?;
        let execution = request
            .execution
            .ok_or_else(|| ServiceError::InvalidArgument("Execution is not set".into()))?;
        let inner = self.lock();
        let key = Engine::resolve(
            &inner,
            &request.namespace,
            &execution.workflow_id,
            &execution.run_id,
        )?;
        let state = inner
            .store
            .load(&key)
            .ok_or_else(|| ServiceError::NotFound(key.to_string()))?;
        let history_length = state.next_event_id - 1;
        let pending_activities = state
            .activities
            .values()
            .map(|a| workflow::PendingActivityInfo {
                activity_id: a.activity_id.clone(),
                activity_type: Some(common::ActivityType {
                    name: a.activity_type.clone(),
                }),
                state: match (a.state, a.cancel_requested) {
                    (_, true) => PendingActivityState::CancelRequested,
                    (ActivityState::Started, _) => PendingActivityState::Started,
                    _ => PendingActivityState::Scheduled,
                } as i32,
                heartbeat_details: a.heartbeat_details.clone(),
                last_heartbeat_time: (a.last_heartbeat_ms > 0)
                    .then(|| timestamp(a.last_heartbeat_ms)),
                last_started_time: (a.started_ms > 0).then(|| timestamp(a.started_ms)),
                attempt: a.attempt,
                maximum_attempts: a.retry_policy.maximum_attempts,
                scheduled_time: Some(timestamp(a.current_scheduled_ms)),
                expiration_time: a
                    .schedule_to_close_ms
                    .map(|ms| timestamp(a.first_scheduled_ms + ms)),
                last_failure: a.last_failure.clone(),
                last_worker_identity: a.identity.clone(),
                ..Default::default()
            })
            .collect();
        let pending_children = state
            .children
            .iter()
            .map(|(initiated, child)| workflow::PendingChildExecutionInfo {
                workflow_id: child.workflow_id.clone(),
                run_id: child.run_id.clone().unwrap_or_default(),
                workflow_type_name: child.workflow_type.clone(),
                initiated_id: *initiated,
                parent_close_policy: child.parent_close_policy as i32,
            })
            .collect();
        let pending_workflow_task =
            state
                .wft
                .as_ref()
                .map(|wft| workflow::PendingWorkflowTaskInfo {
                    state: if wft.started {
                        PendingWorkflowTaskState::Started
                    } else {
                        PendingWorkflowTaskState::Scheduled
                    } as i32,
                    scheduled_time: Some(timestamp(wft.scheduled_time_ms)),
                    original_scheduled_time: Some(timestamp(wft.scheduled_time_ms)),
                    started_time: wft.started.then(|| timestamp(wft.started_time_ms)),
                    attempt: wft.attempt,
                });
        Ok(DescribeWorkflowExecutionResponse {
            execution_config: Some(workflow::WorkflowExecutionConfig {
                task_queue: Some(taskqueue::TaskQueue {
                    name: state.task_queue.clone(),
                    ..Default::default()
                }),
                workflow_execution_timeout: state.execution_timeout_ms.map(duration),
                workflow_run_timeout: state.run_timeout_ms.map(duration),
                default_workflow_task_timeout: Some(duration(state.wft_timeout_ms)),
                ..Default::default()
            }),
            workflow_execution_info: Some(execution_info(&state, history_length)),
            pending_activities,
            pending_children,
            pending_workflow_task,
            ..Default::default()
        })
    }

    fn matching_runs(&self, namespace: &str, query: &str) -> Result<Vec<MutableState>> {
        self.check_namespace(namespace)?;
        let filter = Filter::parse(query)?;
        let inner = self.lock();
        let mut runs: Vec<MutableState> = inner
            .store
            .runs(namespace)
            .into_iter()
            .filter(|state| filter.matches(state))
            .collect();
        // CloseTime DESC NULLS FIRST, then StartTime DESC, as the server orders them.
        runs.sort_by(|a, b| {
            let close = |s: &MutableState| s.close_time_ms.unwrap_or(i64::MAX);
            close(b)
                .cmp(&close(a))
                .then(b.start_time_ms.cmp(&a.start_time_ms))
                .then(b.key.run_id.cmp(&a.key.run_id))
        });
        Ok(runs)
    }

    /// ListWorkflowExecutions with the List Filter basics.
    pub fn list(
        &self,
        request: ListWorkflowExecutionsRequest,
    ) -> Result<ListWorkflowExecutionsResponse> {
        let runs = self.matching_runs(&request.namespace, &request.query)?;
        let offset: usize = if request.next_page_token.is_empty() {
            0
        } else {
            std::str::from_utf8(&request.next_page_token)
                .ok()
                .and_then(|t| t.parse().ok())
                .ok_or_else(|| ServiceError::InvalidArgument("invalid page token".into()))?
        };
        let page_size = if request.page_size <= 0 {
            1000
        } else {
            request.page_size as usize
        };
        let executions: Vec<_> = runs
            .iter()
            .skip(offset)
            .take(page_size)
            .map(|state| execution_info(state, state.next_event_id - 1))
            .collect();
        let next = offset + executions.len();
        Ok(ListWorkflowExecutionsResponse {
            executions,
            next_page_token: if next < runs.len() {
                next.to_string().into_bytes()
            } else {
                Vec::new()
            },
        })
    }

    /// CountWorkflowExecutions.
    pub fn count(
        &self,
        request: CountWorkflowExecutionsRequest,
    ) -> Result<CountWorkflowExecutionsResponse> {
        let runs = self.matching_runs(&request.namespace, &request.query)?;
        Ok(CountWorkflowExecutionsResponse {
            count: runs.len() as i64,
            groups: Vec::new(),
        })
    }
}
