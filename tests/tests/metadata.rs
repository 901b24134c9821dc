//! Memo and search attributes: set at start, upserted from the workflow, read back by the
//! workflow (its info) and by the client (describe); the workflow's own info.

mod common;

use chronicle::prelude::*;
use chronicle::SearchAttribute;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue, AMOUNT_ATTRIBUTE, CUSTOMER_ATTRIBUTE};
use common::{client, count, history, RunningWorker};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    customer: Option<String>,
    note: Option<String>,
    workflow_id: String,
    run_id: String,
    attempt: u32,
    started_at_ms: u128,
}

#[derive(Default)]
struct Tagged;

#[workflow]
impl Tagged {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, amount_cents: i64) -> WorkflowResult<Seen> {
        let customer = match ctx.search_attribute(CUSTOMER_ATTRIBUTE) {
            Some(SearchAttribute::Keyword(customer)) => Some(customer),
            _ => None,
        };
        let note = ctx.memo::<String>("note").transpose()?;
        ctx.upsert_search_attributes([(AMOUNT_ATTRIBUTE, SearchAttribute::Int(amount_cents))]);
        let info = ctx.info();
        Ok(Seen {
            customer,
            note,
            workflow_id: info.workflow_id.clone(),
            run_id: info.run_id.clone(),
            attempt: info.attempt,
            started_at_ms: info
                .start_time
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis())
                .unwrap_or_default(),
        })
    }
}

#[tokio::test]
async fn memo_and_search_attributes_reach_the_workflow_and_the_client() {
    let client = client().await;
    let queue = unique_task_queue("metadata");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Tagged>());
    let id = unique_id("tagged");
    let handle = client
        .start(Tagged::run, 12_500, &id, &queue)
        .memo("note", "call before noon")
        .search_attribute(CUSTOMER_ATTRIBUTE, SearchAttribute::Keyword("acme".into()))
        .await
        .unwrap();
    let seen = handle.result().await.unwrap();
    assert_eq!(seen.customer.as_deref(), Some("acme"));
    assert_eq!(seen.note.as_deref(), Some("call before noon"));
    assert_eq!(seen.workflow_id, id);
    assert_eq!(Some(seen.run_id.as_str()), handle.run_id());
    assert_eq!(seen.attempt, 1);

    let description = handle.describe().await.unwrap();
    assert_eq!(
        description.memo::<String>("note").unwrap().unwrap(),
        "call before noon"
    );
    assert_eq!(
        description.search_attribute(CUSTOMER_ATTRIBUTE),
        Some(SearchAttribute::Keyword("acme".into()))
    );
    assert_eq!(
        description.search_attribute(AMOUNT_ATTRIBUTE),
        Some(SearchAttribute::Int(12_500))
    );
    let started_ms = description
        .start_time
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    assert_eq!(seen.started_at_ms, started_ms);

    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::UpsertWorkflowSearchAttributes),
        1
    );
    chronicle::Replayer::new()
        .register_workflow::<Tagged>()
        .replay(&history, "tagged")
        .unwrap();
    worker.stop().await;
}
