//! Command events: each one the history recorded after a completed workflow task is paired
//! with the oldest command the code issued and not yet matched. A mismatch is nondeterminism.

use super::WorkflowRun;
use crate::history::events::{describe_event, patch_marker};
use crate::proto::history::HistoryEvent;
use crate::workflow::error::{Nondeterminism, TaskFailure, TaskFailureKind};
use crate::workflow::machines::patch::is_change_version_upsert;
use crate::workflow::machines::MachineId;
use std::panic::Location;

impl WorkflowRun {
    /// Matches one recorded command event with the oldest unmatched command of the code.
    ///
    /// A deprecated patch's marker that the code no longer issues is skipped, with the
    /// `TemporalChangeVersion` upsert that follows it (`after_skipped_patch`); returns whether
    /// this event was such a marker.
    pub(super) fn match_command_event(
        &mut self,
        event: &HistoryEvent,
        after_skipped_patch: bool,
    ) -> Result<bool, TaskFailure> {
        let mut state = self.state.borrow_mut();
        let commands = &mut state.commands;
        let front = commands.outbox.front().copied();
        if let Some(patch) = patch_marker(event).filter(|p| p.deprecated) {
            let issued = matches!(front, Some(MachineId::Patch(i)) if commands.machines.patches[i].data.id == patch.id);
            if !issued {
                return Ok(true);
            }
        }
        if after_skipped_patch
            && is_change_version_upsert(event)
            && !matches!(front, Some(MachineId::ChangeVersion(_)))
        {
            return Ok(false);
        }
        match commands.match_event(event) {
            Ok(()) => Ok(false),
            Err((code, location)) => Err(nondeterminism(event, code, location)),
        }
    }

    /// After a completed task's command events: the code must not have issued more.
    pub(super) fn check_all_matched(&self, at: Option<&HistoryEvent>) -> Result<(), TaskFailure> {
        let state = self.state.borrow();
        match state.commands.outbox.front() {
            None => Ok(()),
            Some(extra) => {
                let machine = state.commands.machines.get(*extra);
                Err(TaskFailure::new(TaskFailureKind::Nondeterminism(
                    Nondeterminism {
                        event_id: at.map(|e| e.event_id).unwrap_or_default(),
                        history: "no further command in that workflow task".to_string(),
                        code: machine.describe(),
                        location: machine.location(),
                    },
                )))
            }
        }
    }
}

fn nondeterminism(
    event: &HistoryEvent,
    code: String,
    location: Option<&'static Location<'static>>,
) -> TaskFailure {
    TaskFailure::new(TaskFailureKind::Nondeterminism(Nondeterminism {
        event_id: event.event_id,
        history: describe_event(event),
        code,
        location,
    }))
}
