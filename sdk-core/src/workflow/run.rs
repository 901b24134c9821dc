//! The per-run coordinator: walks a history, drives the workflow code at each workflow task,
//! and matches the commands the code issues against the command events the history recorded.
//!
//! The same engine serves live workflow tasks (the history ends with the task to answer) and
//! replay of recorded histories (the history may end anywhere).

use super::definition::{WorkflowFactory, WorkflowFuture, WorkflowHandlers, WorkflowInfo};
use super::error::{Nondeterminism, TaskFailure, TaskFailureKind};
use super::executor::{Executor, Progress};
use super::machines::activity::ActivityOptions;
use super::machines::completion::CompletionMachine;
use super::machines::patch::{is_change_version_upsert, patch_marker};
use super::machines::side_effect::recorded_side_effect;
use super::machines::MachineId;
use super::state::{RunHandle, RunState};
use crate::history::events::{describe_event, event_type_name, initiator, is_command_event};
use crate::payload;
use crate::proto::command::Command;
use crate::proto::enums::EventType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::cell::RefCell;
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
}

/// One workflow run being driven through its history.
pub struct WorkflowRun {
    pub(super) state: Rc<RefCell<RunState>>,
    /// The run's input, until the instance is made from it.
    input: Option<Vec<crate::payload::Payload>>,
    /// Signal and query handlers, from the moment the instance exists.
    pub(super) handlers: Option<Box<dyn WorkflowHandlers>>,
    /// The workflow function until its first activation.
    unpolled: Option<WorkflowFuture>,
    executor: Option<Executor>,
    finished: bool,
    /// Whether any workflow task of this run completed before the one being answered.
    task_completed_before: bool,
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
        let info = WorkflowInfo {
            workflow_id: context.workflow_id,
            run_id: context.run_id,
            workflow_type: started
                .workflow_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            namespace: context.namespace,
            task_queue: started
                .task_queue
                .as_ref()
                .map(|q| q.name.clone())
                .unwrap_or_default(),
            attempt: started.attempt.max(1) as u32,
            start_time,
            first_execution_run_id: started.first_execution_run_id.clone(),
            continued_from_run_id: Some(started.continued_execution_run_id.clone())
                .filter(|r| !r.is_empty()),
            execution_timeout: started
                .workflow_execution_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            run_timeout: started
                .workflow_run_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            task_timeout: started
                .workflow_task_timeout
                .as_ref()
                .map(crate::proto::std_duration),
            memo: started
                .memo
                .as_ref()
                .map(|m| m.fields.clone())
                .unwrap_or_default(),
            search_attributes: started
                .search_attributes
                .as_ref()
                .map(|s| s.indexed_fields.clone())
                .unwrap_or_default(),
        };
        let mut state = RunState::new(info, start_time, context.default_activity_options);
        let seed_source = [
            &started.original_execution_run_id,
            &started.first_execution_run_id,
            &state.info.run_id,
        ]
        .into_iter()
        .find(|id| !id.is_empty())
        .cloned()
        .unwrap_or_default();
        state.random_state = randomness_seed(&seed_source);
        Ok(Self {
            state: Rc::new(RefCell::new(state)),
            input: Some(payload::from_payloads(started.input.clone())),
            handlers: None,
            unpolled: None,
            executor: None,
            finished: false,
            task_completed_before: false,
        })
    }

    /// Walks the whole history. Returns the commands of the last workflow task when the history
    /// ends with one still to answer, `None` when every task in it was already completed.
    pub fn process(
        &mut self,
        factory: &dyn WorkflowFactory,
        events: &[HistoryEvent],
    ) -> Result<Option<TaskCompletion>, TaskFailure> {
        let mut i = 1; // event 0 is WorkflowExecutionStarted, read in `new`
        while i < events.len() {
            let event = &events[i];
            let kind = EventType::try_from(event.event_type).unwrap_or(EventType::Unspecified);
            if kind == EventType::WorkflowTaskStarted {
                let next = events.get(i + 1).map(|e| e.event_type);
                if next == Some(EventType::WorkflowTaskCompleted as i32) {
                    let flags = check_sdk_flags(&events[i + 1])?;
                    let commands = &events[i + 2..];
                    let commands =
                        &commands[..commands.iter().take_while(|e| is_command_event(e)).count()];
                    {
                        let mut state = self.state.borrow_mut();
                        state.flags.extend(flags);
                        // What `patched` returns depends on the markers this task recorded.
                        state.patches_in_history = commands
                            .iter()
                            .filter_map(patch_marker)
                            .map(|p| p.id)
                            .collect();
                        state.side_effects_in_history =
                            commands.iter().filter_map(recorded_side_effect).collect();
                    }
                    self.activate(factory, event, true)?;
                    self.task_completed_before = true;
                    let mut skipped_patch = false;
                    for command_event in commands {
                        skipped_patch = self.match_command_event(command_event, skipped_patch)?;
                    }
                    i += 2 + commands.len();
                    self.check_all_matched(events.get(i).or(events.last()))?;
                    continue;
                }
                if next.is_none() {
                    if !self.task_completed_before {
                        // The first task records the flags this version uses.
                        self.state.borrow_mut().flags.extend(USED_CORE_FLAGS);
                    }
                    {
                        let mut state = self.state.borrow_mut();
                        state.patches_in_history.clear();
                        state.side_effects_in_history.clear();
                    }
                    self.activate(factory, event, false)?;
                    let commands = self.state.borrow().commands.unsent();
                    return Ok(Some(TaskCompletion {
                        commands,
                        first_task: !self.task_completed_before,
                        finished: self.finished,
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
                self.apply_event(factory, event)?;
            }
            i += 1;
        }
        Ok(None)
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
            state.now = event_time(task_started);
            state.history_length = task_started.event_id;
            state.replaying = replaying;
            // Signals and resolutions applied since the last activation may satisfy a
            // `wait_until` that no one else would wake.
            state.wake_change_waiters();
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
        match executor.run_until_blocked() {
            Ok(Progress::Blocked) => Ok(()),
            Ok(Progress::Finished(result)) => {
                self.finished = true;
                self.executor = None;
                let mut state = self.state.borrow_mut();
                state.commands.issue(CompletionMachine::new(result));
                Ok(())
            }
            Err(panic) => Err(TaskFailure::new(TaskFailureKind::Panic(panic))),
        }
    }

    /// Whether the workflow function has returned.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Makes the workflow instance (state, handlers, unpolled function) if it does not exist yet.
    pub(super) fn instantiate(&mut self, factory: &dyn WorkflowFactory) {
        if let Some(input) = self.input.take() {
            let instance = factory.instantiate(RunHandle(self.state.clone()), input);
            self.handlers = Some(instance.handlers);
            self.unpolled = Some(instance.future);
        }
    }

    /// Matches one recorded command event with the oldest unmatched command of the code.
    ///
    /// A deprecated patch's marker that the code no longer issues is skipped, with the
    /// `TemporalChangeVersion` upsert that follows it (`after_skipped_patch`); returns whether
    /// this event was such a marker.
    fn match_command_event(
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
    fn check_all_matched(&self, at: Option<&HistoryEvent>) -> Result<(), TaskFailure> {
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

    /// Applies an event that resolves something the code waits on.
    fn apply_event(
        &mut self,
        factory: &dyn WorkflowFactory,
        event: &HistoryEvent,
    ) -> Result<(), TaskFailure> {
        use Attributes as A;
        if let Some(A::WorkflowExecutionSignaledEventAttributes(signal)) = &event.attributes {
            self.instantiate(factory);
            return self.deliver_signal(event.event_id, signal);
        }
        let mut state = self.state.borrow_mut();
        if let Some(initiator) = initiator(event) {
            let id = state
                .commands
                .by_event_id(initiator)
                .ok_or_else(|| unknown_initiator(event, initiator))?;
            let effects = state.commands.machines.get_mut(id).on_event(event)?;
            if let Some(machine) = effects.issue {
                state.commands.issue(machine);
            }
            return Ok(());
        }
        match &event.attributes {
            Some(
                A::WorkflowTaskScheduledEventAttributes(_)
                | A::WorkflowTaskFailedEventAttributes(_)
                | A::WorkflowTaskTimedOutEventAttributes(_)
                | A::WorkflowTaskCompletedEventAttributes(_)
                | A::WorkflowExecutionTerminatedEventAttributes(_)
                | A::WorkflowExecutionTimedOutEventAttributes(_),
            ) => Ok(()),
            Some(A::WorkflowExecutionCancelRequestedEventAttributes(_)) => {
                state.request_cancel();
                Ok(())
            }
            _ if event.worker_may_ignore => Ok(()),
            _ => Err(TaskFailure::new(TaskFailureKind::Unsupported(format!(
                "event {} ({})",
                event.event_id,
                event_type_name(event)
            )))),
        }
    }
}

fn unknown_initiator(event: &HistoryEvent, initiator: i64) -> TaskFailure {
    TaskFailure::bad_history(format!(
        "event {} ({}) reports on event {initiator}, which recorded no command of this run",
        event.event_id,
        event_type_name(event)
    ))
}

fn nondeterminism(
    event: &HistoryEvent,
    code: String,
    location: Option<&'static std::panic::Location<'static>>,
) -> TaskFailure {
    TaskFailure::new(TaskFailureKind::Nondeterminism(Nondeterminism {
        event_id: event.event_id,
        history: describe_event(event),
        code,
        location,
    }))
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

/// A stable 64-bit hash (FNV-1a) of the run id: the seed of the run's random numbers. Not
/// `std`'s hasher, whose algorithm may change between Rust releases.
fn randomness_seed(run_id: &str) -> u64 {
    run_id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn event_time(event: &HistoryEvent) -> SystemTime {
    event
        .event_time
        .as_ref()
        .map(crate::proto::system_time)
        .unwrap_or(UNIX_EPOCH)
}
