//! The per-run coordinator: walks a history, drives the workflow code at each workflow task,
//! and matches the commands the code issues against the command events the history recorded.
//!
//! The same engine serves live workflow tasks (the history ends with the task to answer) and
//! replay of recorded histories (the history may end anywhere).
//!
//! [`WorkflowRun`]'s impl is split by idea: this file walks the history and activates the
//! code; `matching` pairs command events with the commands the code issued; `routing`
//! takes every other event to the machine it reports on; `queries` has what reaches the run
//! from outside its workflow function (signals, queries, the built-in queries).

mod matching;
mod queries;
mod routing;
#[cfg(test)]
mod tests;
mod updates;
#[cfg(test)]
mod updates_tests;

pub use queries::{answer_query, QueryFailure, METADATA_QUERY, STACK_TRACE_QUERY};

use super::definition::{WorkflowFactory, WorkflowFuture, WorkflowHandlers};
use super::error::{TaskFailure, TaskFailureKind};
use super::executor::{Executor, Progress, Stopped};
use super::handle::{
    requested_local_activities, resolve_waiting_local_activities, LocalActivityOutcome,
    LocalActivityRequest, RunHandle,
};
use super::info::WorkflowInfo;
use super::machines::completion::CompletionMachine;
use super::machines::local_activity::recorded_in_task;
use super::machines::side_effect::recorded_side_effect;
use super::options::{ActivityOptions, WorkflowExit};
use super::state::{Rng, RunState};
use crate::history::events::{event_type_name, is_command_event, patch_marker};
use crate::payload::{self, Payload};
use crate::proto::command::Command;
use crate::proto::enums::EventType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

/// SDK flags of Temporal's core that Chronicle knows. A history using any other flag was
/// written by a newer SDK whose behaviour we cannot promise to reproduce.
/// 1 IdAndTypeDeterminismChecks, 2 UpsertSearchAttributeOnPatch, 3 MoveTerminalCommands,
/// 4 ImprovedHeartbeatHeuristic.
pub const KNOWN_CORE_FLAGS: &[u32] = &[1, 2, 3, 4];
/// Flags Chronicle's own behaviour corresponds to, recorded on a run's first workflow task.
pub const USED_CORE_FLAGS: &[u32] = &[1, 2, 3];

/// What a run needs besides its history.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The workflow id.
    pub workflow_id: String,
    /// The run id.
    pub run_id: String,
    /// The namespace.
    pub namespace: String,
    /// Options applied to activities that set no timeout.
    pub default_activity_options: ActivityOptions,
}

/// The outcome of processing a history up to its last workflow task.
#[derive(Debug)]
pub struct TaskCompletion {
    /// New commands for the server, in the order the code issued them.
    pub commands: Vec<Command>,
    /// Whether no earlier workflow task of this run completed (the first task carries SDK
    /// metadata).
    pub first_task: bool,
    /// Whether the workflow function has returned.
    pub finished: bool,
    /// Local activities the worker must run before the task can be answered (see
    /// [`WorkflowRun::set_local_outcomes`]).
    pub local_activities: Vec<LocalActivityRequest>,
    /// Ask the server for a new workflow task at once (a heartbeat while local activities run).
    pub force_new_task: bool,
    /// Protocol messages for the server (update acceptances, rejections, responses); the
    /// `ProtocolMessage` commands among `commands` name them.
    pub messages: Vec<crate::proto::protocol::Message>,
}

/// One workflow run being driven through its history.
pub struct WorkflowRun {
    state: Rc<RefCell<RunState>>,
    /// The run's input, until the instance is made from it.
    input: Option<Vec<Payload>>,
    /// Signal and query handlers, from the moment the instance exists.
    handlers: Option<Box<dyn WorkflowHandlers>>,
    /// The workflow function until its first activation.
    unpolled: Option<WorkflowFuture>,
    executor: Option<Executor>,
    finished: bool,
    /// Whether any workflow task of this run completed before the one being answered.
    task_completed_before: bool,
    /// The protocol messages of the task being answered (update requests).
    messages: Vec<crate::proto::protocol::Message>,
}

impl fmt::Debug for WorkflowRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("WorkflowRun")
            .field("workflow_id", &state.info.workflow_id)
            .field("run_id", &state.info.run_id)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl WorkflowRun {
    /// Prepares a run from its first event (`WorkflowExecutionStarted`).
    pub fn new(history: &[HistoryEvent], context: RunContext) -> Result<Self, TaskFailure> {
        let first = history
            .first()
            .ok_or_else(|| TaskFailure::bad_history("history is empty"))?;
        let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) = &first.attributes
        else {
            return Err(TaskFailure::bad_history(format!(
                "first event is {} instead of WorkflowExecutionStarted",
                event_type_name(first)
            )));
        };
        let start_time = event_time(first);
        let info = WorkflowInfo::from_started(
            started,
            start_time,
            context.workflow_id,
            context.run_id,
            context.namespace,
        );
        let seed_source = [
            &started.original_execution_run_id,
            &started.first_execution_run_id,
            &info.run_id,
        ]
        .into_iter()
        .find(|id| !id.is_empty())
        .cloned()
        .unwrap_or_default();
        let state = RunState::new(
            info,
            start_time,
            context.default_activity_options,
            Rng::seeded(&seed_source),
        );
        Ok(Self {
            state: Rc::new(RefCell::new(state)),
            input: Some(payload::from_payloads(started.input.clone())),
            handlers: None,
            unpolled: None,
            executor: None,
            finished: false,
            task_completed_before: false,
            messages: Vec::new(),
        })
    }

    /// Walks the whole history. Returns the commands of the last workflow task when the history
    /// ends with one still to answer, `None` when every task in it was already completed.
    pub fn process(
        &mut self,
        factory: &dyn WorkflowFactory,
        events: &[HistoryEvent],
    ) -> Result<Option<TaskCompletion>, TaskFailure> {
        // Events after the last completed workflow task are new to the workflow: what they do
        // is seen for the first time (and logged) now.
        // Event 0 is WorkflowExecutionStarted, read in `new`.
        self.walk(factory, events, 1)
    }

    /// Continues a run that answered a workflow task with the events that followed that task
    /// (a sticky task's history): `events` starts with the task's `WorkflowTaskCompleted`,
    /// whose command events are matched against the commands the run sent, and goes on to the
    /// next task to answer. The caller checks that the event ids continue from the run's last
    /// `WorkflowTaskStarted`.
    pub fn resume(
        &mut self,
        factory: &dyn WorkflowFactory,
        events: &[HistoryEvent],
    ) -> Result<Option<TaskCompletion>, TaskFailure> {
        let completed = events
            .first()
            .filter(|e| e.event_type == EventType::WorkflowTaskCompleted as i32)
            .ok_or_else(|| {
                TaskFailure::bad_history("a resumed history must start with WorkflowTaskCompleted")
            })?;
        let flags = check_sdk_flags(completed)?;
        self.state.borrow_mut().clock.flags.extend(flags);
        let next = self.match_completed_task(events, 0)?;
        self.walk(factory, events, next)
    }

    /// Walks `events` from index `from`; see [`process`](Self::process).
    fn walk(
        &mut self,
        factory: &dyn WorkflowFactory,
        events: &[HistoryEvent],
        from: usize,
    ) -> Result<Option<TaskCompletion>, TaskFailure> {
        let completed = EventType::WorkflowTaskCompleted as i32;
        let new_from = events
            .iter()
            .rposition(|e| e.event_type == completed)
            .map_or(0, |last| last + 1);
        let mut i = from;
        while i < events.len() {
            let event = &events[i];
            let kind = EventType::try_from(event.event_type).unwrap_or(EventType::Unspecified);
            if kind == EventType::WorkflowTaskStarted {
                let next = events.get(i + 1).map(|e| e.event_type);
                if next == Some(EventType::WorkflowTaskCompleted as i32) {
                    let flags = check_sdk_flags(&events[i + 1])?;
                    let commands = command_events(events, i + 1);
                    {
                        let mut state = self.state.borrow_mut();
                        state.clock.flags.extend(flags);
                        // What `patched` returns depends on the markers this task recorded.
                        let versioning = &mut state.versioning;
                        versioning.patches_in_history = commands
                            .iter()
                            .filter_map(patch_marker)
                            .map(|p| p.id)
                            .collect();
                        versioning.side_effects_in_history =
                            commands.iter().filter_map(recorded_side_effect).collect();
                        state.local_activities.recorded = recorded_in_task(commands);
                    }
                    self.deliver_accepted(factory, commands)?;
                    self.activate(factory, event, true)?;
                    i = self.match_completed_task(events, i + 1)?;
                    continue;
                }
                if next.is_none() {
                    if !self.task_completed_before {
                        // The first task records the flags this version uses.
                        self.state.borrow_mut().clock.flags.extend(USED_CORE_FLAGS);
                    }
                    {
                        let mut state = self.state.borrow_mut();
                        state.local_activities.recorded.clear();
                        let versioning = &mut state.versioning;
                        versioning.patches_in_history.clear();
                        versioning.side_effects_in_history.clear();
                    }
                    self.state.borrow_mut().clock.replaying = false;
                    self.deliver_messages(factory)?;
                    self.activate(factory, event, false)?;
                    let messages = self.outgoing_messages();
                    let state = self.state.borrow();
                    return Ok(Some(TaskCompletion {
                        commands: state.commands.unsent(),
                        first_task: !self.task_completed_before,
                        finished: self.finished,
                        local_activities: requested_local_activities(&state),
                        force_new_task: false,
                        messages,
                    }));
                }
                // A failed or timed-out attempt: its events reach the code at the next one.
            } else if is_command_event(event) {
                return Err(TaskFailure::bad_history(format!(
                    "event {} ({}) is a command event outside a completed workflow task",
                    event.event_id,
                    event_type_name(event)
                )));
            } else {
                self.apply_event(factory, event, i >= new_from)?;
            }
            i += 1;
        }
        Ok(None)
    }

    /// Matches the command events after the `WorkflowTaskCompleted` at `events[at]` with the
    /// commands the code issued in that task; returns the index of the event after them.
    fn match_completed_task(
        &mut self,
        events: &[HistoryEvent],
        at: usize,
    ) -> Result<usize, TaskFailure> {
        self.task_completed_before = true;
        let commands = command_events(events, at);
        let mut skipped_patch = false;
        for command_event in commands {
            skipped_patch = self.match_command_event(command_event, skipped_patch)?;
        }
        let next = at + 1 + commands.len();
        self.check_all_matched(events.get(next).or(events.last()))?;
        Ok(next)
    }

    /// Runs the workflow code for one workflow task.
    fn activate(
        &mut self,
        factory: &dyn WorkflowFactory,
        task_started: &HistoryEvent,
        replaying: bool,
    ) -> Result<(), TaskFailure> {
        {
            let mut state = self.state.borrow_mut();
            state.clock.now = event_time(task_started);
            state.clock.history_length = task_started.event_id;
            state.clock.replaying = replaying;
            if let Some(Attributes::WorkflowTaskStartedEventAttributes(a)) =
                &task_started.attributes
            {
                state.clock.continue_as_new_suggested = a.suggest_continue_as_new;
                state.clock.history_size_bytes = u64::try_from(a.history_size_bytes).unwrap_or(0);
            }
            resolve_waiting_local_activities(&mut state);
            // Signals and resolutions applied since the last activation may satisfy a
            // `wait_until` that no one else would wake.
            state.change_waiters.wake_all();
        }
        if self.finished {
            return Ok(());
        }
        self.instantiate(factory);
        if let Some(future) = self.unpolled.take() {
            self.executor = Some(Executor::new(future));
        }
        let Some(executor) = self.executor.as_mut() else {
            return Ok(());
        };
        let state = self.state.clone();
        let mut spawned = move || std::mem::take(&mut state.borrow_mut().handlers.spawned);
        let progress = executor.run_until_blocked(&mut spawned);
        // An async signal handler's error ends the run as the workflow function's would.
        let handler_failure = self.state.borrow_mut().handlers.failure.take();
        let progress = match (progress, handler_failure) {
            (Ok(Progress::Blocked), Some(failure)) => {
                Ok(Progress::Finished(WorkflowExit::Failed(failure)))
            }
            (progress, _) => progress,
        };
        match progress {
            Ok(Progress::Blocked) => Ok(()),
            Ok(Progress::Finished(result)) => {
                self.warn_unfinished_handlers(&result);
                self.finished = true;
                self.executor = None;
                let mut state = self.state.borrow_mut();
                state.handlers.spawned.clear();
                state.commands.issue(CompletionMachine::new(result));
                Ok(())
            }
            Err(Stopped::Panicked(message)) => {
                Err(TaskFailure::new(TaskFailureKind::Panic(message)))
            }
            Err(Stopped::Livelocked { polls }) => {
                Err(TaskFailure::new(TaskFailureKind::Livelock { polls }))
            }
        }
    }

    /// Outcomes of local activities the worker ran for the task being answered, by seq: a run
    /// processed after this resolves them and records their markers.
    pub fn set_local_outcomes(&mut self, outcomes: HashMap<u32, LocalActivityOutcome>) {
        self.state.borrow_mut().local_activities.executed = outcomes;
    }

    /// Whether the workflow function has returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Makes the workflow instance (state, handlers, unpolled function) if it does not exist yet.
    fn instantiate(&mut self, factory: &dyn WorkflowFactory) {
        if let Some(input) = self.input.take() {
            let instance = factory.instantiate(RunHandle(self.state.clone()), input);
            self.handlers = Some(instance.handlers);
            self.unpolled = Some(instance.future);
        }
    }
}

/// The command events that follow the `WorkflowTaskCompleted` at `events[completed]`.
fn command_events(events: &[HistoryEvent], completed: usize) -> &[HistoryEvent] {
    let after = events.get(completed + 1..).unwrap_or_default();
    &after[..after.iter().take_while(|e| is_command_event(e)).count()]
}

/// The SDK flags a `WorkflowTaskCompleted` records, all of which must be known.
fn check_sdk_flags(task_completed: &HistoryEvent) -> Result<Vec<u32>, TaskFailure> {
    let Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) = &task_completed.attributes
    else {
        return Ok(Vec::new());
    };
    let Some(metadata) = &a.sdk_metadata else {
        return Ok(Vec::new());
    };
    match metadata
        .core_used_flags
        .iter()
        .find(|f| !KNOWN_CORE_FLAGS.contains(f))
    {
        None => Ok(metadata.core_used_flags.clone()),
        Some(flag) => Err(TaskFailure::new(TaskFailureKind::Unsupported(format!(
            "event {} records SDK flag {flag}, unknown to this version of Chronicle",
            task_completed.event_id
        )))),
    }
}

fn event_time(event: &HistoryEvent) -> SystemTime {
    event
        .event_time
        .as_ref()
        .map(crate::proto::system_time)
        .unwrap_or(UNIX_EPOCH)
}
