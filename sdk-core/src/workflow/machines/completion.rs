//! Ending the workflow run: complete, fail, continue as new, or finish as canceled.
//!
//! | state    | on                                                         | goes to  |
//! |----------|------------------------------------------------------------|----------|
//! | Created  | `WorkflowExecutionCompleted` / `…Failed` / `…ContinuedAsNew`| Recorded |
//! |          | / `…Canceled`, matching the exit's kind                    |          |

use super::CommandMachine;
use crate::payload;
use crate::proto::command::{
    command, CancelWorkflowExecutionCommandAttributes, Command,
    CompleteWorkflowExecutionCommandAttributes, ContinueAsNewWorkflowExecutionCommandAttributes,
    FailWorkflowExecutionCommandAttributes,
};
use crate::proto::common::{Memo, SearchAttributes, WorkflowType};
use crate::proto::enums::{CommandType, TaskQueueKind};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::proto::taskqueue::TaskQueue;
use crate::retry_policy::RetryPolicy;
use crate::workflow::options::{ContinueAsNew, WorkflowExit};

pub(crate) struct CompletionMachine {
    exit: WorkflowExit,
}

impl CompletionMachine {
    pub fn new(exit: WorkflowExit) -> Self {
        Self { exit }
    }
}

impl CommandMachine for CompletionMachine {
    fn command(&self) -> Command {
        use command::Attributes as A;
        let (command_type, attributes) = match &self.exit {
            WorkflowExit::Completed(result) => (
                CommandType::CompleteWorkflowExecution,
                A::CompleteWorkflowExecutionCommandAttributes(
                    CompleteWorkflowExecutionCommandAttributes {
                        result: payload::to_payloads(result.clone()),
                    },
                ),
            ),
            WorkflowExit::Failed(failure) => (
                CommandType::FailWorkflowExecution,
                A::FailWorkflowExecutionCommandAttributes(FailWorkflowExecutionCommandAttributes {
                    failure: Some(failure.clone().into_proto()),
                }),
            ),
            WorkflowExit::ContinuedAsNew(next) => (
                CommandType::ContinueAsNewWorkflowExecution,
                A::ContinueAsNewWorkflowExecutionCommandAttributes(continue_as_new(next)),
            ),
            WorkflowExit::Canceled => (
                CommandType::CancelWorkflowExecution,
                A::CancelWorkflowExecutionCommandAttributes(
                    CancelWorkflowExecutionCommandAttributes { details: None },
                ),
            ),
        };
        Command {
            command_type: command_type as i32,
            attributes: Some(attributes),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        match &self.exit {
            WorkflowExit::Completed(_) => "CompleteWorkflowExecution".to_string(),
            WorkflowExit::Failed(f) => format!("FailWorkflowExecution({})", f.message()),
            WorkflowExit::ContinuedAsNew(next) => {
                format!(
                    "ContinueAsNewWorkflowExecution(type={})",
                    next.workflow_type
                )
            }
            WorkflowExit::Canceled => "CancelWorkflowExecution".to_string(),
        }
    }

    fn location(&self) -> Option<&'static std::panic::Location<'static>> {
        None
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        matches!(
            (&self.exit, &event.attributes),
            (
                WorkflowExit::Completed(_),
                Some(Attributes::WorkflowExecutionCompletedEventAttributes(_))
            ) | (
                WorkflowExit::Failed(_),
                Some(Attributes::WorkflowExecutionFailedEventAttributes(_))
            ) | (
                WorkflowExit::ContinuedAsNew(_),
                Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(
                    _
                ))
            ) | (
                WorkflowExit::Canceled,
                Some(Attributes::WorkflowExecutionCanceledEventAttributes(_))
            )
        )
    }
}

fn continue_as_new(next: &ContinueAsNew) -> ContinueAsNewWorkflowExecutionCommandAttributes {
    ContinueAsNewWorkflowExecutionCommandAttributes {
        workflow_type: Some(WorkflowType {
            name: next.workflow_type.clone(),
        }),
        task_queue: next.task_queue.as_ref().map(|name| TaskQueue {
            name: name.clone(),
            kind: TaskQueueKind::Normal as i32,
            ..Default::default()
        }),
        input: payload::to_payloads(next.input.clone()),
        workflow_run_timeout: next.run_timeout.map(crate::proto::duration),
        workflow_task_timeout: next.task_timeout.map(crate::proto::duration),
        retry_policy: next.retry_policy.as_ref().map(RetryPolicy::to_proto),
        memo: (!next.memo.is_empty()).then(|| Memo {
            fields: next.memo.clone(),
        }),
        search_attributes: (!next.search_attributes.is_empty()).then(|| SearchAttributes {
            indexed_fields: next.search_attributes.clone(),
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::Failure;
    use crate::history::builder::event;
    use crate::proto::history::{
        WorkflowExecutionCanceledEventAttributes, WorkflowExecutionCompletedEventAttributes,
        WorkflowExecutionContinuedAsNewEventAttributes, WorkflowExecutionFailedEventAttributes,
    };

    #[test]
    fn each_exit_matches_only_its_own_event_and_expects_nothing_after() {
        let events = [
            event(
                9,
                Attributes::WorkflowExecutionCompletedEventAttributes(
                    WorkflowExecutionCompletedEventAttributes::default(),
                ),
            ),
            event(
                9,
                Attributes::WorkflowExecutionFailedEventAttributes(
                    WorkflowExecutionFailedEventAttributes::default(),
                ),
            ),
            event(
                9,
                Attributes::WorkflowExecutionContinuedAsNewEventAttributes(
                    WorkflowExecutionContinuedAsNewEventAttributes::default(),
                ),
            ),
            event(
                9,
                Attributes::WorkflowExecutionCanceledEventAttributes(
                    WorkflowExecutionCanceledEventAttributes::default(),
                ),
            ),
        ];
        let exits = [
            WorkflowExit::Completed(vec![]),
            WorkflowExit::Failed(Failure::application("boom", "E")),
            WorkflowExit::ContinuedAsNew(Box::default()),
            WorkflowExit::Canceled,
        ];
        for (i, exit) in exits.into_iter().enumerate() {
            let mut machine = CompletionMachine::new(exit);
            for (j, e) in events.iter().enumerate() {
                assert_eq!(
                    machine.matches_command_event(e),
                    i == j,
                    "exit {i}, event {j}"
                );
            }
            let message = machine.on_event(&events[i]).err().map(|f| f.to_string());
            assert!(
                message.is_some_and(|m| m.contains("is not expected")),
                "exit {i}: a recorded completion takes no events"
            );
        }
    }
}
