//! One state machine per kind of command, each with its transition table.
//!
//! A machine is created when workflow code issues a command, is matched with the command event
//! the history recorded for it, and is then driven by the later events that report on that
//! command (activity completed, timer fired, ...). Machines are synchronous and know nothing of
//! the run: they own the [`Slot`](super::slot::Slot)s their handle futures poll and resolve
//! them (which wakes the waiting code), and they hand back [`Effects`] for anything the run
//! must do besides.
//!
//! Every machine has the same shape, [`CommandMachine`]; the run reaches them through
//! [`Machines`], whose one list of kinds (the `machines!` invocation below) gives the
//! [`MachineId`] variants, the storage and the single dispatch point.
//!
//! Transitions are strict: an event a machine does not expect in its state fails the workflow
//! task as a malformed history, naming the event, rather than being ignored.

pub mod activity;
pub mod child;
pub mod completion;
pub mod external;
pub mod local_activity;
pub mod modify_properties;
pub mod patch;
pub mod side_effect;
pub mod timer;
pub mod update;
pub mod upsert;

use super::error::TaskFailure;
use crate::history::events::describe_event;
use crate::proto::command::Command;
use crate::proto::history::HistoryEvent;
use std::fmt;
use std::panic::Location;

/// What every command machine does.
pub(crate) trait CommandMachine {
    /// The command to send for what the machine has pending (its start, or its cancel).
    fn command(&self) -> Command;

    /// That command, in short, for nondeterminism errors.
    fn describe(&self) -> String;

    /// Where workflow code issued it; `None` for the run's own commands (completion).
    fn location(&self) -> Option<&'static Location<'static>>;

    /// Whether `event` is the command event the history recorded for the pending command; if
    /// it is, the machine takes it (its event id is how later events find the machine).
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool;

    /// Applies a later event reporting on this machine's command. The default, for machines
    /// that expect none, rejects every event.
    fn on_event(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        Err(unexpected(
            event,
            &self.describe(),
            format_args!("Recorded"),
        ))
    }

    /// What workflow code is waiting on here, for the `__stack_trace` query; `None` when
    /// nothing waits.
    fn waiting_on(&self) -> Option<String> {
        None
    }
}

/// What applying an event asks of the run besides the machine's own change.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Effects {
    /// Send the machine's cancel now (a child canceled before it had started).
    pub send_cancel: bool,
    /// The cancel request of the child at this index (among children) was delivered.
    pub child_cancel_delivered: Option<usize>,
}

impl Effects {
    /// Nothing to do.
    pub fn none() -> Self {
        Self::default()
    }
}

/// A machine workflow code can cancel: activities, timers, children.
pub(crate) trait Cancellable: Kind {
    /// Code asked to cancel: the machine changes state, and says what the run must do about
    /// its commands.
    fn cancel(&mut self) -> Cancel;
    /// Whether it was issued inside a non-cancellable scope, which the workflow's own
    /// cancellation does not reach.
    fn shielded(&self) -> bool;
    /// Marks it as issued inside a non-cancellable scope.
    fn shield(&mut self);
}

/// What the code's cancel of a machine needs from the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cancel {
    /// The command was not sent: withdraw it from the outbox.
    Withdraw,
    /// Send the machine's cancel (its cancel command; for a child, a cancel request of its
    /// own).
    Send,
    /// Nothing (already done, or the cancel waits for a later event).
    Nothing,
}

/// The task failure for an event a machine does not expect in its state.
pub(crate) fn unexpected(
    event: &HistoryEvent,
    machine: &str,
    state: impl fmt::Debug,
) -> TaskFailure {
    TaskFailure::bad_history(format!(
        "event {} ({}) is not expected for {machine} in state {state:?}",
        event.event_id,
        describe_event(event)
    ))
}

/// A machine kind's place in [`Machines`] (implemented by the `machines!` list).
pub(crate) trait Kind: CommandMachine + Sized {
    /// The machines of this kind.
    fn list(machines: &mut Machines) -> &mut Vec<Self>;
    /// The id of the machine at `index`.
    fn id(index: usize) -> MachineId;
}

/// The one list of machine kinds: `Variant(field: Type)`. Adding a kind is one line here.
macro_rules! machines {
    ($($variant:ident($field:ident: $ty:ty)),* $(,)?) => {
        /// Which machine: its kind and its index among the machines of that kind.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum MachineId {
            $($variant(usize),)*
        }

        /// Every machine of the run, by kind, in the order the code issued them.
        #[derive(Default)]
        pub(crate) struct Machines {
            $(pub $field: Vec<$ty>,)*
        }

        impl Machines {
            /// The machine `id` names: the one dispatch point.
            pub fn get(&self, id: MachineId) -> &dyn CommandMachine {
                match id {
                    $(MachineId::$variant(i) => &self.$field[i],)*
                }
            }

            /// The machine `id` names, to change it.
            pub fn get_mut(&mut self, id: MachineId) -> &mut dyn CommandMachine {
                match id {
                    $(MachineId::$variant(i) => &mut self.$field[i],)*
                }
            }

            /// Every machine, kind by kind in the order of the list.
            pub fn iter(&self) -> impl Iterator<Item = &dyn CommandMachine> {
                std::iter::empty()
                    $(.chain(self.$field.iter().map(|m| m as &dyn CommandMachine)))*
            }
        }

        $(impl Kind for $ty {
            fn list(machines: &mut Machines) -> &mut Vec<Self> {
                &mut machines.$field
            }
            fn id(index: usize) -> MachineId {
                MachineId::$variant(index)
            }
        })*
    };
}

machines! {
    Activity(activities: activity::ActivityMachine),
    Timer(timers: timer::TimerMachine),
    Child(children: child::ChildMachine),
    External(externals: external::ExternalMachine),
    Patch(patches: patch::PatchMachine),
    ChangeVersion(change_versions: patch::ChangeVersionMachine),
    SideEffect(side_effects: side_effect::SideEffectMachine),
    Upsert(upserts: upsert::UpsertMachine),
    ModifyProperties(modify_properties: modify_properties::ModifyPropertiesMachine),
    LocalActivity(local_activities: local_activity::LocalActivityMachine),
    Update(updates: update::UpdateMachine),
    Completion(completions: completion::CompletionMachine),
}
