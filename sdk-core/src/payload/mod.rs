//! Payload conversion with Temporal's standard encodings, and the codecs applied on the wire.
//!
//! Every value crosses the wire as a `Payload`. [`encode`] picks the encoding the other SDKs
//! would pick for the same value:
//!
//! * `binary/null` for `()` and `None` (what the other SDKs write for "nothing");
//! * `binary/plain` for byte strings: [`Bytes`], and `Vec<u8>` when not empty;
//! * `binary/protobuf` and `json/protobuf` for prost messages wrapped in [`Proto`] and
//!   [`ProtoJson`];
//! * `json/plain` for anything else serde can serialize.
//!
//! [`decode`] reads all of them (and a [`RawValue`] takes any payload as it is). Keeping to
//! these encodings is what lets a Python client read a Rust workflow's result and the reverse.
//!
//! Once encoded, payloads pass through the [`DataConverter`]'s codecs (encryption, compression)
//! on their way to the server and back: see [`codec`].

use serde::{de::DeserializeOwned, Serialize};
use std::collections::HashMap;

pub use crate::proto::common::{Payload, Payloads};

pub mod codec;
mod failure_attributes;
mod probe;
mod proto;
mod reader;
mod values;
mod visit;

pub use codec::{CodecError, DataConverter, PayloadCodec};
pub use failure_attributes::{restore as decode_failure_attributes, ENCODED_FAILURE_MESSAGE};
pub use proto::{Proto, ProtoJson};
pub use values::{Bytes, RawValue};

/// The metadata key naming a payload's encoding.
pub const ENCODING: &str = "encoding";
/// The metadata key naming a protobuf payload's message type.
pub const MESSAGE_TYPE: &str = "messageType";
const JSON_PLAIN: &[u8] = b"json/plain";
const BINARY_NULL: &[u8] = b"binary/null";
const BINARY_PLAIN: &[u8] = b"binary/plain";
const BINARY_PROTOBUF: &[u8] = b"binary/protobuf";
/// Proto3 JSON of a protobuf message, as the other SDKs send protobuf values: JSON all the same.
const JSON_PROTOBUF: &[u8] = b"json/protobuf";

/// A value could not be turned into a payload, or a payload into the expected type.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// Serializing a value failed.
    #[error("could not encode value as json/plain: {0}")]
    Encode(#[source] serde_json::Error),
    /// The payload's JSON does not match the expected type.
    #[error("could not decode {what} as {expected}: {source}")]
    Decode {
        /// Which payload (e.g. "argument 1 of compose_greeting").
        what: String,
        /// The Rust type that was expected.
        expected: &'static str,
        /// The underlying serde error.
        #[source]
        source: serde_json::Error,
    },
    /// The payload uses an encoding Chronicle cannot read.
    #[error("{what} has unsupported encoding {encoding:?} (supported: json/plain, json/protobuf, binary/plain, binary/protobuf, binary/null; a payload codec may be missing)")]
    UnsupportedEncoding {
        /// Which payload.
        what: String,
        /// The encoding found in the payload's metadata.
        encoding: String,
    },
    /// A call received the wrong number of arguments.
    #[error("{what} expects {expected} argument(s) but received {received}")]
    ArgumentCount {
        /// Which call.
        what: String,
        /// Arguments the code declares.
        expected: usize,
        /// Payloads that arrived.
        received: usize,
    },
}

/// Encodes one value with the encoding the other SDKs would use for it (see the module docs).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Payload, PayloadError> {
    if let Some(payload) = probe::special_payload(value) {
        return Ok(payload);
    }
    // Through `Value`, whose maps are sorted: object keys come out sorted, as the Python SDK
    // writes them, so both SDKs give the same bytes for the same value.
    let json = serde_json::to_value(value).map_err(PayloadError::Encode)?;
    if json.is_null() {
        return Ok(null_payload());
    }
    let data = serde_json::to_vec(&json).map_err(PayloadError::Encode)?;
    Ok(Payload {
        metadata: HashMap::from([(ENCODING.to_string(), JSON_PLAIN.to_vec())]),
        data,
        ..Default::default()
    })
}

/// A protobuf message's proto3 JSON, encoded as the other SDKs encode protobuf values
/// (`json/protobuf`, with the message's full name).
pub fn encode_proto_json(json: &serde_json::Value, message_type: &str) -> Payload {
    Payload {
        metadata: HashMap::from([
            (ENCODING.to_string(), JSON_PROTOBUF.to_vec()),
            ("messageType".to_string(), message_type.as_bytes().to_vec()),
        ]),
        data: json.to_string().into_bytes(),
        ..Default::default()
    }
}

/// A `binary/plain` payload of `data`.
fn binary_plain(data: Vec<u8>) -> Payload {
    Payload {
        metadata: HashMap::from([(ENCODING.to_string(), BINARY_PLAIN.to_vec())]),
        data,
        ..Default::default()
    }
}

/// The payload other SDKs write for "no value".
pub fn null_payload() -> Payload {
    Payload {
        metadata: HashMap::from([(ENCODING.to_string(), BINARY_NULL.to_vec())]),
        ..Default::default()
    }
}

/// Decodes one payload into `T`; `what` names the payload in the error message.
pub fn decode<T: DeserializeOwned>(payload: &Payload, what: &str) -> Result<T, PayloadError> {
    let encoding = payload
        .metadata
        .get(ENCODING)
        .map(Vec::as_slice)
        .unwrap_or(JSON_PLAIN);
    let Some(result) = reader::read(payload, encoding) else {
        return Err(PayloadError::UnsupportedEncoding {
            what: what.to_string(),
            encoding: String::from_utf8_lossy(encoding).into_owned(),
        });
    };
    result.map_err(|source| PayloadError::Decode {
        what: what.to_string(),
        expected: std::any::type_name::<T>(),
        source,
    })
}

/// Decodes a single value from a list of payloads; an empty list reads as JSON null, so
/// `()` and `Option` results decode from a workflow or activity that returned nothing.
pub fn decode_single<T: DeserializeOwned>(
    payloads: &[Payload],
    what: &str,
) -> Result<T, PayloadError> {
    match payloads.first() {
        Some(p) => decode(p, what),
        None => decode(&null_payload(), what),
    }
}

/// Reads a call's arguments one by one, checking their count first.
///
/// Generated code uses it to decode an activity's or workflow's input.
pub struct ArgReader {
    what: &'static str,
    payloads: std::vec::IntoIter<Payload>,
    index: usize,
}

impl std::fmt::Debug for ArgReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArgReader")
            .field("what", &self.what)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl ArgReader {
    /// Starts reading `payloads`, which must hold exactly `expected` arguments of `what`.
    pub fn new(
        what: &'static str,
        payloads: Vec<Payload>,
        expected: usize,
    ) -> Result<Self, PayloadError> {
        if payloads.len() != expected {
            return Err(PayloadError::ArgumentCount {
                what: what.to_string(),
                expected,
                received: payloads.len(),
            });
        }
        Ok(Self {
            what,
            payloads: payloads.into_iter(),
            index: 0,
        })
    }

    /// Decodes the next argument.
    #[allow(clippy::should_implement_trait)]
    pub fn next<T: DeserializeOwned>(&mut self) -> Result<T, PayloadError> {
        self.index += 1;
        let payload = self.payloads.next().unwrap_or_else(null_payload);
        decode(
            &payload,
            &format!("argument {} of {}", self.index, self.what),
        )
    }
}

/// Wraps payloads in the `Payloads` message, or `None` when empty (as other SDKs do).
pub fn to_payloads(payloads: Vec<Payload>) -> Option<Payloads> {
    (!payloads.is_empty()).then_some(Payloads { payloads })
}

/// Unwraps an optional `Payloads` message.
pub fn from_payloads(payloads: Option<Payloads>) -> Vec<Payload> {
    payloads.map(|p| p.payloads).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_and_none_are_binary_null() {
        for p in [encode(&()).unwrap(), encode(&None::<u8>).unwrap()] {
            assert_eq!(p.metadata[ENCODING], BINARY_NULL);
            assert!(p.data.is_empty());
        }
        let back: () = decode(&null_payload(), "x").unwrap();
        assert_eq!(back, ());
    }

    #[test]
    fn json_round_trip_and_clear_errors() {
        let p = encode(&"World").unwrap();
        assert_eq!(p.data, b"\"World\"");
        assert_eq!(decode::<String>(&p, "x").unwrap(), "World");
        let err = decode::<u32>(&p, "argument 1 of f")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("argument 1 of f") && err.contains("u32"),
            "{err}"
        );
    }

    #[test]
    fn argument_count_is_checked() {
        let err = ArgReader::new("f", vec![encode(&1).unwrap()], 2)
            .err()
            .unwrap()
            .to_string();
        assert_eq!(err, "f expects 2 argument(s) but received 1");
    }
}

#[cfg(test)]
mod encoding_tests;
