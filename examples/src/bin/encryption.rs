//! The hello workflow with every payload encrypted (AES-256-GCM): the worker and the client
//! share a codec; the server, and anyone reading the history without the key, sees only
//! `binary/encrypted` payloads.
//!
//! `cargo run -p examples --bin encryption` prints the greeting, then the workflow's input as
//! the server stored it.

use chronicle::payload::DataConverter;
use chronicle::proto::history::history_event::Attributes;
use examples::encryption::demo_codec;
use examples::hello::{worker, HelloWorkflow, TASK_QUEUE};

fn encrypted(client: &chronicle::Client) -> chronicle::Client {
    client.with_data_converter(
        DataConverter::default()
            .with_codec(demo_codec())
            .encode_failure_attributes(true),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::run_example(
        |client| worker(&encrypted(client)),
        |client, args| async move {
            let name = args.first().cloned().unwrap_or_else(|| "World".to_string());
            let workflow_id = examples::workflow_id("encrypted-hello");
            let handle = encrypted(&client)
                .start(HelloWorkflow::run, name, workflow_id.clone(), TASK_QUEUE)
                .await?;
            println!("{}", handle.result().await?);
            // The same history through a client without the codec: what the server holds.
            let history = client.untyped_handle(workflow_id).fetch_history().await?;
            for event in history.events() {
                if let Some(Attributes::WorkflowExecutionStartedEventAttributes(started)) =
                    &event.attributes
                {
                    for p in started.input.iter().flat_map(|i| &i.payloads) {
                        let encoding = String::from_utf8_lossy(&p.metadata["encoding"]);
                        println!("stored input: {encoding}, {} bytes", p.data.len());
                    }
                }
            }
            Ok(())
        },
    )
    .await
}
