//! Search attribute values: typed, as the server indexes them.
//!
//! On the wire a search attribute is a JSON payload whose metadata names its type
//! (`type: Keyword`, `Int`, ...), as every Temporal SDK writes it.

use crate::payload::{self, Payload};
use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TYPE_KEY: &str = "type";

/// A search attribute value.
///
/// ```
/// use chronicle_core::search_attributes::SearchAttribute;
/// let customer = SearchAttribute::Keyword("acme".into());
/// assert_eq!(SearchAttribute::from_payload(&customer.to_payload()), Some(customer));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum SearchAttribute {
    /// An exact-match string (ids, statuses).
    Keyword(String),
    /// Full-text string.
    Text(String),
    /// A 64-bit integer.
    Int(i64),
    /// A floating-point number.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// A point in time (RFC 3339 on the wire).
    Datetime(SystemTime),
    /// A list of keywords.
    KeywordList(Vec<String>),
}

impl SearchAttribute {
    /// The type name the server uses.
    pub fn type_name(&self) -> &'static str {
        match self {
            SearchAttribute::Keyword(_) => "Keyword",
            SearchAttribute::Text(_) => "Text",
            SearchAttribute::Int(_) => "Int",
            SearchAttribute::Double(_) => "Double",
            SearchAttribute::Bool(_) => "Bool",
            SearchAttribute::Datetime(_) => "Datetime",
            SearchAttribute::KeywordList(_) => "KeywordList",
        }
    }

    /// The value as a payload with its type in the metadata.
    pub fn to_payload(&self) -> Payload {
        let encoded = match self {
            SearchAttribute::Keyword(s) | SearchAttribute::Text(s) => payload::encode(s),
            SearchAttribute::Int(i) => payload::encode(i),
            SearchAttribute::Double(d) => payload::encode(d),
            SearchAttribute::Bool(b) => payload::encode(b),
            SearchAttribute::Datetime(t) => payload::encode(&rfc3339(*t)),
            SearchAttribute::KeywordList(list) => payload::encode(list),
        };
        let mut payload = encoded.unwrap_or_else(|_| payload::null_payload());
        payload
            .metadata
            .insert(TYPE_KEY.to_string(), self.type_name().as_bytes().to_vec());
        payload
    }

    /// Reads a payload the server sent; `None` when its type or value is not understood.
    pub fn from_payload(payload: &Payload) -> Option<Self> {
        let kind = payload.metadata.get(TYPE_KEY)?;
        let what = "a search attribute";
        Some(match kind.as_slice() {
            b"Keyword" => SearchAttribute::Keyword(payload::decode(payload, what).ok()?),
            b"Text" => SearchAttribute::Text(payload::decode(payload, what).ok()?),
            b"Int" => SearchAttribute::Int(payload::decode(payload, what).ok()?),
            b"Double" => SearchAttribute::Double(payload::decode(payload, what).ok()?),
            b"Bool" => SearchAttribute::Bool(payload::decode(payload, what).ok()?),
            b"Datetime" => {
                let text: String = payload::decode(payload, what).ok()?;
                SearchAttribute::Datetime(parse_rfc3339(&text)?)
            }
            b"KeywordList" => SearchAttribute::KeywordList(payload::decode(payload, what).ok()?),
            _ => return None,
        })
    }
}

/// Encodes named values for a start request or an upsert.
pub fn to_payloads<'a>(
    attributes: impl IntoIterator<Item = (&'a str, &'a SearchAttribute)>,
) -> HashMap<String, Payload> {
    attributes
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_payload()))
        .collect()
}

/// `SystemTime` as RFC 3339 in UTC with nanoseconds, through the protobuf timestamp's JSON.
fn rfc3339(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let timestamp = crate::proto::timestamp(UNIX_EPOCH + since);
    serde_json::to_value(timestamp)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let timestamp: prost_wkt_types::Timestamp =
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()?;
    Some(crate::proto::system_time(&timestamp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_with_its_type_metadata() {
        let values = [
            SearchAttribute::Keyword("acme".into()),
            SearchAttribute::Text("late invoice".into()),
            SearchAttribute::Int(-42),
            SearchAttribute::Double(2.5),
            SearchAttribute::Bool(true),
            SearchAttribute::Datetime(UNIX_EPOCH + Duration::from_millis(1_700_000_000_123)),
            SearchAttribute::KeywordList(vec!["a".into(), "b".into()]),
        ];
        for value in values {
            let payload = value.to_payload();
            assert_eq!(payload.metadata[TYPE_KEY], value.type_name().as_bytes());
            assert_eq!(SearchAttribute::from_payload(&payload), Some(value));
        }
        let datetime = SearchAttribute::Datetime(UNIX_EPOCH + Duration::from_secs(1));
        assert_eq!(datetime.to_payload().data, br#""1970-01-01T00:00:01Z""#);
    }
}
