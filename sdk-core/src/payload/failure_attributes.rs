//! A failure's message and stack trace moved into its `encoded_attributes`, so that a codec can
//! encrypt them, in the format of the Python SDK's `encode_common_attributes`: a `json/plain`
//! payload `{"message":"..","stack_trace":".."}`, the message replaced by "Encoded failure" and
//! the stack trace emptied.

use super::Payload;
use crate::proto::failure::Failure;
use prost::Message;
use prost_reflect::{DynamicMessage, ReflectMessage, Value};
use serde::{Deserialize, Serialize};

/// The message an encoded failure shows in place of its own.
pub const ENCODED_FAILURE_MESSAGE: &str = "Encoded failure";

#[derive(Serialize, Deserialize)]
struct CommonAttributes {
    message: String,
    stack_trace: String,
}

/// The `encoded_attributes` payload for a failure's message and stack trace.
fn attributes_payload(message: String, stack_trace: String) -> Option<Payload> {
    super::encode(&CommonAttributes {
        message,
        stack_trace,
    })
    .ok()
}

/// Encodes one failure (not its cause: the walk reaches that). `false` when it already
/// carries encoded attributes.
pub(super) fn encode(failure: &mut DynamicMessage) -> bool {
    if failure.has_field_by_name("encoded_attributes") {
        return false;
    }
    let text = |failure: &DynamicMessage, name: &str| {
        failure
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    };
    let Some(payload) = attributes_payload(text(failure, "message"), text(failure, "stack_trace"))
    else {
        return false;
    };
    let Some(field) = failure.descriptor().get_field_by_name("encoded_attributes") else {
        return false;
    };
    let Some(descriptor) = field.kind().as_message().cloned() else {
        return false;
    };
    let Ok(dynamic) = DynamicMessage::decode(descriptor, payload.encode_to_vec().as_slice()) else {
        return false;
    };
    failure.set_field(&field, Value::Message(dynamic));
    failure.set_field_by_name("message", Value::String(ENCODED_FAILURE_MESSAGE.into()));
    failure.clear_field_by_name("stack_trace");
    true
}

/// Restores the message and stack trace of `failure` and its causes from their encoded
/// attributes, when those are the JSON object the encoding writes (after the codecs have
/// decoded them); anything else is left as it is.
pub fn restore(failure: &mut Failure) {
    let mut level = Some(failure);
    while let Some(failure) = level {
        if let Some(attributes) = failure
            .encoded_attributes
            .as_ref()
            .and_then(|p| super::decode::<serde_json::Value>(p, "encoded failure attributes").ok())
        {
            let text = |name: &str| attributes.get(name).and_then(|v| v.as_str());
            if let Some(message) = text("message") {
                failure.message = message.to_string();
            }
            if let Some(trace) = text("stack_trace") {
                failure.stack_trace = trace.to_string();
            }
            // Cleared, so that sending this failure on never carries both the plain message
            // and the attributes: the encoding makes new ones when it is on.
            if attributes.is_object() {
                failure.encoded_attributes = None;
            }
        }
        level = failure.cause.as_deref_mut();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_as_python_does_and_restores() {
        let original = Failure {
            message: "card declined".into(),
            stack_trace: "at pay()".into(),
            cause: Some(Box::new(Failure {
                message: "inner".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let pool = crate::history::json::descriptor_pool();
        let descriptor = pool
            .get_message_by_name("temporal.api.failure.v1.Failure")
            .unwrap();
        let mut dynamic =
            DynamicMessage::decode(descriptor, original.encode_to_vec().as_slice()).unwrap();
        assert!(encode(&mut dynamic));
        assert!(!encode(&mut dynamic), "encoding twice does nothing");
        let mut encoded: Failure = dynamic.transcode_to().unwrap();
        assert_eq!(encoded.message, ENCODED_FAILURE_MESSAGE);
        assert_eq!(encoded.stack_trace, "");
        let attributes = encoded.encoded_attributes.clone().unwrap();
        assert_eq!(attributes.metadata["encoding"], b"json/plain");
        assert_eq!(
            attributes.data,
            br#"{"message":"card declined","stack_trace":"at pay()"}"#
        );
        restore(&mut encoded);
        assert_eq!(encoded.message, "card declined");
        assert_eq!(encoded.stack_trace, "at pay()");
        assert!(encoded.encoded_attributes.is_none());
    }

    #[test]
    fn undecodable_attributes_are_left_alone() {
        let mut failure = Failure {
            message: ENCODED_FAILURE_MESSAGE.into(),
            encoded_attributes: Some(Payload {
                metadata: [("encoding".to_string(), b"binary/encrypted".to_vec())].into(),
                data: vec![1, 2, 3],
                ..Default::default()
            }),
            ..Default::default()
        };
        restore(&mut failure);
        assert_eq!(failure.message, ENCODED_FAILURE_MESSAGE);
        assert!(failure.encoded_attributes.is_some());
    }
}
