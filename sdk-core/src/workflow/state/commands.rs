//! The run's commands: what the code issued, in order, and the machines that send them and
//! follow their fate in history.

use crate::proto::command::Command;
use crate::proto::history::HistoryEvent;
use crate::workflow::machines::{Cancel, Cancellable, Effects, Kind, MachineId, Machines};
use std::collections::{HashMap, VecDeque};
use std::panic::Location;

/// The run's commands: the machines, the commands not yet matched with a history event (or
/// sent), and which machine each matched command event belongs to.
#[derive(Default)]
pub(crate) struct Commands {
    /// Commands in the order the code issued them, by the machine that sends each.
    pub outbox: VecDeque<MachineId>,
    pub machines: Machines,
    /// The machine of each matched command event: how later events reach their machine.
    by_event_id: HashMap<i64, MachineId>,
}

impl Commands {
    /// Adds a machine and queues its command; returns its index among its kind.
    pub fn issue<M: Kind>(&mut self, machine: M) -> usize {
        let list = M::list(&mut self.machines);
        let index = list.len();
        list.push(machine);
        self.outbox.push_back(M::id(index));
        index
    }

    /// Cancels the machine of kind `M` at `index` and carries out what its cancel asks for.
    pub fn cancel<M: Cancellable>(&mut self, index: usize) {
        let id = M::id(index);
        match M::list(&mut self.machines)[index].cancel() {
            Cancel::Withdraw => self.outbox.retain(|o| *o != id),
            Cancel::Send => self.send_cancel(id),
            Cancel::Nothing => {}
        }
    }

    /// Carries out what applying an event to machine `id` asks for.
    pub fn carry_out(&mut self, id: MachineId, effects: Effects) {
        if effects.send_cancel {
            self.send_cancel(id);
        }
        if let Some(child) = effects.child_cancel_delivered {
            self.machines.children[child].cancel_delivered();
        }
    }

    /// Sends the cancel of machine `id`. A child's cancel is a command of its own, a cancel
    /// request only a child may receive; every other machine sends its cancel itself.
    pub fn send_cancel(&mut self, id: MachineId) {
        match id {
            MachineId::Child(index) => {
                let mut request = self.machines.children[index].cancel_request();
                request.for_child = Some(index);
                self.issue(request);
            }
            _ => self.outbox.push_back(id),
        }
    }

    /// Matches `event` with the oldest unmatched command. On a mismatch, returns what the code
    /// issued instead (or `no command`) and where.
    pub fn match_event(
        &mut self,
        event: &HistoryEvent,
    ) -> Result<(), (String, Option<&'static Location<'static>>)> {
        // Local activity markers are matched by seq (see `machines::local_activity`).
        let position = crate::workflow::machines::local_activity::outbox_position(
            &self.outbox,
            &self.machines,
            event,
        );
        let Some(next) = position
            .and_then(|p| self.outbox.remove(p))
            .or_else(|| crate::workflow::machines::local_activity::same_seq(&self.machines, event))
            .or_else(|| self.outbox.front().copied())
        else {
            return Err(("no command".to_string(), None));
        };
        let machine = self.machines.get_mut(next);
        if machine.matches_command_event(event) {
            self.by_event_id.insert(event.event_id, next);
            Ok(())
        } else {
            Err((machine.describe(), machine.location()))
        }
    }

    /// The machine whose command event is `event_id`.
    pub fn by_event_id(&self, event_id: i64) -> Option<MachineId> {
        self.by_event_id.get(&event_id).copied()
    }

    /// The commands not matched yet, in order: what a live task sends.
    pub fn unsent(&self) -> Vec<Command> {
        self.outbox
            .iter()
            .map(|id| self.machines.get(*id).command())
            .collect()
    }
}
