//! Workers' side: polling workflow and activity tasks and answering them.

use super::{Engine, Inner, POLL_TIMEOUT};
use crate::error::{Result, ServiceError};
use crate::ids::{QueueKey, QueueKind, RunKey};
use crate::matching::TaskRef;
use crate::proto::enums::{TaskQueueKind, WorkflowTaskFailedCause};
use crate::proto::wfs::{
    PollActivityTaskQueueRequest, PollActivityTaskQueueResponse, PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse, RespondWorkflowTaskCompletedRequest,
    RespondWorkflowTaskFailedRequest,
};
use crate::proto::{common, duration, history, taskqueue, timestamp};
use crate::state::{ActivityResult, Completion, StartedWorkflowTask};
use crate::token::TaskToken;
use std::sync::Arc;

fn stale() -> ServiceError {
    ServiceError::NotFound("workflow task or activity not found: the token is stale".into())
}

impl Engine {
    /// Waits until `take` yields a task from `queue`, or the poll times out (`None`).
    async fn long_poll<T>(
        self: &Arc<Self>,
        queue: QueueKey,
        mut take: impl FnMut(&Engine, &mut Inner, &QueueKey) -> Option<T>,
    ) -> Option<T> {
        let deadline = tokio::time::Instant::now() + POLL_TIMEOUT;
        let mut shutdown = self.shutdown_signal();
        loop {
            let waker = self.lock().matching.waker(&queue);
            let notified = waker.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut inner = self.lock();
                if let Some(task) = take(self, &mut inner, &queue) {
                    return Some(task);
                }
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => return None,
                _ = wait_true(&mut shutdown) => return None,
            }
        }
    }

    /// PollWorkflowTaskQueue: a workflow task (or a direct query task), or an empty response
    /// after the poll timeout.
    pub async fn poll_workflow_task(
        self: &Arc<Self>,
        request: PollWorkflowTaskQueueRequest,
    ) -> Result<PollWorkflowTaskQueueResponse> {
        self.check_namespace(&request.namespace)?;
        let name = request
            .task_queue
            .as_ref()
            .map(|q| q.name.clone())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(ServiceError::InvalidArgument("TaskQueue is not set".into()));
        }
        let queue = QueueKey {
            namespace: request.namespace.clone(),
            name,
            kind: QueueKind::Workflow,
        };
        let identity = request.identity.clone();
        let response = self
            .long_poll(queue, |engine, inner, queue| {
                while let Some(task) = inner.matching.pop(queue) {
                    let response = match task {
                        TaskRef::Workflow { run, stamp } => {
                            engine.start_workflow_task(inner, &run, stamp, &identity)
                        }
                        TaskRef::Query { query_id } => engine.query_task(inner, query_id),
                        TaskRef::Activity { .. } => None,
                    };
                    if response.is_some() {
                        return response;
                    }
                }
                None
            })
            .await;
        Ok(response.unwrap_or_default())
    }

    fn start_workflow_task(
        &self,
        inner: &mut Inner,
        run: &RunKey,
        stamp: u64,
        identity: &str,
    ) -> Option<PollWorkflowTaskQueueResponse> {
        let request_id = crate::ids::new_id();
        let started: StartedWorkflowTask = self
            .transact(inner, run, |txn| {
                Ok(txn.start_workflow_task(stamp, identity, &request_id))
            })
            .ok()??;
        let state = inner.store.load(run)?;
        // Sticky tasks carry only what the worker's cached run has not seen.
        let first = if started.task.sticky {
            started.previous_started_event_id + 1
        } else {
            1
        };
        let mut events = inner.store.events(run, first, usize::MAX);
        events.extend(started.transient_events.iter().cloned());
        let queries = started
            .query_ids
            .iter()
            .filter_map(|id| Some((super::query::query_key(*id), inner.queries.query(*id)?)))
            .collect();
        Some(PollWorkflowTaskQueueResponse {
            task_token: TaskToken::Workflow {
                run: run.clone(),
                stamp,
            }
            .encode(),
            workflow_execution: Some(run.execution()),
            workflow_type: Some(common::WorkflowType {
                name: state.workflow_type.clone(),
            }),
            previous_started_event_id: started.previous_started_event_id,
            started_event_id: started.task.started_event_id,
            attempt: started.task.attempt,
            history: Some(history::History { events }),
            workflow_execution_task_queue: Some(taskqueue::TaskQueue {
                name: state.task_queue.clone(),
                kind: TaskQueueKind::Normal as i32,
                normal_name: String::new(),
            }),
            scheduled_time: Some(timestamp(started.task.scheduled_time_ms)),
            started_time: Some(timestamp(started.task.started_time_ms)),
            queries,
            ..Default::default()
        })
    }

    /// RespondWorkflowTaskCompleted.
    pub fn complete_workflow_task(
        &self,
        request: RespondWorkflowTaskCompletedRequest,
    ) -> Result<()> {
        let TaskToken::Workflow { run, stamp } = TaskToken::decode(&request.task_token)? else {
            return Err(stale());
        };
        let mut inner = self.lock();
        let completion = self.transact(&mut inner, &run, |txn| {
            txn.complete_workflow_task(stamp, &request)
                .ok_or_else(stale)
        })?;
        let query_ids = match &completion {
            Completion::Accepted { query_ids } => query_ids.clone(),
            Completion::Rejected { .. } => Vec::new(),
        };
        for id in query_ids {
            let key = super::query::query_key(id);
            match request.query_results.get(&key) {
                Some(result) => inner.queries.answer_result(id, result),
                None => inner
                    .queries
                    .fail(id, "the worker did not answer the query"),
            }
        }
        match completion {
            Completion::Accepted { .. } => Ok(()),
            Completion::Rejected { cause, message, .. } => Err(ServiceError::InvalidArgument(
                format!("workflow task failed ({}): {message}", cause.as_str_name()),
            )),
        }
    }

    /// RespondWorkflowTaskFailed.
    pub fn fail_workflow_task(&self, request: RespondWorkflowTaskFailedRequest) -> Result<()> {
        let TaskToken::Workflow { run, stamp } = TaskToken::decode(&request.task_token)? else {
            return Err(stale());
        };
        let mut inner = self.lock();
        self.transact(&mut inner, &run, |txn| {
            txn.started_task(stamp).ok_or_else(stale)?;
            let cause = WorkflowTaskFailedCause::try_from(request.cause)
                .unwrap_or(WorkflowTaskFailedCause::Unspecified);
            txn.fail_workflow_task(cause, request.failure, None);
            Ok(())
        })
    }

    /// PollActivityTaskQueue.
    pub async fn poll_activity_task(
        self: &Arc<Self>,
        request: PollActivityTaskQueueRequest,
    ) -> Result<PollActivityTaskQueueResponse> {
        self.check_namespace(&request.namespace)?;
        let name = request
            .task_queue
            .as_ref()
            .map(|q| q.name.clone())
            .unwrap_or_default();
        if name.is_empty() {
            return Err(ServiceError::InvalidArgument("TaskQueue is not set".into()));
        }
        let queue = QueueKey {
            namespace: request.namespace.clone(),
            name,
            kind: QueueKind::Activity,
        };
        let identity = request.identity.clone();
        let response = self
            .long_poll(queue, |engine, inner, queue| {
                while let Some(task) = inner.matching.pop(queue) {
                    if let TaskRef::Activity {
                        run,
                        scheduled_event_id,
                        attempt,
                    } = task
                    {
                        if let Some(response) = engine.start_activity(
                            inner,
                            &run,
                            scheduled_event_id,
                            attempt,
                            &identity,
                        ) {
                            return Some(response);
                        }
                    }
                }
                None
            })
            .await;
        Ok(response.unwrap_or_default())
    }

    fn start_activity(
        &self,
        inner: &mut Inner,
        run: &RunKey,
        scheduled_event_id: i64,
        attempt: i32,
        identity: &str,
    ) -> Option<PollActivityTaskQueueResponse> {
        let request_id = crate::ids::new_id();
        let activity = self
            .transact(inner, run, |txn| {
                Ok(txn.start_activity(scheduled_event_id, attempt, identity, &request_id))
            })
            .ok()??;
        let state = inner.store.load(run)?;
        Some(PollActivityTaskQueueResponse {
            task_token: TaskToken::Activity {
                run: run.clone(),
                scheduled_event_id,
                attempt,
            }
            .encode(),
            workflow_namespace: run.namespace.clone(),
            workflow_type: Some(common::WorkflowType {
                name: state.workflow_type.clone(),
            }),
            workflow_execution: Some(run.execution()),
            activity_type: Some(common::ActivityType {
                name: activity.activity_type.clone(),
            }),
            activity_id: activity.activity_id.clone(),
            header: activity.header.clone(),
            input: activity.input.clone(),
            heartbeat_details: activity.heartbeat_details.clone(),
            scheduled_time: Some(timestamp(activity.first_scheduled_ms)),
            current_attempt_scheduled_time: Some(timestamp(activity.current_scheduled_ms)),
            started_time: Some(timestamp(activity.started_ms)),
            attempt,
            schedule_to_close_timeout: activity.schedule_to_close_ms.map(duration),
            start_to_close_timeout: Some(duration(activity.start_to_close_ms)),
            heartbeat_timeout: activity.heartbeat_ms.map(duration),
            retry_policy: Some(activity.retry_policy.clone()),
            ..Default::default()
        })
    }

    /// Resolves an activity by token or by (workflow, run, activity id).
    fn activity_target(
        &self,
        inner: &Inner,
        token: Option<&[u8]>,
        by_id: Option<(&str, &str, &str, &str)>,
    ) -> Result<(RunKey, i64, i32)> {
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            return match TaskToken::decode(token)? {
                TaskToken::Activity {
                    run,
                    scheduled_event_id,
                    attempt,
                } => Ok((run, scheduled_event_id, attempt)),
                _ => Err(stale()),
            };
        }
        let (namespace, workflow_id, run_id, activity_id) =
            by_id.ok_or_else(|| ServiceError::InvalidArgument("TaskToken is not set".into()))?;
        let key = Engine::resolve(inner, namespace, workflow_id, run_id)?;
        let state = inner.store.load(&key).ok_or_else(stale)?;
        let txn = crate::state::Txn::new(0, state);
        let (scheduled_event_id, attempt) = txn.activity_by_id(activity_id).ok_or_else(|| {
            ServiceError::NotFound(format!("activity {activity_id} is not pending"))
        })?;
        Ok((key, scheduled_event_id, attempt))
    }

    /// RecordActivityTaskHeartbeat(+ById): returns whether cancellation was requested.
    pub fn heartbeat(
        &self,
        token: Option<&[u8]>,
        by_id: Option<(&str, &str, &str, &str)>,
        details: Option<common::Payloads>,
    ) -> Result<bool> {
        let mut inner = self.lock();
        let (run, scheduled_event_id, attempt) = self.activity_target(&inner, token, by_id)?;
        self.transact(&mut inner, &run, |txn| {
            txn.heartbeat_activity(scheduled_event_id, attempt, details)
                .ok_or_else(stale)
        })
    }

    /// RespondActivityTask{Completed,Failed,Canceled}(+ById).
    pub fn respond_activity(
        &self,
        token: Option<&[u8]>,
        by_id: Option<(&str, &str, &str, &str)>,
        identity: &str,
        result: ActivityResult,
    ) -> Result<()> {
        let mut inner = self.lock();
        let (run, scheduled_event_id, attempt) = self.activity_target(&inner, token, by_id)?;
        self.transact(&mut inner, &run, |txn| {
            if txn.respond_activity(scheduled_event_id, attempt, identity, result) {
                Ok(())
            } else {
                Err(stale())
            }
        })
    }
}

/// Resolves once the watched flag is true (or its sender is gone).
pub(crate) async fn wait_true(receiver: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = receiver.wait_for(|stop| *stop).await;
}
