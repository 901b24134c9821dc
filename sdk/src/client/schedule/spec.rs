//! When a schedule acts: intervals, cron expressions and calendars ([`ScheduleSpec`]).

use chronicle_core::proto::schedule as pb;
use chronicle_core::proto::{duration, std_duration, system_time, timestamp};
use std::time::{Duration, SystemTime};

/// The times a schedule acts at: the union of its intervals, cron expressions and calendars,
/// between its optional start and end.
///
/// ```no_run
/// use chronicle::client::schedule::{ScheduleCalendar, ScheduleRange, ScheduleSpec};
/// use std::time::Duration;
/// let hourly = ScheduleSpec::interval(Duration::from_secs(3600));
/// let nightly = ScheduleSpec::cron("0 2 * * *");
/// let weekdays = ScheduleSpec::calendar(
///     ScheduleCalendar::new().hour(9).minute(30).day_of_week(ScheduleRange::new(1, 5)),
/// );
/// ```
///
/// The server compiles cron expressions into calendars, so a described schedule shows
/// calendars (and intervals) only.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ScheduleSpec {
    /// Every `every`, shifted by `offset` from the Unix epoch.
    pub intervals: Vec<ScheduleInterval>,
    /// Cron expressions (5 to 7 fields, or `@every`/`@hourly`-style shorthands).
    pub cron: Vec<String>,
    /// Calendar matches.
    pub calendars: Vec<ScheduleCalendar>,
    /// Calendar matches to leave out.
    pub skip: Vec<ScheduleCalendar>,
    /// No action before this time.
    pub start_at: Option<SystemTime>,
    /// No action after this time.
    pub end_at: Option<SystemTime>,
    /// Each action is delayed by a random time up to this.
    pub jitter: Option<Duration>,
    /// The time zone calendars and cron expressions are read in (IANA name; UTC if empty).
    pub time_zone: String,
}

impl ScheduleSpec {
    /// Acts every `every` (whole seconds), on multiples of it since the Unix epoch.
    pub fn interval(every: Duration) -> Self {
        Self::default().and_interval(every, Duration::ZERO)
    }

    /// Acts at the times a cron expression names, e.g. `"0 2 * * *"` or `"@hourly"`.
    pub fn cron(expression: impl Into<String>) -> Self {
        Self::default().and_cron(expression)
    }

    /// Acts at the times a calendar matches.
    pub fn calendar(calendar: ScheduleCalendar) -> Self {
        Self::default().and_calendar(calendar)
    }

    /// Also acts every `every`, shifted by `offset` (`every` 1 h, `offset` 19 min: at xx:19).
    pub fn and_interval(mut self, every: Duration, offset: Duration) -> Self {
        self.intervals.push(ScheduleInterval { every, offset });
        self
    }

    /// Also acts at the times of a cron expression.
    pub fn and_cron(mut self, expression: impl Into<String>) -> Self {
        self.cron.push(expression.into());
        self
    }

    /// Also acts at the times a calendar matches.
    pub fn and_calendar(mut self, calendar: ScheduleCalendar) -> Self {
        self.calendars.push(calendar);
        self
    }

    /// Leaves out the times a calendar matches.
    pub fn skip(mut self, calendar: ScheduleCalendar) -> Self {
        self.skip.push(calendar);
        self
    }

    /// No action before `time`.
    pub fn start_at(mut self, time: SystemTime) -> Self {
        self.start_at = Some(time);
        self
    }

    /// No action after `time`.
    pub fn end_at(mut self, time: SystemTime) -> Self {
        self.end_at = Some(time);
        self
    }

    /// Delays each action by a random time up to `jitter`.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = Some(jitter);
        self
    }

    /// Reads calendars and cron expressions in this IANA time zone (e.g. `"Europe/Berlin"`).
    pub fn time_zone(mut self, name: impl Into<String>) -> Self {
        self.time_zone = name.into();
        self
    }

    pub(super) fn to_proto(&self) -> pb::ScheduleSpec {
        pb::ScheduleSpec {
            structured_calendar: self.calendars.iter().map(|c| c.to_proto()).collect(),
            cron_string: self.cron.clone(),
            interval: self
                .intervals
                .iter()
                .map(|i| pb::IntervalSpec {
                    interval: Some(duration(i.every)),
                    phase: (!i.offset.is_zero()).then(|| duration(i.offset)),
                })
                .collect(),
            exclude_structured_calendar: self.skip.iter().map(|c| c.to_proto()).collect(),
            start_time: self.start_at.map(timestamp),
            end_time: self.end_at.map(timestamp),
            jitter: self.jitter.map(duration),
            timezone_name: self.time_zone.clone(),
            ..Default::default()
        }
    }

    pub(super) fn from_proto(spec: pb::ScheduleSpec) -> Self {
        Self {
            intervals: spec
                .interval
                .iter()
                .map(|i| ScheduleInterval {
                    every: i.interval.as_ref().map(std_duration).unwrap_or_default(),
                    offset: i.phase.as_ref().map(std_duration).unwrap_or_default(),
                })
                .collect(),
            cron: spec.cron_string,
            calendars: spec
                .structured_calendar
                .iter()
                .map(ScheduleCalendar::from_proto)
                .collect(),
            skip: spec
                .exclude_structured_calendar
                .iter()
                .map(ScheduleCalendar::from_proto)
                .collect(),
            start_at: spec.start_time.as_ref().map(system_time),
            end_at: spec.end_time.as_ref().map(system_time),
            jitter: spec.jitter.as_ref().map(std_duration),
            time_zone: spec.timezone_name,
        }
    }
}

/// Every `every`, at `epoch + n × every + offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleInterval {
    /// The period (whole seconds).
    pub every: Duration,
    /// The shift from multiples of the period.
    pub offset: Duration,
}

/// Inclusive ranges of values of one calendar field, with a step: `ScheduleRange::new(1, 5)`
/// is 1 to 5, `ScheduleRange::new(0, 59).step(15)` is 0, 15, 30, 45, and a single number
/// (`9.into()`) is itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleRange {
    /// The first value.
    pub start: u32,
    /// The last value (inclusive).
    pub end: u32,
    /// Every how many values (1: all).
    pub step: u32,
}

impl ScheduleRange {
    /// `start` to `end`, inclusive.
    pub fn new(start: u32, end: u32) -> Self {
        Self {
            start,
            end,
            step: 1,
        }
    }

    /// Every `step`th value of the range.
    pub fn step(mut self, step: u32) -> Self {
        self.step = step;
        self
    }
}

impl From<u32> for ScheduleRange {
    fn from(value: u32) -> Self {
        ScheduleRange::new(value, value)
    }
}

/// A calendar match: the times whose every field matches. Fields left alone keep the
/// defaults of Temporal's SDKs: second 0, minute 0, hour 0, every day of the month, every
/// month, every year, every day of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleCalendar {
    /// Seconds, 0–59.
    pub second: Vec<ScheduleRange>,
    /// Minutes, 0–59.
    pub minute: Vec<ScheduleRange>,
    /// Hours, 0–23.
    pub hour: Vec<ScheduleRange>,
    /// Days of the month, 1–31.
    pub day_of_month: Vec<ScheduleRange>,
    /// Months, 1–12.
    pub month: Vec<ScheduleRange>,
    /// Years; empty is every year.
    pub year: Vec<ScheduleRange>,
    /// Days of the week, 0–6 (0 is Sunday).
    pub day_of_week: Vec<ScheduleRange>,
    /// A free-form note.
    pub comment: String,
}

impl Default for ScheduleCalendar {
    fn default() -> Self {
        Self {
            second: vec![0.into()],
            minute: vec![0.into()],
            hour: vec![0.into()],
            day_of_month: vec![ScheduleRange::new(1, 31)],
            month: vec![ScheduleRange::new(1, 12)],
            year: Vec::new(),
            day_of_week: vec![ScheduleRange::new(0, 6)],
            comment: String::new(),
        }
    }
}

impl ScheduleCalendar {
    /// Midnight of every day (the defaults); change fields with the setters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Matches these seconds.
    pub fn second(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.second = vec![range.into()];
        self
    }

    /// Matches these minutes.
    pub fn minute(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.minute = vec![range.into()];
        self
    }

    /// Matches these hours.
    pub fn hour(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.hour = vec![range.into()];
        self
    }

    /// Matches these days of the month.
    pub fn day_of_month(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.day_of_month = vec![range.into()];
        self
    }

    /// Matches these months.
    pub fn month(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.month = vec![range.into()];
        self
    }

    /// Matches these years.
    pub fn year(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.year = vec![range.into()];
        self
    }

    /// Matches these days of the week (0 is Sunday).
    pub fn day_of_week(mut self, range: impl Into<ScheduleRange>) -> Self {
        self.day_of_week = vec![range.into()];
        self
    }

    /// A free-form note.
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }

    fn to_proto(&self) -> pb::StructuredCalendarSpec {
        let ranges = |rs: &[ScheduleRange]| {
            rs.iter()
                .map(|r| pb::Range {
                    start: saturating_i32(r.start),
                    end: saturating_i32(r.end),
                    step: saturating_i32(r.step),
                })
                .collect()
        };
        pb::StructuredCalendarSpec {
            second: ranges(&self.second),
            minute: ranges(&self.minute),
            hour: ranges(&self.hour),
            day_of_month: ranges(&self.day_of_month),
            month: ranges(&self.month),
            year: ranges(&self.year),
            day_of_week: ranges(&self.day_of_week),
            comment: self.comment.clone(),
        }
    }

    fn from_proto(spec: &pb::StructuredCalendarSpec) -> Self {
        // The server leaves `end` 0 for a single value and `step` 0 for 1.
        let ranges = |rs: &[pb::Range]| {
            rs.iter()
                .map(|r| {
                    let start = u32::try_from(r.start).unwrap_or(0);
                    ScheduleRange {
                        start,
                        end: u32::try_from(r.end).unwrap_or(0).max(start),
                        step: u32::try_from(r.step).unwrap_or(1).max(1),
                    }
                })
                .collect()
        };
        Self {
            second: ranges(&spec.second),
            minute: ranges(&spec.minute),
            hour: ranges(&spec.hour),
            day_of_month: ranges(&spec.day_of_month),
            month: ranges(&spec.month),
            year: ranges(&spec.year),
            day_of_week: ranges(&spec.day_of_week),
            comment: spec.comment.clone(),
        }
    }
}

fn saturating_i32(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spec_survives_the_round_trip_through_its_proto() {
        let spec = ScheduleSpec::interval(Duration::from_secs(60))
            .and_interval(Duration::from_secs(3600), Duration::from_secs(19 * 60))
            .and_calendar(
                ScheduleCalendar::new()
                    .hour(9)
                    .minute(ScheduleRange::new(0, 59).step(15))
                    .day_of_week(ScheduleRange::new(1, 5))
                    .comment("weekdays"),
            )
            .skip(ScheduleCalendar::new().month(12).day_of_month(25))
            .start_at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000))
            .jitter(Duration::from_secs(5))
            .time_zone("Europe/Berlin");
        assert_eq!(ScheduleSpec::from_proto(spec.to_proto()), spec);
        let proto = ScheduleSpec::cron("0 2 * * *").to_proto();
        assert_eq!(proto.cron_string, ["0 2 * * *"]);
        // A whole interval has no phase at all, as the other SDKs send it.
        assert!(ScheduleSpec::interval(Duration::from_secs(5))
            .to_proto()
            .interval[0]
            .phase
            .is_none());
    }

    #[test]
    fn ranges_the_server_abbreviates_read_back_whole() {
        let spec = pb::StructuredCalendarSpec {
            hour: vec![pb::Range {
                start: 9,
                end: 0,
                step: 0,
            }],
            ..Default::default()
        };
        assert_eq!(ScheduleCalendar::from_proto(&spec).hour, [9.into()]);
    }
}
