//! Reading a payload into any `DeserializeOwned` type, whatever its encoding.
//!
//! Each encoding gets a serde `Deserializer`: JSON for `json/plain` and `json/protobuf`, JSON
//! null for `binary/null`, the bytes themselves for `binary/plain` (as a byte string to types
//! that ask for one, as a sequence of `u8` to `Vec<u8>`). [`Top`] wraps whichever applies so
//! that [`RawValue`](super::RawValue) (and `Proto`, `ProtoJson` through it) can ask for the
//! whole payload by its private newtype name.

use super::probe::RAW_VALUE;
use super::Payload;
use prost::Message;
use serde::de::{self, value::SeqDeserializer, DeserializeOwned, Deserializer, Visitor};
use serde::forward_to_deserialize_any;
use std::cell::Cell;

/// Decodes `payload`, whose encoding is `encoding`, as `T`. `None` for an unknown encoding.
pub(super) fn read<T: DeserializeOwned>(
    payload: &Payload,
    encoding: &[u8],
) -> Option<Result<T, serde_json::Error>> {
    Some(match encoding {
        super::JSON_PLAIN | super::JSON_PROTOBUF => {
            let mut json = serde_json::Deserializer::from_slice(&payload.data);
            let raw = Cell::new(false);
            T::deserialize(Top {
                inner: &mut json,
                payload,
                raw: &raw,
            })
            // Trailing data is an error, unless a `RawValue` took the payload unread.
            .and_then(|value| match raw.get() {
                true => Ok(value),
                false => json.end().map(|()| value),
            })
        }
        super::BINARY_NULL => T::deserialize(Top {
            inner: serde_json::Value::Null,
            payload,
            raw: &Cell::new(false),
        }),
        super::BINARY_PLAIN => T::deserialize(Top {
            inner: BinaryPlain(&payload.data),
            payload,
            raw: &Cell::new(false),
        }),
        super::BINARY_PROTOBUF => T::deserialize(Top {
            inner: ProtobufOnly,
            payload,
            raw: &Cell::new(false),
        }),
        _ => return None,
    })
}

/// The deserializer at the top of a payload: `inner`, except for [`RawValue`](super::RawValue).
struct Top<'p, D> {
    inner: D,
    payload: &'p Payload,
    /// Set when a `RawValue` took the payload.
    raw: &'p Cell<bool>,
}

macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            self.inner.$method($($arg,)* visitor)
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Top<'_, D> {
    type Error = D::Error;

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if name == RAW_VALUE {
            self.raw.set(true);
            return visitor.visit_byte_buf(self.payload.encode_to_vec());
        }
        self.inner.deserialize_newtype_struct(name, visitor)
    }

    forward!(
        deserialize_any(),
        deserialize_bool(),
        deserialize_i8(),
        deserialize_i16(),
        deserialize_i32(),
        deserialize_i64(),
        deserialize_i128(),
        deserialize_u8(),
        deserialize_u16(),
        deserialize_u32(),
        deserialize_u64(),
        deserialize_u128(),
        deserialize_f32(),
        deserialize_f64(),
        deserialize_char(),
        deserialize_str(),
        deserialize_string(),
        deserialize_bytes(),
        deserialize_byte_buf(),
        deserialize_option(),
        deserialize_unit(),
        deserialize_unit_struct(name: &'static str),
        deserialize_seq(),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_map(),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
        deserialize_identifier(),
        deserialize_ignored_any(),
    );

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A `binary/plain` payload's data.
struct BinaryPlain<'p>(&'p [u8]);

impl BinaryPlain<'_> {
    fn visit_u8s<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, serde_json::Error> {
        let mut seq = SeqDeserializer::new(self.0.iter().copied());
        let value = visitor.visit_seq(&mut seq)?;
        seq.end()?;
        Ok(value)
    }
}

impl<'de> Deserializer<'de> for BinaryPlain<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_bytes(self.0)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_byte_buf(self.0.to_vec())
    }

    // `Vec<u8>` and `[u8; N]` read sequences, not byte strings.
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.visit_u8s(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.visit_u8s(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes unit
        unit_struct tuple_struct map struct enum identifier ignored_any
    }
}

/// A `binary/protobuf` payload, which only `Proto` and `ProtoJson` (through `RawValue`) read.
struct ProtobufOnly;

impl<'de> Deserializer<'de> for ProtobufOnly {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom(
            "a binary/protobuf payload decodes only into chronicle::payload::Proto<T> or ProtoJson<T>",
        ))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}
