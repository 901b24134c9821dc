//! Continue-as-new end to end: a workflow starts over with new input (same type or another),
//! each run's history stays short, and the client's `result()` follows the chain.

mod common;

use chronicle::client::WorkflowStatus;
use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, RunningWorker};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Summary {
    total: u64,
    runs: u32,
    continued_from: Option<String>,
}

#[activity]
async fn add(_ctx: ActivityContext, a: u64, b: u64) -> Result<u64, ActivityError> {
    Ok(a + b)
}

/// Adds 1..=until in chunks of 3 activities per run, continuing as new between chunks, and
/// hands the last step to `Finisher`.
#[derive(Default)]
struct Summer;

#[workflow]
impl Summer {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        next: u64,
        until: u64,
        total: u64,
        runs: u32,
    ) -> WorkflowResult<Summary> {
        let mut total = total;
        let mut next = next;
        for _ in 0..3 {
            if next > until {
                return Err(ctx.continue_as_new(Finisher::run, (total, runs + 1)));
            }
            total = ctx.activity(add, (total, next)).await?;
            next += 1;
        }
        Err(ctx.continue_as_new(Self::run, (next, until, total, runs + 1)))
    }
}

/// The last run of the chain: another workflow type.
#[derive(Default)]
struct Finisher;

#[workflow]
impl Finisher {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, total: u64, runs: u32) -> WorkflowResult<Summary> {
        Ok(Summary {
            total,
            runs: runs + 1,
            continued_from: ctx.info().continued_from_run_id.clone(),
        })
    }
}

#[tokio::test]
async fn a_workflow_continues_as_new_and_the_client_follows_the_chain() {
    let client = client().await;
    let queue = unique_task_queue("continue-as-new");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<Summer>()
            .register_workflow::<Finisher>()
            .register_activity(add),
    );
    let id = unique_id("summer");
    let first = client
        .start(Summer::run, (1, 10, 0, 0), &id, &queue)
        .await
        .unwrap();
    // Typed by the first run's type; the chain ends in Finisher, whose output type is the same.
    let summary = first.result().await.unwrap();
    assert_eq!(summary.total, 55);
    // 10 numbers in chunks of 3: four Summer runs, then the Finisher.
    assert_eq!(summary.runs, 5);

    // The first run ended by continuing as new; its history holds its own chunk only.
    let first_run = first.clone().for_run(first.run_id().unwrap());
    assert_eq!(
        first_run.describe().await.unwrap().status,
        WorkflowStatus::ContinuedAsNew
    );
    let history = first_run.fetch_history().await.unwrap();
    assert_eq!(count(&history, EventType::ActivityTaskScheduled), 3);
    assert_eq!(
        count(&history, EventType::WorkflowExecutionContinuedAsNew),
        1
    );
    chronicle::Replayer::new()
        .register_workflow::<Summer>()
        .replay(&history, "first run")
        .unwrap();

    // The last run knows where it came from, and is a Finisher.
    let last = client.untyped_handle(&id);
    let description = last.describe().await.unwrap();
    assert_eq!(description.workflow_type, "Finisher");
    assert!(summary.continued_from.is_some());
    assert_ne!(summary.continued_from.as_deref(), first.run_id());
    worker.stop().await;
}
