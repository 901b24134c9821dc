//! Upserting the workflow's memo (`ModifyWorkflowProperties`).
//!
//! | state   | on                                     | goes to  |
//! |---------|----------------------------------------|----------|
//! | Created | `WorkflowPropertiesModified` (matched) | Recorded |
//!
//! Nothing reports on the command later. The run's current memo is the memo it started with,
//! overlaid by these machines' fields in the order the code issued them
//! ([`apply_memo_upserts`]); a null value (`binary/null`) removes a field, as the server does.

use super::CommandMachine;
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, ModifyWorkflowPropertiesCommandAttributes};
use crate::proto::common::Memo;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::collections::HashMap;
use std::panic::Location;

pub(crate) struct ModifyPropertiesMachine {
    /// The memo fields to upsert; a null payload removes the field.
    pub memo: HashMap<String, Payload>,
    pub location: &'static Location<'static>,
}

impl ModifyPropertiesMachine {
    fn names(fields: impl Iterator<Item = String>) -> String {
        let mut names: Vec<String> = fields.collect();
        names.sort_unstable();
        names.join(", ")
    }
}

impl CommandMachine for ModifyPropertiesMachine {
    fn command(&self) -> Command {
        Command {
            command_type: CommandType::ModifyWorkflowProperties as i32,
            attributes: Some(
                command::Attributes::ModifyWorkflowPropertiesCommandAttributes(
                    ModifyWorkflowPropertiesCommandAttributes {
                        upserted_memo: Some(Memo {
                            fields: self.memo.clone(),
                        }),
                    },
                ),
            ),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        format!(
            "ModifyWorkflowProperties(memo: {})",
            Self::names(self.memo.keys().cloned())
        )
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    /// Matches a `WorkflowPropertiesModified` upserting the same memo field names (values are
    /// not compared: a payload's encoding may differ across SDK versions, its names may not).
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        let Some(Attributes::WorkflowPropertiesModifiedEventAttributes(a)) = &event.attributes
        else {
            return false;
        };
        let recorded = a
            .upserted_memo
            .as_ref()
            .map(|m| Self::names(m.fields.keys().cloned()))
            .unwrap_or_default();
        recorded == Self::names(self.memo.keys().cloned())
    }
}

/// Whether `value` removes its memo field: the null every SDK encodes (`binary/null`).
pub(crate) fn removes_field(value: &Payload) -> bool {
    value.metadata.get("encoding") == payload::null_payload().metadata.get("encoding")
}

/// `memo` with `upserts` applied in order.
pub(crate) fn apply_memo_upserts<'a>(
    mut memo: HashMap<String, Payload>,
    upserts: impl IntoIterator<Item = &'a ModifyPropertiesMachine>,
) -> HashMap<String, Payload> {
    for upsert in upserts {
        for (key, value) in &upsert.memo {
            if removes_field(value) {
                memo.remove(key);
            } else {
                memo.insert(key.clone(), value.clone());
            }
        }
    }
    memo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::builder::event;
    use crate::proto::history::WorkflowPropertiesModifiedEventAttributes;

    fn machine(keys: &[&str]) -> ModifyPropertiesMachine {
        ModifyPropertiesMachine {
            memo: keys
                .iter()
                .map(|k| (k.to_string(), payload::encode(&1).unwrap()))
                .collect(),
            location: Location::caller(),
        }
    }

    fn modified(keys: &[&str]) -> HistoryEvent {
        event(
            5,
            Attributes::WorkflowPropertiesModifiedEventAttributes(
                WorkflowPropertiesModifiedEventAttributes {
                    upserted_memo: Some(Memo {
                        fields: keys
                            .iter()
                            .map(|k| (k.to_string(), payload::encode(&2).unwrap()))
                            .collect(),
                    }),
                    ..Default::default()
                },
            ),
        )
    }

    #[test]
    fn transitions_follow_the_table() {
        // (machine's fields, recorded fields, matches)
        let table: [(&[&str], &[&str], bool); 4] = [
            (&["a", "b"], &["b", "a"], true),
            (&["a"], &["a", "b"], false),
            (&["a"], &["c"], false),
            (&[], &[], true),
        ];
        for (i, (mine, recorded, matches)) in table.into_iter().enumerate() {
            assert_eq!(
                machine(mine).matches_command_event(&modified(recorded)),
                matches,
                "row {i}"
            );
        }
        // Another command's event does not match; nothing may report on it afterwards.
        let timer = event(
            5,
            Attributes::TimerStartedEventAttributes(Default::default()),
        );
        let mut m = machine(&["a"]);
        assert!(!m.matches_command_event(&timer));
        assert!(m.on_event(&modified(&["a"])).is_err());
    }

    #[test]
    fn upserts_overlay_the_memo_in_order_and_null_removes() {
        let start: HashMap<String, Payload> = [
            ("kept".to_string(), payload::encode(&"k").unwrap()),
            ("gone".to_string(), payload::encode(&"g").unwrap()),
        ]
        .into();
        let first = ModifyPropertiesMachine {
            memo: [
                ("new".to_string(), payload::encode(&1).unwrap()),
                ("gone".to_string(), payload::encode(&()).unwrap()),
            ]
            .into(),
            location: Location::caller(),
        };
        let second = ModifyPropertiesMachine {
            memo: [("new".to_string(), payload::encode(&2).unwrap())].into(),
            location: Location::caller(),
        };
        let memo = apply_memo_upserts(start, [&first, &second]);
        let mut keys: Vec<&str> = memo.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["kept", "new"]);
        assert_eq!(payload::decode::<i32>(&memo["new"], "new").unwrap(), 2);
    }
}

#[cfg(test)]
mod run_tests;
