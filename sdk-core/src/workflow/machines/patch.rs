//! Patches (`patched("id")`): how a code change rolls out to runs already in flight.
//!
//! A patch is recorded as a `core_patch` marker, in the format every Temporal SDK writes, so
//! patched histories replay across SDKs. What `patched` returns, and whether it issues the
//! marker:
//!
//! | history (this task)          | call                 | returns | marker command          |
//! |------------------------------|----------------------|---------|-------------------------|
//! | not replaying                | `patched`            | true    | issued                  |
//! | marker                       | `patched`            | true    | matched with the marker |
//! | no marker (replaying)        | `patched`            | false   | none: old code path     |
//! | not replaying                | `deprecate_patch`    | true    | issued, deprecated      |
//! | marker                       | `deprecate_patch`    | true    | matched with the marker |
//! | no marker (replaying)        | `deprecate_patch`    | true    | none                    |
//! | deprecated marker            | no call at all       |         | marker skipped          |
//! | marker (not deprecated)      | no call at all       |         | nondeterminism          |
//!
//! With SDK flag 2 (`UpsertSearchAttributeOnPatch`) recorded for the run, every marker command
//! is followed by an upsert of the `TemporalChangeVersion` search attribute listing the run's
//! patches, as the other SDKs do; it makes runs findable by patch.

use super::CommandMachine;
pub(crate) use crate::history::events::{patch_marker, PatchData};
use crate::history::events::{PATCH_DETAILS_KEY, PATCH_MARKER_NAME};
use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, RecordMarkerCommandAttributes};
use crate::proto::common::Payloads;
use crate::proto::enums::{CommandType, EventType};
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use std::collections::{BTreeSet, HashMap};
use std::panic::Location;

/// The search attribute listing a run's patches.
pub const CHANGE_VERSION_ATTRIBUTE: &str = "TemporalChangeVersion";
/// Upserts larger than this are skipped (the server limits search attribute values).
const MAX_CHANGE_VERSION_BYTES: usize = 2048;
/// SDK flag 2: upsert `TemporalChangeVersion` with every patch marker.
pub const UPSERT_ON_PATCH_FLAG: u32 = 2;

/// One patch marker the code issued.
pub(crate) struct PatchMachine {
    pub data: PatchData,
    pub location: &'static Location<'static>,
}

impl PatchMachine {
    pub fn new(id: &str, deprecated: bool, location: &'static Location<'static>) -> Self {
        Self {
            data: PatchData {
                id: id.to_string(),
                deprecated,
            },
            location,
        }
    }
}

impl CommandMachine for PatchMachine {
    fn command(&self) -> Command {
        let data = payload::encode(&self.data).unwrap_or_else(|_| payload::null_payload());
        Command {
            command_type: CommandType::RecordMarker as i32,
            attributes: Some(command::Attributes::RecordMarkerCommandAttributes(
                RecordMarkerCommandAttributes {
                    marker_name: PATCH_MARKER_NAME.to_string(),
                    details: HashMap::from([(
                        PATCH_DETAILS_KEY.to_string(),
                        Payloads {
                            payloads: vec![data],
                        },
                    )]),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    fn describe(&self) -> String {
        let kind = if self.data.deprecated {
            "deprecate_patch"
        } else {
            "patched"
        };
        format!("RecordMarker({kind}({:?}))", self.data.id)
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    /// Whether `event` is this patch's marker.
    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        patch_marker(event).is_some_and(|data| data.id == self.data.id)
    }
}

/// The upsert of `TemporalChangeVersion` that follows a patch marker when the run records
/// them (SDK flag 2).
pub(crate) struct ChangeVersionMachine {
    pub versions: Vec<String>,
    pub location: &'static Location<'static>,
}

impl ChangeVersionMachine {
    /// Adds patch `id` to the run's `known` patches; returns the upsert to issue after its
    /// marker, if the run upserts change versions and the list still fits.
    pub fn after_patch(
        id: &str,
        known: &mut BTreeSet<String>,
        upsert: bool,
        location: &'static Location<'static>,
    ) -> Option<Self> {
        known.insert(id.to_string());
        let versions: Vec<String> = known.iter().cloned().collect();
        let fits = serde_json::to_vec(&versions).is_ok_and(|v| v.len() < MAX_CHANGE_VERSION_BYTES);
        if upsert && !fits {
            tracing::warn!(
                patch = id,
                "the {CHANGE_VERSION_ATTRIBUTE} search attribute would exceed its size limit; \
                 this patch is not added to it"
            );
        }
        (upsert && fits).then_some(Self { versions, location })
    }
}

impl CommandMachine for ChangeVersionMachine {
    fn command(&self) -> Command {
        let value: Payload =
            payload::encode(&self.versions).unwrap_or_else(|_| payload::null_payload());
        super::upsert::upsert_command(HashMap::from([(
            CHANGE_VERSION_ATTRIBUTE.to_string(),
            value,
        )]))
    }

    fn describe(&self) -> String {
        format!(
            "UpsertWorkflowSearchAttributes({CHANGE_VERSION_ATTRIBUTE}={:?})",
            self.versions
        )
    }

    fn location(&self) -> Option<&'static Location<'static>> {
        Some(self.location)
    }

    fn matches_command_event(&mut self, event: &HistoryEvent) -> bool {
        event.event_type == EventType::UpsertWorkflowSearchAttributes as i32
    }
}

/// Whether `event` is an upsert of `TemporalChangeVersion` alone, as patches write.
pub(crate) fn is_change_version_upsert(event: &HistoryEvent) -> bool {
    match &event.attributes {
        Some(Attributes::UpsertWorkflowSearchAttributesEventAttributes(a)) => {
            a.search_attributes.as_ref().is_some_and(|s| {
                s.indexed_fields
                    .keys()
                    .all(|k| k == CHANGE_VERSION_ATTRIBUTE)
            })
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::history::MarkerRecordedEventAttributes;

    fn location() -> &'static Location<'static> {
        Location::caller()
    }

    fn recorded(command: &Command) -> HistoryEvent {
        let Some(command::Attributes::RecordMarkerCommandAttributes(a)) = &command.attributes
        else {
            panic!("not a marker command");
        };
        HistoryEvent {
            attributes: Some(Attributes::MarkerRecordedEventAttributes(
                MarkerRecordedEventAttributes {
                    marker_name: a.marker_name.clone(),
                    details: a.details.clone(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn marker_has_the_format_other_sdks_write() {
        let mut machine = PatchMachine::new("use-v2", false, location());
        let command = machine.command();
        let Some(command::Attributes::RecordMarkerCommandAttributes(a)) = &command.attributes
        else {
            panic!("not a marker command");
        };
        assert_eq!(a.marker_name, "core_patch");
        let data = &a.details["patch-data"].payloads[0].data;
        assert_eq!(data, br#"{"deprecated":false,"id":"use-v2"}"#);
        let event = recorded(&command);
        assert!(machine.matches_command_event(&event));
        assert_eq!(
            patch_marker(&event),
            Some(PatchData {
                id: "use-v2".into(),
                deprecated: false
            })
        );
    }

    #[test]
    fn change_versions_accumulate_in_order() {
        let mut known = BTreeSet::new();
        ChangeVersionMachine::after_patch("b", &mut known, true, location());
        let second = ChangeVersionMachine::after_patch("a", &mut known, true, location());
        assert_eq!(
            second.map(|m| m.versions),
            Some(vec!["a".into(), "b".into()])
        );
        let without = ChangeVersionMachine::after_patch("c", &mut known, false, location());
        assert!(without.is_none());
        assert_eq!(known.len(), 3, "every patch is known, upserted or not");
    }
}
