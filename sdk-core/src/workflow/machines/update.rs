//! Updates: the worker's answers to an update request, sent as protocol messages with the
//! workflow task's response.
//!
//! An update request arrives as a `temporal.api.protocol.v1.Message` (body
//! `temporal.api.update.v1.Request`) with the task, or, on replay, inside the
//! `WorkflowExecutionUpdateAccepted` event the acceptance recorded. The worker answers with an
//! `Acceptance` or a `Rejection` message, and later a `Response` (the handler's outcome). An
//! acceptance and a response each go with a `ProtocolMessage` command naming the message, which
//! places the message's event in history; a rejection leaves no trace in history, so it is a
//! message alone and has no machine.
//!
//! One machine per message-with-command (`step`: accept or complete):
//!
//! | state   | on                                                      | goes to  |
//! |---------|---------------------------------------------------------|----------|
//! | Created | accept: `WorkflowExecutionUpdateAccepted` (same id)      | Recorded |
//! | Created | complete: `WorkflowExecutionUpdateCompleted` (same id)   | Recorded |
//!
//! No later event reports on either, so every other event is a malformed history.

use super::CommandMachine;
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, ProtocolMessageCommandAttributes};
use crate::proto::common::Payloads;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::protocol::{message::SequencingId, Message};
use crate::proto::update::{outcome, Acceptance, Meta, Outcome, Rejection, Request, Response};
use prost::Message as _;
use std::panic::Location;

const TYPE_URL_PREFIX: &str = "type.googleapis.com/";
const REQUEST_TYPE: &str = "temporal.api.update.v1.Request";

/// An update request, as the worker received it.
#[derive(Debug, Clone)]
pub(crate) struct UpdateRequest {
    /// The update id (the protocol instance id).
    pub update_id: String,
    /// The id of the message that carried it.
    pub message_id: String,
    /// The event after which it was delivered.
    pub sequencing_event_id: i64,
    /// The request itself, echoed in the acceptance and the rejection.
    pub request: Request,
}

impl UpdateRequest {
    /// Reads a request from a task's protocol message; `Err` says why it is not one.
    pub fn from_message(message: &Message) -> Result<Self, String> {
        let body = message
            .body
            .as_ref()
            .ok_or_else(|| format!("protocol message {:?} has no body", message.id))?;
        let type_name = body.type_url.rsplit('/').next().unwrap_or_default();
        if type_name != REQUEST_TYPE {
            return Err(format!(
                "protocol message {:?} carries {type_name:?}, not an update request",
                message.id
            ));
        }
        let request = Request::decode(body.value.as_slice()).map_err(|e| {
            format!(
                "protocol message {:?}: update request does not decode: {e}",
                message.id
            )
        })?;
        let sequencing_event_id = match message.sequencing_id {
            Some(SequencingId::EventId(id)) => id,
            _ => 0,
        };
        Ok(Self {
            update_id: message.protocol_instance_id.clone(),
            message_id: message.id.clone(),
            sequencing_event_id,
            request,
        })
    }

    /// The request an `WorkflowExecutionUpdateAccepted` event recorded. An update admitted
    /// durably earlier (`WorkflowExecutionUpdateAdmitted`) is recorded without its request,
    /// which `admitted` then supplies.
    pub fn from_accepted_event(
        event: &HistoryEvent,
        admitted: impl Fn(&str) -> Option<Request>,
    ) -> Option<Self> {
        let Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(a)) = &event.attributes
        else {
            return None;
        };
        let request = a
            .accepted_request
            .clone()
            .or_else(|| admitted(&a.protocol_instance_id))?;
        Some(Self {
            update_id: a.protocol_instance_id.clone(),
            message_id: a.accepted_request_message_id.clone(),
            sequencing_event_id: a.accepted_request_sequencing_event_id,
            request,
        })
    }

    /// The handler's name.
    pub fn name(&self) -> &str {
        self.request
            .input
            .as_ref()
            .map(|i| i.name.as_str())
            .unwrap_or_default()
    }

    /// The handler's arguments.
    pub fn args(&self) -> Vec<Payload> {
        payload::from_payloads(self.request.input.as_ref().and_then(|i| i.args.clone()))
    }

    /// The rejection message for this request (no command goes with it).
    pub fn rejection(&self, failure: Failure) -> Message {
        message(
            format!("{}/reject", self.message_id),
            &self.update_id,
            "temporal.api.update.v1.Rejection",
            &Rejection {
                rejected_request_message_id: self.message_id.clone(),
                rejected_request_sequencing_event_id: self.sequencing_event_id,
                rejected_request: Some(self.request.clone()),
                failure: Some(failure.into_proto()),
            },
        )
    }
}

fn message(id: String, update_id: &str, type_name: &str, body: &impl prost::Message) -> Message {
    Message {
        id,
        protocol_instance_id: update_id.to_string(),
        body: Some(prost_wkt_types::Any {
            type_url: format!("{TYPE_URL_PREFIX}{type_name}"),
            value: body.encode_to_vec(),
        }),
        sequencing_id: None,
    }
}

/// Accept or complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    Accept,
    Complete,
}

/// One answer to an update that goes with a `ProtocolMessage` command.
pub(crate) struct UpdateMachine {
    pub update_id: String,
    pub name: String,
    pub step: Step,
    /// The message the command names; sent with the task's response while unmatched.
    pub message: Message,
    recorded: bool,
}

impl UpdateMachine {
    /// The acceptance of `request`.
    pub fn accept(request: &UpdateRequest) -> Self {
        let message = message(
            format!("{}/accept", request.message_id),
            &request.update_id,
            "temporal.api.update.v1.Acceptance",
            &Acceptance {
                accepted_request_message_id: request.message_id.clone(),
                accepted_request_sequencing_event_id: request.sequencing_event_id,
                accepted_request: Some(request.request.clone()),
            },
        );
        Self {
            update_id: request.update_id.clone(),
            name: request.name().to_string(),
            step: Step::Accept,
            message,
            recorded: false,
        }
    }

    /// The handler's outcome: its result, or the failure the client gets.
    pub fn complete(request: &UpdateRequest, outcome: Result<Vec<Payload>, Failure>) -> Self {
        let value = match outcome {
            Ok(payloads) => outcome::Value::Success(Payloads { payloads }),
            Err(failure) => outcome::Value::Failure(failure.into_proto()),
        };
        let meta = request.request.meta.clone().unwrap_or_else(|| Meta {
            update_id: request.update_id.clone(),
            ..Default::default()
        });
        let message = message(
            format!("{}/complete", request.message_id),
            &request.update_id,
            "temporal.api.update.v1.Response",
            &Response {
                meta: Some(meta),
                outcome: Some(Outcome { value: Some(value) }),
            },
        );
        Self {
            update_id: request.update_id.clone(),
            name: request.name().to_string(),
            step: Step::Complete,
            message,
            recorded: false,
        }
    }
}

impl CommandMachine for UpdateMachine {
    fn command(&self) -> Command {
        Command {
            command_type: CommandType::ProtocolMessage as i32,
            attributes: Some(command::Attributes::ProtocolMessageCommandAttributes(
                ProtocolMessageCommandAttributes {
                    message_id: self.message.id.clone(),
                },
            )),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        let step = match self.step {
            Step::Accept => "accept",
            Step::Complete => "complete",
        };
        format!(
            "ProtocolMessage({step} update {:?}, id {})",
            self.name, self.update_id
        )
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        None
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        let id = match (&event.attributes, self.step) {
            (Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(a)), Step::Accept) => {
                a.protocol_instance_id.as_str()
            }
            (
                Some(Attributes::WorkflowExecutionUpdateCompletedEventAttributes(a)),
                Step::Complete,
            ) => a
                .meta
                .as_ref()
                .map(|m| m.update_id.as_str())
                .unwrap_or_default(),
            _ => return false,
        };
        let matched = !self.recorded && id == self.update_id;
        self.recorded |= matched;
        matched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::update::Input;

    fn request(id: &str) -> UpdateRequest {
        let request = Request {
            meta: Some(Meta {
                update_id: id.to_string(),
                identity: "client".to_string(),
            }),
            input: Some(Input {
                name: "apply_discount".to_string(),
                args: Some(Payloads {
                    payloads: vec![payload::encode(&10).unwrap()],
                }),
                header: None,
            }),
            ..Default::default()
        };
        let message = message(format!("{id}/request"), id, REQUEST_TYPE, &request);
        let mut message = message;
        message.sequencing_id = Some(SequencingId::EventId(3));
        UpdateRequest::from_message(&message).unwrap()
    }

    fn accepted(id: &str) -> HistoryEvent {
        HistoryEvent {
            event_id: 5,
            attributes: Some(Attributes::WorkflowExecutionUpdateAcceptedEventAttributes(
                crate::proto::history::WorkflowExecutionUpdateAcceptedEventAttributes {
                    protocol_instance_id: id.to_string(),
                    accepted_request_message_id: format!("{id}/request"),
                    accepted_request_sequencing_event_id: 3,
                    accepted_request: Some(request(id).request),
                },
            )),
            ..Default::default()
        }
    }

    fn completed(id: &str) -> HistoryEvent {
        HistoryEvent {
            event_id: 6,
            attributes: Some(Attributes::WorkflowExecutionUpdateCompletedEventAttributes(
                crate::proto::history::WorkflowExecutionUpdateCompletedEventAttributes {
                    meta: Some(Meta {
                        update_id: id.to_string(),
                        identity: String::new(),
                    }),
                    accepted_event_id: 5,
                    outcome: None,
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn a_request_reads_back_from_its_message_and_from_its_accepted_event() {
        let live = request("u1");
        assert_eq!(live.name(), "apply_discount");
        assert_eq!(live.sequencing_event_id, 3);
        assert_eq!(
            payload::decode::<i32>(&live.args()[0], "the argument").unwrap(),
            10
        );
        let replayed = UpdateRequest::from_accepted_event(&accepted("u1"), |_| None).unwrap();
        assert_eq!(replayed.update_id, "u1");
        assert_eq!(replayed.message_id, "u1/request");
        assert_eq!(replayed.name(), "apply_discount");
    }

    #[test]
    fn messages_are_named_after_the_request_message() {
        let request = request("u1");
        let accept = UpdateMachine::accept(&request);
        assert_eq!(accept.message.id, "u1/request/accept");
        assert_eq!(accept.message.protocol_instance_id, "u1");
        let body = accept.message.body.as_ref().unwrap();
        assert_eq!(
            body.type_url,
            "type.googleapis.com/temporal.api.update.v1.Acceptance"
        );
        let acceptance = Acceptance::decode(body.value.as_slice()).unwrap();
        assert_eq!(acceptance.accepted_request_message_id, "u1/request");
        assert_eq!(acceptance.accepted_request_sequencing_event_id, 3);
        let Some(command::Attributes::ProtocolMessageCommandAttributes(attributes)) =
            accept.command().attributes
        else {
            panic!("not a protocol message command");
        };
        assert_eq!(attributes.message_id, "u1/request/accept");
        let reject = request.rejection(Failure::application("too much", "ValidationError"));
        assert_eq!(reject.id, "u1/request/reject");
        let complete = UpdateMachine::complete(&request, Ok(vec![payload::encode(&90).unwrap()]));
        let response =
            Response::decode(complete.message.body.as_ref().unwrap().value.as_slice()).unwrap();
        assert_eq!(response.meta.unwrap().update_id, "u1");
        assert!(matches!(
            response.outcome.and_then(|o| o.value),
            Some(outcome::Value::Success(_))
        ));
    }

    #[test]
    fn each_step_matches_only_its_own_event_for_its_own_update() {
        let request = request("u1");
        let table: &[(Step, HistoryEvent, bool)] = &[
            (Step::Accept, accepted("u1"), true),
            (Step::Accept, accepted("u2"), false),
            (Step::Accept, completed("u1"), false),
            (Step::Complete, completed("u1"), true),
            (Step::Complete, completed("u2"), false),
            (Step::Complete, accepted("u1"), false),
        ];
        for (step, event, expected) in table {
            let mut machine = match step {
                Step::Accept => UpdateMachine::accept(&request),
                Step::Complete => UpdateMachine::complete(&request, Ok(Vec::new())),
            };
            assert_eq!(
                machine.matches_command_event(event),
                *expected,
                "{step:?} {event:?}"
            );
            // A recorded answer takes no second event.
            assert!(!machine.matches_command_event(event));
        }
    }

    #[test]
    fn other_messages_are_not_requests() {
        let mut message = message(
            "m".into(),
            "u1",
            "temporal.api.update.v1.Response",
            &Response::default(),
        );
        assert!(UpdateRequest::from_message(&message)
            .unwrap_err()
            .contains("not an update request"));
        message.body = None;
        assert!(UpdateRequest::from_message(&message)
            .unwrap_err()
            .contains("no body"));
    }
}
