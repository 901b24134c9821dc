//! Completing or failing the workflow run.
//!
//! | state    | on                                                      | goes to  |
//! |----------|---------------------------------------------------------|----------|
//! | Created  | `WorkflowExecutionCompleted` / `…Failed` matching kind  | Recorded |

use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::command::{
    command, Command, CompleteWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
};
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};

pub(crate) struct CompletionMachine {
    result: Result<Vec<Payload>, Failure>,
}

impl CompletionMachine {
    pub fn new(result: Result<Vec<Payload>, Failure>) -> Self {
        Self { result }
    }

    pub fn command(&self) -> Command {
        match &self.result {
            Ok(result) => Command {
                command_type: CommandType::CompleteWorkflowExecution as i32,
                attributes: Some(
                    command::Attributes::CompleteWorkflowExecutionCommandAttributes(
                        CompleteWorkflowExecutionCommandAttributes {
                            result: payload::to_payloads(result.clone()),
                        },
                    ),
                ),
                ..Default::default()
            },
            Err(failure) => Command {
                command_type: CommandType::FailWorkflowExecution as i32,
                attributes: Some(command::Attributes::FailWorkflowExecutionCommandAttributes(
                    FailWorkflowExecutionCommandAttributes {
                        failure: Some(failure.clone().into_proto()),
                    },
                )),
                ..Default::default()
            },
        }
    }

    pub fn describe(&self) -> String {
        match &self.result {
            Ok(_) => "CompleteWorkflowExecution".to_string(),
            Err(f) => format!("FailWorkflowExecution({})", f.message()),
        }
    }

    pub fn matches(&self, event: &HistoryEvent) -> bool {
        matches!(
            (&self.result, &event.attributes),
            (
                Ok(_),
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(_))
            ) | (
                Err(_),
                Some(Attributes::WorkflowExecutionFailedEventAttributes(_))
            )
        )
    }
}
