//! A run's own properties from workflow code, end to end: memo upserts seen by the workflow
//! and by `describe()`, and the server's suggestion to continue as new.

mod common;

use chronicle::prelude::*;
use chronicle::Replayer;
use chronicle_tests::{dedicated_server, unique_id, unique_task_queue};
use common::{client, history, RunningWorker};

/// Changes its memo, reports what it sees of it, and waits to be released.
#[derive(Default)]
struct Ledger {
    released: bool,
}

#[workflow]
impl Ledger {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Vec<Option<String>>> {
        let before: Option<String> = ctx.memo("status").transpose()?;
        ctx.upsert_memo([("status", "paid"), ("payer", "ada")])?;
        ctx.upsert_memo([("draft", None::<String>)])?;
        let after: Option<String> = ctx.memo("status").transpose()?;
        let draft: Option<String> = ctx.memo("draft").transpose()?;
        ctx.wait_until(|s| s.released).await?;
        Ok(vec![before, after, draft])
    }

    #[signal]
    fn release(&mut self) {
        self.released = true;
    }
}

#[tokio::test]
async fn an_upserted_memo_is_seen_by_the_workflow_and_by_describe() {
    let client = client().await;
    let queue = unique_task_queue("memo");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Ledger>());
    let handle = client
        .start(Ledger::run, (), unique_id("ledger"), &queue)
        .memo("status", "draft")
        .memo("draft", &true)
        .await
        .unwrap();
    chronicle_tests::wait_for(
        "describe to show the upserted memo",
        common::WAIT,
        || async {
            let description = handle.describe().await.unwrap();
            let status: Option<String> = description.memo("status").and_then(Result::ok);
            status.as_deref() == Some("paid")
        },
    )
    .await;
    let description = handle.describe().await.unwrap();
    let payer: Option<String> = description.memo("payer").and_then(Result::ok);
    assert_eq!(payer.as_deref(), Some("ada"));
    // A null value removed the field on the server too.
    assert!(description.memo::<bool>("draft").is_none());
    handle.signal(Ledger::release, ()).await.unwrap();
    assert_eq!(
        handle.result().await.unwrap(),
        [Some("draft".to_string()), Some("paid".to_string()), None]
    );
    Replayer::new()
        .register_workflow::<Ledger>()
        .replay(&history(&handle).await, "ledger")
        .unwrap();
    worker.stop().await;
}

/// Sleeps a millisecond at a time until the server suggests continuing as new, then reports
/// the history's length and size at that point.
#[derive(Default)]
struct Ticker;

#[workflow]
impl Ticker {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<(i64, u64)> {
        while !ctx.continue_as_new_suggested() {
            ctx.sleep(Duration::from_millis(1)).await?;
        }
        Ok((ctx.history_length(), ctx.history_size()))
    }
}

/// The history length past which the dedicated server suggests continuing as new.
const SUGGEST_AT: i64 = 40;

#[tokio::test]
async fn the_server_suggests_continuing_as_new_past_its_history_limit() {
    let server = dedicated_server(|options| {
        options.arg("--dynamic-config-value").arg(format!(
            "limit.historyCount.suggestContinueAsNew={SUGGEST_AT}"
        ))
    })
    .await;
    let client = Client::connect(server.connection_options()).await.unwrap();
    let queue = unique_task_queue("suggest-can");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Ticker>());
    let handle = client
        .start(Ticker::run, (), unique_id("ticker"), &queue)
        .await
        .unwrap();
    let (length, size) = handle.result().await.unwrap();
    // Not before the limit (so the flag is read, not always set), and soon after it.
    assert!(
        (SUGGEST_AT..SUGGEST_AT + 10).contains(&length),
        "suggested at {length}"
    );
    assert!(size > 0, "history size {size}");
    Replayer::new()
        .register_workflow::<Ticker>()
        .replay(&history(&handle).await, "ticker")
        .unwrap();
    worker.stop().await;
}
