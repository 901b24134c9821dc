//! Scheduling activities from workflow code, and the future of an activity's result.

use super::RunHandle;
use crate::failure::Failure;
use crate::payload::Payload;
use crate::workflow::machines::activity::ActivityMachine;
use crate::workflow::machines::MachineId;
use crate::workflow::options::ActivityOptions;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

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

impl RunHandle {
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
        // One sequence with local activities, as in Temporal's SDKs.
        let machines = &state.commands.machines;
        let seq = (machines.activities.len() + machines.local_activities.len()) as u32 + 1;
        let machine = ActivityMachine::new(
            seq,
            request.activity_type,
            request.input,
            options,
            &state.info.task_queue,
            location,
        );
        let index = state.issue_cancellable(machine);
        ActivityHandle {
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
        self.run
            .0
            .borrow_mut()
            .commands
            .cancel::<ActivityMachine>(self.index);
    }
}

impl Future for ActivityHandle {
    type Output = Result<Vec<Payload>, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.activities[self.index]
            .result
            .poll_take(cx)
    }
}

impl fmt::Debug for ActivityHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ActivityHandle")
            .field(&MachineId::Activity(self.index))
            .finish()
    }
}
