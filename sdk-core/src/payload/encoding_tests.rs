//! The encodings `encode` picks and `decode` reads, and the codec walk over API messages.

use super::*;
use crate::proto::common::{Memo, SearchAttributes, WorkflowExecution, WorkflowType};
use crate::proto::failure::{ApplicationFailureInfo, Failure};
use crate::proto::workflowservice::StartWorkflowExecutionRequest;
use futures::future::BoxFuture;

fn encoding_of(p: &Payload) -> &str {
    std::str::from_utf8(&p.metadata[ENCODING]).unwrap()
}

#[test]
fn bytes_are_binary_plain_both_ways() {
    let data = vec![0xDE, 0xAD, 0xBE, 0xEF];
    for p in [
        encode(&data).unwrap(),
        encode(&Bytes(data.clone())).unwrap(),
        encode(data.as_slice()).unwrap(),
        encode(&Some(data.clone())).unwrap(),
    ] {
        assert_eq!(encoding_of(&p), "binary/plain");
        assert_eq!(p.metadata.len(), 1);
        assert_eq!(p.data, data);
        assert_eq!(decode::<Vec<u8>>(&p, "x").unwrap(), data);
        assert_eq!(decode::<Bytes>(&p, "x").unwrap().0, data);
        assert_eq!(
            decode::<Option<Vec<u8>>>(&p, "x").unwrap(),
            Some(data.clone())
        );
        assert_eq!(
            decode::<[u8; 4]>(&p, "x").unwrap(),
            [0xDE, 0xAD, 0xBE, 0xEF]
        );
    }
}

#[test]
fn empty_and_non_byte_sequences_stay_json() {
    // An empty `Vec<u8>` cannot be told from any other empty list: JSON `[]`, which still
    // decodes as bytes.
    let empty = encode(&Vec::<u8>::new()).unwrap();
    assert_eq!(
        (encoding_of(&empty), empty.data.as_slice()),
        ("json/plain", &b"[]"[..])
    );
    assert!(decode::<Vec<u8>>(&empty, "x").unwrap().is_empty());
    assert!(decode::<Bytes>(&empty, "x").unwrap().is_empty());
    // ...but `Bytes` says it is bytes, so it is `binary/plain` even empty.
    let empty = encode(&Bytes::default()).unwrap();
    assert_eq!((encoding_of(&empty), empty.data.len()), ("binary/plain", 0));
    for p in [
        encode(&vec![1u16, 2]).unwrap(),
        encode(&vec!["a"]).unwrap(),
        encode(&(1u8, 2u8)).unwrap(),
        encode(&[1u8, 2]).unwrap(),
    ] {
        assert_eq!(encoding_of(&p), "json/plain");
    }
    // A struct holding bytes is JSON, its bytes an array of numbers.
    #[derive(serde::Serialize, serde::Deserialize, PartialEq, Debug)]
    struct Blob {
        data: Bytes,
    }
    let p = encode(&Blob {
        data: Bytes(vec![1, 2]),
    })
    .unwrap();
    assert_eq!(p.data, br#"{"data":[1,2]}"#);
    assert_eq!(decode::<Blob>(&p, "x").unwrap().data.0, vec![1, 2]);
}

#[test]
fn binary_plain_into_a_wrong_type_is_a_clear_error() {
    let p = encode(&Bytes(vec![1])).unwrap();
    let err = decode::<u32>(&p, "argument 1 of f")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("argument 1 of f") && err.contains("u32"),
        "{err}"
    );
    let unknown = Payload {
        metadata: [(ENCODING.to_string(), b"binary/encrypted".to_vec())].into(),
        ..Default::default()
    };
    let err = decode::<String>(&unknown, "the result")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("binary/encrypted") && err.contains("codec"),
        "{err}"
    );
}

#[test]
fn prost_messages_in_both_protobuf_encodings() {
    let run = WorkflowExecution {
        workflow_id: "order-7".into(),
        run_id: "r1".into(),
    };
    let binary = encode(&Proto(run.clone())).unwrap();
    assert_eq!(encoding_of(&binary), "binary/protobuf");
    assert_eq!(
        binary.metadata[MESSAGE_TYPE],
        b"temporal.api.common.v1.WorkflowExecution"
    );
    assert_eq!(binary.data, prost::Message::encode_to_vec(&run));
    assert_eq!(
        decode::<Proto<WorkflowExecution>>(&binary, "x").unwrap().0,
        run
    );
    // The wrong message type, or a plain type for a protobuf payload, is an error.
    let err = decode::<Proto<WorkflowType>>(&binary, "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("WorkflowExecution"), "{err}");
    let err = decode::<String>(&binary, "x").unwrap_err().to_string();
    assert!(err.contains("Proto"), "{err}");
    // Proto on a JSON payload says which wrapper reads it.
    let json = encode(&"x").unwrap();
    let err = decode::<Proto<WorkflowExecution>>(&json, "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("binary/protobuf"), "{err}");
}

#[test]
fn raw_values_pass_through() {
    let original = encode(&Proto(WorkflowType { name: "A".into() })).unwrap();
    let raw: RawValue = decode(&original, "x").unwrap();
    assert_eq!(raw.0, original);
    assert_eq!(encode(&raw).unwrap(), original);
    let n = encode(&5).unwrap();
    assert_eq!(
        decode::<RawValue>(&n, "x")
            .unwrap()
            .decode::<u8>("x")
            .unwrap(),
        5
    );
}

/// Marks each payload it encodes, and undoes only what it marked.
struct Tag(&'static str);

impl PayloadCodec for Tag {
    fn encode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move {
            Ok(payloads
                .into_iter()
                .map(|p| Payload {
                    metadata: [(ENCODING.to_string(), self.0.as_bytes().to_vec())].into(),
                    data: prost::Message::encode_to_vec(&p),
                    ..Default::default()
                })
                .collect())
        })
    }

    fn decode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move {
            payloads
                .into_iter()
                .map(|p| {
                    if p.metadata.get(ENCODING).map(Vec::as_slice) != Some(self.0.as_bytes()) {
                        return Ok(p);
                    }
                    <Payload as prost::Message>::decode(p.data.as_slice())
                        .map_err(|e| CodecError::with_source("bad tag", e))
                })
                .collect()
        })
    }
}

fn start_request() -> StartWorkflowExecutionRequest {
    StartWorkflowExecutionRequest {
        workflow_id: "w".into(),
        input: to_payloads(vec![encode(&1).unwrap(), encode(&Bytes(vec![7])).unwrap()]),
        memo: Some(Memo {
            fields: [("note".to_string(), encode(&"vip").unwrap())].into(),
        }),
        search_attributes: Some(SearchAttributes {
            indexed_fields: [("Customer".to_string(), encode(&"acme").unwrap())].into(),
        }),
        continued_failure: Some(Failure {
            message: "boom".into(),
            stack_trace: "at f()".into(),
            failure_info: Some(
                crate::proto::failure::failure::FailureInfo::ApplicationFailureInfo(
                    ApplicationFailureInfo {
                        details: to_payloads(vec![encode(&"detail").unwrap()]),
                        ..Default::default()
                    },
                ),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_codec_chain_reaches_every_payload_but_search_attributes() {
    let converter = DataConverter::default()
        .with_codec(Tag("inner"))
        .with_codec(Tag("outer"));
    let original = start_request();
    let mut request = original.clone();
    converter.encode_message(&mut request).await.unwrap();
    let inputs = from_payloads(request.input.clone());
    assert_eq!(inputs.len(), 2);
    for p in inputs
        .iter()
        .chain(request.memo.as_ref().unwrap().fields.values())
    {
        // The last codec added is the outermost.
        assert_eq!(encoding_of(p), "outer");
    }
    let details = match &request.continued_failure.as_ref().unwrap().failure_info {
        Some(crate::proto::failure::failure::FailureInfo::ApplicationFailureInfo(a)) => {
            from_payloads(a.details.clone())
        }
        _ => panic!("failure info lost"),
    };
    assert_eq!(encoding_of(&details[0]), "outer");
    assert_eq!(
        request.search_attributes, original.search_attributes,
        "search attributes are not encoded"
    );
    assert_eq!(request.continued_failure.as_ref().unwrap().message, "boom");
    converter.decode_message(&mut request).await.unwrap();
    assert_eq!(request, original);
}

#[tokio::test]
async fn failure_attributes_are_encoded_then_through_the_codecs() {
    let converter = DataConverter::default()
        .with_codec(Tag("outer"))
        .encode_failure_attributes(true);
    let mut request = start_request();
    converter.encode_message(&mut request).await.unwrap();
    let failure = request.continued_failure.clone().unwrap();
    assert_eq!(failure.message, ENCODED_FAILURE_MESSAGE);
    assert_eq!(failure.stack_trace, "");
    assert_eq!(
        encoding_of(failure.encoded_attributes.as_ref().unwrap()),
        "outer"
    );
    converter.decode_message(&mut request).await.unwrap();
    let failure = crate::Failure::from_proto(request.continued_failure.unwrap());
    assert_eq!(failure.message(), "boom");
    assert_eq!(failure.as_proto().stack_trace, "at f()");
}

#[tokio::test]
async fn a_codec_that_changes_the_count_is_refused() {
    struct Drop1;
    impl PayloadCodec for Drop1 {
        fn encode(&self, mut p: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
            p.pop();
            Box::pin(async move { Ok(p) })
        }
        fn decode(&self, p: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
            Box::pin(async move { Ok(p) })
        }
    }
    let converter = DataConverter::default().with_codec(Drop1);
    let err = converter
        .encode_message(&mut start_request())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("keep the count"), "{err}");
}
