//! The state one run shares between its workflow code and its coordinator.
//!
//! Workflow code reaches it through [`RunHandle`] (issuing commands, awaiting their results);
//! the coordinator in `run.rs` feeds it history events. Both sides hold it only between polls,
//! never across an `.await`, so a `RefCell` is all the synchronisation it needs.

use super::definition::WorkflowInfo;
use super::machines::activity::{ActivityMachine, ActivityOptions};
use super::machines::patch::{ChangeVersionMachine, PatchMachine, UPSERT_ON_PATCH_FLAG};
use super::machines::side_effect::SideEffectMachine;
use super::machines::timer::TimerMachine;
use super::machines::upsert::UpsertMachine;
use super::machines::{Cancel, Kind, MachineId, Machines};
use crate::failure::Failure;
use crate::payload::Payload;
use crate::proto::command::Command;
use crate::proto::history::HistoryEvent;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

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

    /// Carries out what a machine's cancel asked for.
    pub fn cancel(&mut self, id: MachineId, cancel: Cancel) {
        match cancel {
            Cancel::Withdraw => self.outbox.retain(|o| *o != id),
            Cancel::Send => self.outbox.push_back(id),
            Cancel::Nothing => {}
        }
    }

    /// Matches `event` with the oldest unmatched command. On a mismatch, returns what the code
    /// issued instead (or `no command`) and where.
    pub fn match_event(
        &mut self,
        event: &HistoryEvent,
    ) -> Result<(), (String, Option<&'static Location<'static>>)> {
        let Some(next) = self.outbox.pop_front() else {
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

pub(crate) struct RunState {
    pub info: Rc<WorkflowInfo>,
    pub now: SystemTime,
    pub replaying: bool,
    pub default_activity_options: ActivityOptions,
    pub commands: Commands,
    /// Code waiting for the workflow state to change (`wait_until`), woken at every activation
    /// and after every change.
    pub change_wakers: Vec<Waker>,
    /// Set while a query handler runs: commands are refused then.
    pub in_query: Option<String>,
    /// What `patched(id)` returned, so that later calls agree.
    pub patch_decisions: HashMap<String, bool>,
    /// Patches whose markers the history holds in the task being replayed.
    pub patches_in_history: HashSet<String>,
    /// Every patch of the run so far (the `TemporalChangeVersion` value).
    pub change_versions: BTreeSet<String>,
    /// SDK flags recorded for the run (from history, plus the live first task's own).
    pub flags: BTreeSet<u32>,
    /// Values the task being replayed recorded for side effects, in order.
    pub side_effects_in_history: VecDeque<Payload>,
    /// The state of the run's random number generator (SplitMix64).
    pub random_state: u64,
    /// A client asked the workflow to cancel.
    pub cancel_requested: bool,
    /// Code waiting for a cancellation request (`ctx.cancelled()`).
    pub cancel_wakers: Vec<Waker>,
    /// How many non-cancellable scopes are being polled: operations started meanwhile are
    /// shielded from the workflow's cancellation.
    pub shield_depth: u32,
    /// The id of the current workflow task's started event: the history's length so far.
    pub history_length: i64,
}

impl RunState {
    pub fn new(
        info: WorkflowInfo,
        now: SystemTime,
        default_activity_options: ActivityOptions,
    ) -> Self {
        Self {
            info: Rc::new(info),
            now,
            replaying: true,
            default_activity_options,
            commands: Commands::default(),
            change_wakers: Vec::new(),
            in_query: None,
            patch_decisions: HashMap::new(),
            patches_in_history: HashSet::new(),
            change_versions: BTreeSet::new(),
            flags: BTreeSet::new(),
            side_effects_in_history: VecDeque::new(),
            random_state: 0,
            cancel_requested: false,
            cancel_wakers: Vec::new(),
            shield_depth: 0,
            history_length: 0,
        }
    }

    /// Whether a cancellation of the workflow reaches code running now: requested, and not
    /// inside a non-cancellable scope.
    pub fn cancellation_applies(&self) -> bool {
        self.cancel_requested && self.shield_depth == 0
    }

    /// Cancels activity `index` with its cancellation type, sending a cancel request if its
    /// command went out, withdrawing the command if not.
    pub fn cancel_activity(&mut self, index: usize) {
        let cancel = self.commands.machines.activities[index].cancel();
        self.commands.cancel(MachineId::Activity(index), cancel);
    }

    /// Cancels timer `index` (resolving it as canceled).
    pub fn cancel_timer(&mut self, index: usize) {
        let cancel = self.commands.machines.timers[index].cancel();
        self.commands.cancel(MachineId::Timer(index), cancel);
    }

    /// Cancels child `index`: withdraws its start if not sent, or asks it to cancel (now, or
    /// once it has started).
    pub fn cancel_child(&mut self, index: usize) {
        let child = &mut self.commands.machines.children[index];
        match child.cancel() {
            Cancel::Send => {
                let request = child.cancel_request();
                self.commands.issue(request);
            }
            cancel => self.commands.cancel(MachineId::Child(index), cancel),
        }
    }

    /// The workflow was asked to cancel: everything it waits on outside non-cancellable scopes
    /// is canceled, and whatever waits for the request or on the state is woken.
    pub fn request_cancel(&mut self) {
        if self.cancel_requested {
            return;
        }
        self.cancel_requested = true;
        for index in 0..self.commands.machines.activities.len() {
            if !self.commands.machines.activities[index].shielded {
                self.cancel_activity(index);
            }
        }
        for index in 0..self.commands.machines.timers.len() {
            if !self.commands.machines.timers[index].shielded {
                self.cancel_timer(index);
            }
        }
        for index in 0..self.commands.machines.children.len() {
            if !self.commands.machines.children[index].shielded {
                self.cancel_child(index);
            }
        }
        for waker in self.cancel_wakers.drain(..) {
            waker.wake();
        }
        self.wake_change_waiters();
    }

    /// Wakes whatever waits for the state to change; it re-checks its condition when polled.
    pub fn wake_change_waiters(&mut self) {
        for waker in self.change_wakers.drain(..) {
            waker.wake();
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

/// An activity to schedule: type name, encoded arguments and options.
#[derive(Debug, Clone)]
pub struct ActivityRequest {
    /// The activity type name.
    pub activity_type: String,
    /// One payload per argument.
    pub input: Vec<Payload>,
    /// Timeouts, retries, routing; unset timeouts take the worker's defaults.
    pub options: ActivityOptions,
}

/// Workflow code's handle on its run: issues commands and reads workflow time.
///
/// Cheap to clone; valid only inside the run's own workflow code.
#[derive(Clone)]
pub struct RunHandle(pub(crate) Rc<RefCell<RunState>>);

impl RunHandle {
    /// Facts about the run.
    pub fn info(&self) -> Rc<WorkflowInfo> {
        self.0.borrow().info.clone()
    }

    /// Workflow time: the start time of the current workflow task, the same on every replay.
    pub fn now(&self) -> SystemTime {
        self.0.borrow().now
    }

    /// How many events the run's history holds up to the current workflow task; the same on
    /// replay. Runs that grow long continue as new.
    pub fn history_length(&self) -> i64 {
        self.0.borrow().history_length
    }

    /// Whether the code is re-running history (useful to silence logs).
    pub fn is_replaying(&self) -> bool {
        self.0.borrow().replaying
    }

    /// Registers `waker` to be woken when the workflow state may have changed: at the next
    /// activation, or after [`state_changed`](Self::state_changed). One wake-up per
    /// registration; register again to keep waiting.
    pub fn wait_for_change(&self, waker: &Waker) {
        let mut state = self.0.borrow_mut();
        if !state.change_wakers.iter().any(|w| w.will_wake(waker)) {
            state.change_wakers.push(waker.clone());
        }
    }

    /// Whether the code should take the patched path for `patch_id`; see
    /// [`machines::patch`](super::machines::patch) for the rules. `deprecated` is
    /// `deprecate_patch`: the patch is applied everywhere and only its marker remains.
    #[track_caller]
    pub fn patched(&self, patch_id: &str, deprecated: bool) -> bool {
        let location = Location::caller();
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("record a patch marker");
        if let Some(decision) = state.patch_decisions.get(patch_id) {
            return *decision;
        }
        let in_history = state.patches_in_history.contains(patch_id);
        let issue_marker = !state.replaying || in_history;
        let decision = deprecated || issue_marker;
        if issue_marker {
            let upsert = state.flags.contains(&UPSERT_ON_PATCH_FLAG);
            let state = &mut *state;
            let change_version = ChangeVersionMachine::after_patch(
                patch_id,
                &mut state.change_versions,
                upsert,
                location,
            );
            state
                .commands
                .issue(PatchMachine::new(patch_id, deprecated, location));
            if let Some(machine) = change_version {
                state.commands.issue(machine);
            }
        }
        state.patch_decisions.insert(patch_id.to_string(), decision);
        decision
    }

    /// The next number of the run's deterministic random sequence.
    ///
    /// The sequence is seeded from the run id recorded in the run's first event, so every
    /// replay of the run sees the same numbers. The generator is SplitMix64, written out here
    /// rather than taken from a crate: its output is part of every history that used it, so it
    /// must never change with a dependency update.
    pub fn random_u64(&self) -> u64 {
        let mut state = self.0.borrow_mut();
        state.random_state = state.random_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state.random_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A side effect: `compute` runs when the code first gets here, and its value is recorded
    /// in history; on replay the recorded value is returned and `compute` does not run.
    #[track_caller]
    pub fn side_effect(&self, compute: impl FnOnce() -> Payload) -> Payload {
        let location = Location::caller();
        let recorded = {
            let mut state = self.0.borrow_mut();
            state.refuse_in_query("record a side effect");
            if state.replaying {
                state.side_effects_in_history.pop_front()
            } else {
                None
            }
        };
        // Computed without holding the state: `compute` is user code.
        let value = recorded.unwrap_or_else(compute);
        let mut state = self.0.borrow_mut();
        state.commands.issue(SideEffectMachine {
            value: value.clone(),
            location,
        });
        value
    }

    /// Whether a client asked the workflow to cancel.
    pub fn is_cancel_requested(&self) -> bool {
        self.0.borrow().cancel_requested
    }

    /// Whether the workflow's cancellation applies to code running now (requested, and not in
    /// a non-cancellable scope).
    pub fn cancellation_applies(&self) -> bool {
        self.0.borrow().cancellation_applies()
    }

    /// Registers `waker` to be woken when the workflow is asked to cancel.
    pub fn wait_for_cancel(&self, waker: &Waker) {
        let mut state = self.0.borrow_mut();
        if !state.cancel_wakers.iter().any(|w| w.will_wake(waker)) {
            state.cancel_wakers.push(waker.clone());
        }
    }

    /// Enters a non-cancellable scope for the duration of one poll; pair with
    /// [`exit_shield`](Self::exit_shield).
    pub fn enter_shield(&self) {
        self.0.borrow_mut().shield_depth += 1;
    }

    /// Leaves a non-cancellable scope.
    pub fn exit_shield(&self) {
        let mut state = self.0.borrow_mut();
        state.shield_depth = state.shield_depth.saturating_sub(1);
    }

    /// Upserts search attributes of the workflow (the values are payloads with their type in
    /// the metadata, see [`SearchAttribute`](crate::search_attributes::SearchAttribute)).
    pub fn upsert_search_attributes_at(
        &self,
        fields: HashMap<String, Payload>,
        location: &'static Location<'static>,
    ) {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("upsert search attributes");
        state.commands.issue(UpsertMachine { fields, location });
    }

    /// Tells code waiting on the workflow state (`wait_until`) to check it again.
    pub fn state_changed(&self) {
        self.0.borrow_mut().wake_change_waiters();
    }

    /// Schedules an activity; the command goes out with this workflow task.
    #[track_caller]
    pub fn schedule_activity(&self, request: ActivityRequest) -> ActivityHandle {
        self.schedule_activity_at(request, Location::caller())
    }

    /// Like [`schedule_activity`](Self::schedule_activity), naming the workflow code location
    /// that issued it (reported in nondeterminism errors).
    pub fn schedule_activity_at(
        &self,
        request: ActivityRequest,
        location: &'static Location<'static>,
    ) -> ActivityHandle {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("schedule an activity");
        let mut options = request.options;
        if options.start_to_close.is_none() && options.schedule_to_close.is_none() {
            options.start_to_close = state.default_activity_options.start_to_close;
        }
        let index = state.commands.machines.activities.len();
        let machine = ActivityMachine::new(
            index as u32 + 1,
            request.activity_type,
            request.input,
            options,
            &state.info.task_queue,
            location,
        );
        let mut machine = machine;
        machine.shielded = state.shield_depth > 0;
        state.commands.issue(machine);
        // Started after the workflow was asked to cancel: canceled before it is sent.
        if state.cancellation_applies() {
            state.cancel_activity(index);
        }
        ActivityHandle {
            run: self.clone(),
            index,
        }
    }

    /// Starts a durable timer.
    #[track_caller]
    pub fn start_timer(&self, duration: Duration) -> TimerHandle {
        self.start_timer_at(duration, Location::caller())
    }

    /// Like [`start_timer`](Self::start_timer), naming the workflow code location that issued
    /// it (reported in nondeterminism errors).
    pub fn start_timer_at(
        &self,
        duration: Duration,
        location: &'static Location<'static>,
    ) -> TimerHandle {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("start a timer");
        let seq = state.commands.machines.timers.len() as u32 + 1;
        let mut machine = TimerMachine::new(seq, duration, location);
        machine.shielded = state.shield_depth > 0;
        let index = state.commands.issue(machine);
        if state.cancellation_applies() {
            state.cancel_timer(index);
        }
        TimerHandle {
            run: self.clone(),
            index,
        }
    }
}

/// An activity's eventual result; dropping it does not cancel the activity.
pub struct ActivityHandle {
    run: RunHandle,
    index: usize,
}

impl ActivityHandle {
    /// Cancels the activity with its options' cancellation type.
    pub fn cancel(&self) {
        self.run.0.borrow_mut().cancel_activity(self.index);
    }
}

impl Future for ActivityHandle {
    type Output = Result<Vec<Payload>, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.activities[self.index].result.poll_take(cx)
    }
}

/// A durable timer; resolves to `true` when it fires, `false` when canceled.
pub struct TimerHandle {
    run: RunHandle,
    index: usize,
}

impl TimerHandle {
    /// Cancels the timer; the future then resolves to `false`.
    pub fn cancel(&self) {
        self.run.0.borrow_mut().cancel_timer(self.index);
    }
}

impl Future for TimerHandle {
    type Output = bool;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.timers[self.index].outcome.poll_cloned(cx)
    }
}
