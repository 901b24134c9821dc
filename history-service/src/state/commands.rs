//! A workflow task's completion: its commands, validated, then each written as its event.
//!
//! The completion writes WorkflowTaskCompleted(C), one event per command (each naming C), then
//! the buffered events (study §3). A close command while events wait in the buffer fails the
//! task with UNHANDLED_COMMAND so the worker sees them first (rule 1).

use super::workflow_task::service_failure;
use super::{Effect, Txn, UserTimer};
use crate::ids::new_id;
use crate::proto::command::command::Attributes as Cmd;
use crate::proto::command::Command;
use crate::proto::enums::{EventType, WorkflowTaskFailedCause as Cause};
use crate::proto::history::history_event::Attributes;
use crate::proto::wfs::RespondWorkflowTaskCompletedRequest;
use crate::proto::{duration, duration_ms, history};
use crate::timers::TimerKind;
use std::collections::HashSet;

/// How a completion ended.
#[derive(Debug)]
pub enum Completion {
    /// Written; the ids of the queries that rode on the task.
    Accepted {
        /// Queries attached to the task.
        query_ids: Vec<u64>,
    },
    /// Rejected: the task was failed with this cause.
    Rejected {
        /// Why.
        cause: Cause,
        /// The message for the worker.
        message: String,
        /// Queries attached to the task (they wait for the next one).
        query_ids: Vec<u64>,
    },
}

fn is_close(command: &Cmd) -> bool {
    matches!(
        command,
        Cmd::CompleteWorkflowExecutionCommandAttributes(_)
            | Cmd::FailWorkflowExecutionCommandAttributes(_)
            | Cmd::CancelWorkflowExecutionCommandAttributes(_)
            | Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(_)
    )
}

impl Txn {
    /// Checks the commands before anything is written, as the server does.
    fn validate_commands(&self, commands: &[Command]) -> Result<(), (Cause, String)> {
        let mut activity_ids: HashSet<&str> = self
            .state
            .activities
            .values()
            .map(|a| a.activity_id.as_str())
            .collect();
        let mut timer_ids: HashSet<&str> = self.state.timers.keys().map(String::as_str).collect();
        for (index, command) in commands.iter().enumerate() {
            let Some(attributes) = command.attributes.as_ref() else {
                return Err((
                    Cause::BadBinary,
                    format!("command {index} has no attributes"),
                ));
            };
            if is_close(attributes) && index + 1 != commands.len() {
                return Err((
                    Cause::UnhandledCommand,
                    "a workflow close command must be the last command".into(),
                ));
            }
            match attributes {
                Cmd::ScheduleActivityTaskCommandAttributes(a) => {
                    let bad = |message: &str| {
                        Err((Cause::BadScheduleActivityAttributes, message.to_string()))
                    };
                    if a.activity_id.is_empty() {
                        return bad("ActivityId is not set");
                    }
                    if !activity_ids.insert(&a.activity_id) {
                        return bad("ActivityId is already in use by a pending activity");
                    }
                    if a.activity_type.as_ref().is_none_or(|t| t.name.is_empty()) {
                        return bad("ActivityType is not set");
                    }
                    if duration_ms(a.schedule_to_close_timeout.as_ref()).is_none()
                        && duration_ms(a.start_to_close_timeout.as_ref()).is_none()
                    {
                        return bad("A valid StartToClose or ScheduleToCloseTimeout is not set");
                    }
                }
                Cmd::StartTimerCommandAttributes(a)
                    if a.timer_id.is_empty() || !timer_ids.insert(&a.timer_id) =>
                {
                    return Err((
                        Cause::BadStartTimerAttributes,
                        format!("TimerId {:?} is empty or already in use", a.timer_id),
                    ));
                }
                Cmd::CancelWorkflowExecutionCommandAttributes(_)
                    if !self.state.cancel_requested =>
                {
                    return Err((
                        Cause::BadCancelWorkflowExecutionAttributes,
                        "the workflow cannot be canceled: no cancellation was requested".into(),
                    ));
                }
                Cmd::ProtocolMessageCommandAttributes(_)
                | Cmd::ScheduleNexusOperationCommandAttributes(_)
                | Cmd::RequestCancelNexusOperationCommandAttributes(_) => {
                    return Err((
                        Cause::UnhandledCommand,
                        "updates and Nexus operations are not served yet".into(),
                    ));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Applies a completion of the started task with `stamp`. `None`: stale token.
    pub fn complete_workflow_task(
        &mut self,
        stamp: u64,
        request: &RespondWorkflowTaskCompletedRequest,
    ) -> Option<Completion> {
        let task = self.started_task(stamp)?;
        let query_ids = self.state.queries.attached.clone();
        let closes = request
            .commands
            .iter()
            .any(|c| c.attributes.as_ref().is_some_and(is_close));
        let rejection = if closes && !self.state.buffered.is_empty() {
            Some((
                Cause::UnhandledCommand,
                "new events arrived while the workflow task ran".to_string(),
            ))
        } else {
            self.validate_commands(&request.commands).err()
        };
        if let Some((cause, message)) = rejection {
            self.fail_workflow_task(cause, Some(service_failure(message.clone())), None);
            return Some(Completion::Rejected {
                cause,
                message,
                query_ids,
            });
        }
        self.materialize_transient(&task);
        let completed_id = self.write(Attributes::WorkflowTaskCompletedEventAttributes(
            history::WorkflowTaskCompletedEventAttributes {
                scheduled_event_id: task.scheduled_event_id,
                started_event_id: task.started_event_id,
                identity: request.identity.clone(),
                binary_checksum: request.binary_checksum.clone(),
                sdk_metadata: request.sdk_metadata.clone(),
                ..Default::default()
            },
        ));
        self.state.wft = None;
        self.state.wft_attempt = 1;
        self.state.queries.attached.clear();
        self.state.last_completed_started_event_id = task.started_event_id;
        self.set_sticky(request.sticky_attributes.as_ref());
        let mut needs_task = request.force_create_new_workflow_task;
        for command in &request.commands {
            if let Some(attributes) = command.attributes.clone() {
                needs_task |= self.apply_command(attributes, completed_id);
            }
            if !self.state.is_running() {
                break;
            }
        }
        if self.state.is_running() {
            needs_task |= self.flush_buffer();
            if needs_task {
                self.schedule_workflow_task();
            }
            if self.state.wft.is_none() && !self.state.queries.waiting.is_empty() {
                let query_ids = std::mem::take(&mut self.state.queries.waiting);
                self.effect(Effect::DispatchQueries { query_ids });
            }
        } else {
            // A closed run drops what was buffered, as the server does on close.
            self.state.buffered.clear();
            let query_ids = std::mem::take(&mut self.state.queries.waiting);
            if !query_ids.is_empty() {
                self.effect(Effect::DispatchQueries { query_ids });
            }
        }
        Some(Completion::Accepted { query_ids })
    }

    /// Writes one command's event; returns whether it calls for a new workflow task at once.
    fn apply_command(&mut self, command: Cmd, completed_id: i64) -> bool {
        match command {
            Cmd::ScheduleActivityTaskCommandAttributes(a) => {
                self.schedule_activity(a, completed_id);
                false
            }
            Cmd::RequestCancelActivityTaskCommandAttributes(a) => {
                self.request_cancel_activity(a.scheduled_event_id, completed_id)
            }
            Cmd::StartTimerCommandAttributes(a) => {
                let fire_ms = duration_ms(a.start_to_fire_timeout.as_ref()).unwrap_or(0);
                let started_event_id = self.write(Attributes::TimerStartedEventAttributes(
                    history::TimerStartedEventAttributes {
                        timer_id: a.timer_id.clone(),
                        start_to_fire_timeout: Some(duration(fire_ms)),
                        workflow_task_completed_event_id: completed_id,
                    },
                ));
                let deadline_ms = self.now_ms + fire_ms;
                self.state.timers.insert(
                    a.timer_id.clone(),
                    UserTimer {
                        started_event_id,
                        deadline_ms,
                    },
                );
                let run = self.key().clone();
                self.effect(Effect::Timer {
                    deadline_ms,
                    kind: TimerKind::User {
                        run,
                        timer_id: a.timer_id,
                        started_event_id,
                    },
                });
                false
            }
            Cmd::CancelTimerCommandAttributes(a) => {
                let started_event_id = match self.state.timers.remove(&a.timer_id) {
                    Some(timer) => Some(timer.started_event_id),
                    None => self.take_buffered_timer_fired(&a.timer_id),
                };
                if let Some(started_event_id) = started_event_id {
                    self.write(Attributes::TimerCanceledEventAttributes(
                        history::TimerCanceledEventAttributes {
                            timer_id: a.timer_id,
                            started_event_id,
                            workflow_task_completed_event_id: completed_id,
                            identity: String::new(),
                        },
                    ));
                }
                false
            }
            Cmd::RecordMarkerCommandAttributes(a) => {
                self.write(Attributes::MarkerRecordedEventAttributes(
                    history::MarkerRecordedEventAttributes {
                        marker_name: a.marker_name,
                        details: a.details,
                        workflow_task_completed_event_id: completed_id,
                        header: a.header,
                        failure: a.failure,
                    },
                ));
                false
            }
            Cmd::UpsertWorkflowSearchAttributesCommandAttributes(a) => {
                let merged = merge_search_attributes(
                    self.state.search_attributes.take(),
                    a.search_attributes.clone(),
                );
                self.state.search_attributes = merged;
                self.write(Attributes::UpsertWorkflowSearchAttributesEventAttributes(
                    history::UpsertWorkflowSearchAttributesEventAttributes {
                        workflow_task_completed_event_id: completed_id,
                        search_attributes: a.search_attributes,
                    },
                ));
                false
            }
            Cmd::ModifyWorkflowPropertiesCommandAttributes(a) => {
                if let Some(memo) = &a.upserted_memo {
                    let current = self.state.memo.get_or_insert_with(Default::default);
                    for (key, value) in &memo.fields {
                        current.fields.insert(key.clone(), value.clone());
                    }
                }
                self.write(Attributes::WorkflowPropertiesModifiedEventAttributes(
                    history::WorkflowPropertiesModifiedEventAttributes {
                        workflow_task_completed_event_id: completed_id,
                        upserted_memo: a.upserted_memo,
                    },
                ));
                false
            }
            Cmd::StartChildWorkflowExecutionCommandAttributes(a) => {
                self.initiate_child(a, completed_id);
                false
            }
            Cmd::SignalExternalWorkflowExecutionCommandAttributes(a) => {
                self.initiate_signal_external(a, completed_id);
                false
            }
            Cmd::RequestCancelExternalWorkflowExecutionCommandAttributes(a) => {
                self.initiate_cancel_external(a, completed_id);
                false
            }
            Cmd::CompleteWorkflowExecutionCommandAttributes(a) => {
                self.complete_workflow(a.result, completed_id);
                false
            }
            Cmd::FailWorkflowExecutionCommandAttributes(a) => {
                self.fail_workflow(a.failure, completed_id);
                false
            }
            Cmd::CancelWorkflowExecutionCommandAttributes(a) => {
                self.cancel_workflow(a.details, completed_id);
                false
            }
            Cmd::ContinueAsNewWorkflowExecutionCommandAttributes(a) => {
                let new_run_id = new_id();
                self.continue_as_new(a, new_run_id, completed_id);
                false
            }
            // Rejected by validation.
            Cmd::ProtocolMessageCommandAttributes(_)
            | Cmd::ScheduleNexusOperationCommandAttributes(_)
            | Cmd::RequestCancelNexusOperationCommandAttributes(_) => false,
        }
    }

    /// A TimerFired waiting in the buffer for a timer the workflow now cancels: removed, so the
    /// workflow never sees it fire ([srv] handler l.940-944). Returns its started event id.
    fn take_buffered_timer_fired(&mut self, timer_id: &str) -> Option<i64> {
        let position = self.state.buffered.iter().position(|event| {
            event.event_type == EventType::TimerFired as i32
                && matches!(&event.attributes,
                    Some(Attributes::TimerFiredEventAttributes(a)) if a.timer_id == timer_id)
        })?;
        match self.state.buffered.remove(position).attributes {
            Some(Attributes::TimerFiredEventAttributes(a)) => Some(a.started_event_id),
            _ => None,
        }
    }
}

fn merge_search_attributes(
    current: Option<crate::proto::common::SearchAttributes>,
    update: Option<crate::proto::common::SearchAttributes>,
) -> Option<crate::proto::common::SearchAttributes> {
    let mut merged = current.unwrap_or_default();
    for (key, value) in update.map(|u| u.indexed_fields).unwrap_or_default() {
        // An empty payload removes the attribute, as the server does.
        if value.data.is_empty() || value.data == b"null" {
            merged.indexed_fields.remove(&key);
        } else {
            merged.indexed_fields.insert(key, value);
        }
    }
    Some(merged)
}
