//! The host's choice between resuming and replaying, and its evictions, without a server.

use super::*;
use crate::history::builder::{task, HistoryBuilder};
use crate::history::History;
use crate::telemetry::WorkerMetrics;
use crate::workflow::{RunHandle, WorkflowExit, WorkflowInstance};
use futures::FutureExt;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Workflow type `Workflow`: two timers in sequence.
struct TwoTimers;

impl WorkflowFactory for TwoTimers {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance::new(
            async move {
                run.start_timer(Duration::from_secs(1)).await;
                run.start_timer(Duration::from_secs(1)).await;
                WorkflowExit::Completed(vec![])
            }
            .boxed_local(),
        )
    }
}

fn runs(capacity: usize) -> Runs {
    Runs {
        lru: Lru::new(capacity),
        metrics: Arc::new(StickyMetrics::new(&WorkerMetrics::new("default", "q"))),
        next_seq: 0,
        evict_after_every_task: false,
    }
}

fn input(events: &[HistoryEvent], previous_started: i64) -> TaskInput {
    TaskInput {
        factory: Arc::new(TwoTimers),
        context: RunContext {
            workflow_id: "wf".into(),
            run_id: "run".into(),
            namespace: "default".into(),
            default_activity_options: Default::default(),
        },
        events: events.to_vec(),
        previous_started,
        started: events.last().map_or(0, |e| e.event_id),
        messages: Vec::new(),
        queries: HashMap::new(),
        cache: true,
    }
}

/// The second task's full history: the first task (events 2-3) started timer 1, which fired.
fn second_task() -> History {
    task()
        .timer_started("1", Duration::from_secs(1))
        .timer_fired("1")
        .next_task()
}

/// Runs whose cache holds the run after its first task, answered (`settled`) or not.
fn after_first_task(settled: bool) -> Runs {
    let mut runs = runs(10);
    let first = HistoryBuilder::new("Workflow").next_task();
    let TaskOutcome::Answered { seq, .. } = runs.process(input(first.events(), 0)) else {
        panic!("the first task was not answered");
    };
    let seq = seq.expect("the run was cached");
    if settled {
        runs.settle("run", seq, true);
    }
    runs
}

fn reason_of(outcome: &TaskOutcome) -> &'static str {
    match outcome {
        TaskOutcome::Answered { .. } => "answered",
        TaskOutcome::Failed(f) if matches!(f.kind, TaskFailureKind::Nondeterminism(_)) => {
            "nondeterminism"
        }
        TaskOutcome::Failed(_) => "failed",
        TaskOutcome::NeedsFullHistory(_) => "needs full history",
    }
}

#[test]
fn a_sticky_task_that_continues_the_cached_run_resumes_it() {
    let mut runs = after_first_task(true);
    let history = second_task();
    let outcome = runs.process(input(&history.events()[3..], 3));
    assert_eq!(reason_of(&outcome), "answered");
    assert_eq!(runs.metrics.hits.load(Ordering::Relaxed), 1);
    assert!(
        runs.lru.in_flight("run"),
        "cached again, with its task in flight"
    );
}

#[test]
fn a_gap_in_event_ids_evicts_and_asks_for_the_whole_history() {
    let mut runs = after_first_task(true);
    let history = second_task();
    let outcome = runs.process(input(&history.events()[4..], 3));
    assert_eq!(reason_of(&outcome), "needs full history");
    assert_eq!(runs.lru.len(), 0);
    // With the whole history the run is replayed, counted as a miss.
    let TaskOutcome::NeedsFullHistory(mut again) = outcome else {
        unreachable!()
    };
    again.events = second_task().events().to_vec();
    assert_eq!(reason_of(&runs.process(*again)), "answered");
    assert_eq!(runs.metrics.misses.load(Ordering::Relaxed), 1);
}

#[test]
fn nondeterminism_in_the_new_events_evicts_the_run() {
    let mut runs = after_first_task(true);
    let other = task()
        .activity_scheduled("1", "Other")
        .activity_completed("1", vec![])
        .next_task();
    let outcome = runs.process(input(&other.events()[3..], 3));
    assert_eq!(reason_of(&outcome), "nondeterminism");
    assert_eq!(runs.lru.len(), 0, "the next task replays from scratch");
}

#[test]
fn a_new_task_while_the_last_is_in_flight_does_not_resume() {
    let mut runs = after_first_task(false);
    let outcome = runs.process(input(&second_task().events()[3..], 3));
    assert_eq!(reason_of(&outcome), "needs full history");
    assert_eq!(runs.lru.len(), 0);
}

#[test]
fn a_rejected_answer_evicts_and_a_late_settlement_is_ignored() {
    let mut runs = runs(10);
    let first = HistoryBuilder::new("Workflow").next_task();
    let TaskOutcome::Answered { seq: Some(seq), .. } = runs.process(input(first.events(), 0))
    else {
        panic!("the first task was not cached");
    };
    runs.settle("run", seq + 1, false);
    assert_eq!(runs.lru.len(), 1, "another task's settlement leaves it");
    runs.settle("run", seq, false);
    assert_eq!(runs.lru.len(), 0);
}

#[test]
fn queries_are_answered_from_the_cache_only_when_it_is_current() {
    let mut runs = after_first_task(true);
    let factory = TwoTimers;
    let current = runs.query(
        "run",
        3,
        &[],
        &factory,
        crate::workflow::run::STACK_TRACE_QUERY,
        vec![],
    );
    assert!(matches!(current, Some(Ok(_))));
    // A later task completed elsewhere: the cache is behind.
    let behind = runs.query(
        "run",
        9,
        &[],
        &factory,
        crate::workflow::run::STACK_TRACE_QUERY,
        vec![],
    );
    assert!(behind.is_none());
}
