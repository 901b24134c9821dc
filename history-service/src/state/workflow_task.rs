//! The workflow task's lifecycle: schedule, start, complete, fail, time out.
//!
//! Attempt 1 writes its events. From attempt 2 on the task is *transient*: its Scheduled and
//! Started events are not written but handed to the worker with the history, further failures
//! write nothing, and the attempt that completes writes Scheduled, Started and Completed
//! (study §3, rule 2). A failure clears stickiness; a sticky schedule-to-start timeout moves the
//! task to the normal queue without counting an attempt (rule 3).

use super::{Effect, Sticky, Txn, WorkflowTask};
use crate::proto::enums::{TaskQueueKind, TimeoutType, WorkflowTaskFailedCause};
use crate::proto::history::history_event::Attributes;
use crate::proto::{duration, failure, history, taskqueue};
use crate::timers::TimerKind;

/// What a started workflow task hands the worker beyond the stored history.
#[derive(Debug, Clone)]
pub struct StartedWorkflowTask {
    /// The task.
    pub task: WorkflowTask,
    /// Scheduled/Started events of a transient task, to append to the history.
    pub transient_events: Vec<history::HistoryEvent>,
    /// Previous completed task's started event id.
    pub previous_started_event_id: i64,
    /// Queries riding on this task.
    pub query_ids: Vec<u64>,
}

impl Txn {
    fn task_queue_message(&self, queue: &str, sticky: bool) -> taskqueue::TaskQueue {
        taskqueue::TaskQueue {
            name: queue.to_string(),
            kind: if sticky {
                TaskQueueKind::Sticky
            } else {
                TaskQueueKind::Normal
            } as i32,
            normal_name: if sticky {
                self.state.task_queue.clone()
            } else {
                String::new()
            },
        }
    }

    fn scheduled_attributes(&self, queue: &str, sticky: bool, attempt: i32) -> Attributes {
        Attributes::WorkflowTaskScheduledEventAttributes(
            history::WorkflowTaskScheduledEventAttributes {
                task_queue: Some(self.task_queue_message(queue, sticky)),
                start_to_close_timeout: Some(duration(self.state.wft_timeout_ms)),
                attempt,
            },
        )
    }

    /// Schedules a workflow task unless the run is closed or one is already pending.
    pub fn schedule_workflow_task(&mut self) {
        if !self.state.is_running() || self.state.wft.is_some() {
            return;
        }
        let attempt = self.state.wft_attempt.max(1);
        let (queue, sticky) = match &self.state.sticky {
            Some(sticky) => (sticky.queue.clone(), true),
            None => (self.state.task_queue.clone(), false),
        };
        let stamp = self.state.next_stamp;
        self.state.next_stamp += 1;
        let transient = attempt > 1;
        let scheduled_event_id = if transient {
            self.state.next_event_id
        } else {
            let attributes = self.scheduled_attributes(&queue, sticky, attempt);
            self.write(attributes)
        };
        self.state.wft = Some(WorkflowTask {
            stamp,
            scheduled_event_id,
            started_event_id: 0,
            attempt,
            started: false,
            transient,
            queue: queue.clone(),
            sticky,
            scheduled_time_ms: self.now_ms,
            started_time_ms: 0,
            identity: String::new(),
        });
        if let (
            true,
            Some(Sticky {
                schedule_to_start_ms,
                ..
            }),
        ) = (sticky, &self.state.sticky)
        {
            let deadline_ms = self.now_ms + schedule_to_start_ms;
            let run = self.key().clone();
            self.effect(Effect::Timer {
                deadline_ms,
                kind: TimerKind::StickyScheduleToStart { run, stamp },
            });
        }
        self.effect(Effect::WorkflowTask { queue, stamp });
    }

    /// Hands the scheduled task with `stamp` to a poller; `None` if it is no longer there.
    pub fn start_workflow_task(
        &mut self,
        stamp: u64,
        identity: &str,
        request_id: &str,
    ) -> Option<StartedWorkflowTask> {
        let wft = self.state.wft.clone()?;
        if wft.stamp != stamp || wft.started || !self.state.is_running() {
            return None;
        }
        let mut task = wft;
        let mut transient_events = Vec::new();
        let started_attributes = |scheduled_event_id| {
            Attributes::WorkflowTaskStartedEventAttributes(
                history::WorkflowTaskStartedEventAttributes {
                    scheduled_event_id,
                    identity: identity.to_string(),
                    request_id: request_id.to_string(),
                    ..Default::default()
                },
            )
        };
        if task.transient {
            // Not written: the ids are the ones they will get if this attempt completes.
            task.scheduled_event_id = self.state.next_event_id;
            task.started_event_id = self.state.next_event_id + 1;
            let scheduled = self.scheduled_attributes(&task.queue, task.sticky, task.attempt);
            for (id, attributes) in [
                (task.scheduled_event_id, scheduled),
                (
                    task.started_event_id,
                    started_attributes(task.scheduled_event_id),
                ),
            ] {
                transient_events.push(history::HistoryEvent {
                    event_id: id,
                    event_time: Some(crate::proto::timestamp(self.now_ms)),
                    event_type: super::event_type_of(&attributes) as i32,
                    task_id: id,
                    attributes: Some(attributes),
                    ..Default::default()
                });
            }
        } else {
            task.started_event_id = self.write(started_attributes(task.scheduled_event_id));
        }
        task.started = true;
        task.started_time_ms = self.now_ms;
        task.identity = identity.to_string();
        self.state.wft = Some(task.clone());
        let run = self.key().clone();
        self.effect(Effect::Timer {
            deadline_ms: self.now_ms + self.state.wft_timeout_ms,
            kind: TimerKind::WorkflowTaskStartToClose { run, stamp },
        });
        let query_ids = std::mem::take(&mut self.state.queries.waiting);
        self.state.queries.attached = query_ids.clone();
        Some(StartedWorkflowTask {
            task,
            transient_events,
            previous_started_event_id: self.state.last_completed_started_event_id,
            query_ids,
        })
    }

    /// The started task with `stamp`, if it is the current one.
    pub fn started_task(&self, stamp: u64) -> Option<WorkflowTask> {
        self.state
            .wft
            .as_ref()
            .filter(|wft| wft.stamp == stamp && wft.started)
            .cloned()
    }

    /// Writes the Scheduled and Started events of a transient task that is completing.
    pub(super) fn materialize_transient(&mut self, task: &WorkflowTask) {
        if !task.transient {
            return;
        }
        let scheduled = self.scheduled_attributes(&task.queue, task.sticky, task.attempt);
        self.write(scheduled);
        self.write(Attributes::WorkflowTaskStartedEventAttributes(
            history::WorkflowTaskStartedEventAttributes {
                scheduled_event_id: task.scheduled_event_id,
                identity: task.identity.clone(),
                ..Default::default()
            },
        ));
    }

    /// Fails the current workflow task (a worker's RespondWorkflowTaskFailed, a start-to-close
    /// timeout, or a completion the service rejected), then schedules the next attempt.
    pub fn fail_workflow_task(
        &mut self,
        cause: WorkflowTaskFailedCause,
        failure: Option<failure::Failure>,
        timeout: Option<TimeoutType>,
    ) {
        let Some(task) = self.state.wft.take() else {
            return;
        };
        if !task.transient {
            let attributes = match timeout {
                Some(timeout_type) => Attributes::WorkflowTaskTimedOutEventAttributes(
                    history::WorkflowTaskTimedOutEventAttributes {
                        scheduled_event_id: task.scheduled_event_id,
                        started_event_id: task.started_event_id,
                        timeout_type: timeout_type as i32,
                    },
                ),
                None => Attributes::WorkflowTaskFailedEventAttributes(
                    history::WorkflowTaskFailedEventAttributes {
                        scheduled_event_id: task.scheduled_event_id,
                        started_event_id: task.started_event_id,
                        cause: cause as i32,
                        failure,
                        identity: task.identity.clone(),
                        ..Default::default()
                    },
                ),
            };
            self.write(attributes);
        }
        // New events (unhandled ones) are a reason to retry at once, not a failing attempt.
        let counts = cause != WorkflowTaskFailedCause::UnhandledCommand
            && timeout != Some(TimeoutType::ScheduleToStart);
        if counts {
            self.state.wft_attempt = task.attempt + 1;
        }
        self.state.sticky = None;
        let queries = std::mem::take(&mut self.state.queries.attached);
        self.state.queries.waiting.extend(queries);
        if self.flush_buffer() {
            // Events written since the failure: the next task cannot be transient.
            self.state.wft_attempt = self.state.wft_attempt.min(1);
        }
        self.schedule_workflow_task();
    }

    /// A workflow task's start-to-close timer fired.
    pub fn workflow_task_timed_out(&mut self, stamp: u64) {
        if self.started_task(stamp).is_some() {
            self.fail_workflow_task(
                WorkflowTaskFailedCause::Unspecified,
                None,
                Some(TimeoutType::StartToClose),
            );
        }
    }

    /// A sticky task was not picked up in time: move it to the normal queue.
    pub fn sticky_schedule_to_start_timed_out(&mut self, stamp: u64) {
        let pending = self
            .state
            .wft
            .as_ref()
            .is_some_and(|wft| wft.stamp == stamp && !wft.started && wft.sticky);
        if pending {
            self.fail_workflow_task(
                WorkflowTaskFailedCause::Unspecified,
                None,
                Some(TimeoutType::ScheduleToStart),
            );
        }
    }

    /// Whether the task attempt is high enough that queries should fail fast (rule 8).
    pub fn tasks_keep_failing(&self) -> bool {
        self.state.wft_attempt >= 3
    }

    /// Stores or clears the sticky queue a completion asked for.
    pub(super) fn set_sticky(&mut self, attributes: Option<&taskqueue::StickyExecutionAttributes>) {
        self.state.sticky = attributes.and_then(|sticky| {
            let queue = sticky.worker_task_queue.as_ref()?.name.clone();
            if queue.is_empty() {
                return None;
            }
            let schedule_to_start_ms =
                crate::proto::duration_ms(sticky.schedule_to_start_timeout.as_ref())
                    .unwrap_or(5_000);
            Some(Sticky {
                queue,
                schedule_to_start_ms,
            })
        });
    }
}

/// The failure recorded when the service itself rejects a completion.
pub fn service_failure(message: impl Into<String>) -> failure::Failure {
    failure::Failure {
        message: message.into(),
        source: "ChronicleHistoryService".into(),
        failure_info: Some(failure::failure::FailureInfo::ServerFailureInfo(
            failure::ServerFailureInfo {
                non_retryable: true,
            },
        )),
        ..Default::default()
    }
}
