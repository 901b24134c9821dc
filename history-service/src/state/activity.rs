//! Activities: schedule, start, heartbeat, close, retry, the four timeouts, cancellation.
//!
//! The poll writes nothing; ActivityTaskStarted is written when the activity closes, just
//! before its close event, and retries write nothing at all (study rules 4 and 5).

use super::retry::{decide, with_defaults, RetryDecision};
use super::txn::PENDING_STARTED_ID;
use super::{Activity, ActivityState, Effect, Txn};
use crate::proto::command::ScheduleActivityTaskCommandAttributes;
use crate::proto::enums::{RetryState, TimeoutType};
use crate::proto::failure::{failure::FailureInfo, Failure, TimeoutFailureInfo};
use crate::proto::history::history_event::Attributes;
use crate::proto::{common, duration, duration_ms, history};
use crate::timers::{ActivityTimeout, TimerKind};

/// How an attempt ended, as the worker (or a timer) reports it.
#[derive(Debug, Clone)]
pub enum ActivityResult {
    /// Completed.
    Completed(Option<common::Payloads>),
    /// Failed (retried if the policy allows), with the details of a last heartbeat the
    /// worker had not sent yet.
    Failed(Option<Box<Failure>>, Option<common::Payloads>),
    /// Canceled after a cancellation request.
    Canceled(Option<common::Payloads>),
}

impl Txn {
    /// The ActivityTaskScheduled event and the pending activity, timeouts derived as the
    /// server does: start-to-close and schedule-to-start default to schedule-to-close, and none
    /// exceeds it.
    pub(super) fn schedule_activity(
        &mut self,
        a: ScheduleActivityTaskCommandAttributes,
        completed_id: i64,
    ) {
        let schedule_to_close = duration_ms(a.schedule_to_close_timeout.as_ref());
        let cap = |value: Option<i64>| match (value, schedule_to_close) {
            (Some(v), Some(c)) => Some(v.min(c)),
            (None, c) => c,
            (v, None) => v,
        };
        let start_to_close = cap(duration_ms(a.start_to_close_timeout.as_ref())).unwrap_or(0);
        let schedule_to_start = cap(duration_ms(a.schedule_to_start_timeout.as_ref()));
        let heartbeat = duration_ms(a.heartbeat_timeout.as_ref()).map(|h| h.min(start_to_close));
        let retry_policy = with_defaults(a.retry_policy.clone());
        let task_queue = a
            .task_queue
            .as_ref()
            .map(|q| q.name.clone())
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| self.state.task_queue.clone());
        let scheduled_event_id = self.write(Attributes::ActivityTaskScheduledEventAttributes(
            history::ActivityTaskScheduledEventAttributes {
                activity_id: a.activity_id.clone(),
                activity_type: a.activity_type.clone(),
                task_queue: Some(crate::proto::taskqueue::TaskQueue {
                    name: task_queue.clone(),
                    kind: crate::proto::enums::TaskQueueKind::Normal as i32,
                    normal_name: String::new(),
                }),
                header: a.header.clone(),
                input: a.input.clone(),
                schedule_to_close_timeout: schedule_to_close.map(duration),
                schedule_to_start_timeout: schedule_to_start.map(duration),
                start_to_close_timeout: Some(duration(start_to_close)),
                heartbeat_timeout: heartbeat.map(duration),
                workflow_task_completed_event_id: completed_id,
                retry_policy: Some(retry_policy.clone()),
                use_workflow_build_id: a.use_workflow_build_id,
                priority: a.priority.clone(),
            },
        ));
        let activity = Activity {
            scheduled_event_id,
            activity_id: a.activity_id,
            activity_type: a.activity_type.map(|t| t.name).unwrap_or_default(),
            task_queue,
            input: a.input,
            header: a.header,
            attempt: 1,
            state: ActivityState::Scheduled,
            schedule_to_close_ms: schedule_to_close,
            schedule_to_start_ms: schedule_to_start,
            start_to_close_ms: start_to_close,
            heartbeat_ms: heartbeat,
            retry_policy,
            first_scheduled_ms: self.now_ms,
            current_scheduled_ms: self.now_ms,
            started_ms: 0,
            identity: String::new(),
            request_id: String::new(),
            heartbeat_details: None,
            last_heartbeat_ms: 0,
            heartbeat_stamp: 0,
            last_failure: None,
            cancel_requested: false,
            cancel_requested_event_id: 0,
        };
        if let Some(ms) = schedule_to_close {
            self.activity_timer(
                &activity,
                self.now_ms + ms,
                ActivityTimeout::ScheduleToClose,
            );
        }
        self.enqueue_attempt(&activity);
        self.state.activities.insert(scheduled_event_id, activity);
    }

    fn activity_timer(&mut self, activity: &Activity, deadline_ms: i64, timeout: ActivityTimeout) {
        let run = self.key().clone();
        self.effect(Effect::Timer {
            deadline_ms,
            kind: TimerKind::Activity {
                run,
                scheduled_event_id: activity.scheduled_event_id,
                attempt: activity.attempt,
                timeout,
                stamp: activity.heartbeat_stamp,
            },
        });
    }

    fn enqueue_attempt(&mut self, activity: &Activity) {
        if let Some(ms) = activity.schedule_to_start_ms {
            self.activity_timer(activity, self.now_ms + ms, ActivityTimeout::ScheduleToStart);
        }
        self.effect(Effect::ActivityTask {
            queue: activity.task_queue.clone(),
            scheduled_event_id: activity.scheduled_event_id,
            attempt: activity.attempt,
        });
    }

    /// Hands the attempt to a poller; `None` if it is stale.
    pub fn start_activity(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        identity: &str,
        request_id: &str,
    ) -> Option<Activity> {
        if !self.state.is_running() {
            return None;
        }
        let now = self.now_ms;
        let activity = self.state.activities.get_mut(&scheduled_event_id)?;
        if activity.attempt != attempt || activity.state != ActivityState::Scheduled {
            return None;
        }
        activity.state = ActivityState::Started;
        activity.started_ms = now;
        activity.last_heartbeat_ms = now;
        activity.identity = identity.to_string();
        activity.request_id = request_id.to_string();
        let activity = activity.clone();
        self.activity_timer(
            &activity,
            now + activity.start_to_close_ms,
            ActivityTimeout::StartToClose,
        );
        if let Some(ms) = activity.heartbeat_ms {
            self.activity_timer(&activity, now + ms, ActivityTimeout::Heartbeat);
        }
        Some(activity)
    }

    /// The started attempt a token names, if it is still current.
    pub fn started_activity(&self, scheduled_event_id: i64, attempt: i32) -> Option<&Activity> {
        self.state
            .activities
            .get(&scheduled_event_id)
            .filter(|a| a.attempt == attempt && a.state == ActivityState::Started)
            .filter(|_| self.state.is_running())
    }

    /// Records a heartbeat; returns whether cancellation was requested, `None` if stale.
    pub fn heartbeat_activity(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        details: Option<common::Payloads>,
    ) -> Option<bool> {
        self.started_activity(scheduled_event_id, attempt)?;
        let now = self.now_ms;
        let activity = self.state.activities.get_mut(&scheduled_event_id)?;
        if details.is_some() {
            activity.heartbeat_details = details;
        }
        activity.last_heartbeat_ms = now;
        activity.heartbeat_stamp += 1;
        let activity = activity.clone();
        if let Some(ms) = activity.heartbeat_ms {
            self.activity_timer(&activity, now + ms, ActivityTimeout::Heartbeat);
        }
        Some(activity.cancel_requested)
    }

    /// A worker's answer for the started attempt; `false` if the token is stale.
    pub fn respond_activity(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        identity: &str,
        result: ActivityResult,
    ) -> bool {
        if self.started_activity(scheduled_event_id, attempt).is_none() {
            return false;
        }
        match result {
            ActivityResult::Failed(failure, last_heartbeat_details) => {
                if let (Some(details), Some(activity)) = (
                    last_heartbeat_details,
                    self.state.activities.get_mut(&scheduled_event_id),
                ) {
                    activity.heartbeat_details = Some(details);
                }
                self.fail_attempt(scheduled_event_id, failure.map(|f| *f), identity, None);
            }
            ActivityResult::Completed(result) => {
                self.close_activity(
                    scheduled_event_id,
                    Attributes::ActivityTaskCompletedEventAttributes(
                        history::ActivityTaskCompletedEventAttributes {
                            result,
                            scheduled_event_id,
                            started_event_id: PENDING_STARTED_ID,
                            identity: identity.to_string(),
                            ..Default::default()
                        },
                    ),
                );
            }
            ActivityResult::Canceled(details) => {
                let latest = self.state.activities[&scheduled_event_id].cancel_requested_event_id;
                self.close_activity(
                    scheduled_event_id,
                    Attributes::ActivityTaskCanceledEventAttributes(
                        history::ActivityTaskCanceledEventAttributes {
                            details,
                            latest_cancel_requested_event_id: latest,
                            scheduled_event_id,
                            started_event_id: PENDING_STARTED_ID,
                            identity: identity.to_string(),
                            ..Default::default()
                        },
                    ),
                );
            }
        }
        true
    }

    /// A failed attempt (by the worker or a retried timeout): retry after the backoff, or close.
    fn fail_attempt(
        &mut self,
        scheduled_event_id: i64,
        failure: Option<Failure>,
        identity: &str,
        timeout: Option<TimeoutType>,
    ) {
        let Some(activity) = self.state.activities.get(&scheduled_event_id).cloned() else {
            return;
        };
        let deadline = activity
            .schedule_to_close_ms
            .map(|ms| activity.first_scheduled_ms + ms);
        let decision = if activity.cancel_requested {
            RetryDecision::Stop(RetryState::CancelRequested)
        } else {
            decide(
                &activity.retry_policy,
                activity.attempt,
                failure.as_ref(),
                self.now_ms,
                deadline,
            )
        };
        match decision {
            RetryDecision::Retry { delay_ms } => {
                let now = self.now_ms;
                let run = self.key().clone();
                if let Some(activity) = self.state.activities.get_mut(&scheduled_event_id) {
                    activity.attempt += 1;
                    activity.state = ActivityState::Backoff;
                    activity.last_failure = failure;
                    activity.identity = identity.to_string();
                    let attempt = activity.attempt;
                    self.effect(Effect::Timer {
                        deadline_ms: now + delay_ms,
                        kind: TimerKind::ActivityRetry {
                            run,
                            scheduled_event_id,
                            attempt,
                        },
                    });
                }
            }
            RetryDecision::Stop(retry_state) => {
                let attributes = match timeout {
                    Some(_) => Attributes::ActivityTaskTimedOutEventAttributes(
                        history::ActivityTaskTimedOutEventAttributes {
                            failure,
                            scheduled_event_id,
                            started_event_id: PENDING_STARTED_ID,
                            retry_state: retry_state as i32,
                        },
                    ),
                    None => Attributes::ActivityTaskFailedEventAttributes(
                        history::ActivityTaskFailedEventAttributes {
                            failure,
                            scheduled_event_id,
                            started_event_id: PENDING_STARTED_ID,
                            identity: identity.to_string(),
                            retry_state: retry_state as i32,
                            ..Default::default()
                        },
                    ),
                };
                self.close_activity(scheduled_event_id, attributes);
            }
        }
    }

    /// Writes ActivityTaskStarted (if the current attempt started) and the close event, drops
    /// the activity and asks for a workflow task.
    fn close_activity(&mut self, scheduled_event_id: i64, close: Attributes) {
        let Some(activity) = self.state.activities.remove(&scheduled_event_id) else {
            return;
        };
        let mut close = close;
        if activity.state == ActivityState::Started {
            self.arrive(Attributes::ActivityTaskStartedEventAttributes(
                history::ActivityTaskStartedEventAttributes {
                    scheduled_event_id,
                    identity: activity.identity.clone(),
                    request_id: activity.request_id.clone(),
                    attempt: activity.attempt,
                    last_failure: activity.last_failure.clone(),
                    ..Default::default()
                },
            ));
        } else {
            clear_started_id(&mut close);
        }
        self.arrive(close);
        self.schedule_workflow_task();
    }

    /// A retry backoff ended: the next attempt goes on the queue.
    pub fn activity_retry_due(&mut self, scheduled_event_id: i64, attempt: i32) {
        let now = self.now_ms;
        let Some(activity) = self.state.activities.get_mut(&scheduled_event_id) else {
            return;
        };
        if activity.attempt != attempt || activity.state != ActivityState::Backoff {
            return;
        }
        activity.state = ActivityState::Scheduled;
        activity.current_scheduled_ms = now;
        let activity = activity.clone();
        self.enqueue_attempt(&activity);
    }

    /// One of an activity's timers fired; stale ones (other attempt, newer heartbeat) do
    /// nothing.
    pub fn activity_timeout_due(
        &mut self,
        scheduled_event_id: i64,
        attempt: i32,
        timeout: ActivityTimeout,
        stamp: u64,
    ) {
        let Some(activity) = self.state.activities.get(&scheduled_event_id).cloned() else {
            return;
        };
        let current = activity.attempt == attempt;
        let applies = match timeout {
            ActivityTimeout::ScheduleToClose => true,
            ActivityTimeout::ScheduleToStart => {
                current && activity.state == ActivityState::Scheduled
            }
            ActivityTimeout::StartToClose => current && activity.state == ActivityState::Started,
            ActivityTimeout::Heartbeat => {
                current
                    && activity.state == ActivityState::Started
                    && activity.heartbeat_stamp == stamp
            }
        };
        if !applies || !self.state.is_running() {
            return;
        }
        let timeout_type = match timeout {
            ActivityTimeout::ScheduleToClose => TimeoutType::ScheduleToClose,
            ActivityTimeout::ScheduleToStart => TimeoutType::ScheduleToStart,
            ActivityTimeout::StartToClose => TimeoutType::StartToClose,
            ActivityTimeout::Heartbeat => TimeoutType::Heartbeat,
        };
        let failure = Failure {
            message: format!("activity {} timeout", timeout_name(timeout_type)),
            source: "Server".into(),
            cause: activity.last_failure.clone().map(Box::new),
            failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
                timeout_type: timeout_type as i32,
                last_heartbeat_details: activity.heartbeat_details.clone(),
            })),
            ..Default::default()
        };
        match timeout {
            // Start-to-close and heartbeat timeouts are retried like failures.
            ActivityTimeout::StartToClose | ActivityTimeout::Heartbeat => {
                let identity = activity.identity.clone();
                self.fail_attempt(
                    scheduled_event_id,
                    Some(failure),
                    &identity,
                    Some(timeout_type),
                );
            }
            ActivityTimeout::ScheduleToStart | ActivityTimeout::ScheduleToClose => {
                let retry_state = if timeout == ActivityTimeout::ScheduleToClose {
                    RetryState::Timeout
                } else {
                    RetryState::NonRetryableFailure
                };
                self.close_activity(
                    scheduled_event_id,
                    Attributes::ActivityTaskTimedOutEventAttributes(
                        history::ActivityTaskTimedOutEventAttributes {
                            failure: Some(failure),
                            scheduled_event_id,
                            started_event_id: PENDING_STARTED_ID,
                            retry_state: retry_state as i32,
                        },
                    ),
                );
            }
        }
    }

    /// The RequestCancelActivityTask command. An activity not started is canceled at once,
    /// which calls for a new workflow task; a started one learns of it from its heartbeat.
    pub(super) fn request_cancel_activity(
        &mut self,
        scheduled_event_id: i64,
        completed_id: i64,
    ) -> bool {
        let Some(activity) = self.state.activities.get_mut(&scheduled_event_id) else {
            return false;
        };
        activity.cancel_requested = true;
        let started = activity.state == ActivityState::Started;
        let requested_id = self.write(Attributes::ActivityTaskCancelRequestedEventAttributes(
            history::ActivityTaskCancelRequestedEventAttributes {
                scheduled_event_id,
                workflow_task_completed_event_id: completed_id,
            },
        ));
        if let Some(activity) = self.state.activities.get_mut(&scheduled_event_id) {
            activity.cancel_requested_event_id = requested_id;
        }
        if started {
            return false;
        }
        self.state.activities.remove(&scheduled_event_id);
        self.write(Attributes::ActivityTaskCanceledEventAttributes(
            history::ActivityTaskCanceledEventAttributes {
                latest_cancel_requested_event_id: requested_id,
                scheduled_event_id,
                started_event_id: 0,
                ..Default::default()
            },
        ));
        true
    }

    /// The scheduled event id and attempt of the pending activity `activity_id`.
    pub fn activity_by_id(&self, activity_id: &str) -> Option<(i64, i32)> {
        self.state
            .activities
            .values()
            .find(|a| a.activity_id == activity_id)
            .map(|a| (a.scheduled_event_id, a.attempt))
    }
}

fn clear_started_id(attributes: &mut Attributes) {
    match attributes {
        Attributes::ActivityTaskCompletedEventAttributes(a) => a.started_event_id = 0,
        Attributes::ActivityTaskFailedEventAttributes(a) => a.started_event_id = 0,
        Attributes::ActivityTaskTimedOutEventAttributes(a) => a.started_event_id = 0,
        Attributes::ActivityTaskCanceledEventAttributes(a) => a.started_event_id = 0,
        _ => {}
    }
}

fn timeout_name(timeout: TimeoutType) -> &'static str {
    match timeout {
        TimeoutType::ScheduleToClose => "ScheduleToClose",
        TimeoutType::ScheduleToStart => "ScheduleToStart",
        TimeoutType::StartToClose => "StartToClose",
        TimeoutType::Heartbeat => "Heartbeat",
        TimeoutType::Unspecified => "unknown",
    }
}
