//! [`RunHandle`]: workflow code's handle on its run. This file has what every workflow can
//! ask of its run (time, cancellation, versioning, random numbers, search attributes); one file
//! per command kind adds the method issuing it and the handle future it returns.
//!
//! Issuing a command is always the same few steps: refuse it inside a query, make the
//! machine, and issue it through [`RunState`] (`issue`, or `issue_cancellable` for what the
//! code can cancel, which also applies shields and a pending cancellation).

mod activity;
mod handlers;
mod local_activity;
mod other_workflows;
mod timer;

pub use activity::{ActivityHandle, ActivityRequest};
pub(crate) use local_activity::{requested_local_activities, resolve_waiting_local_activities};
pub use local_activity::{
    LocalActivityCall, LocalActivityHandle, LocalActivityOptions, LocalActivityOutcome,
    LocalActivityRequest, DEFAULT_LOCAL_RETRY_THRESHOLD,
};
pub use other_workflows::{ChildHandle, ExternalHandle};
pub use timer::TimerHandle;

use super::info::WorkflowInfo;
use super::machines::modify_properties::{apply_memo_upserts, ModifyPropertiesMachine};
use super::machines::patch::{ChangeVersionMachine, PatchMachine, UPSERT_ON_PATCH_FLAG};
use super::machines::side_effect::SideEffectMachine;
use super::machines::upsert::UpsertMachine;
use super::state::RunState;
use crate::payload::Payload;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::panic::Location;
use std::rc::Rc;
use std::task::Waker;
use std::time::SystemTime;

/// Workflow code's handle on its run: issues commands and reads workflow time.
///
/// Cheap to clone; valid only inside the run's own workflow code.
#[derive(Clone)]
pub struct RunHandle(pub(crate) Rc<RefCell<RunState>>);

impl fmt::Debug for RunHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.try_borrow() {
            Ok(state) => f
                .debug_struct("RunHandle")
                .field("workflow_id", &state.info.workflow_id)
                .field("run_id", &state.info.run_id)
                .finish_non_exhaustive(),
            Err(_) => f.debug_struct("RunHandle").finish_non_exhaustive(),
        }
    }
}

impl RunHandle {
    /// Facts about the run.
    pub fn info(&self) -> Rc<WorkflowInfo> {
        self.0.borrow().info.clone()
    }

    /// Workflow time: the start time of the current workflow task, the same on every replay.
    pub fn now(&self) -> SystemTime {
        self.0.borrow().clock.now
    }

    /// How many events the run's history holds up to the current workflow task; the same on
    /// replay. Runs that grow long continue as new.
    pub fn history_length(&self) -> i64 {
        self.0.borrow().clock.history_length
    }

    /// Whether the code is re-running history (useful to silence logs).
    pub fn is_replaying(&self) -> bool {
        self.0.borrow().clock.replaying
    }

    /// Registers `waker` to be woken when the workflow state may have changed: at the next
    /// activation, or after [`state_changed`](Self::state_changed). One wake-up per
    /// registration; register again to keep waiting.
    pub fn wait_for_change(&self, waker: &Waker) {
        self.0.borrow_mut().change_waiters.register(waker);
    }

    /// Tells code waiting on the workflow state (`wait_until`) to check it again.
    pub fn state_changed(&self) {
        self.0.borrow_mut().change_waiters.wake_all();
    }

    /// Whether the code should take the patched path for `patch_id`; the rules are in the
    /// patch machine's docs (`workflow/machines/patch.rs`). `deprecated` is
    /// `deprecate_patch`: the patch is applied everywhere and only its marker remains.
    #[track_caller]
    pub fn patched(&self, patch_id: &str, deprecated: bool) -> bool {
        let location = Location::caller();
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("record a patch marker");
        let state = &mut *state;
        let versioning = &mut state.versioning;
        if let Some(decision) = versioning.patch_decisions.get(patch_id) {
            return *decision;
        }
        let in_history = versioning.patches_in_history.contains(patch_id);
        let issue_marker = !state.clock.replaying || in_history;
        let decision = deprecated || issue_marker;
        if issue_marker {
            let upsert = state.clock.flags.contains(&UPSERT_ON_PATCH_FLAG);
            let change_version = ChangeVersionMachine::after_patch(
                patch_id,
                &mut versioning.change_versions,
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
        versioning
            .patch_decisions
            .insert(patch_id.to_string(), decision);
        decision
    }

    /// The next number of the run's deterministic random sequence.
    ///
    /// The sequence is seeded from the run id recorded in the run's first event, so every
    /// replay of the run sees the same numbers.
    pub fn random_u64(&self) -> u64 {
        self.0.borrow_mut().rng.next_u64()
    }

    /// A side effect: `compute` runs when the code first gets here, and its value is recorded
    /// in history; on replay the recorded value is returned and `compute` does not run.
    #[track_caller]
    pub fn side_effect(&self, compute: impl FnOnce() -> Payload) -> Payload {
        let location = Location::caller();
        let recorded = {
            let mut state = self.0.borrow_mut();
            state.refuse_in_query("record a side effect");
            if state.clock.replaying {
                state.versioning.side_effects_in_history.pop_front()
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
        self.0.borrow().cancellation.requested
    }

    /// Whether the workflow's cancellation applies to code running now (requested, and not in
    /// a non-cancellable scope).
    pub fn cancellation_applies(&self) -> bool {
        self.0.borrow().cancellation.applies()
    }

    /// Registers `waker` to be woken when the workflow is asked to cancel.
    pub fn wait_for_cancel(&self, waker: &Waker) {
        self.0.borrow_mut().cancellation.waiters.register(waker);
    }

    /// Enters a non-cancellable scope for the duration of one poll; pair with
    /// [`exit_shield`](Self::exit_shield).
    pub fn enter_shield(&self) {
        self.0.borrow_mut().cancellation.shield_depth += 1;
    }

    /// Leaves a non-cancellable scope.
    pub fn exit_shield(&self) {
        let mut state = self.0.borrow_mut();
        state.cancellation.shield_depth = state.cancellation.shield_depth.saturating_sub(1);
    }

    /// Upserts memo fields of the workflow (`ModifyWorkflowProperties`); a null payload
    /// removes a field. [`memo`](Self::memo) reflects it at once.
    pub fn upsert_memo_at(
        &self,
        memo: HashMap<String, Payload>,
        location: &'static Location<'static>,
    ) {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("upsert the memo");
        state
            .commands
            .issue(ModifyPropertiesMachine { memo, location });
    }

    /// The run's memo now: what it started with, with the code's upserts applied.
    pub fn memo(&self) -> HashMap<String, Payload> {
        let state = self.0.borrow();
        apply_memo_upserts(
            state.info.memo.clone(),
            &state.commands.machines.modify_properties,
        )
    }

    /// Whether the server suggests continuing as new: the history passed its suggested length
    /// or size (`suggest_continue_as_new` of the current workflow task's started event).
    pub fn continue_as_new_suggested(&self) -> bool {
        self.0.borrow().clock.continue_as_new_suggested
    }

    /// The history's size in bytes up to the current workflow task, as the server counts it
    /// (0 when the server does not say).
    pub fn history_size_bytes(&self) -> u64 {
        self.0.borrow().clock.history_size_bytes
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

    /// The run's search attributes now: what it started with, with the code's upserts applied
    /// in order (an empty value unsets an attribute, as on the server).
    pub fn search_attributes(&self) -> HashMap<String, Payload> {
        let state = self.0.borrow();
        let mut attributes = state.info.search_attributes.clone();
        for upsert in &state.commands.machines.upserts {
            for (name, value) in &upsert.fields {
                if matches!(value.data.as_slice(), b"" | b"null" | b"[]") {
                    attributes.remove(name);
                } else {
                    attributes.insert(name.clone(), value.clone());
                }
            }
        }
        attributes
    }
}
