//! Workflow tasks: poll, fetch the whole history, replay it through the run, answer.

use super::poller::{self, PollerControl};
use super::Shared;
use crate::connection::WorkflowService;
use crate::connection::{CallOptions, RetryUntil};
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command};
use crate::proto::common::Payloads;
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::QueryResultType;
use crate::proto::history::history_event::Attributes;
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
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use crate::telemetry::SDK_NAME;

pub(super) async fn poll_loop(shared: Arc<Shared>, slots: Arc<Semaphore>, control: PollerControl) {
    let request = PollWorkflowTaskQueueRequest {
        namespace: shared.connection.namespace().to_string(),
        task_queue: Some(poller::task_queue(&shared)),
        identity: shared.connection.identity().to_string(),
        worker_instance_key: shared.telemetry.instance_key.clone(),
        ..Default::default()
    };
    let rpc = |mut svc: WorkflowService, request| async move {
        svc.poll_workflow_task_queue(request).await
    };
    poller::poll_loop(
        shared,
        slots,
        control,
        "workflow",
        request,
        rpc,
        handle_task,
    )
    .await
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
    let received = Instant::now();
    let answered = answer_task(&shared, task, &execution, &workflow_type, received)
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
    received: Instant,
) -> Result<(), tonic::Status> {
    let metrics =
        crate::telemetry::WorkflowTaskMetrics::start(&shared.telemetry, &task, workflow_type);
    // Until the task's first page says otherwise, the server's default task timeout.
    let deadline = received + DEFAULT_TASK_TIMEOUT;
    let events = fetch_history(shared, &mut task, execution, deadline).await?;
    // Past its timeout the task is the server's to retry, and an answer is refused: that is
    // how long answering it is worth retrying.
    let deadline = received + task_timeout(&events);
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
        return respond_query(shared, &task, &query.query_type, answer, deadline).await;
    }

    let outcome = match &factory {
        None => Err(unknown_type()),
        Some(factory) => process_task(
            factory.as_ref(),
            &events,
            context,
            std::mem::take(&mut task.queries),
            std::mem::take(&mut task.messages),
        ),
    };
    match outcome {
        Ok((completion, query_results)) => {
            metrics.processed(&completion.commands);
            shared.task_failures.forget(&execution.run_id);
            respond_completed(shared, &task, completion, query_results, deadline).await
        }
        Err(failure) => {
            metrics.failed(&failure);
            let message = failure.to_string();
            if shared.task_failures.is_new(&execution.run_id, &message) {
                tracing::error!(
                    workflow_id = %execution.workflow_id,
                    run_id = %execution.run_id,
                    attempt = task.attempt,
                    error = %message,
                    "workflow task failed; it is retried after each task timeout until the code is fixed"
                );
            }
            // As Temporal's core does: the failure is reported once, on the first attempt,
            // with its message and cause; later attempts are left to time out. Reporting each
            // one would have the server retry at once, in a loop as fast as the worker fails.
            if task.attempt <= 1 {
                respond_failed(shared, &task, &failure, deadline).await
            } else {
                tracing::debug!(
                    attempt = task.attempt,
                    "not reporting the failure of a retried workflow task; it will time out"
                );
                Ok(())
            }
        }
    }
}

/// Retry until `deadline`.
fn until(deadline: Instant) -> CallOptions {
    CallOptions::default().retry(RetryUntil::Deadline(deadline.into_std()))
}

/// The server's default workflow task timeout.
const DEFAULT_TASK_TIMEOUT: Duration = Duration::from_secs(10);

/// The run's workflow task timeout, as its first event says.
fn task_timeout(events: &[HistoryEvent]) -> Duration {
    events
        .first()
        .and_then(|event| match &event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) => started
                .workflow_task_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            _ => None,
        })
        .filter(|timeout| !timeout.is_zero())
        .unwrap_or(DEFAULT_TASK_TIMEOUT)
}

/// Runs the task's history and answers the queries that came with it, from the state the task
/// leaves.
fn process_task(
    factory: &dyn WorkflowFactory,
    events: &[HistoryEvent],
    context: RunContext,
    queries: HashMap<String, WorkflowQuery>,
    messages: Vec<crate::proto::protocol::Message>,
) -> Result<(TaskCompletion, HashMap<String, WorkflowQueryResult>), TaskFailure> {
    if !queries.is_empty() {
        tracing::debug!(
            count = queries.len(),
            "answering queries that came with the workflow task"
        );
    }
    let mut run = WorkflowRun::new(events, context)?;
    // Update requests, answered in this task.
    run.set_messages(messages);
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
    deadline: Instant,
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
        .unary_with(
            "RespondQueryTaskCompleted",
            until(deadline),
            request,
            |mut svc, request| async move { svc.respond_query_task_completed(request).await },
        )
        .await?;
    Ok(())
}

async fn respond_completed(
    shared: &Arc<Shared>,
    task: &PollWorkflowTaskQueueResponse,
    completion: TaskCompletion,
    query_results: HashMap<String, WorkflowQueryResult>,
    deadline: Instant,
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
        messages: completion.messages,
        ..Default::default()
    };
    let response = shared
        .connection
        .unary_with(
            "RespondWorkflowTaskCompleted",
            until(deadline),
            request,
            |mut svc, request| async move { svc.respond_workflow_task_completed(request).await },
        )
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
    deadline: Instant,
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
        .unary_with(
            "RespondWorkflowTaskFailed",
            until(deadline),
            request,
            |mut svc, request| async move { svc.respond_workflow_task_failed(request).await },
        )
        .await?;
    Ok(())
}

/// The task's history, with every further page fetched.
async fn fetch_history(
    shared: &Shared,
    task: &mut PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
    deadline: Instant,
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
            .unary_with(
                "GetWorkflowExecutionHistory",
                until(deadline),
                request,
                |mut svc, request| async move { svc.get_workflow_execution_history(request).await },
            )
            .await?;
        events.extend(page.history.map(|h| h.events).unwrap_or_default());
        token = page.next_page_token;
    }
    Ok(events)
}
