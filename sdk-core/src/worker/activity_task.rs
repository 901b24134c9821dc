//! Activity tasks: poll, run the activity (panics become failed attempts), answer.

use super::{long_poll, poller, Shared, ShutdownHandle};
use crate::activity::{ActivityContext, ActivityInfo, Heartbeater};
use crate::failure::{panic_message, Failure};
use crate::payload;
use crate::proto::workflowservice::{
    PollActivityTaskQueueRequest, PollActivityTaskQueueResponse,
    RespondActivityTaskCanceledRequest, RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
};
use crate::workflow::list_or_none;
use std::sync::Arc;
use std::time::SystemTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub(super) async fn poll_loop(
    shared: Arc<Shared>,
    slots: Arc<Semaphore>,
    shutdown: ShutdownHandle,
) {
    poller::poll_loop(shared, slots, shutdown, "activity", poll_once, run_activity).await
}

/// One long poll; `None` when it expired without a task.
async fn poll_once(
    shared: Arc<Shared>,
) -> Result<Option<PollActivityTaskQueueResponse>, tonic::Status> {
    let request = PollActivityTaskQueueRequest {
        namespace: shared.connection.namespace().to_string(),
        task_queue: Some(poller::task_queue(&shared)),
        identity: shared.connection.identity().to_string(),
        ..Default::default()
    };
    let task = shared
        .connection
        .raw()
        .poll_activity_task_queue(long_poll(request))
        .await?
        .into_inner();
    Ok((!task.task_token.is_empty()).then_some(task))
}

fn info_of(task: &PollActivityTaskQueueResponse, task_queue: &str) -> ActivityInfo {
    let execution = task.workflow_execution.clone().unwrap_or_default();
    ActivityInfo {
        activity_id: task.activity_id.clone(),
        activity_type: task
            .activity_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        attempt: task.attempt.max(1) as u32,
        workflow_id: execution.workflow_id,
        run_id: execution.run_id,
        workflow_type: task
            .workflow_type
            .as_ref()
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        namespace: task.workflow_namespace.clone(),
        task_queue: task_queue.to_string(),
        scheduled_time: task.scheduled_time.as_ref().map(crate::proto::system_time),
        current_attempt_scheduled_time: task
            .current_attempt_scheduled_time
            .as_ref()
            .map(crate::proto::system_time),
        started_time: task.started_time.as_ref().map(crate::proto::system_time),
        start_to_close_timeout: task
            .start_to_close_timeout
            .as_ref()
            .map(crate::proto::std_duration)
            .filter(|d| !d.is_zero()),
        schedule_to_close_timeout: task
            .schedule_to_close_timeout
            .as_ref()
            .map(crate::proto::std_duration)
            .filter(|d| !d.is_zero()),
        heartbeat_timeout: task
            .heartbeat_timeout
            .as_ref()
            .map(crate::proto::std_duration)
            .filter(|d| !d.is_zero()),
        task_token: task.task_token.clone(),
    }
}

pub(super) async fn run_activity(
    shared: Arc<Shared>,
    task: PollActivityTaskQueueResponse,
    _permit: OwnedSemaphorePermit,
) {
    let metrics = crate::telemetry::ActivityMetrics::start(&shared.telemetry, &task);
    let info = info_of(&task, &shared.options.task_queue);
    let heartbeater = Heartbeater::new(
        shared.connection.clone(),
        task.task_token.clone(),
        info.heartbeat_timeout,
    );
    let activity_type = info.activity_type.clone();
    let ctx = ActivityContext::new(
        info.clone(),
        payload::from_payloads(task.heartbeat_details.clone()),
        Some(heartbeater.clone()),
        shared.data.clone(),
    );
    let input = payload::from_payloads(task.input.clone());

    let result = match shared.activities.get(&activity_type) {
        None => Err(Failure::application(
            format!(
                "activity type {activity_type:?} is not registered on this worker (task queue {:?}; registered: {})",
                shared.options.task_queue,
                list_or_none(&shared.registered_activities())
            ),
            "NotFoundError",
        )),
        Some(factory) => {
            // The attempt runs as its own task: its wake-ups and panics stay its own, and it
            // can be aborted when its deadline passes (the server has timed it out by then, so
            // stopping the work is better than letting it run on unobserved).
            let mut attempt = tokio::spawn(factory.execute(ctx, input));
            let remaining = info
                .deadline()
                .map(|d| d.duration_since(SystemTime::now()).unwrap_or_default());
            let outcome = match remaining {
                Some(remaining) => tokio::select! {
                    biased;
                    joined = &mut attempt => Some(joined),
                    _ = tokio::time::sleep(remaining) => None,
                },
                None => Some((&mut attempt).await),
            };
            match outcome {
                Some(Ok(result)) => result,
                Some(Err(joined)) => Err(Failure::application(
                    match joined.try_into_panic() {
                        Ok(panic) => format!("activity panicked: {}", panic_message(panic.as_ref())),
                        Err(other) => format!("activity task ended abnormally: {other}"),
                    },
                    "Panic",
                )),
                None => {
                    attempt.abort();
                    heartbeater.finish();
                    tracing::warn!(
                        activity_type = %activity_type,
                        activity_id = %info.activity_id,
                        attempt = info.attempt,
                        "activity attempt passed its deadline and was stopped"
                    );
                    return;
                }
            }
        }
    };
    heartbeater.finish();
    metrics.outcome(&result, heartbeater.cancel_requested());

    if let Err(failure) = &result {
        tracing::warn!(
            activity_type = %activity_type,
            activity_id = %info.activity_id,
            workflow_id = %info.workflow_id,
            attempt = info.attempt,
            error = %failure,
            "activity attempt failed"
        );
    }
    let answered = match result {
        Ok(output) => {
            let request = RespondActivityTaskCompletedRequest {
                task_token: task.task_token.clone(),
                result: payload::to_payloads(output),
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            shared
                .connection
                .call("RespondActivityTaskCompleted", |mut svc| {
                    let request = request.clone();
                    async move { svc.respond_activity_task_completed(request).await }
                })
                .await
                .map(drop)
        }
        // The workflow asked to cancel and the activity stopped: that is a cancellation, which
        // the workflow waits for with `WaitCancellationCompleted`, not a failure to retry.
        Err(_) if heartbeater.cancel_requested() => {
            let request = RespondActivityTaskCanceledRequest {
                task_token: task.task_token.clone(),
                details: None,
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            shared
                .connection
                .call("RespondActivityTaskCanceled", |mut svc| {
                    let request = request.clone();
                    async move { svc.respond_activity_task_canceled(request).await }
                })
                .await
                .map(drop)
        }
        Err(failure) => {
            let request = RespondActivityTaskFailedRequest {
                task_token: task.task_token.clone(),
                failure: Some(failure.into_proto()),
                identity: shared.connection.identity().to_string(),
                namespace: shared.connection.namespace().to_string(),
                ..Default::default()
            };
            shared
                .connection
                .call("RespondActivityTaskFailed", |mut svc| {
                    let request = request.clone();
                    async move { svc.respond_activity_task_failed(request).await }
                })
                .await
                .map(drop)
        }
    };
    if let Err(status) = answered {
        // NotFound: the attempt already timed out or the workflow is gone.
        tracing::warn!(%status, activity_id = %info.activity_id, "could not report activity result");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_timeouts_are_unset_and_do_not_make_a_deadline() {
        let started = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let task = PollActivityTaskQueueResponse {
            scheduled_time: Some(crate::proto::timestamp(started)),
            started_time: Some(crate::proto::timestamp(started)),
            // What the server sends for timeouts the workflow did not set.
            schedule_to_close_timeout: Some(crate::proto::duration(std::time::Duration::ZERO)),
            heartbeat_timeout: Some(crate::proto::duration(std::time::Duration::ZERO)),
            start_to_close_timeout: Some(crate::proto::duration(std::time::Duration::from_secs(
                10,
            ))),
            ..Default::default()
        };
        let info = info_of(&task, "q");
        assert_eq!(info.schedule_to_close_timeout, None);
        assert_eq!(info.heartbeat_timeout, None);
        assert_eq!(
            info.deadline(),
            Some(started + std::time::Duration::from_secs(10))
        );
    }
}
