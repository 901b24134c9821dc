//! Local activities: run by the worker inside the workflow task, their outcome recorded as a
//! `core_local_activity` marker (see [`marker`]).
//!
//! | state     | on                                                        | goes to   | effect                          |
//! |-----------|-----------------------------------------------------------|-----------|---------------------------------|
//! | Requested | outcome known (executed by the worker, or this replayed task's marker) | Recorded | resolves, `RecordMarker` queued |
//! | Recorded  | the marker event with its seq (and id and type)           | Matched   |                                 |
//!
//! A machine is `Requested` when scheduled unless its outcome is already known, and
//! `Requested` machines look again at the start of every activation (an outcome may arrive in
//! a later task: the worker heartbeated the task while the activity ran, or crashed). Those
//! still `Requested` after the live activation are what the worker runs. No command is sent
//! for a `Requested` machine, so replaying a task that started a local activity and recorded
//! no marker is not nondeterminism.
//!
//! Markers are matched by seq, not by their place among the task's commands: Temporal's core
//! records a marker when the activity resolves, which may come after commands issued later
//! in the code, and Chronicle records it where the code scheduled it when it is known then.
//! Other commands skip the queued markers in turn. A marker left unmatched at the end of a
//! task, or a marker whose seq names an activity of another type, is nondeterminism.
//!
//! An outcome with a backoff (the retry waits longer than the local retry threshold) resolves
//! the code's handle with that backoff: the handle starts a durable timer and then schedules
//! the next attempt as a new local activity, as the other SDKs do.

pub mod marker;
#[cfg(test)]
mod tests;

use super::{CommandMachine, MachineId, Machines};
use crate::failure::Failure;
use crate::payload::Payload;
use crate::proto::command::{command, Command};
use crate::proto::common::ActivityType;
use crate::proto::enums::{CommandType, RetryState};
use crate::proto::failure::{self as pb, failure::FailureInfo};
use crate::proto::history::HistoryEvent;
use crate::workflow::handle::{LocalActivityOutcome, LocalActivityRequest};
use crate::workflow::slot::Slot;
use marker::{recorded_local_activity, Marker, MarkerData, Stamp};
use std::collections::{HashMap, VecDeque};
use std::panic::Location;
use std::time::{Duration, SystemTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LocalActivityState {
    Requested,
    Recorded,
    Matched,
}

/// What the code's handle learns.
#[derive(Debug, Clone)]
pub(crate) enum LocalResolution {
    /// The activity's outcome (a failure is an activity failure with the cause inside).
    Done(Result<Vec<Payload>, Failure>),
    /// Retry after a durable timer of `backoff`, as attempt `attempt`.
    Backoff {
        attempt: u32,
        backoff: Duration,
        original_schedule_time: Option<SystemTime>,
    },
}

pub(crate) struct LocalActivityMachine {
    pub seq: u32,
    pub request: LocalActivityRequest,
    pub state: LocalActivityState,
    /// Workflow time when the code scheduled it: the marker's completion time is this plus
    /// the time the activity took, as in Temporal's core.
    pub scheduled_at: SystemTime,
    marker: Option<Marker>,
    pub result: Slot<LocalResolution>,
    pub location: &'static Location<'static>,
}

/// Outcomes known to the run before its code asks for them.
#[derive(Debug, Default)]
pub(crate) struct KnownOutcomes {
    /// The markers recorded by the workflow task being replayed, by seq.
    pub recorded: HashMap<u32, Marker>,
    /// What the worker executed for the live task, by seq.
    pub executed: HashMap<u32, LocalActivityOutcome>,
}

impl LocalActivityMachine {
    pub fn new(
        request: LocalActivityRequest,
        scheduled_at: SystemTime,
        location: &'static Location<'static>,
    ) -> Self {
        Self {
            seq: request.seq,
            request,
            state: LocalActivityState::Requested,
            scheduled_at,
            marker: None,
            result: Slot::default(),
            location,
        }
    }

    /// Takes the outcome from `known` if it is there (`replaying` says which map); returns the
    /// marker's completion time when it resolved.
    pub fn try_resolve(
        &mut self,
        known: &mut KnownOutcomes,
        replaying: bool,
    ) -> Option<Option<SystemTime>> {
        if self.state != LocalActivityState::Requested {
            return None;
        }
        let marker = if replaying {
            // A marker of another activity under this seq is left for matching to report.
            let recorded = known.recorded.get(&self.seq)?;
            if recorded.data.activity_type != self.request.activity_type
                || recorded.data.activity_id != self.request.activity_id
            {
                return None;
            }
            known.recorded.remove(&self.seq)?
        } else {
            let outcome = known.executed.remove(&self.seq)?;
            self.marker_of(outcome)
        };
        let complete_time = marker.data.complete_time.map(Stamp::time);
        self.result.resolve(self.resolution(&marker));
        self.marker = Some(marker);
        self.state = LocalActivityState::Recorded;
        Some(complete_time)
    }

    fn marker_of(&self, outcome: LocalActivityOutcome) -> Marker {
        let complete_time = self.scheduled_at + outcome.runtime;
        Marker {
            data: MarkerData {
                seq: self.seq,
                attempt: outcome.attempt,
                activity_id: self.request.activity_id.clone(),
                activity_type: self.request.activity_type.clone(),
                complete_time: Some(Stamp::of_time(complete_time)),
                backoff: outcome.backoff.map(Stamp::of_duration),
                original_schedule_time: Some(Stamp::of_time(outcome.original_schedule_time)),
            },
            result: outcome.result.map(|payloads| payloads.into_iter().next()),
        }
    }

    fn resolution(&self, marker: &Marker) -> LocalResolution {
        if let Some(backoff) = marker.data.backoff {
            return LocalResolution::Backoff {
                attempt: marker.data.attempt + 1,
                backoff: backoff.duration(),
                original_schedule_time: marker.data.original_schedule_time.map(Stamp::time),
            };
        }
        LocalResolution::Done(match &marker.result {
            Ok(result) => Ok(result.iter().cloned().collect()),
            Err(failure) => Err(self.activity_failure(failure.clone())),
        })
    }

    /// The failure the code sees: an activity failure naming this activity, with what the
    /// activity raised as its cause (the marker records the cause alone, as core writes it).
    fn activity_failure(&self, cause: Failure) -> Failure {
        if matches!(
            cause.as_proto().failure_info,
            Some(FailureInfo::ActivityFailureInfo(_))
        ) {
            return cause;
        }
        let retry_state = match cause.as_proto().failure_info {
            Some(FailureInfo::TimeoutFailureInfo(_)) => RetryState::Timeout,
            Some(FailureInfo::CanceledFailureInfo(_)) => RetryState::CancelRequested,
            _ if cause.non_retryable() => RetryState::NonRetryableFailure,
            _ => RetryState::MaximumAttemptsReached,
        };
        Failure::from_proto(pb::Failure {
            message: "Local activity failed".to_string(),
            source: crate::failure::SOURCE.to_string(),
            cause: Some(Box::new(cause.into_proto())),
            failure_info: Some(FailureInfo::ActivityFailureInfo(pb::ActivityFailureInfo {
                activity_type: Some(ActivityType {
                    name: self.request.activity_type.clone(),
                }),
                activity_id: self.request.activity_id.clone(),
                retry_state: retry_state as i32,
                ..Default::default()
            })),
            ..Default::default()
        })
    }
}

impl CommandMachine for LocalActivityMachine {
    fn command(&self) -> Command {
        Command {
            command_type: CommandType::RecordMarker as i32,
            attributes: self.marker.as_ref().map(|marker| {
                command::Attributes::RecordMarkerCommandAttributes(marker.to_attributes())
            }),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        format!(
            "RecordMarker(core_local_activity, seq={}, activity_id={}, type={})",
            self.seq, self.request.activity_id, self.request.activity_type
        )
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    /// Core checks the seq, and (with SDK flag 1, always set by Chronicle and recent SDKs) the
    /// id and type.
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        let Some(Ok(recorded)) = recorded_local_activity(event) else {
            return false;
        };
        let same = self.state == LocalActivityState::Recorded
            && recorded.data.seq == self.seq
            && recorded.data.activity_id == self.request.activity_id
            && recorded.data.activity_type == self.request.activity_type;
        if same {
            self.state = LocalActivityState::Matched;
        }
        same
    }

    fn waiting_on(&self) -> Option<String> {
        (!self.result.is_resolved()).then(|| {
            format!(
                "local activity {} (id {}), scheduled at {}:{}",
                self.request.activity_type,
                self.request.activity_id,
                self.location.file(),
                self.location.line()
            )
        })
    }
}

/// Which outbox entry a recorded command event is matched with: a local activity marker with
/// the queued marker of its seq, any other event with the oldest entry that is not a local
/// activity marker. `None` when there is none, and the front entry (if any) is reported.
pub(crate) fn outbox_position(
    outbox: &VecDeque<MachineId>,
    machines: &Machines,
    event: &HistoryEvent,
) -> Option<usize> {
    let is_local = |id: &MachineId| matches!(id, MachineId::LocalActivity(_));
    match recorded_local_activity(event) {
        Some(Ok(recorded)) => outbox.iter().position(|id| match id {
            MachineId::LocalActivity(i) => machines.local_activities[*i].seq == recorded.data.seq,
            _ => false,
        }),
        // A marker whose data does not parse matches nothing.
        Some(Err(_)) => None,
        None => outbox.iter().position(|id| !is_local(id)),
    }
}

/// The local activity a marker's seq names, when it is not queued (its outcome differs from
/// the marker's): matching fails naming it.
pub(crate) fn same_seq(machines: &Machines, event: &HistoryEvent) -> Option<MachineId> {
    let Some(Ok(recorded)) = recorded_local_activity(event) else {
        return None;
    };
    machines
        .local_activities
        .iter()
        .position(|m| m.seq == recorded.data.seq)
        .map(MachineId::LocalActivity)
}

/// The local activity markers a completed workflow task recorded, by seq.
pub(crate) fn recorded_in_task(commands: &[HistoryEvent]) -> HashMap<u32, Marker> {
    commands
        .iter()
        .filter_map(recorded_local_activity)
        .filter_map(Result::ok)
        .map(|marker| (marker.data.seq, marker))
        .collect()
}
