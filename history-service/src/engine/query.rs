//! Queries: direct query tasks when the run has no workflow task pending or is closed,
//! otherwise riding on the next workflow task (study rule 8).

use super::{Engine, Inner};
use crate::error::{Result, ServiceError};
use crate::ids::{QueueKey, QueueKind, RunKey};
use crate::matching::TaskRef;
use crate::proto::enums::{QueryRejectCondition, QueryResultType, WorkflowExecutionStatus};
use crate::proto::query::{QueryRejected, WorkflowQuery, WorkflowQueryResult};
use crate::proto::wfs::{
    PollWorkflowTaskQueueResponse, QueryWorkflowRequest, QueryWorkflowResponse,
    RespondQueryTaskCompletedRequest,
};
use crate::proto::{common, history};
use crate::token::TaskToken;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long QueryWorkflow waits for the worker's answer.
pub const QUERY_TIMEOUT: Duration = Duration::from_secs(30);

/// A query's answer.
#[derive(Debug, Clone)]
pub enum QueryOutcome {
    /// The handler's result.
    Answered(Option<common::Payloads>),
    /// The handler failed, or the query could not be answered.
    Failed(String),
}

#[derive(Debug)]
struct PendingQuery {
    run: RunKey,
    query: WorkflowQuery,
    sender: Option<oneshot::Sender<QueryOutcome>>,
}

/// Queries waiting for an answer. Not persisted: clients retry after a restart.
#[derive(Debug, Default)]
pub struct Queries {
    pending: HashMap<u64, PendingQuery>,
}

/// The key of a query in a workflow task's `queries` map and a completion's `query_results`.
pub fn query_key(id: u64) -> String {
    format!("q{id}")
}

impl Queries {
    /// Whether any query is waiting (it holds time skipping back).
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The query with this id.
    pub fn query(&self, id: u64) -> Option<WorkflowQuery> {
        self.pending.get(&id).map(|p| p.query.clone())
    }

    fn finish(&mut self, id: u64, outcome: QueryOutcome) {
        if let Some(mut pending) = self.pending.remove(&id) {
            if let Some(sender) = pending.sender.take() {
                let _ = sender.send(outcome);
            }
        }
    }

    /// Fails a query.
    pub fn fail(&mut self, id: u64, message: &str) {
        self.finish(id, QueryOutcome::Failed(message.to_string()));
    }

    /// Answers a query from a worker's result.
    pub fn answer_result(&mut self, id: u64, result: &WorkflowQueryResult) {
        let outcome = if result.result_type == QueryResultType::Answered as i32 {
            QueryOutcome::Answered(result.answer.clone())
        } else {
            QueryOutcome::Failed(failure_message(
                &result.error_message,
                result.failure.as_ref(),
            ))
        };
        self.finish(id, outcome);
    }
}

fn failure_message(message: &str, failure: Option<&crate::proto::failure::Failure>) -> String {
    match failure {
        Some(failure) if message.is_empty() => failure.message.clone(),
        _ => message.to_string(),
    }
}

impl Engine {
    /// QueryWorkflow.
    pub async fn query_workflow(
        self: &Arc<Self>,
        request: QueryWorkflowRequest,
    ) -> Result<QueryWorkflowResponse> {
        self.check_namespace(&request.namespace)?;
        let execution = request
            .execution
            .ok_or_else(|| ServiceError::InvalidArgument("Execution is not set".into()))?;
        let query = request
            .query
            .ok_or_else(|| ServiceError::InvalidArgument("Query is not set".into()))?;
        let receiver = {
            let mut inner = self.lock();
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
            let reject = QueryRejectCondition::try_from(request.query_reject_condition)
                .unwrap_or(QueryRejectCondition::None);
            let rejected = match reject {
                QueryRejectCondition::NotOpen => !state.is_running(),
                QueryRejectCondition::NotCompletedCleanly => {
                    !state.is_running() && state.status != WorkflowExecutionStatus::Completed
                }
                _ => false,
            };
            if rejected {
                return Ok(QueryWorkflowResponse {
                    query_rejected: Some(QueryRejected {
                        status: state.status as i32,
                    }),
                    ..Default::default()
                });
            }
            if state.is_running() && state.wft_attempt >= 3 {
                return Err(ServiceError::FailedPrecondition(
                    "the workflow's tasks keep failing; the query cannot be answered".into(),
                ));
            }
            let id = Engine::next_id(&mut inner);
            let (sender, receiver) = oneshot::channel();
            inner.queries.pending.insert(
                id,
                PendingQuery {
                    run: key.clone(),
                    query,
                    sender: Some(sender),
                },
            );
            if !state.is_running() || state.wft.is_none() {
                self.dispatch_queries(&mut inner, &key, vec![id]);
            } else {
                self.transact(&mut inner, &key, |txn| {
                    txn.state.queries.waiting.push(id);
                    Ok(())
                })?;
            }
            (id, receiver)
        };
        let (id, receiver) = receiver;
        let outcome = tokio::time::timeout(QUERY_TIMEOUT, receiver).await;
        // Whatever happened, the query is no longer pending.
        self.lock().queries.pending.remove(&id);
        match outcome {
            Ok(Ok(QueryOutcome::Answered(result))) => Ok(QueryWorkflowResponse {
                query_result: result,
                ..Default::default()
            }),
            Ok(Ok(QueryOutcome::Failed(message))) => Err(ServiceError::QueryFailed(message)),
            Ok(Err(_)) => Err(ServiceError::QueryFailed("the query was dropped".into())),
            Err(_) => Err(ServiceError::DeadlineExceeded(
                "no worker answered the query in time".into(),
            )),
        }
    }

    /// Puts queries on the run's sticky or normal queue as direct query tasks.
    pub(super) fn dispatch_queries(&self, inner: &mut Inner, key: &RunKey, query_ids: Vec<u64>) {
        let Some(state) = inner.store.load(key) else {
            for id in query_ids {
                inner.queries.fail(id, "the workflow vanished");
            }
            return;
        };
        let name = state
            .sticky
            .as_ref()
            .filter(|_| state.is_running())
            .map(|s| s.queue.clone())
            .unwrap_or(state.task_queue.clone());
        let queue = QueueKey {
            namespace: key.namespace.clone(),
            name,
            kind: QueueKind::Workflow,
        };
        for query_id in query_ids {
            inner
                .matching
                .push(queue.clone(), TaskRef::Query { query_id });
        }
    }

    /// A direct query task for a poller; `None` if the query is gone.
    pub(super) fn query_task(
        &self,
        inner: &mut Inner,
        query_id: u64,
    ) -> Option<PollWorkflowTaskQueueResponse> {
        let pending = inner.queries.pending.get(&query_id)?;
        let run = pending.run.clone();
        let query = pending.query.clone();
        let state = inner.store.load(&run)?;
        let events = inner.store.events(&run, 1, usize::MAX);
        let started_event_id = events.last().map(|e| e.event_id).unwrap_or_default();
        Some(PollWorkflowTaskQueueResponse {
            task_token: TaskToken::Query { query_id }.encode(),
            workflow_execution: Some(run.execution()),
            workflow_type: Some(common::WorkflowType {
                name: state.workflow_type.clone(),
            }),
            previous_started_event_id: state.last_completed_started_event_id,
            started_event_id,
            attempt: 1,
            history: Some(history::History { events }),
            query: Some(query),
            workflow_execution_task_queue: Some(crate::proto::taskqueue::TaskQueue {
                name: state.task_queue.clone(),
                ..Default::default()
            }),
            ..Default::default()
        })
    }

    /// RespondQueryTaskCompleted.
    pub fn respond_query_task(&self, request: RespondQueryTaskCompletedRequest) -> Result<()> {
        let TaskToken::Query { query_id } = TaskToken::decode(&request.task_token)? else {
            return Err(ServiceError::NotFound("not a query task token".into()));
        };
        let mut inner = self.lock();
        if !inner.queries.pending.contains_key(&query_id) {
            return Err(ServiceError::NotFound(
                "query not found (it timed out?)".into(),
            ));
        }
        inner.queries.answer_result(
            query_id,
            &WorkflowQueryResult {
                result_type: request.completed_type,
                answer: request.query_result,
                error_message: request.error_message,
                failure: request.failure,
            },
        );
        Ok(())
    }
}
