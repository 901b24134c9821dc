//! The thread that owns the worker's cached runs, and what it does with a task's events.
//!
//! A [`WorkflowRun`] is not `Send` (its state is an `Rc` shared with the workflow code), so the
//! runs live on one dedicated thread for the worker's lifetime. Workflow-task handlers, which
//! do their I/O on the async runtime, send that thread jobs with the task's events and get the
//! commands back. The thread only computes; it never waits on the network.
//!
//! For a task, the run host picks one of two paths:
//! - **resume** (a cache hit): the run is cached, no task of it is in flight, and the task's
//!   history continues exactly from the `WorkflowTaskStarted` the run answered last, with that
//!   task's `WorkflowTaskCompleted`. Only the new events are applied.
//! - **replay**: anything else. A history from event 1 is replayed on a new run; a partial one
//!   (a sticky task's) asks the caller for the full history first.

use super::cache::{EvictionReason, Lru, TaskSeq};
use crate::payload::{self, Payload};
use crate::proto::enums::EventType;
use crate::proto::history::history_event::Attributes;
use crate::proto::history::HistoryEvent;
use crate::proto::query::{WorkflowQuery, WorkflowQueryResult};
use crate::telemetry::StickyMetrics;
use crate::workflow::run::{RunContext, TaskCompletion, WorkflowRun};
use crate::workflow::{QueryFailure, TaskFailure, TaskFailureKind, WorkflowFactory};
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use tokio::sync::oneshot;

/// A run kept between its workflow tasks.
pub(super) struct CachedRun {
    run: WorkflowRun,
    /// The `WorkflowTaskStarted` event id of the last task the run answered.
    last_started: i64,
}

/// The cached runs and what is done to them, owned by the host thread.
pub(super) struct Runs {
    lru: Lru<CachedRun>,
    metrics: Arc<StickyMetrics>,
    next_seq: TaskSeq,
    /// Test mode: every run is evicted once its task is answered.
    evict_after_every_task: bool,
}

type Job = Box<dyn FnOnce(&mut Runs) + Send>;

/// The host thread's name (as `top -H` and `/proc/<pid>/task/*/comm` show it: at most 15
/// bytes).
pub const THREAD_NAME: &str = "chronicle-wf";

/// The handle workflow-task handlers send jobs through.
pub(crate) struct RunHost {
    jobs: std::sync::mpsc::Sender<Job>,
}

/// The host thread is gone: a job panicked outside the workflow code's own panic guards, or
/// the thread could not be started.
#[derive(Debug, thiserror::Error)]
#[error("the worker's workflow thread stopped")]
pub(super) struct HostGone;

impl RunHost {
    /// Starts the thread, with room for `capacity` runs.
    pub(super) fn start(
        capacity: usize,
        evict_after_every_task: bool,
        metrics: Arc<StickyMetrics>,
    ) -> std::io::Result<Self> {
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name(THREAD_NAME.to_string())
            .spawn(move || {
                let mut runs = Runs {
                    lru: Lru::new(capacity),
                    metrics,
                    next_seq: 0,
                    evict_after_every_task,
                };
                // Ends when the last handle is dropped, with the worker.
                while let Ok(job) = inbox.recv() {
                    job(&mut runs);
                }
                runs.release_all();
            })?;
        Ok(Self { jobs })
    }

    /// Runs `job` on the host thread and returns what it returns.
    pub(super) async fn run<R: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Runs) -> R + Send + 'static,
    ) -> Result<R, HostGone> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |runs| {
            // Workflow code runs under its own panic guard; this one keeps the thread (and the
            // other cached runs) alive if the SDK itself panics. The caller sees `HostGone`.
            if let Ok(result) = catch_unwind(AssertUnwindSafe(|| job(runs))) {
                let _ = answer.send(result);
            }
        });
        self.jobs.send(job).map_err(|_| HostGone)?;
        answered.await.map_err(|_| HostGone)
    }
}

/// A workflow task's part the host needs.
pub(super) struct TaskInput {
    pub factory: Arc<dyn WorkflowFactory>,
    pub context: RunContext,
    pub events: Vec<HistoryEvent>,
    /// The task's `previous_started_event_id`: the last completed task's started event.
    pub previous_started: i64,
    /// The task's `started_event_id`.
    pub started: i64,
    pub queries: HashMap<String, WorkflowQuery>,
    /// The task's protocol messages (update requests).
    pub messages: Vec<crate::proto::protocol::Message>,
    /// Whether to keep the run cached after the task (the cache is on).
    pub cache: bool,
}

/// What became of a task.
pub(super) enum TaskOutcome {
    /// Answer with these; `seq` names the task while its run stays cached (settle it then).
    Answered {
        completion: TaskCompletion,
        query_results: HashMap<String, WorkflowQueryResult>,
        seq: Option<TaskSeq>,
    },
    /// The task failed; its run is not cached.
    Failed(TaskFailure),
    /// The task's history is partial and does not continue a cached run: fetch the whole
    /// history and send the task again.
    NeedsFullHistory(Box<TaskInput>),
}

impl Runs {
    /// Processes a workflow task: resumes its cached run, or replays its history.
    pub(super) fn process(&mut self, input: TaskInput) -> TaskOutcome {
        let run_id = input.context.run_id.clone();
        let full = input.events.first().is_some_and(|e| e.event_id == 1);
        let resumable = self.take_resumable(&run_id, &input);
        let was_cached = resumable.is_some();
        let (mut run, processed) = match resumable {
            Some((mut cached, from)) => {
                self.metrics.hit();
                cached.run.set_messages(input.messages.clone());
                let processed = cached
                    .run
                    .resume(input.factory.as_ref(), &input.events[from..]);
                (cached.run, processed)
            }
            None if !full => return TaskOutcome::NeedsFullHistory(Box::new(input)),
            None => {
                if input.previous_started > 0 {
                    self.metrics.miss();
                }
                match WorkflowRun::new(&input.events, input.context.clone()) {
                    Ok(mut run) => {
                        run.set_messages(input.messages.clone());
                        let processed = run.process(input.factory.as_ref(), &input.events);
                        (run, processed)
                    }
                    Err(failure) => return TaskOutcome::Failed(failure),
                }
            }
        };
        let completion = match processed {
            Ok(Some(completion)) => completion,
            Ok(None) => {
                return TaskOutcome::Failed(TaskFailure::bad_history(
                    "history has no workflow task to answer",
                ))
            }
            Err(failure) => {
                let reason = match failure.kind {
                    TaskFailureKind::Nondeterminism(_) => EvictionReason::Nondeterminism,
                    _ => EvictionReason::TaskFailed,
                };
                if was_cached {
                    self.evicted(&run_id, reason);
                }
                return TaskOutcome::Failed(failure);
            }
        };
        let query_results = answer_queries(&mut run, input.factory.as_ref(), input.queries);
        let mut seq = None;
        if completion.finished || completion.commands.iter().any(is_terminal) {
            // A run that sent its completion gets no further task.
            if was_cached {
                self.evicted(&run_id, EvictionReason::Completed);
            }
        } else if input.cache {
            let started = if input.started > 0 {
                input.started
            } else {
                input.events.last().map_or(0, |e| e.event_id)
            };
            seq = self.cache(run_id, run, started);
        }
        TaskOutcome::Answered {
            completion,
            query_results,
            seq,
        }
    }

    /// The cached run of this task if the task's history continues it, with the index of the
    /// task's first new event. A cached run that does not line up is evicted.
    fn take_resumable(&mut self, run_id: &str, input: &TaskInput) -> Option<(CachedRun, usize)> {
        let (cached, in_flight) = self.lru.take(run_id)?;
        self.metrics.resized(-1);
        if in_flight.is_some() {
            // The server handed out a new task before the last one was answered (it timed
            // out): the run's state may be ahead of the history.
            self.evicted(run_id, EvictionReason::TaskInFlight);
            return None;
        }
        let expected = cached.last_started;
        let from = input.events.iter().position(|e| e.event_id == expected + 1);
        let lines_up = from.is_some_and(|from| {
            completes_task(&input.events[from], expected)
                && (input.previous_started == 0 || input.previous_started == expected)
        });
        match from {
            Some(from) if lines_up => Some((cached, from)),
            _ => {
                self.evicted(run_id, EvictionReason::HistoryMismatch);
                None
            }
        }
    }

    /// Caches a run with its task in flight; returns the task's number, `None` when every
    /// cached run has a task in flight (the run is then dropped after this task).
    fn cache(&mut self, run_id: String, run: WorkflowRun, started: i64) -> Option<TaskSeq> {
        self.next_seq += 1;
        let seq = self.next_seq;
        let entry = CachedRun {
            run,
            last_started: started,
        };
        match self.lru.put(run_id.clone(), entry, Some(seq)) {
            Ok(evicted) => {
                self.metrics.resized(1);
                if let Some((victim, _)) = evicted {
                    self.metrics.resized(-1);
                    self.evicted(&victim, EvictionReason::CacheFull);
                }
                Some(seq)
            }
            Err(_) => {
                tracing::debug!(
                    run_id,
                    "sticky cache full of runs with tasks in flight; this run is not cached"
                );
                None
            }
        }
    }

    /// After the server answered the task `seq`: the run stays cached when its answer was
    /// accepted, and is evicted when it was not.
    pub(super) fn settle(&mut self, run_id: &str, seq: TaskSeq, accepted: bool) {
        if !self.lru.settle(run_id, seq) {
            return;
        }
        if !accepted {
            self.evict(run_id, EvictionReason::ServerRejected);
        } else if self.evict_after_every_task {
            self.evict(run_id, EvictionReason::EvictAfterEveryTask);
        }
    }

    /// Answers a legacy query from the cached run, if it is current: cached, with no task in
    /// flight, and its last answered task is the last completed one (`previous_started`, or
    /// the last completed task of `history` when the task carries one from event 1). `None`
    /// when it is not; the caller replays.
    pub(super) fn query(
        &mut self,
        run_id: &str,
        previous_started: i64,
        history: &[HistoryEvent],
        factory: &dyn WorkflowFactory,
        name: &str,
        input: Vec<Payload>,
    ) -> Option<Result<Vec<Payload>, QueryFailure>> {
        if self.lru.in_flight(run_id) {
            return None;
        }
        let cached = self.lru.get_mut(run_id)?;
        let last_completed = if history.first().is_some_and(|e| e.event_id == 1) {
            last_completed_task(history)
        } else {
            previous_started
        };
        if last_completed != cached.last_started {
            return None;
        }
        self.metrics.hit();
        Some(
            cached
                .run
                .query(factory, name, input)
                .map_err(QueryFailure::from),
        )
    }

    /// Evicts a run, if cached.
    pub(super) fn evict(&mut self, run_id: &str, reason: EvictionReason) {
        if self.lru.remove(run_id).is_some() {
            self.metrics.resized(-1);
            self.evicted(run_id, reason);
        }
    }

    /// Releases every cached run (shutdown).
    pub(super) fn release_all(&mut self) {
        for (run_id, _) in self.lru.drain() {
            self.metrics.resized(-1);
            self.evicted(&run_id, EvictionReason::Shutdown);
        }
    }

    fn evicted(&self, run_id: &str, reason: EvictionReason) {
        log_eviction(run_id, reason);
        self.metrics
            .evicted(reason.as_str(), reason == EvictionReason::CacheFull);
    }
}

fn log_eviction(run_id: &str, reason: EvictionReason) {
    tracing::debug!(
        run_id,
        reason = reason.as_str(),
        "run evicted from the sticky cache"
    );
}

/// Whether `event` is the `WorkflowTaskCompleted` of the task started at `started`.
fn completes_task(event: &HistoryEvent, started: i64) -> bool {
    matches!(
        &event.attributes,
        Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) if a.started_event_id == started
    )
}

/// The started event id of the last completed workflow task in `history`, 0 if none.
fn last_completed_task(history: &[HistoryEvent]) -> i64 {
    history
        .iter()
        .rev()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a))
                if e.event_type == EventType::WorkflowTaskCompleted as i32 =>
            {
                Some(a.started_event_id)
            }
            _ => None,
        })
        .unwrap_or(0)
}

/// Whether a command ends the run.
fn is_terminal(command: &crate::proto::command::Command) -> bool {
    use crate::proto::command::command::Attributes as A;
    matches!(
        command.attributes,
        Some(
            A::CompleteWorkflowExecutionCommandAttributes(_)
                | A::FailWorkflowExecutionCommandAttributes(_)
                | A::CancelWorkflowExecutionCommandAttributes(_)
                | A::ContinueAsNewWorkflowExecutionCommandAttributes(_)
        )
    )
}

/// Answers the queries that came with a workflow task, from the state the task left.
fn answer_queries(
    run: &mut WorkflowRun,
    factory: &dyn WorkflowFactory,
    queries: HashMap<String, WorkflowQuery>,
) -> HashMap<String, WorkflowQueryResult> {
    if !queries.is_empty() {
        tracing::debug!(
            count = queries.len(),
            "answering queries that came with the workflow task"
        );
    }
    queries
        .into_iter()
        .map(|(id, query)| {
            let answer = run
                .query(
                    factory,
                    &query.query_type,
                    payload::from_payloads(query.query_args),
                )
                .map_err(QueryFailure::from);
            (
                id,
                super::workflow_task::query_result(&query.query_type, answer),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests;
