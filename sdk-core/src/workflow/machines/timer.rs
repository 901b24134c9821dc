//! Durable timers.
//!
//! | state         | on                                  | goes to        | effect                     |
//! |---------------|-------------------------------------|----------------|----------------------------|
//! | Created       | `TimerStarted` matching the command | Started        |                            |
//! | Created       | code cancels before it is sent      | Canceled       | command withdrawn, resolves|
//! | Started       | `TimerFired`                        | Fired          | resolves as fired          |
//! | Started       | code cancels                        | CancelIssued   | `CancelTimer`, resolves    |
//! | CancelIssued  | `TimerCanceled` matching the cancel | Canceled       |                            |

use crate::proto::command::{
    command, CancelTimerCommandAttributes, Command, StartTimerCommandAttributes,
};
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::panic::Location;
use crate::workflow::slot::Slot;
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

    pub fn start_command(&self) -> Command {
        Command {
            command_type: CommandType::StartTimer as i32,
            attributes: Some(command::Attributes::StartTimerCommandAttributes(
                StartTimerCommandAttributes {
                    timer_id: self.timer_id.clone(),
                    start_to_fire_timeout: Some(crate::proto::duration(self.duration)),
                },
            )),
            ..Default::default()
        }
    }

    pub fn cancel_command(&self) -> Command {
        Command {
            command_type: CommandType::CancelTimer as i32,
            attributes: Some(command::Attributes::CancelTimerCommandAttributes(
                CancelTimerCommandAttributes {
                    timer_id: self.timer_id.clone(),
                },
            )),
            ..Default::default()
        }
    }

    pub fn describe_start(&self) -> String {
        format!(
            "StartTimer(timer_id={}, {:?})",
            self.timer_id, self.duration
        )
    }

    pub fn describe_cancel(&self) -> String {
        format!("CancelTimer(timer_id={})", self.timer_id)
    }

    /// Checks the `TimerStarted` event recorded for the start command.
    pub fn on_started(&mut self, event: &HistoryEvent) -> bool {
        match &event.attributes {
            Some(Attributes::TimerStartedEventAttributes(a)) if a.timer_id == self.timer_id => {
                if self.state == TimerState::Created {
                    self.state = TimerState::Started;
                }
                true
            }
            _ => false,
        }
    }

    /// Checks the `TimerCanceled` event recorded for the cancel command.
    pub fn on_cancel_recorded(&mut self, event: &HistoryEvent) -> bool {
        match &event.attributes {
            Some(Attributes::TimerCanceledEventAttributes(a)) if a.timer_id == self.timer_id => {
                self.state = TimerState::Canceled;
                true
            }
            _ => false,
        }
    }

    pub fn on_fired(&mut self) {
        if self.state == TimerState::Started {
            self.state = TimerState::Fired;
            self.resolve(true);
        }
    }

    /// Code asked to cancel. Returns whether a `CancelTimer` command must be sent.
    pub fn cancel(&mut self) -> bool {
        match self.state {
            TimerState::Created => {
                self.state = TimerState::Canceled;
                self.resolve(false);
                false
            }
            TimerState::Started => {
                self.state = TimerState::CancelIssued;
                self.resolve(false);
                true
            }
            _ => false,
        }
    }

    fn resolve(&mut self, fired: bool) {
        self.outcome.resolve(fired);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::history::TimerStartedEventAttributes;

    fn started(id: &str) -> HistoryEvent {
        HistoryEvent {
            event_id: 5,
            attributes: Some(Attributes::TimerStartedEventAttributes(
                TimerStartedEventAttributes {
                    timer_id: id.into(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn fires_after_start() {
        let mut timer = TimerMachine::new(1, Duration::from_secs(2), Location::caller());
        assert!(timer.on_started(&started("1")));
        timer.on_fired();
        assert_eq!(
            (timer.state, timer.outcome.peek()),
            (TimerState::Fired, Some(&true))
        );
    }

    #[test]
    fn mismatched_id_is_rejected_and_cancel_before_send_withdraws() {
        let mut timer = TimerMachine::new(1, Duration::ZERO, Location::caller());
        assert_eq!(timer.duration, Duration::from_millis(1));
        assert!(!timer.on_started(&started("2")));
        assert!(!timer.cancel(), "an unsent timer needs no CancelTimer");
        assert_eq!(timer.outcome.peek(), Some(&false));
    }

    #[test]
    fn cancel_after_start_issues_command() {
        let mut timer = TimerMachine::new(3, Duration::from_secs(1), Location::caller());
        timer.on_started(&started("3"));
        assert!(timer.cancel());
        assert_eq!(timer.state, TimerState::CancelIssued);
        timer.on_fired();
        assert_eq!(
            timer.outcome.peek(),
            Some(&false),
            "a fire after cancel changes nothing"
        );
    }
}
