//! features/signal: signals from a client, from a parent to its child and from one workflow to
//! another; signal-with-start; and a signal arriving while the workflow completes keeps it
//! open until handled. (`activities`, activities run from a signal handler, waits for async
//! signal handlers.)

use crate::common::{count, event_type, history, wait_for_event};
use crate::{check_history, replays, start_worker, Gate};
use chronicle::client::ClientError;
use chronicle::prelude::*;
use chronicle::Replayer;
use chronicle_core::proto::enums::{EventType, WorkflowTaskFailedCause};
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::unique_id;

/// Waits for `my_signal` and returns its argument.
#[derive(Default)]
struct SignalWorkflow {
    state: String,
}

#[workflow(name = "Workflow")]
impl SignalWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| !s.state.is_empty()).await?;
        Ok(ctx.state(|s| s.state.clone()))
    }

    #[signal]
    fn my_signal(&mut self, arg: String) {
        self.state = arg;
    }
}

fn replayer() -> Replayer {
    Replayer::new()
        .register_workflow::<SignalWorkflow>()
        .register_workflow::<SignalParent>()
        .register_workflow::<SignalChild>()
        .register_workflow::<Adder>()
        .register_workflow::<Sender>()
}

async fn signal_worker(prefix: &str) -> (Client, String, crate::common::RunningWorker) {
    start_worker(prefix, |w| {
        w.register_workflow::<SignalWorkflow>()
            .register_workflow::<SignalParent>()
            .register_workflow::<SignalChild>()
            .register_workflow::<Adder>()
            .register_workflow::<Sender>()
    })
    .await
}

#[tokio::test]
async fn signal_basic() {
    let (client, queue, worker) = signal_worker("signal-basic").await;
    let handle = client
        .start(SignalWorkflow::run, (), unique_id("workflow-id"), &queue)
        .execution_timeout(Duration::from_secs(60))
        .await
        .unwrap();
    handle
        .signal(SignalWorkflow::my_signal, "arg".to_string())
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "arg");
    check_history(&handle, "signal/basic", replayer()).await;
    worker.stop().await;
}

#[tokio::test]
async fn signal_external() {
    const SIGNAL_DATA: &str = "Signaled!";
    let (client, queue, worker) = signal_worker("signal-external").await;
    let handle = client
        .start(
            SignalWorkflow::run,
            (),
            unique_id("signal-external"),
            &queue,
        )
        .await
        .unwrap();
    handle
        .signal(SignalWorkflow::my_signal, SIGNAL_DATA.to_string())
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), SIGNAL_DATA);
    check_history(&handle, "signal/external", replayer()).await;

    // A signal to a workflow that does not exist is an error.
    let error = client
        .handle::<SignalWorkflow>(unique_id("nobody"))
        .signal(SignalWorkflow::my_signal, SIGNAL_DATA.to_string())
        .await
        .unwrap_err();
    assert!(matches!(error, ClientError::NotFound { .. }), "{error:?}");
    worker.stop().await;
}

/// Waits for `my_signal`; returns its input and the signal's argument.
#[derive(Default)]
struct SignalChild {
    state: String,
}

#[workflow(name = "ChildWorkflow")]
impl SignalChild {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, input: String) -> WorkflowResult<String> {
        ctx.wait_until(|s| !s.state.is_empty()).await?;
        Ok(format!("{input} {}", ctx.state(|s| s.state.clone())))
    }

    #[signal]
    fn my_signal(&mut self, arg: String) {
        self.state = arg;
    }
}

#[derive(Default)]
struct SignalParent;

#[workflow(name = "SignalParent")]
impl SignalParent {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let child = ctx
            .child_workflow(SignalChild::run, "child-wf-arg".to_string())
            .start()
            .await?;
        child
            .signal(SignalChild::my_signal, "signal-arg".to_string())
            .await?;
        Ok(child.result().await?)
    }
}

#[tokio::test]
async fn signal_child_workflow() {
    let (client, queue, worker) = signal_worker("signal-child").await;
    let handle = client
        .start(SignalParent::run, (), unique_id("signal-child"), &queue)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), "child-wf-arg signal-arg");
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::ExternalWorkflowExecutionSignaled),
        1
    );
    check_history(&handle, "signal/child_workflow", replayer()).await;
    worker.stop().await;
}

/// Adds its input and every `add` signal to a value; returns it once positive.
#[derive(Default)]
struct Adder {
    value: i64,
}

#[workflow(name = "Adder")]
impl Adder {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, arg: i64) -> WorkflowResult<i64> {
        ctx.update(|s| s.value += arg);
        ctx.wait_until(|s| s.value > 0).await?;
        Ok(ctx.state(|s| s.value))
    }

    #[signal]
    fn add(&mut self, arg: i64) {
        self.value += arg;
    }
}

#[tokio::test]
async fn signal_signal_with_start() {
    let (client, queue, worker) = signal_worker("signal-with-start").await;
    // No workflow under this id: it starts, with the signal as its first event.
    let handle = client
        .start(Adder::run, 1, unique_id("signal-with-start"), &queue)
        .with_signal(Adder::add, 42)
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap(), 43);
    let kinds: Vec<EventType> = history(&handle)
        .await
        .events()
        .iter()
        .map(event_type)
        .collect();
    assert_eq!(
        kinds[..2],
        [
            EventType::WorkflowExecutionStarted,
            EventType::WorkflowExecutionSignaled
        ],
        "{kinds:?}"
    );
    check_history(&handle, "signal/signal_with_start", replayer()).await;

    // A running workflow under this id: it takes the signal, and nothing new starts.
    let id = unique_id("signal-with-start-existing");
    let existing = client.start(Adder::run, -2, &id, &queue).await.unwrap();
    let again = client
        .start(Adder::run, 0, &id, &queue)
        .with_signal(Adder::add, 42)
        .await
        .unwrap();
    assert_eq!(again.run_id(), existing.run_id());
    assert_eq!(existing.result().await.unwrap(), 40);
    replays(&existing, replayer()).await;
    worker.stop().await;
}

/// Signals `Adder` with the given id, then returns.
#[derive(Default)]
struct Sender;

#[workflow(name = "Sender")]
impl Sender {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, receiver: String) -> WorkflowResult<()> {
        ctx.external_workflow::<Adder>(receiver)
            .signal(Adder::add, 10)
            .await?;
        Ok(())
    }
}

#[tokio::test]
async fn signal_workflow_to_workflow() {
    let (client, queue, worker) = signal_worker("workflow-to-workflow").await;
    let receiver_id = unique_id("receiver");
    let receiver = client
        .start(Adder::run, 0, &receiver_id, &queue)
        .await
        .unwrap();
    wait_for_event(&receiver, EventType::WorkflowTaskCompleted).await;
    let sender = client
        .start(Sender::run, receiver_id, unique_id("sender"), &queue)
        .await
        .unwrap();
    sender.result().await.unwrap();
    assert_eq!(receiver.result().await.unwrap(), 10);
    let history = history(&sender).await;
    assert_eq!(
        count(&history, EventType::ExternalWorkflowExecutionSignaled),
        1
    );
    check_history(&sender, "signal/workflow_to_workflow", replayer()).await;
    replays(&receiver, replayer()).await;
    worker.stop().await;
}

static PREVENT_CLOSE: Gate = Gate::new();

/// Waits for an `add` signal, then completes with every value received. With `hold`, the
/// completing task is kept in flight until the test has sent a second signal.
///
/// The PHP original also returns whether the run function started as a replay, and expects
/// `false` when nothing arrived during completion. That holds for an SDK that keeps runs in a
/// sticky cache; Chronicle replays the history from the start on every workflow task, so the
/// flag says only whether the first signal came before the first task, and is left out.
#[derive(Default)]
struct PreventClose {
    values: Vec<i64>,
}

#[workflow(name = "PreventClose")]
impl PreventClose {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, hold: bool) -> WorkflowResult<Vec<i64>> {
        ctx.wait_until(|s| !s.values.is_empty()).await?;
        if hold {
            PREVENT_CLOSE.hold();
        }
        Ok(ctx.state(|s| s.values.clone()))
    }

    #[signal]
    fn add(&mut self, value: i64) {
        self.values.push(value);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signal_prevent_close() {
    let (client, queue, worker) =
        start_worker("prevent-close", |w| w.register_workflow::<PreventClose>()).await;
    let replayer = || Replayer::new().register_workflow::<PreventClose>();

    // A signal after the workflow closed does not reach it: the signal fails, and the result
    // holds the first value only.
    let handle = client
        .start(
            PreventClose::run,
            false,
            unique_id("prevent-close-after"),
            &queue,
        )
        .await
        .unwrap();
    handle.signal(PreventClose::add, 1).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), [1]);
    let error = handle.signal(PreventClose::add, 2).await.unwrap_err();
    assert!(matches!(error, ClientError::NotFound { .. }), "{error:?}");
    replays(&handle, replayer()).await;

    // A signal while the completing task is in flight: the server refuses the completion, the
    // task runs again with the signal, and the result holds both values.
    let handle = client
        .start(
            PreventClose::run,
            true,
            unique_id("prevent-close-during"),
            &queue,
        )
        .await
        .unwrap();
    handle.signal(PreventClose::add, 1).await.unwrap();
    PREVENT_CLOSE.wait_held().await;
    handle.signal(PreventClose::add, 2).await.unwrap();
    PREVENT_CLOSE.release();
    let values = handle.result().await.unwrap();
    assert_eq!(values, [1, 2], "both signals were handled");
    let history = history(&handle).await;
    let cause = history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => Some(a.cause),
            _ => None,
        })
        .expect("the completing task was refused");
    assert_eq!(
        WorkflowTaskFailedCause::try_from(cause),
        Ok(WorkflowTaskFailedCause::UnhandledCommand)
    );
    assert_eq!(count(&history, EventType::WorkflowExecutionCompleted), 1);
    check_history(&handle, "signal/prevent_close", replayer()).await;
    worker.stop().await;
}
