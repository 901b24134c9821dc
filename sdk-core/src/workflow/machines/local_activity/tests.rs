//! The local activity machine against its transition table, the marker format against what
//! Temporal's core wrote (Python SDK 1.35), and the engine on histories from the test kit.

use super::marker::{recorded_local_activity, Marker, MarkerData};
use super::*;
use crate::failure::FailureKind;
use crate::history::builder::{task, HistoryBuilder};
use crate::history::History;
use crate::payload;
use crate::proto::command::command::Attributes as CommandAttributes;
use crate::proto::history::history_event::Attributes;
use crate::workflow::handle::{LocalActivityCall, LocalActivityOptions, RunHandle};
use crate::workflow::run::{RunContext, TaskCompletion, WorkflowRun};
use crate::workflow::{
    TaskFailure, TaskFailureKind, WorkflowExit, WorkflowFactory, WorkflowInstance,
};
use futures::future::LocalBoxFuture;
use futures::FutureExt;
use std::time::UNIX_EPOCH;

fn request(seq: u32, activity_type: &str) -> LocalActivityRequest {
    LocalActivityRequest {
        seq,
        activity_id: seq.to_string(),
        activity_type: activity_type.to_string(),
        input: vec![],
        options: LocalActivityOptions::default(),
        attempt: 1,
        original_schedule_time: None,
    }
}

fn machine(seq: u32, activity_type: &str) -> LocalActivityMachine {
    LocalActivityMachine::new(
        request(seq, activity_type),
        UNIX_EPOCH + Duration::from_secs(100),
        Location::caller(),
    )
}

fn outcome(
    result: Result<Vec<Payload>, Failure>,
    backoff: Option<Duration>,
) -> LocalActivityOutcome {
    LocalActivityOutcome {
        result,
        attempt: 2,
        backoff,
        runtime: Duration::from_millis(1_500),
        original_schedule_time: UNIX_EPOCH + Duration::from_secs(99),
    }
}

fn greeting() -> Payload {
    payload::encode("hi").unwrap()
}

fn marker_event(seq: u32, activity_type: &str) -> HistoryEvent {
    task()
        .local_activity_marker(seq, activity_type, 1, Ok(greeting()), None)
        .build()
        .into_events()
        .pop()
        .unwrap()
}

fn executed(seq: u32, outcome: LocalActivityOutcome) -> KnownOutcomes {
    KnownOutcomes {
        executed: HashMap::from([(seq, outcome)]),
        ..Default::default()
    }
}

#[test]
fn requested_takes_the_worker_s_outcome_and_records_core_s_marker() {
    let mut m = machine(1, "greet");
    assert_eq!(m.state, LocalActivityState::Requested);
    let mut known = KnownOutcomes::default();
    assert_eq!(m.try_resolve(&mut known, false), None, "nothing known yet");
    let mut known = executed(1, outcome(Ok(vec![greeting()]), None));
    let complete = m.try_resolve(&mut known, false).expect("resolves");
    assert_eq!(complete, Some(UNIX_EPOCH + Duration::from_millis(101_500)));
    assert_eq!(m.state, LocalActivityState::Recorded);
    assert!(
        matches!(m.result.peek(), Some(LocalResolution::Done(Ok(p))) if p == &vec![greeting()])
    );
    let Some(CommandAttributes::RecordMarkerCommandAttributes(a)) = m.command().attributes else {
        panic!("a RecordMarker command");
    };
    assert_eq!(a.marker_name, "core_local_activity");
    assert_eq!(a.details["result"].payloads, vec![greeting()]);
    assert_eq!(
        String::from_utf8(a.details["data"].payloads[0].data.clone()).unwrap(),
        r#"{"seq":1,"attempt":2,"activity_id":"1","activity_type":"greet","complete_time":{"seconds":101,"nanos":500000000},"backoff":null,"original_schedule_time":{"seconds":99,"nanos":0}}"#
    );
    assert!(a.failure.is_none());
    // Resolved once: a second outcome changes nothing.
    let mut again = executed(1, outcome(Ok(vec![]), None));
    assert_eq!(m.try_resolve(&mut again, false), None);
}

#[test]
fn recorded_matches_only_its_own_marker() {
    let mut m = machine(1, "greet");
    assert!(
        !m.matches_command_event(&marker_event(1, "greet")),
        "not recorded yet"
    );
    m.try_resolve(&mut executed(1, outcome(Ok(vec![]), None)), false);
    assert!(
        !m.matches_command_event(&marker_event(2, "greet")),
        "another seq"
    );
    assert!(
        !m.matches_command_event(&marker_event(1, "other")),
        "another type"
    );
    assert!(m.matches_command_event(&marker_event(1, "greet")));
    assert_eq!(m.state, LocalActivityState::Matched);
}

#[test]
fn replaying_takes_the_task_s_marker_unless_it_names_another_activity() {
    let recorded = |ty: &str| KnownOutcomes {
        recorded: HashMap::from([(
            1,
            recorded_local_activity(&marker_event(1, ty))
                .unwrap()
                .unwrap(),
        )]),
        ..Default::default()
    };
    let mut m = machine(1, "greet");
    let mut other = recorded("other");
    assert_eq!(m.try_resolve(&mut other, true), None);
    assert_eq!(m.state, LocalActivityState::Requested);
    assert_eq!(other.recorded.len(), 1, "left for matching to report");
    let mut same = recorded("greet");
    assert!(m.try_resolve(&mut same, true).is_some());
    assert!(same.recorded.is_empty());
    // Replaying never takes the worker's outcomes, and live code never takes markers.
    let mut m = machine(1, "greet");
    assert_eq!(m.try_resolve(&mut recorded("greet"), false), None);
    assert_eq!(
        m.try_resolve(&mut executed(1, outcome(Ok(vec![]), None)), true),
        None
    );
}

#[test]
fn a_failure_is_an_activity_failure_with_the_recorded_cause() {
    let mut m = machine(3, "refuse");
    let raised = Failure::application("refused", "Refused").with_non_retryable(true);
    m.try_resolve(&mut executed(3, outcome(Err(raised.clone()), None)), false);
    let Some(CommandAttributes::RecordMarkerCommandAttributes(a)) = m.command().attributes else {
        panic!("a RecordMarker command");
    };
    assert_eq!(
        a.failure.as_ref(),
        Some(raised.as_proto()),
        "the cause alone, as core writes it"
    );
    assert!(!a.details.contains_key("result"));
    let Some(LocalResolution::Done(Err(failure))) = m.result.peek() else {
        panic!("resolved with a failure");
    };
    assert_eq!(failure.kind(), FailureKind::Activity);
    assert_eq!(
        failure.cause().map(|c| c.message().to_string()),
        Some("refused".into())
    );
    let Some(FailureInfo::ActivityFailureInfo(info)) = &failure.as_proto().failure_info else {
        panic!("activity failure info");
    };
    assert_eq!(info.activity_id, "3");
    assert_eq!(info.retry_state, RetryState::NonRetryableFailure as i32);
}

#[test]
fn a_backoff_resolves_with_the_next_attempt_and_keeps_the_schedule_time() {
    let mut m = machine(1, "greet");
    let failed = Err(Failure::application("boom", "Boom"));
    m.try_resolve(
        &mut executed(1, outcome(failed, Some(Duration::from_secs(90)))),
        false,
    );
    let Some(LocalResolution::Backoff {
        attempt,
        backoff,
        original_schedule_time,
    }) = m.result.peek()
    else {
        panic!("resolved with a backoff");
    };
    assert_eq!(*attempt, 3);
    assert_eq!(*backoff, Duration::from_secs(90));
    assert_eq!(
        *original_schedule_time,
        Some(UNIX_EPOCH + Duration::from_secs(99))
    );
}

#[test]
fn marker_data_written_by_temporal_s_core_reads_and_writes_back_the_same() {
    // From tests/fixtures/local_activities/python.json (Python SDK 1.35); `activation_index`,
    // a newer field core ignores when absent, is dropped.
    let written = r#"{"seq":2,"attempt":3,"activity_id":"2","activity_type":"la_flaky","complete_time":{"seconds":1796172978,"nanos":164772087},"backoff":null,"original_schedule_time":{"seconds":1796172978,"nanos":207745867},"activation_index":2}"#;
    let data: MarkerData = serde_json::from_str(written).unwrap();
    assert_eq!(data.seq, 2);
    assert_eq!(data.attempt, 3);
    assert_eq!(data.activity_type, "la_flaky");
    let marker = Marker {
        data,
        result: Ok(None),
    };
    let attributes = marker.to_attributes();
    let back = String::from_utf8(attributes.details["data"].payloads[0].data.clone()).unwrap();
    assert_eq!(back, written.replace(r#","activation_index":2"#, ""));
}

// The engine, on histories from the test kit.

type Body = fn(RunHandle) -> LocalBoxFuture<'static, WorkflowExit>;

struct Factory(Body);

impl WorkflowFactory for Factory {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance::new((self.0)(run))
    }
}

fn process_with(
    history: &History,
    body: Body,
    outcomes: HashMap<u32, LocalActivityOutcome>,
) -> Result<Option<TaskCompletion>, TaskFailure> {
    let context = RunContext {
        workflow_id: "wf".into(),
        run_id: "run".into(),
        namespace: "default".into(),
        default_activity_options: Default::default(),
    };
    let events = history.events();
    let mut run = WorkflowRun::new(events, context)?;
    run.set_local_outcomes(outcomes);
    run.process(&Factory(body), events)
}

fn process(history: &History, body: Body) -> Result<Option<TaskCompletion>, TaskFailure> {
    process_with(history, body, HashMap::new())
}

fn call(activity_type: &str) -> LocalActivityCall {
    LocalActivityCall {
        activity_type: activity_type.to_string(),
        input: vec![],
        options: LocalActivityOptions::default(),
    }
}

/// Two local activities in sequence; completes with the second one's result.
fn two_in_a_row(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
    async move {
        let first = run.schedule_local_activity(call("first")).await;
        let second = run.schedule_local_activity(call("second")).await;
        match (first, second) {
            (Ok(_), Ok(result)) => WorkflowExit::Completed(result),
            (Err(f), _) | (_, Err(f)) => WorkflowExit::Failed(f),
        }
    }
    .boxed_local()
}

fn command_types(completion: &TaskCompletion) -> Vec<CommandType> {
    completion
        .commands
        .iter()
        .map(|c| CommandType::try_from(c.command_type).unwrap_or(CommandType::Unspecified))
        .collect()
}

#[test]
fn a_live_task_asks_the_worker_for_each_activity_in_turn_then_records_both() {
    let history = HistoryBuilder::new("Workflow").next_task();
    let completion = process(&history, two_in_a_row).unwrap().unwrap();
    assert!(
        completion.commands.is_empty(),
        "no command while the activity runs"
    );
    assert_eq!(completion.local_activities, vec![request(1, "first")]);

    let done = |r: Vec<Payload>| outcome(Ok(r), None);
    let one = HashMap::from([(1, done(vec![greeting()]))]);
    let completion = process_with(&history, two_in_a_row, one.clone())
        .unwrap()
        .unwrap();
    assert_eq!(completion.local_activities, vec![request(2, "second")]);
    assert_eq!(command_types(&completion), [CommandType::RecordMarker]);

    let mut both = one;
    both.insert(2, done(vec![greeting()]));
    let completion = process_with(&history, two_in_a_row, both).unwrap().unwrap();
    assert!(completion.local_activities.is_empty());
    assert_eq!(
        command_types(&completion),
        [
            CommandType::RecordMarker,
            CommandType::RecordMarker,
            CommandType::CompleteWorkflowExecution
        ]
    );
}

#[test]
fn replay_reads_the_markers_and_runs_nothing() {
    let history = task()
        .local_activity_marker(1, "first", 1, Ok(greeting()), None)
        .local_activity_marker(2, "second", 1, Ok(greeting()), None)
        .workflow_completed(vec![greeting()])
        .build();
    assert!(process(&history, two_in_a_row).unwrap().is_none());
}

#[test]
fn markers_recorded_after_later_commands_still_match() {
    // Temporal's core records a marker when the activity resolves: here after a timer the
    // code started later, in the same task.
    fn timer_then_wait(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
        async move {
            let activity = run.schedule_local_activity(call("first"));
            let timer = run.start_timer(Duration::from_secs(5));
            let result = activity.await;
            timer.await;
            WorkflowExit::Completed(result.unwrap_or_default())
        }
        .boxed_local()
    }
    let history = task()
        .timer_started("1", Duration::from_secs(5))
        .local_activity_marker(1, "first", 1, Ok(greeting()), None)
        .timer_fired("1")
        .completed_task()
        .workflow_completed(vec![greeting()])
        .build();
    assert!(process(&history, timer_then_wait).unwrap().is_none());
}

#[test]
fn a_task_that_recorded_no_marker_leaves_the_activity_to_the_next_task() {
    // The worker heartbeated the task (or died) while the activity ran: a completed task with
    // no command, then the task to answer, which asks for the activity again.
    let history = task().next_task();
    let completion = process(&history, two_in_a_row).unwrap().unwrap();
    assert!(completion.commands.is_empty());
    assert_eq!(completion.local_activities, vec![request(1, "first")]);
    // Its marker in a later task resolves it then.
    let history = task()
        .completed_task()
        .local_activity_marker(1, "first", 1, Ok(greeting()), None)
        .local_activity_marker(2, "second", 1, Ok(greeting()), None)
        .workflow_completed(vec![])
        .build();
    assert!(process(&history, two_in_a_row).unwrap().is_none());
}

#[test]
fn another_activity_type_under_the_seq_is_nondeterminism() {
    let history = task()
        .local_activity_marker(1, "renamed", 1, Ok(greeting()), None)
        .workflow_completed(vec![])
        .build();
    let Err(TaskFailure {
        kind: TaskFailureKind::Nondeterminism(n),
    }) = process(&history, two_in_a_row)
    else {
        panic!("nondeterminism expected");
    };
    assert_eq!(n.event_id, 5);
    assert!(n.code.contains("type=first"), "{}", n.code);
    assert!(n.history.contains("core_local_activity"), "{}", n.history);
}

#[test]
fn a_marker_the_code_does_not_issue_is_nondeterminism() {
    let none = |_run: RunHandle| async { WorkflowExit::Completed(vec![]) }.boxed_local();
    let history = task()
        .local_activity_marker(1, "first", 1, Ok(greeting()), None)
        .workflow_completed(vec![])
        .build();
    assert!(matches!(
        process(&history, none),
        Err(TaskFailure {
            kind: TaskFailureKind::Nondeterminism(_)
        })
    ));
}

#[test]
fn a_long_backoff_replays_as_marker_timer_marker() {
    fn retried(run: RunHandle) -> LocalBoxFuture<'static, WorkflowExit> {
        async move {
            match run.schedule_local_activity(call("flaky")).await {
                Ok(result) => WorkflowExit::Completed(result),
                Err(f) => WorkflowExit::Failed(f),
            }
        }
        .boxed_local()
    }
    let boom = Failure::application("boom", "Boom").into_proto();
    let first = task()
        .local_activity_marker(1, "flaky", 1, Err(boom), Some(Duration::from_secs(90)))
        .timer_started("1", Duration::from_secs(90));
    // Live: the timer follows the backoff marker in the same task.
    let live = HistoryBuilder::new("Workflow").next_task();
    let mut outcomes = HashMap::new();
    let failed = Err(Failure::application("boom", "Boom"));
    outcomes.insert(1, outcome(failed, Some(Duration::from_secs(90))));
    let completion = process_with(&live, retried, outcomes).unwrap().unwrap();
    assert_eq!(
        command_types(&completion),
        [CommandType::RecordMarker, CommandType::StartTimer]
    );
    // After the timer: the recorded attempt plus one, as seq 2.
    let fired = first.clone().timer_fired("1").next_task();
    let completion = process(&fired, retried).unwrap().unwrap();
    let mut expected = request(2, "flaky");
    expected.attempt = 2;
    expected.original_schedule_time = Some(UNIX_EPOCH + Duration::from_secs(1));
    assert_eq!(completion.local_activities, vec![expected]);
    // Replayed whole.
    let done = first
        .timer_fired("1")
        .completed_task()
        .local_activity_marker(2, "flaky", 2, Ok(greeting()), None)
        .workflow_completed(vec![greeting()])
        .build();
    assert!(process(&done, retried).unwrap().is_none());
}

#[test]
fn markers_events_are_recognised() {
    let event = marker_event(4, "greet");
    let Some(Attributes::MarkerRecordedEventAttributes(_)) = &event.attributes else {
        panic!("a marker event");
    };
    let marker = recorded_local_activity(&event).unwrap().unwrap();
    assert_eq!(marker.data.seq, 4);
    assert_eq!(marker.result.unwrap(), Some(greeting()));
}
