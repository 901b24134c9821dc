//! The workflow engine against histories the Temporal Python SDK recorded on a real server:
//! equivalent Chronicle code must replay them (same commands, same ids), a changed workflow
//! must be caught at the right event, and a history cut at a workflow task must yield exactly
//! the commands the Python worker sent there.

use chronicle_core::failure::Failure;
use chronicle_core::history::History;
use chronicle_core::payload::{self, Payload};
use chronicle_core::proto::command::command::Attributes as CommandAttributes;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_core::workflow::run::{RunContext, WorkflowRun};
use chronicle_core::workflow::{
    ActivityOptions, ActivityRequest, RunHandle, TaskFailureKind, WorkflowExit, WorkflowFactory,
    WorkflowInstance,
};
use futures::future::{join_all, LocalBoxFuture};
use futures::FutureExt;
use std::time::Duration;

fn load(name: &str) -> History {
    let path = format!(
        "{}/tests/fixtures/histories/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let json = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    History::from_json(&json).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn context() -> RunContext {
    RunContext {
        workflow_id: "wf".into(),
        run_id: "run".into(),
        namespace: "default".into(),
        default_activity_options: ActivityOptions::default(),
    }
}

fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<Payload>, Failure> {
    payload::encode(value)
        .map(|p| vec![p])
        .map_err(|e| Failure::application(e.to_string(), "PayloadError"))
}

fn activity(name: &str, arg: impl serde::Serialize) -> ActivityRequest {
    ActivityRequest {
        activity_type: name.to_string(),
        input: vec![payload::encode(&arg).unwrap()],
        options: ActivityOptions {
            start_to_close: Some(Duration::from_secs(10)),
            ..Default::default()
        },
    }
}

/// A workflow written against the core API directly (the macros live in another crate).
struct Workflow {
    name: &'static str,
    body: fn(RunHandle) -> LocalBoxFuture<'static, Result<Vec<Payload>, Failure>>,
}

impl WorkflowFactory for Workflow {
    fn name(&self) -> &str {
        self.name
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance::new(Box::pin((self.body)(run).map(WorkflowExit::from)))
    }
}

/// `sleep(2s)`, then return "timer done".
const TIMER: Workflow = Workflow {
    name: "TimerWorkflow",
    body: |run| {
        Box::pin(async move {
            run.start_timer(Duration::from_secs(2)).await;
            encode(&"timer done")
        })
    },
};

/// `compose_greeting("World")` three times in sequence, joined by spaces.
const GREETING: Workflow = Workflow {
    name: "GreetingWorkflow",
    body: |run| {
        Box::pin(async move {
            let mut parts = Vec::new();
            for _ in 0..3 {
                let result = run
                    .schedule_activity(activity("compose_greeting", "World"))
                    .await?;
                parts.push(payload::decode_single::<String>(&result, "greeting").unwrap());
            }
            encode(&parts.join(" "))
        })
    },
};

/// Like GREETING, but a later version calls another activity second.
const GREETING_CHANGED: Workflow = Workflow {
    name: "GreetingWorkflow",
    body: |run| {
        Box::pin(async move {
            run.schedule_activity(activity("compose_greeting", "World"))
                .await?;
            run.schedule_activity(activity("compose_farewell", "World"))
                .await?;
            encode(&"changed")
        })
    },
};

/// `square(1)`, `square(2)`, `square(3)` at once; the sum.
const PARALLEL: Workflow = Workflow {
    name: "ParallelWorkflow",
    body: |run| {
        Box::pin(async move {
            let calls = (1..=3).map(|x| run.schedule_activity(activity("square", x)));
            let mut sum = 0;
            for result in join_all(calls).await {
                sum += payload::decode_single::<i64>(&result?, "square").unwrap();
            }
            encode(&sum)
        })
    },
};

#[test]
fn python_histories_replay_with_equivalent_code() {
    for (workflow, name) in [
        (TIMER, "timer"),
        (GREETING, "greeting"),
        (PARALLEL, "parallel"),
    ] {
        for form in ["cli", "py"] {
            let history = load(&format!("{name}.{form}.json"));
            let mut run = WorkflowRun::new(history.events(), context()).unwrap();
            let outcome = run.process(&workflow, history.events());
            assert!(
                matches!(outcome, Ok(None)),
                "{name}.{form}.json: {:?}",
                outcome.err()
            );
        }
    }
}

#[test]
fn a_changed_workflow_fails_at_the_first_diverging_event() {
    let history = load("greeting.cli.json");
    let mut run = WorkflowRun::new(history.events(), context()).unwrap();
    let failure = run
        .process(&GREETING_CHANGED, history.events())
        .expect_err("the second activity differs");
    let TaskFailureKind::Nondeterminism(n) = &failure.kind else {
        panic!("expected nondeterminism, got {failure}");
    };
    assert_eq!(n.event_id, 11);
    assert_eq!(
        n.history,
        "ActivityTaskScheduled(activity_id=2, type=compose_greeting)"
    );
    assert_eq!(
        n.code,
        "ScheduleActivityTask(activity_id=2, type=compose_farewell)"
    );
    assert!(n
        .location
        .is_some_and(|l| l.file().ends_with("replay_recorded.rs")));
}

#[test]
fn a_history_cut_at_a_task_yields_the_commands_recorded_after_it() {
    let history = load("parallel.cli.json");
    // Events 1-3: the first workflow task, still to be answered.
    let events = &history.events()[..3];
    let mut run = WorkflowRun::new(events, context()).unwrap();
    let completion = run
        .process(&PARALLEL, events)
        .unwrap()
        .expect("a task to answer");
    assert!(completion.first_task);
    let ids: Vec<_> = completion
        .commands
        .iter()
        .map(|c| match &c.attributes {
            Some(CommandAttributes::ScheduleActivityTaskCommandAttributes(a)) => {
                (a.activity_id.clone(), a.activity_type.clone().unwrap().name)
            }
            other => panic!("unexpected command {other:?}"),
        })
        .collect();
    assert_eq!(
        ids,
        [("1", "square"), ("2", "square"), ("3", "square")]
            .map(|(i, t)| (i.to_string(), t.to_string()))
    );

    // Through event 15: all three results arrive in one activation, and the run completes.
    let events = &history.events()[..15];
    let mut run = WorkflowRun::new(events, context()).unwrap();
    let completion = run
        .process(&PARALLEL, events)
        .unwrap()
        .expect("a task to answer");
    assert!(completion.finished && !completion.first_task);
    match &completion.commands[..] {
        [command] => match &command.attributes {
            Some(CommandAttributes::CompleteWorkflowExecutionCommandAttributes(a)) => {
                let result = payload::from_payloads(a.result.clone());
                assert_eq!(payload::decode_single::<i64>(&result, "sum").unwrap(), 14);
            }
            other => panic!("unexpected command {other:?}"),
        },
        other => panic!("expected one command, got {other:?}"),
    }
}

#[test]
fn an_unknown_sdk_flag_fails_the_task() {
    let mut events = load("timer.cli.json").into_events();
    for event in &mut events {
        if let Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) = &mut event.attributes {
            if let Some(metadata) = &mut a.sdk_metadata {
                metadata.core_used_flags.push(99);
            }
        }
    }
    let mut run = WorkflowRun::new(&events, context()).unwrap();
    let failure = run
        .process(&TIMER, &events)
        .expect_err("flag 99 is unknown");
    assert!(
        matches!(&failure.kind, TaskFailureKind::Unsupported(m) if m.contains("SDK flag 99")),
        "{failure}"
    );
}
