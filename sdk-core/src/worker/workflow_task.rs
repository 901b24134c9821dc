//! Workflow tasks: poll (the normal and the sticky queue), get the history the task needs, have
//! the run host resume or replay the run, answer.

use super::poller::{self, PollerControl};
use super::run_host::{TaskInput, TaskOutcome};
use super::sticky::StickyQueue;
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
use crate::proto::taskqueue::TaskQueue;
use crate::proto::workflowservice::{
    GetWorkflowExecutionHistoryRequest, GetWorkflowExecutionHistoryResponse,
    PollWorkflowTaskQueueRequest, PollWorkflowTaskQueueResponse, RespondQueryTaskCompletedRequest,
    RespondWorkflowTaskCompletedRequest, RespondWorkflowTaskFailedRequest,
};
use crate::workflow::run::{RunContext, TaskCompletion, USED_CORE_FLAGS};
use crate::workflow::{answer_query, QueryFailure, TaskFailure, TaskFailureKind, WorkflowFactory};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tracing::Instrument;

use crate::telemetry::SDK_NAME;

/// Polls `queue` (the worker's task queue, or its sticky queue) for workflow tasks.
pub(super) async fn poll_loop(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    control: PollerControl,
    queue: TaskQueue,
) {
    let request = PollWorkflowTaskQueueRequest {
        namespace: shared.connection.namespace().to_string(),
        task_queue: Some(queue),
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

    let Some(factory) = factory else {
        let failure = unknown_type();
        if task.query.is_some() {
            let query_type = task.query.take().map(|q| q.query_type).unwrap_or_default();
            let answer = Err(QueryFailure::Replay(failure));
            return respond_query(shared, &task, &query_type, answer, deadline).await;
        }
        return task_failed(shared, &task, execution, &metrics, failure, deadline).await;
    };

    if let Some(query) = task.query.take() {
        // A query on its own ("legacy" query task), answered instead of a workflow task.
        let query_type = query.query_type.clone();
        let answer = legacy_query(shared, &task, execution, events, factory, context, query);
        let answer = answer.await?;
        return respond_query(shared, &task, &query_type, answer, deadline).await;
    }

    // Update requests, answered in this task; kept for a task that replays for local
    // activities.
    let messages = std::mem::take(&mut task.messages);
    let input = TaskInput {
        factory,
        context,
        events,
        previous_started: task.previous_started_event_id,
        started: task.started_event_id,
        queries: std::mem::take(&mut task.queries),
        messages: messages.clone(),
        cache: shared.sticky_queue.is_some(),
    };
    let mut outcome = shared.runs.run(move |runs| runs.process(input)).await;
    if let Ok(TaskOutcome::NeedsFullHistory(mut input)) = outcome {
        // A sticky task whose run is not cached here (or no longer lines up).
        input.events = fetch_full_history(shared, execution, deadline).await?;
        outcome = shared.runs.run(move |runs| runs.process(*input)).await;
    }
    if let Ok(TaskOutcome::Answered {
        completion,
        query_results,
        seq,
    }) = outcome
    {
        outcome = if completion.local_activities.is_empty() {
            Ok(TaskOutcome::Answered {
                completion,
                query_results,
                seq,
            })
        } else {
            let local = super::local_activity::TaskOfRun {
                execution,
                workflow_type,
                factory: shared.workflows.get(workflow_type).cloned(),
                context: RunContext {
                    workflow_id: execution.workflow_id.clone(),
                    run_id: execution.run_id.clone(),
                    namespace: shared.connection.namespace().to_string(),
                    default_activity_options: shared.default_activity_options.clone(),
                },
                received,
                messages,
            };
            let answer =
                super::local_activity::run_in_task(shared, local, completion, deadline).await?;
            Ok(match answer {
                Ok(completion) => TaskOutcome::Answered {
                    completion,
                    query_results,
                    seq: None,
                },
                Err(failure) => TaskOutcome::Failed(failure),
            })
        };
    }
    match outcome {
        Ok(TaskOutcome::Answered {
            completion,
            query_results,
            seq,
        }) => {
            metrics.processed(&completion.commands);
            shared.task_failures.forget(&execution.run_id);
            let sticky = seq.and(shared.sticky_queue.as_ref());
            let answered =
                respond_completed(shared, &task, completion, query_results, sticky, deadline).await;
            if let Some(seq) = seq {
                // The run stays cached only if the server took the answer.
                let run_id = execution.run_id.clone();
                let accepted = answered.is_ok();
                let _ = shared
                    .runs
                    .run(move |runs| runs.settle(&run_id, seq, accepted))
                    .await;
            }
            answered
        }
        Ok(TaskOutcome::Failed(failure)) => {
            task_failed(shared, &task, execution, &metrics, failure, deadline).await
        }
        Ok(TaskOutcome::NeedsFullHistory(_)) => Err(tonic::Status::internal(
            "the full history still did not start at event 1",
        )),
        Err(gone) => {
            // Left to time out: the server retries it, on the normal queue.
            tracing::error!(error = %gone, "workflow task not processed");
            Ok(())
        }
    }
}

/// Reports a failed task, as Temporal's core does: once, on the first attempt, with its
/// message and cause; later attempts are left to time out. Reporting each one would have the
/// server retry at once, in a loop as fast as the worker fails.
async fn task_failed(
    shared: &Arc<Shared>,
    task: &PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
    metrics: &crate::telemetry::WorkflowTaskMetrics<'_>,
    failure: TaskFailure,
    deadline: Instant,
) -> Result<(), tonic::Status> {
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
    if task.attempt <= 1 {
        respond_failed(shared, task, &failure, deadline).await
    } else {
        tracing::debug!(
            attempt = task.attempt,
            "not reporting the failure of a retried workflow task; it will time out"
        );
        Ok(())
    }
}

/// Answers a legacy query: from the cached run when it is current, else by replaying the
/// history (fetched whole first when the task carries only a sticky part of it).
async fn legacy_query(
    shared: &Arc<Shared>,
    task: &PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
    events: Vec<HistoryEvent>,
    factory: Arc<dyn WorkflowFactory>,
    context: RunContext,
    query: WorkflowQuery,
) -> Result<Result<Vec<Payload>, QueryFailure>, tonic::Status> {
    let args = payload::from_payloads(query.query_args);
    let run_id = execution.run_id.clone();
    let previous_started = task.previous_started_event_id;
    let name = query.query_type;
    let job_factory = factory.clone();
    let (job_name, job_args) = (name.clone(), args.clone());
    let cached = shared
        .runs
        .run(move |runs| {
            let answer = runs.query(
                &run_id,
                previous_started,
                &events,
                job_factory.as_ref(),
                &job_name,
                job_args,
            );
            (answer, events)
        })
        .await;
    let mut events = match cached {
        Ok((Some(answer), _)) => return Ok(answer),
        Ok((None, events)) => events,
        Err(gone) => {
            return Ok(Err(QueryFailure::Replay(TaskFailure::bad_history(
                gone.to_string(),
            ))))
        }
    };
    if events.first().map(|e| e.event_id) != Some(1) {
        let deadline = Instant::now() + DEFAULT_TASK_TIMEOUT;
        events = fetch_full_history(shared, execution, deadline).await?;
    }
    Ok(answer_query(
        factory.as_ref(),
        &events,
        context,
        &name,
        args,
    ))
}

/// Retry until `deadline`.
fn until(deadline: Instant) -> CallOptions {
    CallOptions::default().retry(RetryUntil::Deadline(deadline.into_std()))
}

/// The server's default workflow task timeout.
const DEFAULT_TASK_TIMEOUT: Duration = Duration::from_secs(10);

/// The run's workflow task timeout, as its first event says.
pub(super) fn task_timeout(events: &[HistoryEvent]) -> Duration {
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

/// A query's answer as the server takes it.
pub(super) fn query_result(
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
    sticky: Option<&StickyQueue>,
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
        force_create_new_workflow_task: completion.force_new_task,
        // Where the server sends the run's next task while this worker keeps it cached.
        sticky_attributes: sticky.map(StickyQueue::attributes),
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

/// The task's history, with every further page fetched. A sticky task's partial history that
/// comes in pages is replaced by the whole history from event 1: resuming takes one page.
async fn fetch_history(
    shared: &Shared,
    task: &mut PollWorkflowTaskQueueResponse,
    execution: &WorkflowExecution,
    deadline: Instant,
) -> Result<Vec<HistoryEvent>, tonic::Status> {
    let events = task.history.take().map(|h| h.events).unwrap_or_default();
    shared.sticky_metrics.history_events(events.len());
    let token = std::mem::take(&mut task.next_page_token);
    if token.is_empty() {
        return Ok(events);
    }
    if events.first().map(|e| e.event_id) != Some(1) {
        return fetch_full_history(shared, execution, deadline).await;
    }
    fetch_pages(shared, execution, events, token, deadline).await
}

/// The run's whole history, from event 1.
pub(super) async fn fetch_full_history(
    shared: &Shared,
    execution: &WorkflowExecution,
    deadline: Instant,
) -> Result<Vec<HistoryEvent>, tonic::Status> {
    let first = get_history_page(shared, execution, Vec::new(), deadline).await?;
    let events = first.history.map(|h| h.events).unwrap_or_default();
    fetch_pages(shared, execution, events, first.next_page_token, deadline).await
}

/// `events`, followed by the pages from `token` on.
async fn fetch_pages(
    shared: &Shared,
    execution: &WorkflowExecution,
    mut events: Vec<HistoryEvent>,
    mut token: Vec<u8>,
    deadline: Instant,
) -> Result<Vec<HistoryEvent>, tonic::Status> {
    while !token.is_empty() {
        let page = get_history_page(shared, execution, token, deadline).await?;
        events.extend(page.history.map(|h| h.events).unwrap_or_default());
        token = page.next_page_token;
    }
    Ok(events)
}

async fn get_history_page(
    shared: &Shared,
    execution: &WorkflowExecution,
    next_page_token: Vec<u8>,
    deadline: Instant,
) -> Result<GetWorkflowExecutionHistoryResponse, tonic::Status> {
    let request = GetWorkflowExecutionHistoryRequest {
        namespace: shared.connection.namespace().to_string(),
        execution: Some(execution.clone()),
        next_page_token,
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
    let events = page.history.as_ref().map_or(0, |h| h.events.len());
    shared.sticky_metrics.history_events(events);
    Ok(page)
}
