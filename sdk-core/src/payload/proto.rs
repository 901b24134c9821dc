//! Protobuf messages as payloads, the way the other SDKs send them: `binary/protobuf` or
//! `json/protobuf`, with the message's full name in the `messageType` metadata.
//!
//! Both are opt-in wrappers rather than a blanket impl: a prost message is not `Serialize`, and
//! the wrapper is where the choice between the two encodings is written down. They serialize
//! through [`RawValue`], so they work wherever the typed API takes a serde value.

use super::values::RawValue;
use super::{Payload, BINARY_PROTOBUF, ENCODING, JSON_PROTOBUF, MESSAGE_TYPE};
use prost_reflect::{DynamicMessage, ReflectMessage};
use serde::de::{self, Deserialize, Deserializer};
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// A prost message sent as `binary/protobuf` (its wire bytes).
///
/// ```no_run
/// use chronicle_core::payload::{self, Proto};
/// use chronicle_core::proto::common::WorkflowExecution;
/// let run = WorkflowExecution { workflow_id: "order-7".into(), run_id: String::new() };
/// let p = payload::encode(&Proto(run.clone()))?;
/// assert_eq!(p.metadata["messageType"], b"temporal.api.common.v1.WorkflowExecution");
/// let back: Proto<WorkflowExecution> = payload::decode(&p, "example")?;
/// assert_eq!(back.0, run);
/// # Ok::<(), chronicle_core::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Proto<T>(pub T);

/// A message sent as `json/protobuf`: proto3 JSON, compact with sorted keys, as the Python SDK
/// writes it (the Python SDK's default for protobuf values). Decodes from `binary/protobuf`
/// too.
///
/// The JSON comes from the message's descriptor, hence `T: ReflectMessage` (`prost-reflect`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProtoJson<T>(pub T);

fn proto_payload(encoding: &[u8], message_type: &str, data: Vec<u8>) -> Payload {
    Payload {
        metadata: HashMap::from([
            (ENCODING.to_string(), encoding.to_vec()),
            (MESSAGE_TYPE.to_string(), message_type.as_bytes().to_vec()),
        ]),
        data,
        ..Default::default()
    }
}

/// Checks the payload's `messageType`, when it has one, against `expected`.
fn check_type<E: de::Error>(payload: &Payload, expected: &str) -> Result<(), E> {
    match payload.metadata.get(MESSAGE_TYPE) {
        Some(found) if found.as_slice() != expected.as_bytes() => Err(E::custom(format!(
            "the payload holds a {}, not a {expected}",
            String::from_utf8_lossy(found)
        ))),
        _ => Ok(()),
    }
}

fn encoding(payload: &Payload) -> &[u8] {
    payload
        .metadata
        .get(ENCODING)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

impl<T: prost::Message + prost::Name> Serialize for Proto<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let payload = proto_payload(BINARY_PROTOBUF, &T::full_name(), self.0.encode_to_vec());
        RawValue(payload).serialize(serializer)
    }
}

impl<'de, T: prost::Message + prost::Name + Default> Deserialize<'de> for Proto<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let RawValue(payload) = RawValue::deserialize(deserializer)?;
        if encoding(&payload) != BINARY_PROTOBUF {
            return Err(de::Error::custom(format!(
                "Proto<{}> decodes binary/protobuf payloads, not {} (use ProtoJson for json/protobuf)",
                T::full_name(),
                String::from_utf8_lossy(encoding(&payload))
            )));
        }
        check_type(&payload, &T::full_name())?;
        T::decode(payload.data.as_slice())
            .map(Proto)
            .map_err(de::Error::custom)
    }
}

impl<T: ReflectMessage> Serialize for ProtoJson<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = self.0.transcode_to_dynamic();
        // Through `serde_json::Value`, whose maps are sorted: the Python SDK sorts keys too,
        // so both write the same bytes for the same message.
        let json = serde_json::to_value(&message).map_err(serde::ser::Error::custom)?;
        let data = serde_json::to_vec(&json).map_err(serde::ser::Error::custom)?;
        let name = self.0.descriptor().full_name().to_string();
        RawValue(proto_payload(JSON_PROTOBUF, &name, data)).serialize(serializer)
    }
}

impl<'de, T: ReflectMessage + Default> Deserialize<'de> for ProtoJson<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let RawValue(payload) = RawValue::deserialize(deserializer)?;
        let descriptor = T::default().descriptor();
        check_type(&payload, descriptor.full_name())?;
        let message = match encoding(&payload) {
            JSON_PROTOBUF => {
                let mut json = serde_json::Deserializer::from_slice(&payload.data);
                let message = DynamicMessage::deserialize(descriptor, &mut json)
                    .and_then(|m| json.end().map(|()| m))
                    .map_err(de::Error::custom)?;
                message.transcode_to::<T>().map_err(de::Error::custom)?
            }
            BINARY_PROTOBUF => T::decode(payload.data.as_slice()).map_err(de::Error::custom)?,
            other => {
                return Err(de::Error::custom(format!(
                    "ProtoJson<{}> decodes json/protobuf and binary/protobuf payloads, not {}",
                    descriptor.full_name(),
                    String::from_utf8_lossy(other)
                )))
            }
        };
        Ok(ProtoJson(message))
    }
}
