//! One schedule, by id: describe, update, pause, unpause, trigger, backfill, delete
//! ([`ScheduleHandle`]).

use super::schedule::{Schedule, ScheduleOverlapPolicy};
use super::ScheduleError;
use crate::client::{request_id, ClientError};
use chronicle_core::payload::Payload;
use chronicle_core::proto::schedule as pb;
use chronicle_core::proto::workflowservice::{
    DeleteScheduleRequest, DescribeScheduleRequest, DescribeScheduleResponse, PatchScheduleRequest,
    UpdateScheduleRequest,
};
use chronicle_core::proto::{system_time, timestamp};
use chronicle_core::Connection;
use std::collections::HashMap;
use std::time::SystemTime;
use tonic::Code;

/// How many times [`ScheduleHandle::update`] reads and writes again when the schedule
/// changed in between.
const UPDATE_ATTEMPTS: usize = 5;

/// A schedule, by id. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ScheduleHandle {
    conn: Connection,
    schedule_id: String,
}

/// What a schedule is and has done.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScheduleDescription {
    /// The schedule's id.
    pub schedule_id: String,
    /// Its action, times, policies and state, as the server holds them (cron expressions
    /// compiled into calendars).
    pub schedule: Schedule,
    /// Actions taken so far.
    pub action_count: u64,
    /// Actions skipped because they were due while the last workflow still ran.
    pub overlap_skipped: u64,
    /// Actions missed by more than the catch-up window.
    pub missed_catchup_window: u64,
    /// The workflows it started that still run: `(workflow_id, run_id)`.
    pub running_workflows: Vec<(String, String)>,
    /// Its latest actions, oldest first.
    pub recent_actions: Vec<ScheduleActionResult>,
    /// When it acts next.
    pub next_action_times: Vec<SystemTime>,
    /// When it was created.
    pub created_at: Option<SystemTime>,
    /// When it was last updated.
    pub updated_at: Option<SystemTime>,
    /// The schedule's own memo.
    pub memo: HashMap<String, Payload>,
    /// For updates: the server refuses one made from an older description.
    conflict_token: Vec<u8>,
}

/// One action a schedule took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleActionResult {
    /// The time the action was due.
    pub scheduled_at: Option<SystemTime>,
    /// When it was taken (later, with jitter or after a pause).
    pub taken_at: Option<SystemTime>,
    /// The workflow it started.
    pub workflow_id: String,
    /// Its run.
    pub run_id: String,
}

impl ScheduleActionResult {
    pub(super) fn from_proto(result: &pb::ScheduleActionResult) -> Self {
        let execution = result.start_workflow_result.clone().unwrap_or_default();
        Self {
            scheduled_at: result.schedule_time.as_ref().map(system_time),
            taken_at: result.actual_time.as_ref().map(system_time),
            workflow_id: execution.workflow_id,
            run_id: execution.run_id,
        }
    }
}

/// Actions a schedule would have taken between `start` and `end`, taken now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleBackfill {
    /// The first time of the range.
    pub start: SystemTime,
    /// The last time of the range.
    pub end: SystemTime,
    /// What to do with actions that overlap (default: the server's, skip).
    pub overlap: ScheduleOverlapPolicy,
}

impl ScheduleBackfill {
    /// The actions due from `start` to `end`.
    pub fn new(start: SystemTime, end: SystemTime) -> Self {
        Self {
            start,
            end,
            overlap: ScheduleOverlapPolicy::default(),
        }
    }

    /// What to do with actions that overlap ([`AllowAll`](ScheduleOverlapPolicy::AllowAll)
    /// to take every one).
    pub fn overlap(mut self, overlap: ScheduleOverlapPolicy) -> Self {
        self.overlap = overlap;
        self
    }
}

impl ScheduleHandle {
    pub(super) fn new(conn: Connection, schedule_id: String) -> Self {
        Self { conn, schedule_id }
    }

    /// The schedule's id.
    pub fn schedule_id(&self) -> &str {
        &self.schedule_id
    }

    /// What the schedule is and has done.
    pub async fn describe(&self) -> Result<ScheduleDescription, ScheduleError> {
        const RPC: &str = "DescribeSchedule";
        let request = DescribeScheduleRequest {
            namespace: self.conn.namespace().to_string(),
            schedule_id: self.schedule_id.clone(),
        };
        let response = self
            .conn
            .unary(RPC, request, |mut svc, request| async move {
                svc.describe_schedule(request).await
            })
            .await
            .map_err(|status| ScheduleError::from_status(RPC, &self.schedule_id, status))?;
        self.description(response)
    }

    fn description(
        &self,
        response: DescribeScheduleResponse,
    ) -> Result<ScheduleDescription, ScheduleError> {
        let schedule = response
            .schedule
            .and_then(Schedule::from_proto)
            .ok_or_else(|| ClientError::UnexpectedResponse {
                rpc: "DescribeSchedule",
                detail: "the schedule has no workflow start action".to_string(),
            })?;
        let info = response.info.unwrap_or_default();
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(ScheduleDescription {
            schedule_id: self.schedule_id.clone(),
            schedule,
            action_count: count(info.action_count),
            overlap_skipped: count(info.overlap_skipped),
            missed_catchup_window: count(info.missed_catchup_window),
            running_workflows: info
                .running_workflows
                .into_iter()
                .map(|e| (e.workflow_id, e.run_id))
                .collect(),
            recent_actions: info
                .recent_actions
                .iter()
                .map(ScheduleActionResult::from_proto)
                .collect(),
            next_action_times: info.future_action_times.iter().map(system_time).collect(),
            created_at: info.create_time.as_ref().map(system_time),
            updated_at: info.update_time.as_ref().map(system_time),
            memo: response.memo.map(|m| m.fields).unwrap_or_default(),
            conflict_token: response.conflict_token,
        })
    }

    /// Changes the schedule: `change` gets the schedule as the server holds it, and what it
    /// leaves is written back. If the schedule changed in between, it is read and changed
    /// again (a few times, then [`ScheduleError::Conflict`]).
    ///
    /// ```no_run
    /// # async fn f(handle: chronicle::client::schedule::ScheduleHandle) -> Result<(), chronicle::client::schedule::ScheduleError> {
    /// use chronicle::client::schedule::ScheduleSpec;
    /// use std::time::Duration;
    /// handle
    ///     .update(|s| {
    ///         s.spec = ScheduleSpec::interval(Duration::from_secs(600));
    ///         s.action.execution_timeout = Some(Duration::from_secs(300));
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn update(&self, mut change: impl FnMut(&mut Schedule)) -> Result<(), ScheduleError> {
        const RPC: &str = "UpdateSchedule";
        for _ in 0..UPDATE_ATTEMPTS {
            let description = self.describe().await?;
            let mut schedule = description.schedule;
            change(&mut schedule);
            let request = UpdateScheduleRequest {
                namespace: self.conn.namespace().to_string(),
                schedule_id: self.schedule_id.clone(),
                schedule: Some(schedule.to_proto(&self.schedule_id)?),
                conflict_token: description.conflict_token,
                identity: self.conn.identity().to_string(),
                request_id: request_id(),
                ..Default::default()
            };
            let result = self
                .conn
                .unary(RPC, request, |mut svc, request| async move {
                    svc.update_schedule(request).await
                })
                .await;
            match result {
                Ok(_) => return Ok(()),
                // A conflict token that no longer matches: read again.
                Err(status) if status.code() == Code::FailedPrecondition => continue,
                Err(status) => {
                    return Err(ScheduleError::from_status(RPC, &self.schedule_id, status))
                }
            }
        }
        Err(ScheduleError::Conflict {
            schedule_id: self.schedule_id.clone(),
        })
    }

    /// Pauses the schedule: no actions until [`unpause`](Self::unpause). The note says why.
    pub async fn pause(&self, note: impl Into<String>) -> Result<(), ScheduleError> {
        let note = non_empty(note.into(), "Paused via Chronicle");
        self.patch(pb::SchedulePatch {
            pause: note,
            ..Default::default()
        })
        .await
    }

    /// Unpauses the schedule. The note says why.
    pub async fn unpause(&self, note: impl Into<String>) -> Result<(), ScheduleError> {
        let note = non_empty(note.into(), "Unpaused via Chronicle");
        self.patch(pb::SchedulePatch {
            unpause: note,
            ..Default::default()
        })
        .await
    }

    /// Takes an action now, whatever the spec says; `overlap` says what to do if the last
    /// workflow still runs.
    pub async fn trigger(&self, overlap: ScheduleOverlapPolicy) -> Result<(), ScheduleError> {
        self.patch(pb::SchedulePatch {
            trigger_immediately: Some(pb::TriggerImmediatelyRequest {
                overlap_policy: overlap.to_proto() as i32,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
    }

    /// Takes now the actions the schedule would have taken in each range.
    pub async fn backfill(
        &self,
        ranges: impl IntoIterator<Item = ScheduleBackfill>,
    ) -> Result<(), ScheduleError> {
        let backfill_request: Vec<pb::BackfillRequest> = ranges
            .into_iter()
            .map(|b| pb::BackfillRequest {
                start_time: Some(timestamp(b.start)),
                end_time: Some(timestamp(b.end)),
                overlap_policy: b.overlap.to_proto() as i32,
            })
            .collect();
        if backfill_request.is_empty() {
            return Err(ScheduleError::Invalid {
                schedule_id: self.schedule_id.clone(),
                message: "a backfill needs at least one time range".to_string(),
            });
        }
        self.patch(pb::SchedulePatch {
            backfill_request,
            ..Default::default()
        })
        .await
    }

    /// Deletes the schedule; the workflows it started are not touched.
    pub async fn delete(&self) -> Result<(), ScheduleError> {
        const RPC: &str = "DeleteSchedule";
        let request = DeleteScheduleRequest {
            namespace: self.conn.namespace().to_string(),
            schedule_id: self.schedule_id.clone(),
            identity: self.conn.identity().to_string(),
        };
        self.conn
            .unary(RPC, request, |mut svc, request| async move {
                svc.delete_schedule(request).await
            })
            .await
            .map_err(|status| ScheduleError::from_status(RPC, &self.schedule_id, status))?;
        Ok(())
    }

    async fn patch(&self, patch: pb::SchedulePatch) -> Result<(), ScheduleError> {
        const RPC: &str = "PatchSchedule";
        let request = PatchScheduleRequest {
            namespace: self.conn.namespace().to_string(),
            schedule_id: self.schedule_id.clone(),
            patch: Some(patch),
            identity: self.conn.identity().to_string(),
            // The server deduplicates retried patches by it (a trigger taken once).
            request_id: request_id(),
        };
        self.conn
            .unary(RPC, request, |mut svc, request| async move {
                svc.patch_schedule(request).await
            })
            .await
            .map_err(|status| ScheduleError::from_status(RPC, &self.schedule_id, status))?;
        Ok(())
    }
}

/// The server reads an empty pause or unpause note as "no change": give it one.
fn non_empty(note: String, default: &str) -> String {
    if note.is_empty() {
        default.to_string()
    } else {
        note
    }
}
