//! Value types with an encoding of their own: [`Bytes`] (`binary/plain`) and [`RawValue`] (a
//! payload passed through untouched).

use super::probe::RAW_VALUE;
use super::Payload;
use prost::Message;
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::{Serialize, Serializer};
use std::fmt;

/// A byte string, sent as a `binary/plain` payload (Python's `bytes`, Go's `[]byte`).
///
/// `Vec<u8>` is sent the same way when it is not empty; `Bytes` is for when the type should
/// say so, empty or not. Inside a larger value (a struct field), it is a JSON array of numbers,
/// as `Vec<u8>` is.
///
/// ```no_run
/// use chronicle_core::payload::{self, Bytes};
/// let p = payload::encode(&Bytes::from(vec![0xDE, 0xAD]))?;
/// assert_eq!(p.metadata["encoding"], b"binary/plain");
/// let back: Bytes = payload::decode(&p, "example")?;
/// assert_eq!(back.as_ref(), &[0xDE, 0xAD]);
/// # Ok::<(), chronicle_core::PayloadError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Bytes(pub Vec<u8>);

impl Bytes {
    /// The bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bytes({:02x?})", self.0)
    }
}

impl From<Vec<u8>> for Bytes {
    fn from(bytes: Vec<u8>) -> Self {
        Bytes(bytes)
    }
}

impl From<&[u8]> for Bytes {
    fn from(bytes: &[u8]) -> Self {
        Bytes(bytes.to_vec())
    }
}

impl From<Bytes> for Vec<u8> {
    fn from(bytes: Bytes) -> Self {
        bytes.0
    }
}

impl AsRef<[u8]> for Bytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl std::ops::Deref for Bytes {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.0)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a byte string")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
        Ok(Bytes(v.to_vec()))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
        Ok(Bytes(v))
    }

    // JSON has no byte strings: `Bytes` inside a JSON value is an array of numbers.
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Bytes, A::Error> {
        let mut bytes = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(b) = seq.next_element::<u8>()? {
            bytes.push(b);
        }
        Ok(Bytes(bytes))
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

/// A payload that the typed API passes through as it is, encoding and all (as Python's
/// `temporalio.common.RawValue`): for values whose decoding is decided later, or forwarded
/// without looking.
///
/// It keeps its meaning only as a whole argument or result, not inside a larger value.
///
/// ```no_run
/// use chronicle_core::payload::{self, RawValue};
/// let original = payload::encode(&42)?;
/// let raw: RawValue = payload::decode(&original, "example")?;
/// assert_eq!(payload::encode(&raw)?, original);
/// let n: u32 = raw.decode("example")?;
/// # Ok::<(), chronicle_core::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawValue(pub Payload);

impl RawValue {
    /// Decodes the payload as `T`.
    pub fn decode<T: de::DeserializeOwned>(&self, what: &str) -> Result<T, super::PayloadError> {
        super::decode(&self.0, what)
    }
}

impl Serialize for RawValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The payload travels to `encode`'s probe as the bytes of the `Payload` message.
        serializer.serialize_newtype_struct(RAW_VALUE, &Bytes(self.0.encode_to_vec()))
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole payload")
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<RawValue, E> {
        Payload::decode(v).map(RawValue).map_err(E::custom)
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<RawValue, D::Error> {
        let bytes = Bytes::deserialize(d)?;
        self.visit_bytes(&bytes.0)
    }
}

impl<'de> Deserialize<'de> for RawValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(RAW_VALUE, RawVisitor)
    }
}
