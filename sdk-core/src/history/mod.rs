//! Workflow histories: the event log a run is replayed from.
//!
//! A [`History`] is Temporal's own `temporal.api.history.v1.History`, wrapped to add the
//! conversions Chronicle needs:
//!
//! * [`History::from_json`] / [`History::to_json`]: the proto3 JSON that
//!   `temporal workflow show --output json` writes (and the other SDKs' `to_json`), so recorded
//!   histories load into the replayer and histories fetched by Chronicle can be shared with the
//!   rest of the Temporal tooling;
//! * [`History::from_proto_bytes`] / [`History::to_proto_bytes`]: the binary protobuf form;
//! * [`History::from_proto`] / [`History::to_proto`]: the generated message.
//!
//! [`events`] holds facts about single events (names, descriptions, which event an event reports
//! on); `builder` (tests, or the `test-kit` feature) writes histories by hand.
//!
//! The JSON mapping is not written by hand: it is driven by the descriptors Temporal's protos
//! were compiled from (see [`json`]), so every event type, present and future, is covered.
//!
//! ```
//! use chronicle_core::history::History;
//!
//! let json = r#"{"events": [{
//!     "eventId": "1",
//!     "eventType": "EVENT_TYPE_WORKFLOW_EXECUTION_STARTED",
//!     "workflowExecutionStartedEventAttributes": {"workflowType": {"name": "HelloWorkflow"}}
//! }]}"#;
//! let history = History::from_json(json)?;
//! assert_eq!(history.len(), 1);
//! assert_eq!(history.workflow_type(), Some("HelloWorkflow"));
//! assert_eq!(History::from_json(&history.to_json())?, history);
//! # Ok::<(), chronicle_core::history::HistoryError>(())
//! ```

#[cfg(any(test, feature = "test-kit"))]
pub mod builder;
pub mod events;
pub mod json;

use crate::proto::enums::EventType;
use crate::proto::history::{self as pb, history_event::Attributes};
use prost::Message;

pub use pb::HistoryEvent;

/// A history could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The text is not JSON at all.
    #[error("history is not valid JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// The JSON does not have the shape of a `temporal.api.history.v1.History`.
    #[error("JSON does not match temporal.api.history.v1.History: {0}")]
    Schema(#[source] serde_json::Error),
    /// The bytes are not a protobuf-encoded history.
    #[error("history is not a valid protobuf message: {0}")]
    Decode(#[source] prost::DecodeError),
}

/// The events of one workflow run, in order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    events: Vec<HistoryEvent>,
}

impl History {
    /// A history made of `events`.
    pub fn new(events: Vec<HistoryEvent>) -> Self {
        Self { events }
    }

    /// The events, in order.
    pub fn events(&self) -> &[HistoryEvent] {
        &self.events
    }

    /// Takes the events out.
    pub fn into_events(self) -> Vec<HistoryEvent> {
        self.events
    }

    /// Appends events (for example the next page of a paginated fetch).
    pub fn extend(&mut self, events: impl IntoIterator<Item = HistoryEvent>) {
        self.events.extend(events);
    }

    /// How many events there are.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// Whether there are no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// The id of the last event (0 for an empty history).
    pub fn last_event_id(&self) -> i64 {
        self.events.last().map_or(0, |e| e.event_id)
    }

    /// Each event's type, in order (`EventType::Unspecified` for numbers this SDK does not know).
    pub fn event_types(&self) -> impl Iterator<Item = EventType> + '_ {
        self.events
            .iter()
            .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
    }

    /// Wraps the generated message.
    pub fn from_proto(history: pb::History) -> Self {
        Self {
            events: history.events,
        }
    }

    /// The generated message.
    pub fn to_proto(&self) -> pb::History {
        pb::History {
            events: self.events.clone(),
        }
    }

    /// The generated message, without cloning.
    pub fn into_proto(self) -> pb::History {
        pb::History {
            events: self.events,
        }
    }

    /// Reads a protobuf-encoded `temporal.api.history.v1.History`.
    pub fn from_proto_bytes(bytes: &[u8]) -> Result<Self, HistoryError> {
        pb::History::decode(bytes)
            .map(Self::from_proto)
            .map_err(HistoryError::Decode)
    }

    /// Encodes as a protobuf `temporal.api.history.v1.History`.
    pub fn to_proto_bytes(&self) -> Vec<u8> {
        // The same bytes as `to_proto().encode_to_vec()`, without cloning the events: each one
        // is field 1 (`events`), length-delimited, whose key is the single byte 0x0a.
        const EVENTS_KEY: u8 = (1 << 3) | 2;
        let mut buf = Vec::with_capacity(self.events.iter().map(|e| e.encoded_len() + 11).sum());
        for event in &self.events {
            buf.push(EVENTS_KEY);
            // Writing to a Vec cannot run out of space.
            let _ = event.encode_length_delimited(&mut buf);
        }
        buf
    }

    /// Reads the proto3 JSON form, as written by `temporal workflow show --output json` or by the
    /// other SDKs' `to_json`. Fields this SDK's protos do not know (from newer servers) are
    /// ignored.
    pub fn from_json(json: &str) -> Result<Self, HistoryError> {
        json::from_json(json)
    }

    /// Reads the proto3 JSON form from an already parsed JSON value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, HistoryError> {
        json::from_json_value(value)
    }

    /// Writes the proto3 JSON form, byte for byte what `temporal workflow show --output json`
    /// writes for the same history (2-space indentation, no trailing newline).
    pub fn to_json(&self) -> String {
        json::to_json(self)
    }

    /// The attributes of the first event when it is `WorkflowExecutionStarted`.
    pub fn started_attributes(&self) -> Option<&pb::WorkflowExecutionStartedEventAttributes> {
        match self.events.first()?.attributes.as_ref()? {
            Attributes::WorkflowExecutionStartedEventAttributes(a) => Some(a),
            _ => None,
        }
    }

    /// The workflow type name, from the started event.
    pub fn workflow_type(&self) -> Option<&str> {
        self.started_attributes()?
            .workflow_type
            .as_ref()
            .map(|t| t.name.as_str())
    }

    /// The workflow id, from the started event (recorded by servers since 1.24; `None` when
    /// empty).
    pub fn workflow_id(&self) -> Option<&str> {
        Some(self.started_attributes()?.workflow_id.as_str()).filter(|id| !id.is_empty())
    }

    /// The task queue the run was started on.
    pub fn task_queue(&self) -> Option<&str> {
        self.started_attributes()?
            .task_queue
            .as_ref()
            .map(|q| q.name.as_str())
    }
}

impl From<pb::History> for History {
    fn from(history: pb::History) -> Self {
        Self::from_proto(history)
    }
}

impl From<History> for pb::History {
    fn from(history: History) -> Self {
        history.into_proto()
    }
}

impl From<Vec<HistoryEvent>> for History {
    fn from(events: Vec<HistoryEvent>) -> Self {
        Self::new(events)
    }
}

impl std::str::FromStr for History {
    type Err = HistoryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_json(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::common::WorkflowType;

    fn started(name: &str) -> HistoryEvent {
        HistoryEvent {
            event_id: 1,
            event_type: EventType::WorkflowExecutionStarted as i32,
            attributes: Some(Attributes::WorkflowExecutionStartedEventAttributes(
                pb::WorkflowExecutionStartedEventAttributes {
                    workflow_type: Some(WorkflowType {
                        name: name.to_string(),
                    }),
                    workflow_id: "wf-1".to_string(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    #[test]
    fn proto_bytes_round_trip_and_match_the_generated_encoding() {
        let history = History::new(vec![started("A"), started("B")]);
        let bytes = history.to_proto_bytes();
        assert_eq!(bytes, history.to_proto().encode_to_vec());
        assert_eq!(History::from_proto_bytes(&bytes).unwrap(), history);
        assert!(matches!(
            History::from_proto_bytes(&[0xff, 0xff]),
            Err(HistoryError::Decode(_))
        ));
    }

    #[test]
    fn helpers_read_the_started_event() {
        let history = History::new(vec![started("HelloWorkflow")]);
        assert_eq!(history.workflow_type(), Some("HelloWorkflow"));
        assert_eq!(history.workflow_id(), Some("wf-1"));
        assert_eq!(history.task_queue(), None);
        assert_eq!(history.last_event_id(), 1);
        assert_eq!(
            history.event_types().collect::<Vec<_>>(),
            [EventType::WorkflowExecutionStarted]
        );
        assert_eq!(History::default().workflow_type(), None);
    }
}
