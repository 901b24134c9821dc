//! The state one run shares between its workflow code and its coordinator, in named parts:
//! [`Commands`] (outbox, machines, routing), [`Clock`] (time and history facts),
//! [`Cancellation`], [`Versioning`] (patches and side effects) and [`Rng`].
//!
//! Workflow code reaches it through [`RunHandle`](super::handle::RunHandle) (issuing commands,
//! awaiting their results); the coordinator in `run/` feeds it history events. Both sides hold
//! it only between polls, never across an `.await`, so a `RefCell` is all the synchronisation
//! it needs.

mod commands;
mod handlers;
mod parts;

pub(crate) use commands::Commands;
pub(crate) use handlers::Handlers;
pub(crate) use parts::{Cancellation, Clock, Rng, Versioning, Wakers};

use super::info::WorkflowInfo;
use super::machines::activity::ActivityMachine;
use super::machines::child::ChildMachine;
use super::machines::local_activity::KnownOutcomes;
use super::machines::timer::TimerMachine;
use super::machines::Cancellable;
use super::options::ActivityOptions;
use std::rc::Rc;
use std::time::SystemTime;

pub(crate) struct RunState {
    pub info: Rc<WorkflowInfo>,
    /// Options applied to activities that set no timeout.
    pub default_activity_options: ActivityOptions,
    pub commands: Commands,
    pub clock: Clock,
    pub cancellation: Cancellation,
    pub versioning: Versioning,
    pub rng: Rng,
    /// Code waiting for the workflow state to change (`wait_until`), woken at every activation
    /// and after every change.
    pub change_waiters: Wakers,
    /// Set while a query handler runs: commands are refused then.
    pub in_query: Option<String>,
    /// Local activity outcomes known before the code asks (markers, the worker's results).
    pub local_activities: KnownOutcomes,
    /// Update and async signal handlers running as tasks of their own.
    pub handlers: Handlers,
}

impl RunState {
    pub fn new(
        info: WorkflowInfo,
        now: SystemTime,
        default_activity_options: ActivityOptions,
        rng: Rng,
    ) -> Self {
        Self {
            info: Rc::new(info),
            default_activity_options,
            commands: Commands::default(),
            clock: Clock::starting_at(now),
            cancellation: Cancellation::default(),
            versioning: Versioning::default(),
            rng,
            change_waiters: Wakers::default(),
            in_query: None,
            local_activities: KnownOutcomes::default(),
            handlers: Handlers::default(),
        }
    }

    /// Issues a command workflow code can cancel: shielded if issued inside a non-cancellable
    /// scope, and canceled at once (before it is sent) if the workflow's cancellation applies.
    /// Returns the machine's index among its kind.
    pub fn issue_cancellable<M: Cancellable>(&mut self, mut machine: M) -> usize {
        if self.cancellation.shielded() {
            machine.shield();
        }
        let index = self.commands.issue(machine);
        if self.cancellation.applies() {
            self.commands.cancel::<M>(index);
        }
        index
    }

    /// The workflow was asked to cancel: everything it waits on outside non-cancellable scopes
    /// is canceled, and whatever waits for the request or on the state is woken.
    pub fn request_cancel(&mut self) {
        if self.cancellation.requested {
            return;
        }
        self.cancellation.requested = true;
        // Kind by kind, in this order: the cancel commands go out in it.
        self.cancel_unshielded::<ActivityMachine>();
        self.cancel_unshielded::<TimerMachine>();
        self.cancel_unshielded::<ChildMachine>();
        self.cancellation.waiters.wake_all();
        self.change_waiters.wake_all();
    }

    fn cancel_unshielded<M: Cancellable>(&mut self) {
        for index in 0..M::list(&mut self.commands.machines).len() {
            if !M::list(&mut self.commands.machines)[index].shielded() {
                self.commands.cancel::<M>(index);
            }
        }
    }

    /// Refuses a command issued from a query handler. The panic is caught by the query, whose
    /// caller gets this message.
    #[track_caller]
    pub(crate) fn refuse_in_query(&self, command: &str) {
        if let Some(query) = &self.in_query {
            panic!(
                "query {query:?} tried to {command}: queries only read the workflow state and \
                 cannot issue commands"
            );
        }
    }
}
