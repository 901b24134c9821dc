//! Side effects (`ctx.side_effect(|| ..)`): a value computed once, when the code first runs
//! past the call, and recorded in history as a `SideEffect` marker; every replay reads the
//! recorded value instead of computing it again.
//!
//! | replaying? | marker in this task's history | value            | command                   |
//! |------------|-------------------------------|------------------|---------------------------|
//! | no         | -                             | computed         | `RecordMarker(SideEffect)`|
//! | yes        | next one, in order            | the recorded one | matched with the marker   |
//! | yes        | none left                     | computed         | nondeterminism at match   |

use super::CommandMachine;
use crate::payload::Payload;
use crate::proto::command::{command, Command, RecordMarkerCommandAttributes};
use crate::proto::common::Payloads;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::collections::HashMap;
use std::panic::Location;

/// The marker name (the one Temporal's Go and Java SDKs use).
pub const SIDE_EFFECT_MARKER_NAME: &str = "SideEffect";
const DATA_KEY: &str = "data";

pub(crate) struct SideEffectMachine {
    pub value: Payload,
    pub location: &'static Location<'static>,
}

impl CommandMachine for SideEffectMachine {
    fn command(&self) -> Command {
        Command {
            command_type: CommandType::RecordMarker as i32,
            attributes: Some(command::Attributes::RecordMarkerCommandAttributes(
                RecordMarkerCommandAttributes {
                    marker_name: SIDE_EFFECT_MARKER_NAME.to_string(),
                    details: HashMap::from([(
                        DATA_KEY.to_string(),
                        Payloads {
                            payloads: vec![self.value.clone()],
                        },
                    )]),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        "RecordMarker(SideEffect)".to_string()
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        recorded_side_effect(event).is_some()
    }
}

/// The value a `SideEffect` marker records, if `event` is one.
pub(crate) fn recorded_side_effect(event: &HistoryEvent) -> Option<Payload> {
    let Some(Attributes::MarkerRecordedEventAttributes(marker)) = &event.attributes else {
        return None;
    };
    if marker.marker_name != SIDE_EFFECT_MARKER_NAME {
        return None;
    }
    Some(
        marker
            .details
            .get(DATA_KEY)
            .and_then(|p| p.payloads.first().cloned())
            .unwrap_or_else(crate::payload::null_payload),
    )
}
