//! Workflow tasks: poll, fetch the whole history, replay it through the run, answer.

use super::{long_poll, poller, Shared, ShutdownHandle};
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command};
use crate::proto::common::Payloads;
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::QueryResultType;
use crate::proto::history::HistoryEvent;
use crate::proto::query::WorkflowQuery;
use crate::proto::query::WorkflowQueryResult;
use crate::proto::sdk::WorkflowTaskCompletedMetadata;
use crate::proto::workflowservice::{
    GetWorkflowExecutionHistoryRequest, PollWorkflowTaskQueueRequest,
    PollWorkflowTaskQueueResponse, RespondQueryTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest, RespondWorkflowTaskFailedRequest,
};
use crate::workflow::run::{RunContext, TaskCompletion, WorkflowRun, USED_CORE_FLAGS};
use crate::workflow::{answer_query, QueryFailure, TaskFailure, TaskFailureKind, WorkflowFactory};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::telemetry::SDK_NAME;

pub(super) async fn poll_loop(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    shutdown: ShutdownHandle,
) {
    poller::poll_loop(shared, slots, shutdown, "workflow", poll_once, handle_task).await
}

/// One long poll; `None` when it expired without a task.
async fn poll_once(
    shared: Arc<Shared>,
) -> Result<Option<PollWorkflowTaskQueueResponse>, tonic::Status> {
    let request = PollWorkflowTaskQueueRequest {
        namespace: shared.connection.namespace().to_string(),
        task_queue: Some(poller::task_queue(&shared)),
        identity: shared.connection.identity().to_string(),
        ..Default::default()
    };
    let task = shared
        .connection
        .raw()
        .poll_workflow_task_queue(long_poll(request))
        .await?
        .into_inner();
    Ok((!task.task_token.is_empty()).then_some(task))
}

async fn handle_task(
    shared: Arc<Shared>,
    task: PollWorkflowTaskQueueResponse,
    _permit: OwnedSemaphorePermit,
) {
    let execution = task.workflow_execution.clone().unwrap_or_default();
    let workflow_type = task
        .workflow_type
        .as_ref()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let span = tracing::info_span!(
        "workflow_task",
        workflow_id = %execution.workflow_id,
        run_id = %execution.run_id,
        workflow_type = %workflow_type,
        attempt = task.attempt,
    );
    let answered = answer_task(&shared, task, &execution, &workflow_type)
        .instrument(span.clone())
        .await;
    if let Err(status) = answered {
        tracing::warn!(parent: &span, %status, "could not answer workflow task; the server will retry it");
    }
}

async fn answer_task(
    shared: &Arc<Shared>,
    mut task: PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
    workflow_type: &str,
) -> Result<(), tonic::Status> {
    let metrics =
        crate::telemetry::WorkflowTaskMetrics::start(&shared.telemetry, &task, workflow_type);
    let events = fetch_history(shared, &mut task, execution).await?;
    let factory = shared.workflows.get(workflow_type).cloned();
    let context = RunContext {
        workflow_id: execution.workflow_id.clone(),
        run_id: execution.run_id.clone(),
        namespace: shared.connection.namespace().to_string(),
        default_activity_options: shared.default_activity_options.clone(),
    };
    let unknown_type = || TaskFailure {
        kind: TaskFailureKind::UnknownWorkflowType {
            workflow_type: workflow_type.to_string(),
            registered: shared.registered_workflows(),
        },
    };

    if let Some(query) = task.query.take() {
        // A query on its own ("legacy" query task), answered instead of a workflow task.
        let answer = match &factory {
            None => Err(QueryFailure::Replay(unknown_type())),
            Some(factory) => answer_query(
                factory.as_ref(),
                &events,
                context,
                &query.query_type,
                payload::from_payloads(query.query_args),
            ),
        };
        return respond_query(shared, &task, &query.query_type, answer).await;
    }

    let outcome = match &factory {
        None => Err(unknown_type()),
        Some(factory) => process_task(
            factory.as_ref(),
            &events,
            context,
            std::mem::take(&mut task.queries),
        ),
    };
    match outcome {
        Ok((completion, query_results)) => {
            metrics.processed(&completion.commands);
            respond_completed(shared, &task, completion, query_results).await
        }
        Err(failure) => {
            metrics.failed(&failure);
            tracing::error!(
                workflow_id = %execution.workflow_id,
                run_id = %execution.run_id,
                attempt = task.attempt,
                error = %failure,
                "workflow task failed"
            );
            respond_failed(shared, &task, &failure).await
        }
    }
}

/// Runs the task's history and answers the queries that came with it, from the state the task
/// leaves.
fn process_task(
    factory: &dyn WorkflowFactory,
    events: &[HistoryEvent],
    context: RunContext,
    queries: HashMap<String, WorkflowQuery>,
) -> Result<(TaskCompletion, HashMap<String, WorkflowQueryResult>), TaskFailure> {
    if !queries.is_empty() {
        tracing::debug!(
            count = queries.len(),
            "answering queries that came with the workflow task"
        );
    }
    let mut run = WorkflowRun::new(events, context)?;
    let completion = run
        .process(factory, events)?
        .ok_or_else(|| TaskFailure::bad_history("history has no workflow task to answer"))?;
    let results = queries
        .into_iter()
        .map(|(id, query)| {
            let answer = run
                .query(
                    factory,
                    &query.query_type,
                    payload::from_payloads(query.query_args),
                )
                .map_err(QueryFailure::from);
            (id, query_result(&query.query_type, answer))
        })
        .collect();
    Ok((completion, results))
}

fn query_result(
    query_type: &str,
    answer: Result<Vec<Payload>, QueryFailure>,
) -> WorkflowQueryResult {
    match answer {
        Ok(payloads) => WorkflowQueryResult {
            result_type: QueryResultType::Answered as i32,
            answer: Some(Payloads { payloads }),
            ..Default::default()
        },
        Err(failure) => {
            tracing::debug!(query = query_type, error = %failure, "query not answered");
            let message = failure.to_string();
            WorkflowQueryResult {
                result_type: QueryResultType::Failed as i32,
                failure: Some(Failure::application(&message, "QueryError").into_proto()),
                error_message: message,
                ..Default::default()
            }
        }
    }
}

async fn respond_query(
    shared: &Arc<Shared>,
    task: &PollWorkflowTaskQueueResponse,
    query_type: &str,
    answer: Result<Vec<Payload>, QueryFailure>,
) -> Result<(), tonic::Status> {
    let result = query_result(query_type, answer);
    let request = RespondQueryTaskCompletedRequest {
        task_token: task.task_token.clone(),
        completed_type: result.result_type,
        query_result: result.answer,
        error_message: result.error_message,
        failure: result.failure,
        namespace: shared.connection.namespace().to_string(),
        ..Default::default()
    };
    shared
        .connection
        .call("RespondQueryTaskCompleted", |mut svc| {
            let request = request.clone();
            async move { svc.respond_query_task_completed(request).await }
        })
        .await?;
    Ok(())
}

async fn respond_completed(
    shared: &Arc<Shared>,
    task: &PollWorkflowTaskQueueResponse,
    completion: TaskCompletion,
    query_results: HashMap<String, WorkflowQueryResult>,
) -> Result<(), tonic::Status> {
    let sdk_metadata = completion
        .first_task
        .then(|| WorkflowTaskCompletedMetadata {
            core_used_flags: USED_CORE_FLAGS.to_vec(),
            sdk_name: SDK_NAME.to_string(),
            sdk_version: crate::telemetry::SDK_VERSION.to_string(),
            ..Default::default()
        });
    let mut commands = completion.commands;
    let eager_permits = request_eager_activities(shared, &mut commands);
    let request = RespondWorkflowTaskCompletedRequest {
        task_token: task.task_token.clone(),
        commands,
        identity: shared.connection.identity().to_string(),
        namespace: shared.connection.namespace().to_string(),
        query_results,
        sdk_metadata,
        ..Default::default()
    };
    let response = shared
        .connection
        .call("RespondWorkflowTaskCompleted", |mut svc| {
            let request = request.clone();
            async move { svc.respond_workflow_task_completed(request).await }
        })
        .await?;
    // Activities the server handed straight back run on the permits reserved for them; the
    // rest of the permits go back to the pool.
    for (activity, permit) in response.activity_tasks.into_iter().zip(eager_permits) {
        tokio::spawn(super::activity_task::run_activity(
            shared.clone(),
            activity,
            permit,
        ));
    }
    Ok(())
}

/// Marks up to `max_eager_activities_per_task` new activities of this worker's own task queue
/// for eager dispatch, reserving an activity permit for each.
fn request_eager_activities(
    shared: &Arc<Shared>,
    commands: &mut [Command],
) -> Vec<OwnedSemaphorePermit> {
    let mut permits = Vec::new();
    for command in commands.iter_mut() {
        if permits.len() >= shared.options.max_eager_activities_per_task {
            break;
        }
        let Some(command::Attributes::ScheduleActivityTaskCommandAttributes(attributes)) =
            &mut command.attributes
        else {
            continue;
        };
        let same_queue = attributes.task_queue.as_ref().map(|q| q.name.as_str())
            == Some(shared.options.task_queue.as_str());
        let registered = attributes
            .activity_type
            .as_ref()
            .is_some_and(|t| shared.activities.contains_key(&t.name));
        if !same_queue || !registered {
            continue;
        }
        let Ok(permit) = shared.activity_slots.clone().try_acquire_owned() else {
            break;
        };
        attributes.request_eager_execution = true;
        permits.push(permit);
    }
    permits
}

async fn respond_failed(
    shared: &Shared,
    task: &PollWorkflowTaskQueueResponse,
    failure: &TaskFailure,
) -> Result<(), tonic::Status> {
    let request = RespondWorkflowTaskFailedRequest {
        task_token: task.task_token.clone(),
        cause: failure.cause() as i32,
        failure: Some(failure.to_failure().into_proto()),
        identity: shared.connection.identity().to_string(),
        namespace: shared.connection.namespace().to_string(),
        ..Default::default()
    };
    shared
        .connection
        .call("RespondWorkflowTaskFailed", |mut svc| {
            let request = request.clone();
            async move { svc.respond_workflow_task_failed(request).await }
        })
        .await?;
    Ok(())
}

/// The task's history, with every further page fetched.
async fn fetch_history(
    shared: &Shared,
    task: &mut PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
) -> Result<Vec<HistoryEvent>, tonic::Status> {
    let mut events = task.history.take().map(|h| h.events).unwrap_or_default();
    let mut token = std::mem::take(&mut task.next_page_token);
    while !token.is_empty() {
        let request = GetWorkflowExecutionHistoryRequest {
            namespace: shared.connection.namespace().to_string(),
            execution: Some(execution.clone()),
            next_page_token: token,
            ..Default::default()
        };
        let page = shared
            .connection
            .call("GetWorkflowExecutionHistory", |mut svc| {
                let request = request.clone();
                async move { svc.get_workflow_execution_history(request).await }
            })
            .await?;
        events.extend(page.history.map(|h| h.events).unwrap_or_default());
        token = page.next_page_token;
    }
    Ok(events)
}
