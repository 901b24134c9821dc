//! The state one run shares between its workflow code and its coordinator.
//!
//! Workflow code reaches it through [`RunHandle`] (issuing commands, awaiting their results);
//! the coordinator in `run.rs` feeds it history events. Both sides hold it only between polls,
//! never across an `.await`, so a `RefCell` is all the synchronisation it needs.

use super::definition::WorkflowInfo;
use super::machines::activity::{ActivityMachine, ActivityOptions};
use super::machines::child::ChildMachine;
use super::machines::completion::CompletionMachine;
use super::machines::external::{ExternalAction, ExternalMachine};
use super::machines::patch::{PatchMachine, UPSERT_ON_PATCH_FLAG};
use super::machines::side_effect::SideEffectMachine;
use super::machines::timer::TimerMachine;
use super::machines::upsert::UpsertMachine;
use crate::failure::Failure;
use crate::payload::Payload;
use crate::proto::command::Command;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, SystemTime};

/// A command issued by the code and not yet matched with a history event (or sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outgoing {
    ScheduleActivity(usize),
    RequestCancelActivity(usize),
    StartTimer(usize),
    CancelTimer(usize),
    RecordPatch(usize),
    UpsertChangeVersion(usize),
    RecordSideEffect(usize),
    StartChild(usize),
    External(usize),
    UpsertSearchAttributes(usize),
    Complete,
}

pub(crate) struct RunState {
    pub info: Rc<WorkflowInfo>,
    pub now: SystemTime,
    pub replaying: bool,
    pub default_activity_options: ActivityOptions,
    pub activities: Vec<ActivityMachine>,
    pub timers: Vec<TimerMachine>,
    pub completion: Option<CompletionMachine>,
    /// Commands in the order the code issued them.
    pub outbox: VecDeque<Outgoing>,
    pub activity_by_scheduled_event: HashMap<i64, usize>,
    pub timer_by_id: HashMap<String, usize>,
    /// Code waiting for the workflow state to change (`wait_until`), woken at every activation
    /// and after every change.
    pub change_wakers: Vec<Waker>,
    /// Set while a query handler runs: commands are refused then.
    pub in_query: Option<String>,
    pub patches: Vec<PatchMachine>,
    /// What `patched(id)` returned, so that later calls agree.
    pub patch_decisions: HashMap<String, bool>,
    /// Patches whose markers the history holds in the task being replayed.
    pub patches_in_history: HashSet<String>,
    /// Every patch of the run so far (the `TemporalChangeVersion` value).
    pub change_versions: BTreeSet<String>,
    /// SDK flags recorded for the run (from history, plus the live first task's own).
    pub flags: BTreeSet<u32>,
    pub side_effects: Vec<SideEffectMachine>,
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
    pub children: Vec<ChildMachine>,
    pub child_by_initiated_event: HashMap<i64, usize>,
    pub externals: Vec<ExternalMachine>,
    pub external_by_initiated_event: HashMap<i64, usize>,
    pub upserts: Vec<UpsertMachine>,
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
            activities: Vec::new(),
            timers: Vec::new(),
            completion: None,
            outbox: VecDeque::new(),
            activity_by_scheduled_event: HashMap::new(),
            timer_by_id: HashMap::new(),
            change_wakers: Vec::new(),
            in_query: None,
            patches: Vec::new(),
            patch_decisions: HashMap::new(),
            patches_in_history: HashSet::new(),
            change_versions: BTreeSet::new(),
            flags: BTreeSet::new(),
            side_effects: Vec::new(),
            side_effects_in_history: VecDeque::new(),
            random_state: 0,
            cancel_requested: false,
            cancel_wakers: Vec::new(),
            shield_depth: 0,
            history_length: 0,
            children: Vec::new(),
            child_by_initiated_event: HashMap::new(),
            externals: Vec::new(),
            external_by_initiated_event: HashMap::new(),
            upserts: Vec::new(),
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
        if self.activities[index].cancel() {
            self.outbox
                .push_back(Outgoing::RequestCancelActivity(index));
        } else {
            self.withdraw(Outgoing::ScheduleActivity(index));
        }
    }

    /// Cancels timer `index` (resolving it as canceled).
    pub fn cancel_timer(&mut self, index: usize) {
        if self.timers[index].cancel() {
            self.outbox.push_back(Outgoing::CancelTimer(index));
        } else {
            self.withdraw(Outgoing::StartTimer(index));
        }
    }

    /// Cancels child `index`: withdraws its start if not sent, or asks it to cancel (now, or
    /// once it has started).
    pub fn cancel_child(&mut self, index: usize) {
        if self.children[index].cancel() {
            self.request_child_cancel(index);
        } else {
            self.withdraw(Outgoing::StartChild(index));
        }
    }

    /// Removes a command the code issued but that was not sent (nor matched) yet; a no-op for
    /// one already gone.
    fn withdraw(&mut self, command: Outgoing) {
        self.outbox.retain(|o| *o != command);
    }

    /// Issues the cancel request of a started child.
    pub fn request_child_cancel(&mut self, index: usize) {
        let child = &self.children[index];
        let machine = ExternalMachine::new(
            ExternalAction::Cancel,
            child.workflow_id.clone(),
            child.run_id.clone().unwrap_or_default(),
            true,
            child.location,
        );
        let external = self.externals.len();
        self.externals.push(machine);
        self.outbox.push_back(Outgoing::External(external));
    }

    /// The workflow was asked to cancel: everything it waits on outside non-cancellable scopes
    /// is canceled, and whatever waits for the request or on the state is woken.
    pub fn request_cancel(&mut self) {
        if self.cancel_requested {
            return;
        }
        self.cancel_requested = true;
        for index in 0..self.activities.len() {
            if !self.activities[index].shielded {
                self.cancel_activity(index);
            }
        }
        for index in 0..self.timers.len() {
            if !self.timers[index].shielded {
                self.cancel_timer(index);
            }
        }
        for index in 0..self.children.len() {
            if !self.children[index].shielded {
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

    pub fn command(&self, out: Outgoing) -> Command {
        match out {
            Outgoing::ScheduleActivity(i) => self.activities[i].schedule_command(),
            Outgoing::RequestCancelActivity(i) => self.activities[i].cancel_command(),
            Outgoing::StartTimer(i) => self.timers[i].start_command(),
            Outgoing::CancelTimer(i) => self.timers[i].cancel_command(),
            Outgoing::RecordPatch(i) => self.patches[i].marker_command(),
            Outgoing::UpsertChangeVersion(i) => self.patches[i].upsert_command(),
            Outgoing::RecordSideEffect(i) => self.side_effects[i].marker_command(),
            Outgoing::StartChild(i) => self.children[i].start_command(),
            Outgoing::External(i) => self.externals[i].command(),
            Outgoing::UpsertSearchAttributes(i) => self.upserts[i].command(),
            Outgoing::Complete => self
                .completion
                .as_ref()
                .map(CompletionMachine::command)
                .unwrap_or_default(),
        }
    }

    pub fn describe(&self, out: Outgoing) -> String {
        match out {
            Outgoing::ScheduleActivity(i) => self.activities[i].describe_schedule(),
            Outgoing::RequestCancelActivity(i) => self.activities[i].describe_cancel(),
            Outgoing::StartTimer(i) => self.timers[i].describe_start(),
            Outgoing::CancelTimer(i) => self.timers[i].describe_cancel(),
            Outgoing::RecordPatch(i) => self.patches[i].describe_marker(),
            Outgoing::UpsertChangeVersion(i) => self.patches[i].describe_upsert(),
            Outgoing::RecordSideEffect(_) => "RecordMarker(SideEffect)".to_string(),
            Outgoing::StartChild(i) => self.children[i].describe_start(),
            Outgoing::External(i) => self.externals[i].describe(),
            Outgoing::UpsertSearchAttributes(i) => self.upserts[i].describe(),
            Outgoing::Complete => self
                .completion
                .as_ref()
                .map(CompletionMachine::describe)
                .unwrap_or_default(),
        }
    }

    pub fn location(&self, out: Outgoing) -> Option<&'static Location<'static>> {
        match out {
            Outgoing::ScheduleActivity(i) | Outgoing::RequestCancelActivity(i) => {
                Some(self.activities[i].location)
            }
            Outgoing::StartTimer(i) | Outgoing::CancelTimer(i) => Some(self.timers[i].location),
            Outgoing::RecordPatch(i) | Outgoing::UpsertChangeVersion(i) => {
                Some(self.patches[i].location)
            }
            Outgoing::RecordSideEffect(i) => Some(self.side_effects[i].location),
            Outgoing::StartChild(i) => Some(self.children[i].location),
            Outgoing::External(i) => Some(self.externals[i].location),
            Outgoing::UpsertSearchAttributes(i) => Some(self.upserts[i].location),
            Outgoing::Complete => None,
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
            let machine = PatchMachine::new(
                patch_id,
                deprecated,
                &mut state.change_versions,
                upsert,
                location,
            );
            let index = state.patches.len();
            let has_upsert = machine.change_versions.is_some();
            state.patches.push(machine);
            state.outbox.push_back(Outgoing::RecordPatch(index));
            if has_upsert {
                state.outbox.push_back(Outgoing::UpsertChangeVersion(index));
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
        let index = state.side_effects.len();
        state.side_effects.push(SideEffectMachine {
            value: value.clone(),
            location,
        });
        state.outbox.push_back(Outgoing::RecordSideEffect(index));
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
        let index = state.upserts.len();
        state.upserts.push(UpsertMachine { fields, location });
        state
            .outbox
            .push_back(Outgoing::UpsertSearchAttributes(index));
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
        let index = state.activities.len();
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
        state.activities.push(machine);
        state.outbox.push_back(Outgoing::ScheduleActivity(index));
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
        let index = state.timers.len();
        let mut machine = TimerMachine::new(index as u32 + 1, duration, location);
        machine.shielded = state.shield_depth > 0;
        state.timer_by_id.insert(machine.timer_id.clone(), index);
        state.timers.push(machine);
        state.outbox.push_back(Outgoing::StartTimer(index));
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
        state.activities[self.index].result.poll_take(cx)
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
        state.timers[self.index].outcome.poll_cloned(cx)
    }
}
