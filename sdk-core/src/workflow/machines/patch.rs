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

use crate::payload::{self, Payload};
use crate::proto::command::{command, Command, RecordMarkerCommandAttributes};
use crate::proto::common::Payloads;
use crate::proto::enums::CommandType;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::panic::Location;

/// The marker name other SDKs use for patches.
pub const PATCH_MARKER_NAME: &str = "core_patch";
/// The marker details key holding the patch.
const PATCH_DETAILS_KEY: &str = "patch-data";
/// The search attribute listing a run's patches.
pub const CHANGE_VERSION_ATTRIBUTE: &str = "TemporalChangeVersion";
/// Upserts larger than this are skipped (the server limits search attribute values).
const MAX_CHANGE_VERSION_BYTES: usize = 2048;
/// SDK flag 2: upsert `TemporalChangeVersion` with every patch marker.
pub const UPSERT_ON_PATCH_FLAG: u32 = 2;

/// The JSON in a patch marker's details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PatchData {
    pub id: String,
    pub deprecated: bool,
}

/// One patch marker the code issued.
pub(crate) struct PatchMachine {
    pub data: PatchData,
    /// The change versions to upsert after the marker, when the run upserts them.
    pub change_versions: Option<Vec<String>>,
    pub location: &'static Location<'static>,
}

impl PatchMachine {
    pub fn new(
        id: &str,
        deprecated: bool,
        known: &mut BTreeSet<String>,
        upsert: bool,
        location: &'static Location<'static>,
    ) -> Self {
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
        Self {
            data: PatchData {
                id: id.to_string(),
                deprecated,
            },
            change_versions: (upsert && fits).then_some(versions),
            location,
        }
    }

    pub fn marker_command(&self) -> Command {
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

    pub fn upsert_command(&self) -> Command {
        let versions = self.change_versions.clone().unwrap_or_default();
        let value: Payload = payload::encode(&versions).unwrap_or_else(|_| payload::null_payload());
        super::upsert::upsert_command(HashMap::from([(
            CHANGE_VERSION_ATTRIBUTE.to_string(),
            value,
        )]))
    }

    /// Whether `event` is this patch's marker.
    pub fn matches_marker(&self, event: &HistoryEvent) -> bool {
        patch_marker(event).is_some_and(|data| data.id == self.data.id)
    }

    pub fn describe_marker(&self) -> String {
        let kind = if self.data.deprecated {
            "deprecate_patch"
        } else {
            "patched"
        };
        format!("RecordMarker({kind}({:?}))", self.data.id)
    }

    pub fn describe_upsert(&self) -> String {
        format!(
            "UpsertWorkflowSearchAttributes({CHANGE_VERSION_ATTRIBUTE}={:?})",
            self.change_versions.clone().unwrap_or_default()
        )
    }
}

/// The patch a `MarkerRecorded` event records, if it is a patch marker.
pub(crate) fn patch_marker(event: &HistoryEvent) -> Option<PatchData> {
    let Some(Attributes::MarkerRecordedEventAttributes(marker)) = &event.attributes else {
        return None;
    };
    if marker.marker_name != PATCH_MARKER_NAME {
        return None;
    }
    let payload = marker.details.get(PATCH_DETAILS_KEY)?.payloads.first()?;
    payload::decode(payload, "patch marker details").ok()
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
        let mut known = BTreeSet::new();
        let machine = PatchMachine::new("use-v2", false, &mut known, true, location());
        let command = machine.marker_command();
        let Some(command::Attributes::RecordMarkerCommandAttributes(a)) = &command.attributes
        else {
            panic!("not a marker command");
        };
        assert_eq!(a.marker_name, "core_patch");
        let data = &a.details["patch-data"].payloads[0].data;
        assert_eq!(data, br#"{"deprecated":false,"id":"use-v2"}"#);
        let event = recorded(&command);
        assert!(machine.matches_marker(&event));
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
        PatchMachine::new("b", false, &mut known, true, location());
        let second = PatchMachine::new("a", true, &mut known, true, location());
        assert_eq!(second.change_versions, Some(vec!["a".into(), "b".into()]));
        let without = PatchMachine::new("c", false, &mut known, false, location());
        assert_eq!(without.change_versions, None);
    }
}
