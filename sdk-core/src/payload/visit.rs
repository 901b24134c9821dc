//! Finding every payload of any Temporal API message, from its descriptor.
//!
//! The message is turned into a `prost_reflect::DynamicMessage` with the descriptors Chronicle
//! embeds (`history::json::descriptor_pool`) and walked field by field, so no request,
//! response, command or event type is listed by hand, and a field the API adds later is covered
//! the day the protos are updated. `google.protobuf.Any` values (protocol messages: updates)
//! are opened when the pool knows their type. Search attributes and headers are not entered.
//!
//! The walk runs twice over the same message: once to take the payloads out in order, once to
//! put the codec's results back in the same order. Nothing is inserted into a map between the
//! two, so map iteration order is the same both times.

use super::codec::CodecError;
use super::failure_attributes;
use super::Payload;
use crate::history::json::descriptor_pool;
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};

const PAYLOAD: &str = "temporal.api.common.v1.Payload";
const FAILURE: &str = "temporal.api.failure.v1.Failure";
const SEARCH_ATTRIBUTES: &str = "temporal.api.common.v1.SearchAttributes";
const HEADER: &str = "temporal.api.common.v1.Header";
const ANY: &str = "google.protobuf.Any";

/// `message` as a dynamic message of its own type.
pub(super) fn to_dynamic<M: Message + prost::Name>(
    message: &M,
) -> Result<DynamicMessage, CodecError> {
    let name = M::full_name();
    let descriptor = descriptor_pool()
        .get_message_by_name(&name)
        .ok_or_else(|| CodecError::new(format!("no descriptor for {name}")))?;
    DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| CodecError::with_source(format!("could not read {name}"), e))
}

/// The typed message back.
pub(super) fn from_dynamic<M: Message + Default>(
    dynamic: &DynamicMessage,
) -> Result<M, CodecError> {
    dynamic
        .transcode_to::<M>()
        .map_err(|e| CodecError::with_source("could not rebuild a message", e))
}

/// The payloads of a message, in walk order.
pub(super) struct Found {
    pub(super) payloads: Vec<Payload>,
    /// Whether there is anything to put back (payloads, or failures just encoded).
    pub(super) changed: bool,
}

/// Collects the message's payloads in walk order; with `encode_failures`, first moves each
/// failure's message and stack trace into its `encoded_attributes`.
pub(super) fn take_payloads(
    message: &mut DynamicMessage,
    encode_failures: bool,
) -> Result<Found, CodecError> {
    let mut payloads = Vec::new();
    let mut error = None;
    let mut failures_encoded = false;
    walk(message, &mut |node| match node.descriptor().full_name() {
        FAILURE if encode_failures => failures_encoded |= failure_attributes::encode(node),
        PAYLOAD => match node.transcode_to::<Payload>() {
            Ok(p) => payloads.push(p),
            Err(e) => error = Some(CodecError::with_source("could not read a payload", e)),
        },
        _ => {}
    });
    if let Some(e) = error {
        return Err(e);
    }
    Ok(Found {
        changed: failures_encoded || !payloads.is_empty(),
        payloads,
    })
}

/// Puts `payloads` back where [`take_payloads`] found them.
pub(super) fn put_payloads(
    message: &mut DynamicMessage,
    payloads: Vec<Payload>,
) -> Result<(), CodecError> {
    let mut payloads = payloads.into_iter();
    let mut error = None;
    walk(message, &mut |node| {
        if node.descriptor().full_name() != PAYLOAD {
            return;
        }
        let Some(payload) = payloads.next() else {
            error = Some(CodecError::new("fewer payloads came back than were taken"));
            return;
        };
        match DynamicMessage::decode(node.descriptor(), payload.encode_to_vec().as_slice()) {
            Ok(replacement) => *node = replacement,
            Err(e) => error = Some(CodecError::with_source("could not write a payload", e)),
        }
    });
    error.map_or(Ok(()), Err)
}

/// Calls `visit` on every payload and failure message, parents before children.
fn walk(message: &mut DynamicMessage, visit: &mut dyn FnMut(&mut DynamicMessage)) {
    match message.descriptor().full_name() {
        PAYLOAD => return visit(message),
        SEARCH_ATTRIBUTES | HEADER => return,
        ANY => return walk_any(message, visit),
        FAILURE => visit(message),
        _ => {}
    }
    for (_, value) in message.fields_mut() {
        walk_value(value, visit);
    }
}

fn walk_value(value: &mut Value, visit: &mut dyn FnMut(&mut DynamicMessage)) {
    match value {
        Value::Message(m) => walk(m, visit),
        Value::List(items) => items.iter_mut().for_each(|v| walk_value(v, visit)),
        Value::Map(entries) => entries.values_mut().for_each(|v| walk_value(v, visit)),
        _ => {}
    }
}

/// Opens an `Any` whose type the descriptors know, walks it, and packs it again if anything
/// was visited inside.
fn walk_any(any: &mut DynamicMessage, visit: &mut dyn FnMut(&mut DynamicMessage)) {
    let Some(type_url) = any
        .get_field_by_name("type_url")
        .and_then(|v| v.as_str().map(str::to_string))
    else {
        return;
    };
    let name = type_url.rsplit('/').next().unwrap_or_default();
    let Some(descriptor) = descriptor_pool().get_message_by_name(name) else {
        return;
    };
    let Some(bytes) = any
        .get_field_by_name("value")
        .and_then(|v| v.as_bytes().cloned())
    else {
        return;
    };
    let Ok(mut inner) = DynamicMessage::decode(descriptor, bytes) else {
        return;
    };
    let mut visited = false;
    walk(&mut inner, &mut |node| {
        visited = true;
        visit(node)
    });
    if visited {
        any.set_field_by_name("value", Value::Bytes(inner.encode_to_vec().into()));
    }
}
