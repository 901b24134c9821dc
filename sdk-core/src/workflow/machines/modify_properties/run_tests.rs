//! Memo upserts and the continue-as-new suggestion through the whole engine.

use crate::history::builder::{task, HistoryBuilder};
use crate::history::History;
use crate::payload::{self, Payload};
use crate::proto::common::Memo;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, WorkflowPropertiesModifiedEventAttributes};
use crate::workflow::run::{RunContext, TaskCompletion, WorkflowRun};
use crate::workflow::{RunHandle, TaskFailure, WorkflowExit, WorkflowFactory, WorkflowInstance};
use futures::FutureExt;
use std::collections::HashMap;
use std::panic::Location;

/// Upserts `status`, then completes with what `memo()` says of it, whether continuing as new
/// is suggested and the history size.
struct Upserting;

impl WorkflowFactory for Upserting {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance::new(
            async move {
                let fields = HashMap::from([(
                    "status".to_string(),
                    payload::encode(&"paid").unwrap_or_default(),
                )]);
                run.upsert_memo_at(fields, Location::caller());
                let status: Option<String> = run
                    .memo()
                    .get("status")
                    .and_then(|p| payload::decode(p, "status").ok());
                let answer = (
                    status,
                    run.continue_as_new_suggested(),
                    run.history_size_bytes(),
                );
                WorkflowExit::Completed(vec![payload::encode(&answer).unwrap_or_default()])
            }
            .boxed_local(),
        )
    }
}

fn process(history: &History) -> Result<Option<TaskCompletion>, TaskFailure> {
    let events = history.events();
    let context = RunContext {
        workflow_id: "wf".into(),
        run_id: "run".into(),
        namespace: "default".into(),
        default_activity_options: Default::default(),
    };
    WorkflowRun::new(events, context)?.process(&Upserting, events)
}

fn answer(completion: &TaskCompletion) -> (Option<String>, bool, u64) {
    use crate::proto::command::command::Attributes as C;
    let Some(C::CompleteWorkflowExecutionCommandAttributes(a)) = completion
        .commands
        .last()
        .and_then(|c| c.attributes.as_ref())
    else {
        panic!("no completion: {completion:?}");
    };
    let result = a.result.clone().unwrap_or_default().payloads;
    payload::decode_single(&result, "answer").unwrap()
}

#[test]
fn a_memo_upsert_is_a_modify_properties_command_seen_at_once() {
    let completion = process(&HistoryBuilder::new("Workflow").next_task())
        .unwrap()
        .unwrap();
    let types: Vec<i32> = completion.commands.iter().map(|c| c.command_type).collect();
    assert_eq!(
        types,
        [
            CommandType::ModifyWorkflowProperties as i32,
            CommandType::CompleteWorkflowExecution as i32
        ]
    );
    assert_eq!(answer(&completion), (Some("paid".into()), false, 0));
}

fn modified(keys: &[&str]) -> Attributes {
    Attributes::WorkflowPropertiesModifiedEventAttributes(
        WorkflowPropertiesModifiedEventAttributes {
            upserted_memo: Some(Memo {
                fields: keys
                    .iter()
                    .map(|k| (k.to_string(), payload::encode(&"paid").unwrap()))
                    .collect(),
            }),
            ..Default::default()
        },
    )
}

#[test]
fn replay_matches_the_recorded_event_and_a_different_memo_is_nondeterminism() {
    let history = task()
        .push(modified(&["status"]))
        .workflow_completed(vec![])
        .build();
    assert!(process(&history).unwrap().is_none());
    let history = task()
        .push(modified(&["other"]))
        .workflow_completed(vec![])
        .build();
    let failure = process(&history).unwrap_err();
    assert!(
        failure
            .to_string()
            .contains("ModifyWorkflowProperties(memo: status)"),
        "{failure}"
    );
}

#[test]
fn the_suggestion_and_size_come_from_the_current_task_started_event() {
    let mut events = HistoryBuilder::new("Workflow")
        .next_task()
        .events()
        .to_vec();
    let Some(Attributes::WorkflowTaskStartedEventAttributes(started)) =
        events.last_mut().and_then(|e| e.attributes.as_mut())
    else {
        panic!("the history ends with a started task");
    };
    started.suggest_continue_as_new = true;
    started.history_size_bytes = 1234;
    let completion = process(&History::new(events)).unwrap().unwrap();
    assert_eq!(answer(&completion), (Some("paid".into()), true, 1234));
}
