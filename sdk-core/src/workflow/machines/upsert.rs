//! Upserting the workflow's search attributes.
//!
//! | state   | on                                         | goes to  |
//! |---------|--------------------------------------------|----------|
//! | Created | `UpsertWorkflowSearchAttributes` (matched) | Recorded |

use super::CommandMachine;
use crate::payload::Payload;
use crate::proto::command::{command, Command, UpsertWorkflowSearchAttributesCommandAttributes};
use crate::proto::common::SearchAttributes;
use crate::proto::enums::{CommandType, EventType};
use crate::proto::history::HistoryEvent;
use std::collections::HashMap;
use std::panic::Location;

pub(crate) struct UpsertMachine {
    pub fields: HashMap<String, Payload>,
    pub location: &'static Location<'static>,
}

impl CommandMachine for UpsertMachine {
    fn command(&self) -> Command {
        upsert_command(self.fields.clone())
    }

    fn describe(&self) -> String {
        let mut names: Vec<&str> = self.fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        format!("UpsertWorkflowSearchAttributes({})", names.join(", "))
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        event.event_type == EventType::UpsertWorkflowSearchAttributes as i32
    }
}

/// The command upserting `fields` (also issued by patches, for `TemporalChangeVersion`).
pub(crate) fn upsert_command(fields: HashMap<String, Payload>) -> Command {
    Command {
        command_type: CommandType::UpsertWorkflowSearchAttributes as i32,
        attributes: Some(
            command::Attributes::UpsertWorkflowSearchAttributesCommandAttributes(
                UpsertWorkflowSearchAttributesCommandAttributes {
                    search_attributes: Some(SearchAttributes {
                        indexed_fields: fields,
                    }),
                },
            ),
        ),
        ..Default::default()
    }
}
