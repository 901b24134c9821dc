//! Payload encodings, codecs and encoded failures, end to end: the bytes the server records,
//! and interop with the Python SDK.

mod common;

use chronicle::payload::{
    Bytes, DataConverter, Payload, Proto, ProtoJson, ENCODED_FAILURE_MESSAGE,
};
use chronicle::prelude::*;
use chronicle::SearchAttribute;
use chronicle_core::history::json::descriptor_pool;
use chronicle_core::history::History;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{python_json, server, unique_id, unique_task_queue};
use common::{client, compose_greeting, RunningWorker, WAIT};
use examples::encryption::{AesGcmCodec, ENCRYPTED, KEY_ID};
use prost_reflect::{MessageDescriptor, ReflectMessage};
use std::collections::HashMap;

fn metadata(pairs: &[(&str, &[u8])]) -> HashMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_vec()))
        .collect()
}

/// The payloads of the workflow's start input and of its completion.
fn input_and_result(history: &History) -> (Vec<Payload>, Vec<Payload>) {
    let (mut input, mut result) = (Vec::new(), Vec::new());
    for event in history.events() {
        match &event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                input = a.input.clone().map(|p| p.payloads).unwrap_or_default()
            }
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                result = a.result.clone().map(|p| p.payloads).unwrap_or_default()
            }
            _ => {}
        }
    }
    (input, result)
}

#[derive(Default)]
struct BytesWorkflow;

#[workflow]
impl BytesWorkflow {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, data: Vec<u8>) -> WorkflowResult<Vec<u8>> {
        Ok(data.into_iter().rev().collect())
    }
}

#[tokio::test]
async fn python_bytes_reach_a_rust_vec_u8_and_come_back_as_bytes() {
    let client = client().await;
    let queue = unique_task_queue("bytes");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<BytesWorkflow>());
    let id = unique_id("py-bytes");
    let answer = python_json(
        "payloads.py",
        &["bytes", &server().await.address, &queue, &id, "deadbeef"],
    )
    .await
    .unwrap();
    assert_eq!(answer["result_hex"], "efbeadde");
    // Byte-exact, as the features repository's data_converter/binary checks them.
    let history = client.untyped_handle(&id).fetch_history().await.unwrap();
    let (input, result) = input_and_result(&history);
    let binary = metadata(&[("encoding", b"binary/plain")]);
    assert_eq!(input.len(), 1);
    assert_eq!(
        (&input[0].metadata, input[0].data.as_slice()),
        (&binary, &[0xde, 0xad, 0xbe, 0xef][..])
    );
    assert_eq!(
        (&result[0].metadata, result[0].data.as_slice()),
        (&binary, &[0xef, 0xbe, 0xad, 0xde][..])
    );
    worker.stop().await;
}

#[derive(Default)]
struct BytesTypes;

#[workflow]
impl BytesTypes {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, data: Bytes) -> WorkflowResult<(Bytes, Vec<u8>)> {
        Ok((Bytes::default(), data.into_vec()))
    }
}

#[tokio::test]
async fn rust_byte_types_are_binary_plain_on_the_wire() {
    let client = client().await;
    let queue = unique_task_queue("bytes-types");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<BytesTypes>());
    let handle = client
        .start(
            BytesTypes::run,
            Bytes(vec![1, 2, 3]),
            unique_id("bytes-types"),
            &queue,
        )
        .await
        .unwrap();
    let (empty, data) = handle.result().await.unwrap();
    assert!(empty.is_empty());
    assert_eq!(data, vec![1, 2, 3]);
    let (input, _) = input_and_result(&handle.fetch_history().await.unwrap());
    assert_eq!(
        input[0].metadata,
        metadata(&[("encoding", b"binary/plain")])
    );
    assert_eq!(input[0].data, vec![1, 2, 3]);
    worker.stop().await;
}

/// `temporal.api.common.v1.WorkflowExecution`, a message the Python SDK knows, with the
/// descriptor Chronicle embeds, so that `ProtoJson` can write its proto3 JSON.
#[derive(Clone, PartialEq, prost::Message)]
struct Execution {
    #[prost(string, tag = "1")]
    workflow_id: String,
    #[prost(string, tag = "2")]
    run_id: String,
}

impl prost::Name for Execution {
    const NAME: &'static str = "WorkflowExecution";
    const PACKAGE: &'static str = "temporal.api.common.v1";
}

impl ReflectMessage for Execution {
    fn descriptor(&self) -> MessageDescriptor {
        descriptor_pool()
            .get_message_by_name("temporal.api.common.v1.WorkflowExecution")
            .expect("the embedded descriptors hold WorkflowExecution")
    }
}

#[derive(Default)]
struct ProtoWorkflow;

#[workflow]
impl ProtoWorkflow {
    /// Reads proto3 JSON (Python's default for messages), answers in binary protobuf.
    #[run]
    async fn run(
        _ctx: WorkflowContext<Self>,
        execution: ProtoJson<Execution>,
    ) -> WorkflowResult<Proto<Execution>> {
        let ProtoJson(mut execution) = execution;
        execution.run_id.push_str("-seen");
        Ok(Proto(execution))
    }
}

#[tokio::test]
async fn protobuf_messages_in_both_encodings_with_python() {
    let client = client().await;
    let queue = unique_task_queue("proto");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<ProtoWorkflow>());
    let id = unique_id("py-proto");
    let answer = python_json(
        "payloads.py",
        &["proto", &server().await.address, &queue, &id],
    )
    .await
    .unwrap();
    assert_eq!(
        answer,
        serde_json::json!({"workflow_id": "wf-a", "run_id": "run-b-seen"})
    );
    let history = client.untyped_handle(&id).fetch_history().await.unwrap();
    let (input, result) = input_and_result(&history);
    let message_type: &[u8] = b"temporal.api.common.v1.WorkflowExecution";
    assert_eq!(
        input[0].metadata,
        metadata(&[
            ("encoding", b"json/protobuf"),
            ("messageType", message_type)
        ])
    );
    assert_eq!(input[0].data, br#"{"runId":"run-b","workflowId":"wf-a"}"#);
    // Chronicle writes the same bytes as Python for the same message.
    let ours = chronicle::payload::encode(&ProtoJson(Execution {
        workflow_id: "wf-a".into(),
        run_id: "run-b".into(),
    }))
    .unwrap();
    assert_eq!(ours, input[0]);
    let expected = Execution {
        workflow_id: "wf-a".into(),
        run_id: "run-b-seen".into(),
    };
    assert_eq!(
        result[0].metadata,
        metadata(&[
            ("encoding", b"binary/protobuf"),
            ("messageType", message_type)
        ])
    );
    assert_eq!(result[0].data, prost::Message::encode_to_vec(&expected));
    worker.stop().await;
}

#[derive(Default)]
struct Encrypted {
    note: String,
}

#[workflow]
impl Encrypted {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx
            .activity(compose_greeting, name)
            .start_to_close(Duration::from_secs(10))
            .await?;
        ctx.wait_until(|w| !w.note.is_empty()).await?;
        Ok(format!("{greeting} {}", ctx.state(|w| w.note.clone())))
    }

    #[signal]
    fn note(&mut self, note: String) {
        self.note = note;
    }

    #[query]
    fn current_note(&self) -> String {
        self.note.clone()
    }
}

fn chained(client: &Client) -> Client {
    // Two keys: the inner codec encrypts first, the outer one encrypts that again.
    client.with_data_converter(
        DataConverter::default()
            .with_codec(AesGcmCodec::new("inner", &[1; 32]))
            .with_codec(AesGcmCodec::new("outer", &[2; 32])),
    )
}

#[tokio::test]
async fn a_codec_chain_encrypts_the_history_and_decrypts_for_workflow_and_client() {
    let plain = client().await;
    let client = chained(&plain);
    let queue = unique_task_queue("encrypted");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<Encrypted>()
            .register_activity(compose_greeting),
    );
    let id = unique_id("encrypted");
    let handle = client
        .start(Encrypted::run, "Ada".to_string(), &id, &queue)
        .memo("team", "billing")
        .search_attribute(
            chronicle_tests::CUSTOMER_ATTRIBUTE,
            SearchAttribute::Keyword("visible".into()),
        )
        .await
        .unwrap();
    handle
        .signal(Encrypted::note, "welcome".to_string())
        .await
        .unwrap();
    chronicle_tests::wait_for("the signal to be seen", WAIT, || async {
        handle
            .query(Encrypted::current_note, ())
            .await
            .ok()
            .as_deref()
            == Some("welcome")
    })
    .await;
    assert_eq!(handle.result().await.unwrap(), "Hello, Ada! welcome");
    let description = handle.describe().await.unwrap();
    assert_eq!(
        description.memo::<String>("team").unwrap().unwrap(),
        "billing"
    );

    // Without the codecs: every payload the server stored is encrypted with the outer key.
    let raw = plain.untyped_handle(&id).fetch_history().await.unwrap();
    let mut seen = Vec::new();
    for event in raw.events() {
        let payloads: Vec<Payload> = match &event.attributes {
            Some(Attributes::WorkflowExecutionStartedEventAttributes(a)) => {
                let sa = &a.search_attributes.as_ref().unwrap().indexed_fields
                    [chronicle_tests::CUSTOMER_ATTRIBUTE];
                assert_eq!(sa.data, br#""visible""#, "search attributes stay readable");
                let memo = a.memo.as_ref().unwrap().fields.values().cloned();
                a.input
                    .iter()
                    .flat_map(|p| p.payloads.clone())
                    .chain(memo)
                    .collect()
            }
            Some(Attributes::ActivityTaskScheduledEventAttributes(a)) => {
                a.input.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            Some(Attributes::ActivityTaskCompletedEventAttributes(a)) => {
                a.result.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            Some(Attributes::WorkflowExecutionSignaledEventAttributes(a)) => {
                a.input.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
                a.result.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            _ => continue,
        };
        seen.push(event.event_type);
        for p in payloads {
            assert_eq!(
                p.metadata["encoding"], ENCRYPTED,
                "event {}",
                event.event_id
            );
            assert_eq!(p.metadata[KEY_ID], b"outer");
            assert!(!p.data.windows(3).any(|w| w == b"Ada"));
        }
    }
    assert_eq!(
        seen.len(),
        5,
        "start, activity scheduled and completed, signal, completion"
    );
    // A client without the codecs cannot read the result, and says why.
    let err = plain
        .untyped_handle(&id)
        .result::<String>()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("binary/encrypted"), "{err}");
    worker.stop().await;
}

#[derive(Default)]
struct FailsEncoded;

#[workflow]
impl FailsEncoded {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Err(WorkflowError::new("out of stock"))
    }
}

#[tokio::test]
async fn encoded_failures_are_read_by_python() {
    let client = client()
        .await
        .with_data_converter(DataConverter::default().encode_failure_attributes(true));
    let queue = unique_task_queue("fails-encoded");
    let worker =
        RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<FailsEncoded>());
    let id = unique_id("fails-encoded");
    let answer = python_json(
        "payloads.py",
        &["failed-workflow", &server().await.address, &queue, &id],
    )
    .await
    .unwrap();
    assert_eq!(answer["message"], "out of stock");
    // In the history: only "Encoded failure", the message in the attributes.
    let history = client.untyped_handle(&id).fetch_history().await.unwrap();
    let failure = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => a.failure.clone(),
            _ => None,
        })
        .expect("a failed event");
    assert_eq!(failure.message, ENCODED_FAILURE_MESSAGE);
    let attributes: serde_json::Value =
        chronicle::payload::decode(failure.encoded_attributes.as_ref().unwrap(), "attributes")
            .unwrap();
    assert_eq!(attributes["message"], "out of stock");
    assert!(attributes.get("stack_trace").is_some());
    // A Rust client reads it back too.
    let err = client
        .untyped_handle(&id)
        .result::<()>()
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("out of stock") && !err.contains(ENCODED_FAILURE_MESSAGE),
        "{err}"
    );
    worker.stop().await;
}

#[activity(name = "py_decline")]
async fn py_decline(ctx: ActivityContext, amount: u32) -> Result<String, ActivityError>;

#[derive(Default)]
struct SeesPythonFailure;

#[workflow]
impl SeesPythonFailure {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, python_queue: String) -> WorkflowResult<String> {
        let failed = ctx
            .activity(py_decline, 40)
            .task_queue(python_queue)
            .start_to_close(Duration::from_secs(10))
            .await
            .unwrap_err();
        let cause = failed.cause();
        Ok(format!(
            "{} / {} / trace: {}",
            cause.message(),
            cause.error_type().unwrap_or_default(),
            !cause.as_proto().stack_trace.is_empty()
        ))
    }
}

#[tokio::test]
async fn python_encoded_failures_are_read_back() {
    let client = client().await;
    let rust_queue = unique_task_queue("sees-py-failure");
    let python_queue = unique_task_queue("py-decline");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &rust_queue).register_workflow::<SeesPythonFailure>(),
    );
    let id = unique_id("sees-py-failure");
    let answer = python_json(
        "payloads.py",
        &[
            "declining-activity",
            &server().await.address,
            &rust_queue,
            &python_queue,
            &id,
        ],
    )
    .await
    .unwrap();
    assert_eq!(
        answer["result"],
        "card declined for 40 / Declined / trace: true"
    );
    worker.stop().await;
}

/// Fails its first attempt after a heartbeat, with details; the retry resumes from them.
#[activity]
async fn resumable(ctx: ActivityContext, step: String) -> Result<String, ActivityError> {
    if let Some(Ok(checkpoint)) = ctx.last_heartbeat_details::<String>() {
        return Ok(format!("{step} resumed from {checkpoint}"));
    }
    ctx.heartbeat("checkpoint-1");
    Err(ActivityError::retryable("first try failed").with_details(&"why-detail"))
}

#[derive(Default)]
struct EncryptedChild;

#[workflow]
impl EncryptedChild {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, text: String) -> WorkflowResult<String> {
        Ok(text.to_uppercase())
    }
}

#[derive(Default)]
struct EncryptedEverything;

#[workflow]
impl EncryptedEverything {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, round: u32) -> WorkflowResult<String> {
        if round == 0 {
            return Err(ctx.continue_as_new(Self::run, 1));
        }
        let resumed = ctx
            .activity(resumable, "upload".to_string())
            .start_to_close(Duration::from_secs(10))
            .retry_policy(RetryPolicy {
                initial_interval: Some(Duration::from_millis(100)),
                maximum_attempts: 2,
                ..Default::default()
            })
            .await?;
        let shout = ctx.child_workflow(EncryptedChild::run, resumed).await?;
        Ok(shout)
    }
}

#[tokio::test]
async fn heartbeats_failures_children_and_continue_as_new_are_encrypted_too() {
    let plain = client().await;
    let client = plain.with_data_converter(
        DataConverter::default()
            .with_codec(AesGcmCodec::new("k", &[9; 32]))
            .encode_failure_attributes(true),
    );
    let queue = unique_task_queue("encrypted-all");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<EncryptedEverything>()
            .register_workflow::<EncryptedChild>()
            .register_activity(resumable),
    );
    let id = unique_id("encrypted-all");
    let handle = client
        .start(EncryptedEverything::run, 0, &id, &queue)
        .await
        .unwrap();
    // The heartbeat details went out encrypted and came back decrypted for the retry.
    assert_eq!(
        handle.result().await.unwrap(),
        "UPLOAD RESUMED FROM CHECKPOINT-1"
    );

    let first = plain
        .untyped_handle(&id)
        .for_run(handle.run_id().unwrap_or_default())
        .fetch_history()
        .await
        .unwrap();
    let second = plain.untyped_handle(&id).fetch_history().await.unwrap();
    let mut kinds = Vec::new();
    for event in first.events().iter().chain(second.events()) {
        let payloads: Vec<Payload> = match &event.attributes {
            Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a)) => {
                kinds.push("continued-as-new");
                a.input.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            Some(Attributes::ActivityTaskStartedEventAttributes(a)) => {
                // The retried attempt's start carries the first attempt's failure.
                let Some(failure) = &a.last_failure else {
                    continue;
                };
                kinds.push("last failure");
                assert_eq!(failure.message, ENCODED_FAILURE_MESSAGE);
                let details = match &failure.failure_info {
                    Some(
                        chronicle::proto::failure::failure::FailureInfo::ApplicationFailureInfo(i),
                    ) => i
                        .details
                        .iter()
                        .flat_map(|p| p.payloads.clone())
                        .collect::<Vec<_>>(),
                    _ => Vec::new(),
                };
                assert_eq!(details.len(), 1, "the failure's details");
                details
                    .into_iter()
                    .chain(failure.encoded_attributes.clone())
                    .collect()
            }
            Some(Attributes::StartChildWorkflowExecutionInitiatedEventAttributes(a)) => {
                kinds.push("child input");
                a.input.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            Some(Attributes::ChildWorkflowExecutionCompletedEventAttributes(a)) => {
                kinds.push("child result");
                a.result.iter().flat_map(|p| p.payloads.clone()).collect()
            }
            _ => continue,
        };
        for p in payloads {
            assert_eq!(
                p.metadata["encoding"], ENCRYPTED,
                "event {}",
                event.event_id
            );
        }
    }
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "child input",
            "child result",
            "continued-as-new",
            "last failure"
        ]
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_task_the_codec_cannot_decode_fails_visibly() {
    let plain = client().await;
    let starter = plain.with_data_converter(
        DataConverter::default().with_codec(AesGcmCodec::new("starter-key", &[3; 32])),
    );
    let worker_client = plain.with_data_converter(
        DataConverter::default().with_codec(AesGcmCodec::new("worker-key", &[4; 32])),
    );
    let queue = unique_task_queue("undecodable");
    let worker = RunningWorker::spawn(
        Worker::new(&worker_client, &queue).register_workflow::<BytesWorkflow>(),
    );
    let handle = starter
        .start(
            BytesWorkflow::run,
            vec![1, 2],
            unique_id("undecodable"),
            &queue,
        )
        .await
        .unwrap();
    let failed = common::wait_for_event(
        &handle,
        chronicle::proto::enums::EventType::WorkflowTaskFailed,
    )
    .await;
    let message = common::task_failure_message(&failed);
    assert!(
        message.contains("could not decode") && message.contains("starter-key"),
        "{message}"
    );
    handle.terminate("test over").await.unwrap();
    worker.stop().await;
}
