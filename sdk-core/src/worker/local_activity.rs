//! Local activities: run by the workflow worker itself while it holds the workflow task, with
//! retries, and fed back into the run so that their markers go out with the task.
//!
//! [`run_in_task`] is the one hook in `workflow_task.rs`: when the run's completion asks for
//! local activities, they are started (or joined, if a previous task of the run started them),
//! and the run is replayed from its whole history with every outcome known, until it asks for
//! none. Such a task's run is not kept in the sticky cache: its next task replays. A task that would outlive ~80% of its timeout is answered first with what
//! the run has so far and `force_create_new_workflow_task`, as Temporal's core does (a
//! workflow task heartbeat); the activities run on, and the next task of the run picks their
//! outcomes up from [`InFlight`].

use super::cache::EvictionReason;
use super::Shared;
use crate::activity::{ActivityContext, ActivityInfo, Attempt, CancelSignal};
use crate::failure::{panic_message, Failure};
use crate::proto::common::WorkflowExecution;
use crate::proto::enums::TimeoutType;
use crate::proto::failure::{self as pb, failure::FailureInfo};
use crate::retry_policy::RetryPolicy;
use crate::workflow::run::TaskCompletion;
use crate::workflow::run::{RunContext, WorkflowRun};
use crate::workflow::WorkflowFactory;
use crate::workflow::{
    LocalActivityOutcome, LocalActivityRequest, TaskFailure, DEFAULT_LOCAL_RETRY_THRESHOLD,
};
use futures::future::{BoxFuture, FutureExt, Shared as SharedFuture};
use futures::stream::{FuturesUnordered, StreamExt};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// A workflow task whose run asked for local activities.
pub(super) struct TaskOfRun<'a> {
    pub execution: &'a WorkflowExecution,
    pub workflow_type: &'a str,
    pub factory: Option<Arc<dyn WorkflowFactory>>,
    pub context: RunContext,
    /// When the worker received the task (the heartbeat is due at 80% of its timeout).
    pub received: Instant,
    /// The task's update requests, answered again by every replay.
    pub messages: Vec<crate::proto::protocol::Message>,
}

/// Runs the local activities `first` asks for inside the workflow task, replaying the run
/// with their outcomes until it asks for none (or the task must heartbeat), and returns the
/// completion to answer with. The run may have been resumed from the sticky cache for
/// `first`; the replays need its whole history, so it is fetched again.
pub(super) async fn run_in_task(
    shared: &Arc<Shared>,
    task: TaskOfRun<'_>,
    first: TaskCompletion,
    deadline: Instant,
) -> Result<Result<TaskCompletion, TaskFailure>, tonic::Status> {
    let Some(factory) = task.factory else {
        return Ok(Err(TaskFailure::bad_history(
            "local activities asked for by a workflow type that is not registered",
        )));
    };
    let run_id = task.execution.run_id.clone();
    let _ = shared
        .runs
        .run(move |runs| runs.evict(&run_id, EvictionReason::LocalActivities))
        .await;
    let events = super::workflow_task::fetch_full_history(shared, task.execution, deadline).await?;
    let heartbeat_at = task.received + super::workflow_task::task_timeout(&events).mul_f64(0.8);
    let run = RunOf {
        namespace: shared.connection.namespace().to_string(),
        workflow_id: task.execution.workflow_id.clone(),
        run_id: task.execution.run_id.clone(),
        workflow_type: task.workflow_type.to_string(),
    };
    let replay = |outcomes| {
        let mut run = WorkflowRun::new(&events, task.context.clone())?;
        run.set_local_outcomes(outcomes);
        run.set_messages(task.messages.clone());
        let completion = run
            .process(factory.as_ref(), &events)?
            .ok_or_else(|| TaskFailure::bad_history("history has no workflow task to answer"))?;
        Ok((completion, ()))
    };
    let answered =
        complete_with_local_activities(shared, &run, (first, ()), heartbeat_at, replay).await;
    Ok(answered.map(|(completion, ())| completion))
}

/// Which run a local activity belongs to.
#[derive(Debug, Clone)]
pub(super) struct RunOf {
    pub namespace: String,
    pub workflow_id: String,
    pub run_id: String,
    pub workflow_type: String,
}

type Running = SharedFuture<BoxFuture<'static, LocalActivityOutcome>>;

/// Local activities running in this process, by namespace, run and seq: a task of the run that
/// asks for one already running waits for it instead of starting it again.
#[derive(Default)]
pub(super) struct InFlight {
    running: Mutex<HashMap<(String, String, u32), Running>>,
}

/// The process's local activities. One table for every worker: a workflow task of a run may
/// reach any worker of its task queue, and one already running the activity should be joined.
fn in_flight() -> &'static InFlight {
    static IN_FLIGHT: OnceLock<InFlight> = OnceLock::new();
    IN_FLIGHT.get_or_init(InFlight::default)
}

impl InFlight {
    fn start(&self, shared: &Arc<Shared>, run: &RunOf, request: &LocalActivityRequest) -> Running {
        let key = (run.namespace.clone(), run.run_id.clone(), request.seq);
        let mut running = self.running.lock().unwrap_or_else(|e| e.into_inner());
        running
            .entry(key)
            .or_insert_with(|| {
                let task = tokio::spawn(run_attempts(shared.clone(), run.clone(), request.clone()));
                let activity_type = request.activity_type.clone();
                async move {
                    task.await.unwrap_or_else(|joined| LocalActivityOutcome {
                        result: Err(Failure::application(
                            format!("local activity {activity_type} ended abnormally: {joined}"),
                            "Panic",
                        )),
                        attempt: 1,
                        backoff: None,
                        runtime: Duration::ZERO,
                        original_schedule_time: SystemTime::now(),
                    })
                }
                .boxed()
                .shared()
            })
            .clone()
    }

    /// The outcome was handed to a task: a later task of the run runs the activity again if
    /// it still asks for it (that task's answer was lost).
    fn forget(&self, run: &RunOf, seq: u32) {
        let key = (run.namespace.clone(), run.run_id.clone(), seq);
        self.running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
    }
}

/// Runs the local activities `first` asks for, processing the run again (`process`) with their
/// outcomes until it asks for none, or until `heartbeat_at`: then the completion so far is
/// returned with `force_new_task` set.
async fn complete_with_local_activities<Q>(
    shared: &Arc<Shared>,
    run: &RunOf,
    first: (TaskCompletion, Q),
    heartbeat_at: Instant,
    process: impl Fn(HashMap<u32, LocalActivityOutcome>) -> Result<(TaskCompletion, Q), TaskFailure>,
) -> Result<(TaskCompletion, Q), TaskFailure> {
    let mut current = first;
    let mut outcomes = HashMap::new();
    let mut waiting = FuturesUnordered::new();
    let mut started: Vec<u32> = Vec::new();
    loop {
        if current.0.local_activities.is_empty() {
            return Ok(current);
        }
        for request in &current.0.local_activities {
            if !started.contains(&request.seq) {
                started.push(request.seq);
                let seq = request.seq;
                let running = in_flight().start(shared, run, request);
                waiting.push(async move { (seq, running.await) });
            }
        }
        let next = tokio::select! {
            next = waiting.next() => next,
            _ = tokio::time::sleep_until(heartbeat_at) => None,
        };
        let Some((seq, outcome)) = next else {
            tracing::debug!(
                running = waiting.len(),
                "local activities still running near the workflow task timeout; asking for a new workflow task"
            );
            current.0.force_new_task = true;
            return Ok(current);
        };
        in_flight().forget(run, seq);
        outcomes.insert(seq, outcome);
        // Every other outcome already in, so that one more pass of the run takes them all.
        while let Some(Some((seq, outcome))) = waiting.next().now_or_never() {
            in_flight().forget(run, seq);
            outcomes.insert(seq, outcome);
        }
        current = process(outcomes.clone())?;
    }
}

/// The local activity's attempts: backoffs up to the threshold are slept here; a longer one
/// ends the run with that backoff, for the workflow to wait on a timer.
async fn run_attempts(
    shared: Arc<Shared>,
    run: RunOf,
    request: LocalActivityRequest,
) -> LocalActivityOutcome {
    let started = Instant::now();
    let original_schedule_time = request
        .original_schedule_time
        .unwrap_or_else(SystemTime::now);
    let policy = request.options.retry_policy.clone().unwrap_or_default();
    let threshold = request
        .options
        .local_retry_threshold
        .unwrap_or(DEFAULT_LOCAL_RETRY_THRESHOLD);
    let mut attempt = request.attempt.max(1);
    loop {
        let result = run_attempt(&shared, &run, &request, attempt, original_schedule_time).await;
        let outcome = |result, backoff| LocalActivityOutcome {
            result,
            attempt,
            backoff,
            runtime: started.elapsed(),
            original_schedule_time,
        };
        let failure = match result {
            Ok(payloads) => return outcome(Ok(payloads), None),
            Err(failure) => failure,
        };
        let elapsed = SystemTime::now()
            .duration_since(original_schedule_time)
            .unwrap_or_default();
        let Some(backoff) = retry_backoff(&policy, &failure, attempt) else {
            return outcome(Err(failure), None);
        };
        if let Some(limit) = request.options.schedule_to_close {
            if elapsed + backoff >= limit {
                return outcome(Err(failure), None);
            }
        }
        tracing::debug!(
            activity_type = %request.activity_type,
            attempt,
            backoff_ms = backoff.as_millis() as u64,
            error = %failure,
            "local activity attempt failed; retrying"
        );
        if backoff > threshold {
            return outcome(Err(failure), Some(backoff));
        }
        tokio::time::sleep(backoff).await;
        attempt += 1;
    }
}

/// The wait before the next attempt, or `None` when the failure is final: non-retryable (by
/// its flag or its type), or the last attempt the policy allows.
pub(crate) fn retry_backoff(
    policy: &RetryPolicy,
    failure: &Failure,
    attempt: u32,
) -> Option<Duration> {
    if failure.non_retryable() {
        return None;
    }
    if let Some(error_type) = failure.error_type() {
        if policy
            .non_retryable_error_types
            .iter()
            .any(|t| t == error_type)
        {
            return None;
        }
    }
    if policy.maximum_attempts > 0 && attempt >= policy.maximum_attempts {
        return None;
    }
    // Temporal's defaults: 1 s, doubling, at most 100 times the first interval.
    let initial = policy.initial_interval.unwrap_or(Duration::from_secs(1));
    let coefficient = policy.backoff_coefficient.unwrap_or(2.0).max(1.0);
    let maximum = policy.maximum_interval.unwrap_or(initial * 100);
    let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
    let backoff = initial.as_secs_f64() * coefficient.powi(exponent);
    Some(Duration::from_secs_f64(
        backoff.min(maximum.as_secs_f64()).max(0.0),
    ))
}

/// One attempt, within its start-to-close and what is left of schedule-to-close.
async fn run_attempt(
    shared: &Arc<Shared>,
    run: &RunOf,
    request: &LocalActivityRequest,
    attempt: u32,
    original_schedule_time: SystemTime,
) -> Result<Vec<crate::payload::Payload>, Failure> {
    let Some(factory) = shared.activities.get(&request.activity_type) else {
        // Only this worker can run it: retrying would not help.
        let mut registered: Vec<_> = shared.activities.keys().cloned().collect();
        registered.sort();
        return Err(Failure::application(
            format!(
                "local activity type {:?} is not registered on this worker (registered: {})",
                request.activity_type,
                crate::text::list_or_none(&registered)
            ),
            "NotFoundError",
        )
        .with_non_retryable(true));
    };
    let now = SystemTime::now();
    let options = &request.options;
    let left_to_close = options.schedule_to_close.map(|limit| {
        limit.saturating_sub(
            now.duration_since(original_schedule_time)
                .unwrap_or_default(),
        )
    });
    let (limit, timeout_type) = match (options.start_to_close, left_to_close) {
        (Some(a), Some(b)) if b < a => (Some(b), TimeoutType::ScheduleToClose),
        (Some(a), _) => (Some(a), TimeoutType::StartToClose),
        (None, Some(b)) => (Some(b), TimeoutType::ScheduleToClose),
        (None, None) => (None, TimeoutType::StartToClose),
    };
    let info = ActivityInfo {
        activity_id: request.activity_id.clone(),
        activity_type: request.activity_type.clone(),
        attempt,
        workflow_id: run.workflow_id.clone(),
        run_id: run.run_id.clone(),
        workflow_type: run.workflow_type.clone(),
        namespace: run.namespace.clone(),
        task_queue: shared.options.task_queue.clone(),
        scheduled_time: Some(original_schedule_time),
        current_attempt_scheduled_time: Some(now),
        started_time: Some(now),
        start_to_close_timeout: options.start_to_close,
        schedule_to_close_timeout: options.schedule_to_close,
        heartbeat_timeout: None,
        task_token: Vec::new(),
    };
    let cancel = Arc::new(CancelSignal::default());
    let ctx = ActivityContext::new(
        info,
        Vec::new(),
        Attempt::new(cancel, None),
        shared.data.clone(),
    );
    let mut running = tokio::spawn(factory.execute(ctx, request.input.clone()));
    let joined = match limit {
        Some(limit) => match tokio::time::timeout(limit, &mut running).await {
            Ok(joined) => joined,
            Err(_) => {
                running.abort();
                return Err(timeout_failure(timeout_type));
            }
        },
        None => running.await,
    };
    joined.unwrap_or_else(|joined| {
        Err(Failure::application(
            match joined.try_into_panic() {
                Ok(panic) => format!("activity panicked: {}", panic_message(panic.as_ref())),
                Err(other) => format!("activity task ended abnormally: {other}"),
            },
            "Panic",
        ))
    })
}

fn timeout_failure(timeout_type: TimeoutType) -> Failure {
    Failure::from_proto(pb::Failure {
        message: format!("local activity timed out ({})", timeout_type.as_str_name()),
        source: crate::failure::SOURCE.to_string(),
        failure_info: Some(FailureInfo::TimeoutFailureInfo(pb::TimeoutFailureInfo {
            timeout_type: timeout_type as i32,
            ..Default::default()
        })),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_policy_and_stops_where_it_says() {
        let policy = RetryPolicy::default()
            .initial_interval(Duration::from_millis(100))
            .backoff_coefficient(3.0)
            .maximum_interval(Duration::from_millis(500))
            .maximum_attempts(4);
        let failure = Failure::application("boom", "Boom");
        let backoffs: Vec<_> = (1..=4)
            .map(|a| retry_backoff(&policy, &failure, a))
            .collect();
        assert_eq!(
            backoffs,
            vec![
                Some(Duration::from_millis(100)),
                Some(Duration::from_millis(300)),
                Some(Duration::from_millis(500)),
                None
            ]
        );
        assert_eq!(
            retry_backoff(&policy, &failure.clone().with_non_retryable(true), 1),
            None
        );
        let by_type = RetryPolicy::default().non_retryable_error_types(["Boom"]);
        assert_eq!(retry_backoff(&by_type, &failure, 1), None);
        // Temporal's default policy: 1 s doubling, capped at 100 s, no attempt limit.
        let default = RetryPolicy::default();
        assert_eq!(
            retry_backoff(&default, &failure, 1),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry_backoff(&default, &failure, 3),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            retry_backoff(&default, &failure, 30),
            Some(Duration::from_secs(100))
        );
    }
}
