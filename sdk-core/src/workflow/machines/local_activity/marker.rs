//! The `core_local_activity` marker, byte for byte as Temporal's core writes it, so that
//! histories replay across SDKs.
//!
//! `details["data"]` is one `json/plain` payload: the JSON of core's `LocalActivityMarkerData`
//! with its field names (`seq`, `attempt`, `activity_id`, `activity_type`, `complete_time`,
//! `backoff`, `original_schedule_time`; times and durations as `{"seconds", "nanos"}`, unset
//! ones as `null`). `details["result"]` is the result payload when the activity completed; a
//! failure goes in the marker's own `failure` field.

use crate::failure::Failure;
use crate::payload::Payload;
use crate::proto::command::RecordMarkerCommandAttributes;
use crate::proto::common::Payloads;
use crate::proto::history::{history_event::Attributes, HistoryEvent};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The marker name Temporal's core uses for local activities.
pub const LOCAL_ACTIVITY_MARKER_NAME: &str = "core_local_activity";
const DATA_KEY: &str = "data";
const RESULT_KEY: &str = "result";

/// A time or duration as core's JSON writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    #[serde(default)]
    pub seconds: i64,
    #[serde(default)]
    pub nanos: i32,
}

impl Stamp {
    pub fn of_time(t: SystemTime) -> Self {
        let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
        Self::of_duration(d)
    }

    pub fn of_duration(d: Duration) -> Self {
        Self {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            nanos: d.subsec_nanos() as i32,
        }
    }

    pub fn duration(self) -> Duration {
        Duration::new(
            u64::try_from(self.seconds).unwrap_or(0),
            u32::try_from(self.nanos).unwrap_or(0),
        )
    }

    pub fn time(self) -> SystemTime {
        UNIX_EPOCH + self.duration()
    }
}

/// Core's `LocalActivityMarkerData`, in its field order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MarkerData {
    pub seq: u32,
    #[serde(default)]
    pub attempt: u32,
    #[serde(default)]
    pub activity_id: String,
    #[serde(default)]
    pub activity_type: String,
    #[serde(default)]
    pub complete_time: Option<Stamp>,
    #[serde(default)]
    pub backoff: Option<Stamp>,
    #[serde(default)]
    pub original_schedule_time: Option<Stamp>,
}

/// A recorded local activity: its data, and what it returned or how it failed.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    pub data: MarkerData,
    pub result: Result<Option<Payload>, Failure>,
}

impl Marker {
    /// The `RecordMarker` attributes for this marker.
    pub fn to_attributes(&self) -> RecordMarkerCommandAttributes {
        // Serializing a struct of strings and numbers cannot fail.
        let json = serde_json::to_vec(&self.data).unwrap_or_default();
        let data = Payload {
            metadata: HashMap::from([("encoding".to_string(), b"json/plain".to_vec())]),
            data: json,
            ..Default::default()
        };
        let mut details = HashMap::from([(
            DATA_KEY.to_string(),
            Payloads {
                payloads: vec![data],
            },
        )]);
        let mut failure = None;
        match &self.result {
            Ok(Some(result)) => {
                details.insert(
                    RESULT_KEY.to_string(),
                    Payloads {
                        payloads: vec![result.clone()],
                    },
                );
            }
            Ok(None) => {}
            Err(f) => failure = Some(f.as_proto().clone()),
        }
        RecordMarkerCommandAttributes {
            marker_name: LOCAL_ACTIVITY_MARKER_NAME.to_string(),
            details,
            header: None,
            failure,
        }
    }
}

/// The local activity `event` records; `None` if it is not a local activity marker, `Some(Err)`
/// if it is one whose data does not parse.
pub(crate) fn recorded_local_activity(event: &HistoryEvent) -> Option<Result<Marker, String>> {
    let Some(Attributes::MarkerRecordedEventAttributes(marker)) = &event.attributes else {
        return None;
    };
    if marker.marker_name != LOCAL_ACTIVITY_MARKER_NAME {
        return None;
    }
    let parsed = marker
        .details
        .get(DATA_KEY)
        .and_then(|p| p.payloads.first())
        .ok_or_else(|| {
            format!(
                "event {}: local activity marker without data",
                event.event_id
            )
        })
        .and_then(|payload| {
            serde_json::from_slice::<MarkerData>(&payload.data).map_err(|e| {
                format!(
                    "event {}: local activity marker data does not parse: {e}",
                    event.event_id
                )
            })
        });
    Some(parsed.map(|data| {
        Marker {
            data,
            result: match &marker.failure {
                Some(failure) => Err(Failure::from_proto(failure.clone())),
                None => Ok(marker
                    .details
                    .get(RESULT_KEY)
                    .and_then(|p| p.payloads.first().cloned())),
            },
        }
    }))
}
