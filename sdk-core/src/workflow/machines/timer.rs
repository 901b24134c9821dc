//! Durable timers.
//!
//! | state         | on                                  | goes to        | effect                     |
//! |---------------|-------------------------------------|----------------|----------------------------|
//! | Created       | `TimerStarted` matching the command | Started        |                            |
//! | Created       | code cancels before it is sent      | Canceled       | command withdrawn, resolves|
//! | Started       | `TimerFired`                        | Fired          | resolves as fired          |
//! | Started       | code cancels                        | CancelIssued   | `CancelTimer`, resolves    |
//! | CancelIssued  | `TimerCanceled` matching the cancel | Canceled       |                            |
//!
//! Any other event reporting on the timer fails the task (a `TimerFired` after the cancel, too:
//! the server drops the fire of a timer canceled in the same task).

use super::{unexpected, Cancel, Cancellable, CommandMachine, Effects};
use crate::proto::command::{
    command, CancelTimerCommandAttributes, Command, StartTimerCommandAttributes,
};
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use crate::workflow::error::TaskFailure;
use crate::workflow::slot::Slot;
use std::panic::Location;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerState {
    Created,
    Started,
    Fired,
    CancelIssued,
    Canceled,
}

pub(crate) struct TimerMachine {
    pub timer_id: String,
    pub duration: Duration,
    pub state: TimerState,
    /// `true` fired, `false` canceled.
    pub outcome: Slot<bool>,
    pub location: &'static Location<'static>,
    /// Started inside a non-cancellable scope: a cancellation of the workflow leaves it alone.
    pub shielded: bool,
}

impl TimerMachine {
    pub fn new(seq: u32, duration: Duration, location: &'static Location<'static>) -> Self {
        Self {
            timer_id: seq.to_string(),
            // Temporal rejects zero-length timers; other SDKs round up the same way.
            duration: duration.max(Duration::from_millis(1)),
            state: TimerState::Created,
            outcome: Slot::default(),
            location,
            shielded: false,
        }
    }
}

impl CommandMachine for TimerMachine {
    fn command(&self) -> Command {
        let (command_type, attributes) = if self.state == TimerState::CancelIssued {
            (
                CommandType::CancelTimer,
                command::Attributes::CancelTimerCommandAttributes(CancelTimerCommandAttributes {
                    timer_id: self.timer_id.clone(),
                }),
            )
        } else {
            (
                CommandType::StartTimer,
                command::Attributes::StartTimerCommandAttributes(StartTimerCommandAttributes {
                    timer_id: self.timer_id.clone(),
                    start_to_fire_timeout: Some(crate::proto::duration(self.duration)),
                }),
            )
        };
        Command {
            command_type: command_type as i32,
            attributes: Some(attributes),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        if self.state == TimerState::CancelIssued {
            format!("CancelTimer(timer_id={})", self.timer_id)
        } else {
            format!(
                "StartTimer(timer_id={}, {:?})",
                self.timer_id, self.duration
            )
        }
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        match (self.state, &event.attributes) {
            (TimerState::Created, Some(Attributes::TimerStartedEventAttributes(a)))
                if a.timer_id == self.timer_id =>
            {
                self.state = TimerState::Started;
                true
            }
            (TimerState::CancelIssued, Some(Attributes::TimerCanceledEventAttributes(a)))
                if a.timer_id == self.timer_id =>
            {
                self.state = TimerState::Canceled;
                true
            }
            _ => false,
        }
    }

    fn on_event(&mut self, event: &HistoryEvent) -> Result<Effects, TaskFailure> {
        match (self.state, &event.attributes) {
            (TimerState::Started, Some(Attributes::TimerFiredEventAttributes(_))) => {
                self.state = TimerState::Fired;
                self.outcome.resolve(true);
                Ok(Effects::none())
            }
            (state, _) => Err(unexpected(
                event,
                &format!("timer {}", self.timer_id),
                state,
            )),
        }
    }

    fn waiting_on(&self) -> Option<String> {
        (!self.outcome.is_resolved()).then(|| {
            format!(
                "timer {} ({:?}), started at {}:{}",
                self.timer_id,
                self.duration,
                self.location.file(),
                self.location.line()
            )
        })
    }
}

impl Cancellable for TimerMachine {
    /// Code asked to cancel.
    fn cancel(&mut self) -> Cancel {
        match self.state {
            TimerState::Created => {
                self.state = TimerState::Canceled;
                self.outcome.resolve(false);
                Cancel::Withdraw
            }
            TimerState::Started => {
                self.state = TimerState::CancelIssued;
                self.outcome.resolve(false);
                Cancel::Send
            }
            TimerState::Fired | TimerState::CancelIssued | TimerState::Canceled => Cancel::Nothing,
        }
    }

    fn shielded(&self) -> bool {
        self.shielded
    }

    fn shield(&mut self) {
        self.shielded = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::builder::event;
    use crate::proto::history::{
        TimerCanceledEventAttributes, TimerFiredEventAttributes, TimerStartedEventAttributes,
    };

    fn started(id: &str) -> HistoryEvent {
        event(
            5,
            Attributes::TimerStartedEventAttributes(TimerStartedEventAttributes {
                timer_id: id.into(),
                ..Default::default()
            }),
        )
    }

    fn fired(id: &str) -> HistoryEvent {
        event(
            7,
            Attributes::TimerFiredEventAttributes(TimerFiredEventAttributes {
                timer_id: id.into(),
                started_event_id: 5,
            }),
        )
    }

    fn canceled(id: &str) -> HistoryEvent {
        event(
            7,
            Attributes::TimerCanceledEventAttributes(TimerCanceledEventAttributes {
                timer_id: id.into(),
                started_event_id: 5,
                ..Default::default()
            }),
        )
    }

    fn timer() -> TimerMachine {
        TimerMachine::new(1, Duration::from_secs(2), Location::caller())
    }

    /// One row of the table at the top of this file.
    enum Step {
        Match(HistoryEvent, bool),
        Event(HistoryEvent, bool),
        Cancel(Cancel),
    }

    fn run(steps: Vec<Step>) -> TimerMachine {
        let mut m = timer();
        for (i, step) in steps.into_iter().enumerate() {
            match step {
                Step::Match(e, ok) => assert_eq!(m.matches_command_event(&e), ok, "step {i}"),
                Step::Event(e, ok) => assert_eq!(m.on_event(&e).is_ok(), ok, "step {i}"),
                Step::Cancel(c) => assert_eq!(m.cancel(), c, "step {i}"),
            }
        }
        m
    }

    #[test]
    fn transitions_follow_the_table() {
        use Step::*;
        let table: Vec<(Vec<Step>, TimerState, Option<bool>)> = vec![
            (vec![Match(started("1"), true)], TimerState::Started, None),
            (
                vec![Match(started("1"), true), Event(fired("1"), true)],
                TimerState::Fired,
                Some(true),
            ),
            (
                vec![Cancel(super::Cancel::Withdraw)],
                TimerState::Canceled,
                Some(false),
            ),
            (
                vec![Match(started("1"), true), Cancel(super::Cancel::Send)],
                TimerState::CancelIssued,
                Some(false),
            ),
            (
                vec![
                    Match(started("1"), true),
                    Cancel(super::Cancel::Send),
                    Match(canceled("1"), true),
                ],
                TimerState::Canceled,
                Some(false),
            ),
            // Not in the table: rejected.
            (vec![Match(started("2"), false)], TimerState::Created, None),
            (vec![Event(fired("1"), false)], TimerState::Created, None),
            (vec![Match(canceled("1"), false)], TimerState::Created, None),
            (
                vec![
                    Match(started("1"), true),
                    Cancel(super::Cancel::Send),
                    Event(fired("1"), false),
                ],
                TimerState::CancelIssued,
                Some(false),
            ),
            (
                vec![
                    Match(started("1"), true),
                    Event(fired("1"), true),
                    Event(fired("1"), false),
                    Cancel(super::Cancel::Nothing),
                ],
                TimerState::Fired,
                Some(true),
            ),
        ];
        for (i, (steps, state, outcome)) in table.into_iter().enumerate() {
            let m = run(steps);
            assert_eq!(
                (m.state, m.outcome.peek().copied()),
                (state, outcome),
                "row {i}"
            );
        }
    }

    #[test]
    fn zero_timers_round_up_and_the_command_follows_the_state() {
        let mut m = TimerMachine::new(1, Duration::ZERO, Location::caller());
        assert_eq!(m.duration, Duration::from_millis(1));
        assert_eq!(m.command().command_type, CommandType::StartTimer as i32);
        m.matches_command_event(&started("1"));
        m.cancel();
        assert_eq!(m.command().command_type, CommandType::CancelTimer as i32);
        assert_eq!(m.describe(), "CancelTimer(timer_id=1)");
    }
}
