//! features/continue_as_new: a workflow continues as itself keeping its options, and a signal
//! arriving while the continuing task is in flight makes the server refuse the task, so the
//! signal is handled on the run it was sent to. (`updates_do_not_block_continue_as_new`
//! waits for updates.)

use crate::common::{count, event_type, history};
use crate::{check_history, replays, start_worker, Gate};
use chronicle::client::WorkflowStatus;
use chronicle::prelude::*;
use chronicle::Replayer;
use chronicle_core::proto::enums::{EventType, WorkflowTaskFailedCause};
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::unique_id;

const INPUT_DATA: &str = "InputData";
const MEMO_KEY: &str = "MemoKey";
const MEMO_VALUE: &str = "MemoValue";

#[derive(Default)]
struct ContinueAsSame;

#[workflow(name = "Workflow")]
impl ContinueAsSame {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        if ctx.info().continued_from_run_id.is_some() {
            return Ok(input);
        }
        Err(ctx.continue_as_new(Self::run, input))
    }
}

#[tokio::test]
async fn continue_as_new_continue_as_same() {
    let (client, queue, worker) = start_worker("continue-as-same", |w| {
        w.register_workflow::<ContinueAsSame>()
    })
    .await;
    // The scenario's fixed id "TestID", made unique so reruns on one server do not collide.
    let workflow_id = unique_id("TestID");
    let handle = client
        .start(
            ContinueAsSame::run,
            INPUT_DATA.to_string(),
            &workflow_id,
            &queue,
        )
        .memo(MEMO_KEY, MEMO_VALUE)
        .execution_timeout(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), INPUT_DATA);
    // The workflow id does not change; the memo is carried to the new run.
    assert_eq!(handle.workflow_id(), workflow_id);
    let latest = client.handle::<ContinueAsSame>(&workflow_id);
    let description = latest.describe().await.unwrap();
    assert_ne!(Some(description.run_id.as_str()), handle.run_id());
    assert_eq!(
        description.memo::<String>(MEMO_KEY).map(Result::unwrap),
        Some(MEMO_VALUE.to_string())
    );
    let first = handle.clone().for_run(handle.run_id().unwrap());
    assert_eq!(
        first.describe().await.unwrap().status,
        WorkflowStatus::ContinuedAsNew
    );
    let replayer = || Replayer::new().register_workflow::<ContinueAsSame>();
    check_history(&first, "continue_as_new/continue_as_same", replayer()).await;
    replays(&latest, replayer()).await;
    worker.stop().await;
}

/// The original's TODO, "check the search attributes persisted after continue as new": the
/// command carries the current run's search attributes when none were set, as the core-based
/// SDKs do, because the server does not copy them.
#[tokio::test]
async fn continue_as_new_continue_as_same_search_attributes() {
    let (client, queue, worker) = start_worker("continue-as-same-sa", |w| {
        w.register_workflow::<ContinueAsSame>()
    })
    .await;
    let workflow_id = unique_id("TestID");
    let handle = client
        .start(
            ContinueAsSame::run,
            INPUT_DATA.to_string(),
            &workflow_id,
            &queue,
        )
        .search_attribute(
            chronicle_tests::CUSTOMER_ATTRIBUTE,
            chronicle::SearchAttribute::Keyword("acme".into()),
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), INPUT_DATA);
    let description = client
        .handle::<ContinueAsSame>(&workflow_id)
        .describe()
        .await
        .unwrap();
    assert_ne!(Some(description.run_id.as_str()), handle.run_id());
    assert_eq!(
        description.search_attribute(chronicle_tests::CUSTOMER_ATTRIBUTE),
        Some(chronicle::SearchAttribute::Keyword("acme".into()))
    );
    worker.stop().await;
}

static SIGNAL_DURING_CAN: Gate = Gate::new();

/// Continues as new once, handing the next run the signals the first run handled.
#[derive(Default)]
struct SignalsBlockCan {
    signals: Vec<String>,
}

#[workflow(name = "Workflow")]
impl SignalsBlockCan {
    #[run]
    async fn run(
        ctx: WorkflowContext<Self>,
        handled_before: Option<Vec<String>>,
    ) -> WorkflowResult<(Vec<String>, Vec<String>)> {
        if let Some(before) = handled_before {
            return Ok((before, ctx.state(|s| s.signals.clone())));
        }
        // Keeps the task that continues as new in flight until the test has signalled.
        SIGNAL_DURING_CAN.hold();
        let handled = ctx.state(|s| s.signals.clone());
        Err(ctx.continue_as_new(Self::run, Some(handled)))
    }

    #[signal]
    fn add(&mut self, value: String) {
        self.signals.push(value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn continue_as_new_signals_block_continue_as_new() {
    let (client, queue, worker) = start_worker("signals-block-can", |w| {
        w.register_workflow::<SignalsBlockCan>()
    })
    .await;
    let handle = client
        .start(
            SignalsBlockCan::run,
            None,
            unique_id("signals-block-can"),
            &queue,
        )
        .await
        .unwrap();
    SIGNAL_DURING_CAN.wait_held().await;
    handle
        .signal(SignalsBlockCan::add, "during the task".to_string())
        .await
        .unwrap();
    SIGNAL_DURING_CAN.release();

    // The signal was handled by the first run (before it continued), not by the second.
    let (before, after) = handle.result().await.unwrap();
    assert_eq!(before, ["during the task"]);
    assert!(after.is_empty(), "{after:?}");

    // The first run's history: the continuing task was refused, then retried with the signal.
    let first = handle.clone().for_run(handle.run_id().unwrap());
    let history = history(&first).await;
    let kinds: Vec<EventType> = history.events().iter().map(event_type).collect();
    let failed = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => Some(a.cause),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the in-flight task is refused: {kinds:?}"));
    assert_eq!(
        WorkflowTaskFailedCause::try_from(failed),
        Ok(WorkflowTaskFailedCause::UnhandledCommand),
        "{kinds:?}"
    );
    let signaled = kinds
        .iter()
        .position(|k| *k == EventType::WorkflowExecutionSignaled)
        .expect("the signal is in the first run");
    let continued = kinds
        .iter()
        .position(|k| *k == EventType::WorkflowExecutionContinuedAsNew)
        .expect("the first run continued as new");
    assert!(signaled < continued, "{kinds:?}");
    let latest = client.handle::<SignalsBlockCan>(handle.workflow_id());
    assert_eq!(
        count(
            &crate::common::history(&latest).await,
            EventType::WorkflowExecutionSignaled
        ),
        0
    );
    let replayer = || Replayer::new().register_workflow::<SignalsBlockCan>();
    check_history(
        &first,
        "continue_as_new/signals_block_continue_as_new",
        replayer(),
    )
    .await;
    replays(&latest, replayer()).await;
    worker.stop().await;
}
