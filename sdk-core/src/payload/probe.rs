//! Choosing a value's encoding from its own `Serialize` impl, without specialisation.
//!
//! [`encode`](super::encode) takes any `T: Serialize`, so it cannot ask the type system whether
//! `T` is `Vec<u8>`. It asks the value instead: [`Probe`] is a serializer that accepts only
//! the shapes with an encoding of their own and gives up (with [`NotSpecial`]) at the first call
//! that is anything else, so the cost for an ordinary value is one method call before the JSON
//! path. The shapes:
//!
//! * `serialize_bytes` at the top (`Bytes`, `serde_bytes::ByteBuf`, `bytes::Bytes`):
//!   `binary/plain`;
//! * a non-empty sequence of `u8` at the top (`Vec<u8>`, `&[u8]`): `binary/plain`;
//! * the private newtype name of [`RawValue`](super::RawValue) (which `Proto` and `ProtoJson`
//!   serialize through): the payload it carries, as is;
//! * `None` and `()`: `binary/null`.
//!
//! `Some(x)` and newtype structs are looked through, as serde_json does, so `Option<Vec<u8>>`
//! and `struct Blob(Vec<u8>)` are bytes too.

use super::{null_payload, Payload};
use prost::Message;
use serde::ser::{self, Impossible, Serialize};
use std::fmt;

/// The newtype name [`RawValue`](super::RawValue) serializes and deserializes under; no user
/// type can have it (`$` is not valid in a Rust identifier).
pub(super) const RAW_VALUE: &str = "$chronicle::payload::RawValue";

/// What the probe found.
pub(super) enum Special {
    /// A byte string.
    Bytes(Vec<u8>),
    /// A payload made in advance (raw values, protobuf messages).
    Payload(Payload),
}

/// Why the probe gave up: the value takes the JSON path.
#[derive(Debug)]
pub(super) struct NotSpecial;

impl fmt::Display for NotSpecial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a value with an encoding of its own")
    }
}

impl std::error::Error for NotSpecial {}

impl ser::Error for NotSpecial {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotSpecial
    }
}

/// Returns the payload for a value with an encoding of its own, `None` for JSON.
pub(super) fn special_payload<T: Serialize + ?Sized>(value: &T) -> Option<Payload> {
    match value.serialize(Probe) {
        Ok(Special::Bytes(data)) => Some(super::binary_plain(data)),
        Ok(Special::Payload(payload)) => Some(payload),
        Err(NotSpecial) => None,
    }
}

/// The top-level probe.
pub(super) struct Probe;

macro_rules! not_special {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> { Err(NotSpecial) })*
    };
}

impl ser::Serializer for Probe {
    type Ok = Special;
    type Error = NotSpecial;
    type SerializeSeq = ByteSeq;
    type SerializeTuple = Impossible<Special, NotSpecial>;
    type SerializeTupleStruct = Impossible<Special, NotSpecial>;
    type SerializeTupleVariant = Impossible<Special, NotSpecial>;
    type SerializeMap = Impossible<Special, NotSpecial>;
    type SerializeStruct = Impossible<Special, NotSpecial>;
    type SerializeStructVariant = Impossible<Special, NotSpecial>;

    not_special!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_bytes(self, v: &[u8]) -> Result<Special, NotSpecial> {
        Ok(Special::Bytes(v.to_vec()))
    }

    fn serialize_none(self) -> Result<Special, NotSpecial> {
        Ok(Special::Payload(null_payload()))
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Special, NotSpecial> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<Special, NotSpecial> {
        Ok(Special::Payload(null_payload()))
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Special, NotSpecial> {
        if name == RAW_VALUE {
            // `RawValue` hands over its payload as the bytes of the `Payload` message.
            return match value.serialize(Probe)? {
                Special::Bytes(encoded) => Payload::decode(encoded.as_slice())
                    .map(Special::Payload)
                    .map_err(|_| NotSpecial),
                Special::Payload(_) => Err(NotSpecial),
            };
        }
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Special, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<ByteSeq, NotSpecial> {
        Ok(ByteSeq(Vec::with_capacity(len.unwrap_or(0))))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotSpecial> {
        Err(NotSpecial)
    }
}

/// A top-level sequence, kept while every element is a `u8`.
pub(super) struct ByteSeq(Vec<u8>);

impl ser::SerializeSeq for ByteSeq {
    type Ok = Special;
    type Error = NotSpecial;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotSpecial> {
        self.0.push(value.serialize(OnlyU8)?);
        Ok(())
    }

    fn end(self) -> Result<Special, NotSpecial> {
        // An empty sequence says nothing about its element type: an empty `Vec<String>` must
        // stay the JSON `[]` other SDKs expect, and `[]` still decodes into `Vec<u8>` (and into
        // Python's `bytes`).
        if self.0.is_empty() {
            Err(NotSpecial)
        } else {
            Ok(Special::Bytes(self.0))
        }
    }
}

/// Accepts exactly a `u8`.
struct OnlyU8;

impl ser::Serializer for OnlyU8 {
    type Ok = u8;
    type Error = NotSpecial;
    type SerializeSeq = Impossible<u8, NotSpecial>;
    type SerializeTuple = Impossible<u8, NotSpecial>;
    type SerializeTupleStruct = Impossible<u8, NotSpecial>;
    type SerializeTupleVariant = Impossible<u8, NotSpecial>;
    type SerializeMap = Impossible<u8, NotSpecial>;
    type SerializeStruct = Impossible<u8, NotSpecial>;
    type SerializeStructVariant = Impossible<u8, NotSpecial>;

    fn serialize_u8(self, v: u8) -> Result<u8, NotSpecial> {
        Ok(v)
    }

    not_special!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<u8, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotSpecial> {
        Err(NotSpecial)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotSpecial> {
        Err(NotSpecial)
    }
}
