//! Local activities from workflow code: the request, what the worker reports back, and the
//! future of the result, which carries out retries that wait on a durable timer.

use super::{RunHandle, TimerHandle};
use crate::failure::Failure;
use crate::payload::Payload;
use crate::retry_policy::RetryPolicy;
use crate::workflow::machines::local_activity::{LocalActivityMachine, LocalResolution};
use crate::workflow::machines::MachineId;
use crate::workflow::state::RunState;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

/// Backoffs up to this long are waited out inside the workflow task; longer ones become a
/// durable timer (the default of Temporal's other SDKs).
pub const DEFAULT_LOCAL_RETRY_THRESHOLD: Duration = Duration::from_secs(60);

/// Timeouts and retries of a local activity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LocalActivityOptions {
    /// Limit for the whole activity, every attempt and backoff included.
    pub schedule_to_close: Option<Duration>,
    /// Limit for one attempt.
    pub start_to_close: Option<Duration>,
    /// Limit from scheduling to the start of the first attempt (the worker's own queue).
    pub schedule_to_start: Option<Duration>,
    /// How attempts are retried; unset is Temporal's default policy (1 s, doubling, at most
    /// 100 s, unlimited attempts within the timeouts).
    pub retry_policy: Option<RetryPolicy>,
    /// Backoffs longer than this wait on a durable timer instead of inside the task
    /// ([`DEFAULT_LOCAL_RETRY_THRESHOLD`] when unset).
    pub local_retry_threshold: Option<Duration>,
}

/// A local activity for the worker to run.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalActivityRequest {
    /// Its sequence number in the run (shared with activities, as in the other SDKs).
    pub seq: u32,
    /// The activity id (the seq as a string).
    pub activity_id: String,
    /// The activity type name.
    pub activity_type: String,
    /// One payload per argument.
    pub input: Vec<Payload>,
    /// Timeouts and retries.
    pub options: LocalActivityOptions,
    /// The attempt to run first (more than 1 after a timer backoff).
    pub attempt: u32,
    /// When the first attempt was scheduled, for an attempt after a timer backoff.
    pub original_schedule_time: Option<SystemTime>,
}

/// What running a local activity came to, as the worker reports it to the run.
#[derive(Debug, Clone)]
pub struct LocalActivityOutcome {
    /// The result, or the failure of the last attempt.
    pub result: Result<Vec<Payload>, Failure>,
    /// The last attempt's number.
    pub attempt: u32,
    /// Set when the next attempt is to run after a durable timer of this length.
    pub backoff: Option<Duration>,
    /// How long the attempts took, backoffs inside the task included.
    pub runtime: Duration,
    /// When the first attempt was scheduled.
    pub original_schedule_time: SystemTime,
}

/// What the code asks for: a local activity's type, arguments and options.
#[derive(Debug, Clone)]
pub struct LocalActivityCall {
    /// The activity type name.
    pub activity_type: String,
    /// One payload per argument.
    pub input: Vec<Payload>,
    /// Timeouts and retries; unset timeouts take the worker's default start-to-close.
    pub options: LocalActivityOptions,
}

impl RunHandle {
    /// Schedules a local activity: the worker runs it within this workflow task (or the next
    /// ones) and records its outcome as a marker.
    #[track_caller]
    pub fn schedule_local_activity(&self, call: LocalActivityCall) -> LocalActivityHandle {
        self.schedule_local_activity_at(call, Location::caller())
    }

    /// Like [`schedule_local_activity`](Self::schedule_local_activity), naming the workflow
    /// code location that issued it (reported in nondeterminism errors).
    pub fn schedule_local_activity_at(
        &self,
        mut call: LocalActivityCall,
        location: &'static Location<'static>,
    ) -> LocalActivityHandle {
        {
            let state = self.0.borrow();
            if call.options.start_to_close.is_none() && call.options.schedule_to_close.is_none() {
                call.options.start_to_close = state.default_activity_options.start_to_close;
            }
        }
        let index = self.issue_local_activity(&call, 1, None, location);
        LocalActivityHandle {
            run: self.clone(),
            call,
            location,
            stage: Stage::Running(index),
        }
    }

    fn issue_local_activity(
        &self,
        call: &LocalActivityCall,
        attempt: u32,
        original_schedule_time: Option<SystemTime>,
        location: &'static Location<'static>,
    ) -> usize {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("run a local activity");
        let machines = &state.commands.machines;
        // One sequence with activities: Temporal's SDKs number both from one counter.
        let seq = (machines.activities.len() + machines.local_activities.len()) as u32 + 1;
        let request = LocalActivityRequest {
            seq,
            activity_id: seq.to_string(),
            activity_type: call.activity_type.clone(),
            input: call.input.clone(),
            options: call.options.clone(),
            attempt,
            original_schedule_time,
        };
        let now = state.clock.now;
        let list = &mut state.commands.machines.local_activities;
        let index = list.len();
        list.push(LocalActivityMachine::new(request, now, location));
        resolve_local_activity(&mut state, index);
        index
    }
}

/// Resolves local activity `index` if its outcome is known, queueing its marker.
fn resolve_local_activity(state: &mut RunState, index: usize) {
    let replaying = state.clock.replaying;
    let machine = &mut state.commands.machines.local_activities[index];
    if let Some(complete_time) = machine.try_resolve(&mut state.local_activities, replaying) {
        state
            .commands
            .outbox
            .push_back(MachineId::LocalActivity(index));
        // The workflow's clock moves to the activity's completion, as in Temporal's core.
        if let Some(t) = complete_time.filter(|t| *t > state.clock.now) {
            state.clock.now = t;
        }
    }
}

/// At the start of an activation: local activities waiting for an outcome take it if it is
/// known now.
pub(crate) fn resolve_waiting_local_activities(state: &mut RunState) {
    for index in 0..state.commands.machines.local_activities.len() {
        resolve_local_activity(state, index);
    }
}

/// The local activities still waiting for an outcome: what the worker must run.
pub(crate) fn requested_local_activities(state: &RunState) -> Vec<LocalActivityRequest> {
    use crate::workflow::machines::local_activity::LocalActivityState;
    state
        .commands
        .machines
        .local_activities
        .iter()
        .filter(|m| m.state == LocalActivityState::Requested)
        .map(|m| m.request.clone())
        .collect()
}

enum Stage {
    Running(usize),
    /// Waiting out a long backoff; then attempt `attempt` is scheduled.
    Sleeping {
        timer: TimerHandle,
        attempt: u32,
        original_schedule_time: Option<SystemTime>,
    },
    Finished,
}

/// A local activity's eventual result, retries after durable timers included.
pub struct LocalActivityHandle {
    run: RunHandle,
    call: LocalActivityCall,
    location: &'static Location<'static>,
    stage: Stage,
}

impl Future for LocalActivityHandle {
    type Output = Result<Vec<Payload>, Failure>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.stage {
                Stage::Finished => return Poll::Pending,
                Stage::Running(index) => {
                    let polled = this.run.0.borrow_mut().commands.machines.local_activities[*index]
                        .result
                        .poll_take(cx);
                    match polled {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(LocalResolution::Done(result)) => {
                            this.stage = Stage::Finished;
                            return Poll::Ready(result);
                        }
                        Poll::Ready(LocalResolution::Backoff {
                            attempt,
                            backoff,
                            original_schedule_time,
                        }) => {
                            let timer = this.run.start_timer_at(backoff, this.location);
                            this.stage = Stage::Sleeping {
                                timer,
                                attempt,
                                original_schedule_time,
                            };
                        }
                    }
                }
                Stage::Sleeping {
                    timer,
                    attempt,
                    original_schedule_time,
                } => match Pin::new(timer).poll(cx) {
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(false) => {
                        this.stage = Stage::Finished;
                        return Poll::Ready(Err(Failure::canceled(
                            "local activity canceled while waiting to retry",
                        )));
                    }
                    Poll::Ready(true) => {
                        let (attempt, original) = (*attempt, *original_schedule_time);
                        let index = this.run.issue_local_activity(
                            &this.call,
                            attempt,
                            original,
                            this.location,
                        );
                        this.stage = Stage::Running(index);
                    }
                },
            }
        }
    }
}

impl fmt::Debug for LocalActivityHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match &self.stage {
            Stage::Running(index) => format!("{:?}", MachineId::LocalActivity(*index)),
            Stage::Sleeping { attempt, .. } => format!("waiting to run attempt {attempt}"),
            Stage::Finished => "finished".to_string(),
        };
        f.debug_struct("LocalActivityHandle")
            .field("activity_type", &self.call.activity_type)
            .field("stage", &stage)
            .finish()
    }
}
