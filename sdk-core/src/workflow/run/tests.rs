//! The engine without a server: histories written with the test kit
//! ([`builder`](crate::history::builder)), workflows written against [`RunHandle`].

use super::{RunContext, TaskCompletion, WorkflowRun, STACK_TRACE_QUERY};
use crate::history::builder::{task, HistoryBuilder};
use crate::history::History;
use crate::payload::{self, Payload};
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, TimerFiredEventAttributes};
use crate::workflow::{
    ChildWorkflowRequest, RunHandle, TaskFailure, TaskFailureKind, WorkflowExit, WorkflowFactory,
    WorkflowInstance,
};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

type Body = fn(RunHandle) -> LocalBoxFuture<'static, WorkflowExit>;

/// A workflow type `Workflow` whose function is `body`; it handles no signal and no query.
struct Factory(Body);

impl WorkflowFactory for Factory {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance::new((self.0)(run))
    }
}

fn context() -> RunContext {
    RunContext {
        workflow_id: "wf".into(),
        run_id: "run".into(),
        namespace: "default".into(),
        default_activity_options: Default::default(),
    }
}

fn process(history: &History, body: Body) -> Result<Option<TaskCompletion>, TaskFailure> {
    let events = history.events();
    WorkflowRun::new(events, context())?.process(&Factory(body), events)
}

fn command_types(completion: &TaskCompletion) -> Vec<CommandType> {
    completion
        .commands
        .iter()
        .map(|c| CommandType::try_from(c.command_type).unwrap_or(CommandType::Unspecified))
        .collect()
}

fn bad_history(result: Result<Option<TaskCompletion>, TaskFailure>) -> String {
    match result {
        Err(TaskFailure {
            kind: TaskFailureKind::BadHistory(message),
        }) => message,
        other => panic!("expected a malformed-history failure, got {other:?}"),
    }
}

/// Takes the patched path: a timer, then completes.
fn patched_timer(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
    async move {
        if run.patched("p", false) {
            run.start_timer(Duration::from_secs(1)).await;
        }
        WorkflowExit::Completed(vec![])
    }
    .boxed_local()
}

#[test]
fn a_new_run_takes_the_patch_and_records_its_marker_and_change_version() {
    let history = HistoryBuilder::new("Workflow").next_task();
    let completion = process(&history, patched_timer).unwrap().unwrap();
    assert!(completion.first_task);
    assert_eq!(
        command_types(&completion),
        [
            CommandType::RecordMarker,
            CommandType::UpsertWorkflowSearchAttributes,
            CommandType::StartTimer
        ]
    );
}

#[test]
fn a_run_recorded_before_the_patch_keeps_the_old_path() {
    // No marker in the task: `patched` is false, no timer, and the completion matches.
    let history = task().workflow_completed(vec![]).build();
    assert!(process(&history, patched_timer).unwrap().is_none());
}

#[test]
fn a_run_recorded_with_the_patch_replays_through_it() {
    let history = task()
        .patch_marker("p", false)
        .timer_started("1", Duration::from_secs(1))
        .timer_fired("1")
        .completed_task()
        .workflow_completed(vec![])
        .build();
    assert!(process(&history, patched_timer).unwrap().is_none());
}

#[test]
fn a_deprecated_marker_the_code_no_longer_issues_is_skipped() {
    let history = task()
        .patch_marker("p", true)
        .workflow_completed(vec![])
        .build();
    let done = |_run: RunHandle| async { WorkflowExit::Completed(vec![]) }.boxed_local();
    assert!(process(&history, done).unwrap().is_none());
    // A marker that is not deprecated cannot be skipped: the code must keep the call.
    let history = task()
        .patch_marker("p", false)
        .workflow_completed(vec![])
        .build();
    let failure = process(&history, done).unwrap_err();
    assert!(
        matches!(&failure.kind, TaskFailureKind::Nondeterminism(n) if n.history.contains("deprecate_patch(\"p\")")),
        "{failure}"
    );
}

#[test]
fn an_unknown_sdk_flag_fails_the_task_as_unsupported() {
    let history = task().flags(&[1, 99]).next_task();
    let failure = process(&history, patched_timer).unwrap_err();
    assert!(
        matches!(&failure.kind, TaskFailureKind::Unsupported(m) if m.contains("SDK flag 99")),
        "{failure}"
    );
}

/// Waits for one timer.
fn one_timer(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
    async move {
        run.start_timer(Duration::from_secs(1)).await;
        WorkflowExit::Completed(vec![])
    }
    .boxed_local()
}

#[test]
fn an_event_reporting_on_an_unknown_command_fails_the_task() {
    let history = task()
        .timer_started("1", Duration::from_secs(1))
        .push(Attributes::TimerFiredEventAttributes(
            TimerFiredEventAttributes {
                timer_id: "1".into(),
                started_event_id: 42,
            },
        ))
        .next_task();
    let message = bad_history(process(&history, one_timer));
    assert!(
        message.contains("event 6 (TimerFired) reports on event 42"),
        "{message}"
    );
}

#[test]
fn an_event_a_machine_does_not_expect_fails_the_task_naming_it() {
    let history = task()
        .timer_started("1", Duration::from_secs(1))
        .timer_fired("1")
        .timer_fired("1")
        .next_task();
    let message = bad_history(process(&history, one_timer));
    assert!(
        message.contains("event 7 (TimerFired) is not expected for timer 1 in state Fired"),
        "{message}"
    );
    // An event of another command's kind, sent to the timer's machine.
    let history = task()
        .timer_started("1", Duration::from_secs(1))
        .push(Attributes::ActivityTaskCompletedEventAttributes(
            crate::proto::history::ActivityTaskCompletedEventAttributes {
                scheduled_event_id: 5,
                ..Default::default()
            },
        ))
        .next_task();
    let message = bad_history(process(&history, one_timer));
    assert!(message.contains("ActivityTaskCompleted"), "{message}");
}

/// A future that is always ready to be polled again and never finishes.
struct Spin;

impl Future for Spin {
    type Output = WorkflowExit;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WorkflowExit> {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn code_that_keeps_waking_itself_is_reported_as_a_livelock() {
    let history = HistoryBuilder::new("Workflow").next_task();
    let failure = process(&history, |_run| Spin.boxed_local()).unwrap_err();
    assert!(
        matches!(failure.kind, TaskFailureKind::Livelock { polls } if polls > 0),
        "{failure:?}"
    );
    assert!(failure.to_string().starts_with("livelock:"), "{failure}");
    assert_eq!(
        failure.to_failure().root_cause().message(),
        failure.to_string()
    );
}

#[test]
fn the_stack_trace_lists_children_and_external_operations() {
    let body: Body = |run| {
        async move {
            let child = run.start_child_at(
                ChildWorkflowRequest {
                    workflow_type: "Child".into(),
                    workflow_id: Some("kid".into()),
                    ..Default::default()
                },
                std::panic::Location::caller(),
            );
            let signal = run.signal_external_at(
                "other".into(),
                String::new(),
                "ping".into(),
                vec![],
                std::panic::Location::caller(),
            );
            let timer = run.start_timer(Duration::from_secs(5));
            let _ = futures::join!(
                std::future::poll_fn(|cx| child.poll_result(cx)),
                std::future::poll_fn(|cx| signal.poll_done(cx)),
                timer
            );
            WorkflowExit::Completed(vec![])
        }
        .boxed_local()
    };
    let history = HistoryBuilder::new("Workflow").next_task();
    let events = history.events();
    let factory = Factory(body);
    let mut run = WorkflowRun::new(events, context()).unwrap();
    run.process(&factory, events).unwrap();
    let answer = run.query(&factory, STACK_TRACE_QUERY, vec![]).unwrap();
    let trace: String = payload::decode(&answer[0], "stack trace").unwrap();
    assert!(trace.contains("timer 1 (5s)"), "{trace}");
    assert!(trace.contains("child workflow Child (id kid)"), "{trace}");
    assert!(
        trace.contains("signal \"ping\" to workflow other"),
        "{trace}"
    );
}

mod signal_logs {
    //! A dropped signal is logged when the run first sees it, not at every replay.

    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tracing::span::{Attributes as SpanAttributes, Id, Record};
    use tracing::{Event, Metadata, Subscriber};

    /// Counts warnings.
    struct Warnings(Arc<AtomicUsize>);

    impl Subscriber for Warnings {
        fn enabled(&self, _: &Metadata<'_>) -> bool {
            true
        }
        fn new_span(&self, _: &SpanAttributes<'_>) -> Id {
            Id::from_u64(1)
        }
        fn record(&self, _: &Id, _: &Record<'_>) {}
        fn record_follows_from(&self, _: &Id, _: &Id) {}
        fn event(&self, event: &Event<'_>) {
            if *event.metadata().level() == tracing::Level::WARN {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        fn enter(&self, _: &Id) {}
        fn exit(&self, _: &Id) {}
    }

    fn warnings(history: &History) -> usize {
        let count = Arc::new(AtomicUsize::new(0));
        let subscriber = Warnings(count.clone());
        tracing::subscriber::with_default(subscriber, || {
            let _ = process(history, one_timer);
        });
        count.load(Ordering::SeqCst)
    }

    #[test]
    fn a_new_unknown_signal_is_logged() {
        let history = task()
            .timer_started("1", Duration::from_secs(1))
            .signaled("nobody-listens", vec![])
            .next_task();
        assert_eq!(warnings(&history), 1);
    }

    #[test]
    fn a_signal_an_earlier_task_saw_is_not_logged_again() {
        let history = task()
            .timer_started("1", Duration::from_secs(1))
            .signaled("nobody-listens", vec![])
            .completed_task()
            .next_task();
        assert_eq!(warnings(&history), 0);
    }
}

/// Two timers in sequence.
fn two_timers(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
    async move {
        run.start_timer(Duration::from_secs(1)).await;
        run.start_timer(Duration::from_secs(1)).await;
        WorkflowExit::Completed(vec![])
    }
    .boxed_local()
}

mod resume {
    use super::*;

    /// The second task's full history: the first task started timer 1, which fired.
    fn second_task() -> History {
        task()
            .timer_started("1", Duration::from_secs(1))
            .timer_fired("1")
            .next_task()
    }

    /// A run that answered the first task (events 1-3), as a cached run is.
    fn after_first_task() -> WorkflowRun {
        let first = HistoryBuilder::new("Workflow").next_task();
        let mut run = WorkflowRun::new(first.events(), context()).unwrap();
        let completion = run.process(&Factory(two_timers), first.events()).unwrap();
        assert_eq!(
            command_types(&completion.unwrap()),
            [CommandType::StartTimer]
        );
        run
    }

    #[test]
    fn a_resumed_run_answers_as_a_full_replay_does() {
        let full = second_task();
        let replayed = process(&full, two_timers).unwrap().unwrap();
        let mut run = after_first_task();
        // What a sticky task carries: the events after the first task's WorkflowTaskStarted.
        let resumed = run
            .resume(&Factory(two_timers), &full.events()[3..])
            .unwrap()
            .unwrap();
        assert_eq!(command_types(&resumed), command_types(&replayed));
        assert_eq!(command_types(&resumed), [CommandType::StartTimer]);
        assert!(!resumed.first_task);
    }

    #[test]
    fn new_events_that_contradict_the_sent_commands_are_nondeterminism() {
        // The history says the first task scheduled an activity, the run sent a timer.
        let full = task()
            .activity_scheduled("1", "Other")
            .activity_completed("1", vec![])
            .next_task();
        let failure = after_first_task()
            .resume(&Factory(two_timers), &full.events()[3..])
            .unwrap_err();
        assert!(
            matches!(failure.kind, TaskFailureKind::Nondeterminism(_)),
            "{failure}"
        );
    }

    #[test]
    fn a_history_not_starting_with_the_task_completion_is_refused() {
        let full = second_task();
        let message =
            bad_history(after_first_task().resume(&Factory(two_timers), &full.events()[4..]));
        assert!(message.contains("WorkflowTaskCompleted"), "{message}");
    }
}
