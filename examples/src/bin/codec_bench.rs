//! What a payload codec costs on the wire path: walking a workflow task's history for its
//! payloads (through the API descriptors) and putting them back, with a codec that changes
//! nothing, so the figures are the walk's own.
//!
//! `cargo run --release -p examples --bin codec_bench` prints µs per task and per event.

use chronicle::payload::{self, CodecError, DataConverter, Payload, PayloadCodec};
use chronicle::proto::common::Payloads;
use chronicle::proto::history::{history_event::Attributes, History, HistoryEvent};
use chronicle::proto::history::{
    ActivityTaskCompletedEventAttributes, ActivityTaskScheduledEventAttributes,
};
use chronicle::proto::workflowservice::PollWorkflowTaskQueueResponse;
use futures::future::BoxFuture;
use std::time::Instant;

struct Identity;

impl PayloadCodec for Identity {
    fn encode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move { Ok(payloads) })
    }
    fn decode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
        Box::pin(async move { Ok(payloads) })
    }
}

fn task(events: usize) -> anyhow::Result<PollWorkflowTaskQueueResponse> {
    let payloads = Some(Payloads {
        payloads: vec![payload::encode(&"a 40-byte string for every payload ....")?],
    });
    let events = (0..events as i64)
        .map(|id| HistoryEvent {
            event_id: id + 1,
            attributes: Some(if id % 2 == 0 {
                Attributes::ActivityTaskScheduledEventAttributes(
                    ActivityTaskScheduledEventAttributes {
                        activity_id: id.to_string(),
                        input: payloads.clone(),
                        ..Default::default()
                    },
                )
            } else {
                Attributes::ActivityTaskCompletedEventAttributes(
                    ActivityTaskCompletedEventAttributes {
                        result: payloads.clone(),
                        scheduled_event_id: id,
                        ..Default::default()
                    },
                )
            }),
            ..Default::default()
        })
        .collect();
    Ok(PollWorkflowTaskQueueResponse {
        task_token: vec![1; 64],
        history: Some(History { events }),
        ..Default::default()
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let converter = DataConverter::default().with_codec(Identity);
    for events in [10usize, 100, 1_000] {
        let original = task(events)?;
        let rounds = (20_000 / events).max(5);
        let start = Instant::now();
        for _ in 0..rounds {
            let mut message = original.clone();
            converter.decode_message(&mut message).await?;
        }
        let per_task = start.elapsed().as_secs_f64() * 1e6 / rounds as f64;
        println!(
            "{events:>5} events: {per_task:>9.1} µs per task to decode, {:.2} µs per event",
            per_task / events as f64
        );
    }
    Ok(())
}
