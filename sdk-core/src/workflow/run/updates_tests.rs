//! The engine's side of updates without a server: a live request is validated, accepted and
//! answered in its task; a rejected one leaves only a message; a replayed acceptance starts the
//! handler at the same point without validating, and its commands match the history again.

use super::{RunContext, TaskCompletion, WorkflowRun};
use crate::failure::Failure;
use crate::history::builder::HistoryBuilder;
use crate::payload::Payload;
use crate::proto::enums::CommandType;
use crate::proto::history::history_event::Attributes;
use crate::proto::history::WorkflowExecutionUpdateAcceptedEventAttributes;
use crate::proto::protocol::{message::SequencingId, Message};
use crate::proto::update::{Input, Meta, Request};
use crate::workflow::{
    HandlerError, RunHandle, UpdateFuture, WorkflowExit, WorkflowFactory, WorkflowHandlers,
    WorkflowInstance,
};
use futures::FutureExt;
use prost::Message as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Its update `wait` starts a 1 s timer and returns nothing; its validator refuses when asked
/// to, and records each time it runs.
struct Factory {
    validations: Arc<Mutex<Vec<bool>>>,
}

struct Handlers {
    run: RunHandle,
    validations: Arc<Mutex<Vec<bool>>>,
}

impl WorkflowHandlers for Handlers {
    fn signal(&self, name: &str, _input: Vec<Payload>) -> Result<(), HandlerError> {
        Err(HandlerError::unknown(
            crate::workflow::HandlerKind::Signal,
            name,
            &[],
        ))
    }
    fn query(&self, name: &str, _input: Vec<Payload>) -> Result<Vec<Payload>, HandlerError> {
        Err(HandlerError::unknown(
            crate::workflow::HandlerKind::Query,
            name,
            &[],
        ))
    }
    fn update(
        &self,
        name: &str,
        _input: Vec<Payload>,
        validate: bool,
    ) -> Result<UpdateFuture, Failure> {
        if validate {
            self.validations
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(true);
            if name == "refused" {
                return Err(Failure::application("no", "Refused"));
            }
        }
        // Commands come from the handler's future, once the update is accepted.
        let run = self.run.clone();
        Ok(async move {
            let _ = run.start_timer(Duration::from_secs(1)).await;
            Ok(Vec::new())
        }
        .boxed_local())
    }
}

impl WorkflowFactory for Factory {
    fn name(&self) -> &str {
        "Workflow"
    }
    fn instantiate(&self, run: RunHandle, _input: Vec<Payload>) -> WorkflowInstance {
        WorkflowInstance {
            future: futures::future::pending::<WorkflowExit>().boxed_local(),
            handlers: Box::new(Handlers {
                run,
                validations: self.validations.clone(),
            }),
        }
    }
}

fn request(name: &str) -> Request {
    Request {
        meta: Some(Meta {
            update_id: "u1".into(),
            identity: "client".into(),
        }),
        input: Some(Input {
            name: name.into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn message(name: &str) -> Message {
    Message {
        id: "u1/request".into(),
        protocol_instance_id: "u1".into(),
        sequencing_id: Some(SequencingId::EventId(2)),
        body: Some(prost_wkt_types::Any {
            type_url: "type.googleapis.com/temporal.api.update.v1.Request".into(),
            value: request(name).encode_to_vec(),
        }),
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

fn run(
    factory: &Factory,
    history: &crate::history::History,
    messages: Vec<Message>,
) -> TaskCompletion {
    let events = history.events();
    let mut run = WorkflowRun::new(events, context()).expect("a run");
    run.set_messages(messages);
    run.process(factory, events)
        .expect("the task processes")
        .expect("a task to answer")
}

fn command_types(completion: &TaskCompletion) -> Vec<CommandType> {
    completion
        .commands
        .iter()
        .map(|c| CommandType::try_from(c.command_type).unwrap_or(CommandType::Unspecified))
        .collect()
}

#[test]
fn a_live_request_is_validated_accepted_and_its_handler_runs_in_the_same_task() {
    let factory = Factory {
        validations: Arc::default(),
    };
    let history = HistoryBuilder::new("Workflow").next_task();
    let completion = run(&factory, &history, vec![message("wait")]);
    assert_eq!(
        command_types(&completion),
        [CommandType::ProtocolMessage, CommandType::StartTimer]
    );
    let ids: Vec<&str> = completion.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1/request/accept"]);
    assert_eq!(factory.validations.lock().unwrap().len(), 1);
}

#[test]
fn a_rejected_request_leaves_a_message_and_no_command() {
    let factory = Factory {
        validations: Arc::default(),
    };
    let history = HistoryBuilder::new("Workflow").next_task();
    let completion = run(&factory, &history, vec![message("refused")]);
    assert!(completion.commands.is_empty());
    let ids: Vec<&str> = completion.messages.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["u1/request/reject"]);
}

#[test]
fn a_replayed_acceptance_starts_the_handler_without_validating() {
    let factory = Factory {
        validations: Arc::default(),
    };
    let history = HistoryBuilder::new("Workflow")
        .completed_task()
        .push(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
            WorkflowExecutionUpdateAcceptedEventAttributes {
                protocol_instance_id: "u1".into(),
                accepted_request_message_id: "u1/request".into(),
                accepted_request_sequencing_event_id: 2,
                accepted_request: Some(request("wait")),
            },
        ))
        .timer_started("1", Duration::from_secs(1))
        .next_task();
    let completion = run(&factory, &history, Vec::new());
    // The acceptance and the timer matched the history: nothing new, no validation.
    assert!(completion.commands.is_empty(), "{:?}", completion.commands);
    assert!(completion.messages.is_empty());
    assert!(factory.validations.lock().unwrap().is_empty());
}
