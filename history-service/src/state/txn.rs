//! One transition of one run: the state being changed, the events it writes, and the effects
//! to apply once it is stored (task pushes, timers, calls on other runs).

use super::MutableState;
use crate::ids::RunKey;
use crate::proto::command::{
    ContinueAsNewWorkflowExecutionCommandAttributes, StartChildWorkflowExecutionCommandAttributes,
};
use crate::proto::history::history_event::Attributes;
use crate::proto::history::HistoryEvent;
use crate::proto::{common, enums, timestamp};
use crate::timers::TimerKind;

/// Placeholder for an activity close event's `started_event_id`: replaced, when the event is
/// written, by the id of the ActivityTaskStarted event written just before it (both may have
/// waited in the buffer, where events have no ids yet).
pub(crate) const PENDING_STARTED_ID: i64 = -1;

/// Something to do after the transition is stored.
#[derive(Debug, Clone)]
pub enum Effect {
    /// Put the run's workflow task on `queue`.
    WorkflowTask {
        /// The queue.
        queue: String,
        /// The task's stamp.
        stamp: u64,
    },
    /// Put an activity attempt on `queue`.
    ActivityTask {
        /// The queue.
        queue: String,
        /// The activity's scheduled event id.
        scheduled_event_id: i64,
        /// The attempt.
        attempt: i32,
    },
    /// Arm a timer.
    Timer {
        /// When (virtual ms).
        deadline_ms: i64,
        /// What for.
        kind: TimerKind,
    },
    /// Start a child workflow.
    StartChild {
        /// The parent's StartChildWorkflowExecutionInitiated event id.
        initiated_event_id: i64,
        /// The command.
        attributes: StartChildWorkflowExecutionCommandAttributes,
    },
    /// Signal another workflow.
    SignalExternal {
        /// The SignalExternalWorkflowExecutionInitiated event id.
        initiated_event_id: i64,
        /// Target namespace.
        namespace: String,
        /// Target execution (empty run id: the current run).
        execution: common::WorkflowExecution,
        /// Signal name.
        signal_name: String,
        /// Input.
        input: Option<common::Payloads>,
        /// Header.
        header: Option<common::Header>,
    },
    /// Ask another workflow to cancel.
    CancelExternal {
        /// The RequestCancelExternalWorkflowExecutionInitiated event id.
        initiated_event_id: i64,
        /// Target namespace.
        namespace: String,
        /// Target execution (empty run id: the current run).
        execution: common::WorkflowExecution,
    },
    /// Tell the parent how its child ended.
    NotifyParent {
        /// The parent run.
        parent: RunKey,
        /// The parent's initiated event id.
        initiated_event_id: i64,
        /// The child's execution.
        child: common::WorkflowExecution,
        /// The child's type.
        workflow_type: String,
        /// How it ended.
        outcome: ChildOutcome,
    },
    /// Apply parent close policies to children.
    CloseChildren {
        /// (namespace, workflow id, run id, policy) of each open child.
        children: Vec<(String, String, String, enums::ParentClosePolicy)>,
    },
    /// Start the next run of a workflow that continued as new.
    ContinueAsNew {
        /// The run id the new run gets.
        new_run_id: String,
        /// The command.
        attributes: ContinueAsNewWorkflowExecutionCommandAttributes,
    },
    /// Dispatch queries that were waiting as direct query tasks.
    DispatchQueries {
        /// Their ids.
        query_ids: Vec<u64>,
    },
    /// Fail queries (the run closed or tasks keep failing).
    FailQueries {
        /// Their ids.
        query_ids: Vec<u64>,
        /// Why.
        message: String,
    },
}

/// How a child ended, as its parent records it.
#[derive(Debug, Clone)]
pub enum ChildOutcome {
    /// Completed with a result.
    Completed(Option<common::Payloads>),
    /// Failed.
    Failed(
        Option<Box<crate::proto::failure::Failure>>,
        enums::RetryState,
    ),
    /// Canceled.
    Canceled(Option<common::Payloads>),
    /// Timed out.
    TimedOut(enums::RetryState),
    /// Terminated.
    Terminated,
}

/// One transition of one run.
#[derive(Debug)]
pub struct Txn {
    /// Virtual time of the transition.
    pub now_ms: i64,
    /// The state being changed.
    pub state: MutableState,
    /// Events written by this transition, in order.
    pub events: Vec<HistoryEvent>,
    /// Effects to apply after storing.
    pub effects: Vec<Effect>,
    last_activity_started: i64,
}

impl Txn {
    /// Starts a transition of `state` at `now_ms`.
    pub fn new(now_ms: i64, state: MutableState) -> Txn {
        Txn {
            now_ms,
            state,
            events: Vec::new(),
            effects: Vec::new(),
            last_activity_started: 0,
        }
    }

    /// The run.
    pub fn key(&self) -> &RunKey {
        &self.state.key
    }

    /// Queues an effect.
    pub fn effect(&mut self, effect: Effect) {
        self.effects.push(effect);
    }

    /// Writes an event now and returns its id.
    pub fn write(&mut self, mut attributes: Attributes) -> i64 {
        let id = self.state.next_event_id;
        self.state.next_event_id += 1;
        patch_started_id(&mut attributes, self.last_activity_started);
        if let Attributes::ActivityTaskStartedEventAttributes(_) = &attributes {
            self.last_activity_started = id;
        }
        let event_type = super::event_type_of(&attributes);
        self.events.push(HistoryEvent {
            event_id: id,
            event_time: Some(timestamp(self.now_ms)),
            event_type: event_type as i32,
            task_id: id,
            attributes: Some(attributes),
            ..Default::default()
        });
        id
    }

    /// An event from outside the current workflow task (a signal, an activity result, a timer):
    /// buffered while a workflow task is started, written at once otherwise. Returns whether it
    /// was written.
    pub fn arrive(&mut self, attributes: Attributes) -> bool {
        if self.state.wft.as_ref().is_some_and(|wft| wft.started) {
            let event_type = super::event_type_of(&attributes);
            self.state.buffered.push(HistoryEvent {
                event_time: Some(timestamp(self.now_ms)),
                event_type: event_type as i32,
                attributes: Some(attributes),
                ..Default::default()
            });
            false
        } else {
            self.write(attributes);
            true
        }
    }

    /// Writes the buffered events; returns whether there were any.
    pub fn flush_buffer(&mut self) -> bool {
        let buffered = std::mem::take(&mut self.state.buffered);
        let any = !buffered.is_empty();
        for event in buffered {
            if let Some(attributes) = event.attributes {
                self.write(attributes);
            }
        }
        any
    }
}

fn patch_started_id(attributes: &mut Attributes, started: i64) {
    let slot = match attributes {
        Attributes::ActivityTaskCompletedEventAttributes(a) => &mut a.started_event_id,
        Attributes::ActivityTaskFailedEventAttributes(a) => &mut a.started_event_id,
        Attributes::ActivityTaskTimedOutEventAttributes(a) => &mut a.started_event_id,
        Attributes::ActivityTaskCanceledEventAttributes(a) => &mut a.started_event_id,
        _ => return,
    };
    if *slot == PENDING_STARTED_ID {
        *slot = started;
    }
}
