//! Updates end to end: the typed round trip, validators (before acceptance, never on replay),
//! failing handlers, handlers that wait, start-and-wait, handles by id, deduplication by update
//! id, a worker restart in the middle of an update, and the `temporal` CLI calling an update by
//! name.

mod common;

use chronicle::client::{UpdateError, UpdateOptions, UpdateStage};
use chronicle::prelude::*;
use chronicle::Replayer;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{python_json, server, unique_id, unique_task_queue, wait_for};
use common::{client, count, history, RunningWorker, WAIT};
use std::sync::Mutex;

/// The amounts `Counter::validate_add` was asked about, over all tests of this file (which run
/// in parallel: each test counts only its own amounts).
static VALIDATED: Mutex<Vec<i64>> = Mutex::new(Vec::new());

fn validations_of(amounts: &[i64]) -> usize {
    let validated = VALIDATED.lock().unwrap_or_else(|e| e.into_inner());
    validated.iter().filter(|n| amounts.contains(n)).count()
}

#[derive(Default)]
struct Counter {
    value: i64,
    done: bool,
}

#[workflow]
impl Counter {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<i64> {
        ctx.wait_until(|s| s.done).await?;
        ctx.wait_until_handlers_finished().await;
        Ok(ctx.state(|s| s.value))
    }

    /// Adds `n` (not negative) and returns the new value.
    #[update(validator = validate_add)]
    async fn add(ctx: WorkflowContext<Self>, n: i64) -> WorkflowResult<i64> {
        Ok(ctx.update(|s| {
            s.value += n;
            s.value
        }))
    }

    fn validate_add(&self, n: &i64) -> Result<(), String> {
        VALIDATED.lock().unwrap_or_else(|e| e.into_inner()).push(*n);
        if *n < 0 {
            return Err(format!("cannot add {n}: only amounts of 0 or more"));
        }
        if self.done {
            return Err("the counter is closed".to_string());
        }
        Ok(())
    }

    /// Waits on a durable timer first: an update handler may wait.
    #[update]
    async fn add_later(ctx: WorkflowContext<Self>, n: i64, delay_ms: u64) -> WorkflowResult<i64> {
        ctx.sleep(Duration::from_millis(delay_ms)).await?;
        Ok(ctx.update(|s| {
            s.value += n;
            s.value
        }))
    }

    /// Waits on the state.
    #[update]
    async fn value_when_done(ctx: WorkflowContext<Self>) -> WorkflowResult<i64> {
        ctx.wait_until(|s| s.done).await?;
        Ok(ctx.state(|s| s.value))
    }

    #[update]
    async fn fail(_ctx: WorkflowContext<Self>, why: String) -> WorkflowResult<()> {
        Err(WorkflowError::new(why).with_type("Refused"))
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }
}

fn worker(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue).register_workflow::<Counter>()
}

#[tokio::test]
async fn typed_updates_return_results_and_rejections_and_failures_do_not_fail_the_workflow() {
    let client = client().await;
    let queue = unique_task_queue("updates");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Counter::run, (), unique_id("updates"), &queue)
        .await
        .unwrap();
    // Amounts no other test uses, to count this test's validations.
    let amounts = [1005, 1002, -1001];
    assert_eq!(handle.update(Counter::add, 1005).await.unwrap(), 1005);
    assert_eq!(handle.update(Counter::add, 1002).await.unwrap(), 2007);

    let rejected = handle.update(Counter::add, -1001).await.unwrap_err();
    let failure = rejected.failure().expect("a rejection carries the failure");
    assert_eq!(
        failure.message(),
        "cannot add -1001: only amounts of 0 or more"
    );
    assert_eq!(failure.error_type(), Some("String"));

    let failed = handle
        .update(Counter::fail, "not today".to_string())
        .await
        .unwrap_err();
    let failure = failed
        .failure()
        .expect("a failed update carries the failure");
    assert_eq!(failure.message(), "not today");
    assert_eq!(failure.error_type(), Some("Refused"));

    assert_eq!(
        handle.update(Counter::add_later, (3, 500)).await.unwrap(),
        2010
    );
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 2010);

    let history = history(&handle).await;
    // The rejected update left no trace; the failed one was accepted, then completed.
    assert_eq!(
        count(&history, EventType::WorkflowExecutionUpdateAccepted),
        4
    );
    assert_eq!(
        count(&history, EventType::WorkflowExecutionUpdateCompleted),
        4
    );
    // Every workflow task replays the whole history, yet the validator ran once per request.
    assert_eq!(validations_of(&amounts), 3);

    // The recorded history replays, without running a validator.
    Replayer::new()
        .register_workflow::<Counter>()
        .replay(&history, "the updates test")
        .unwrap();
    assert_eq!(validations_of(&amounts), 3);
    worker.stop().await;
}

#[tokio::test]
async fn start_update_waits_for_acceptance_and_a_handle_by_id_gets_the_result() {
    let client = client().await;
    let queue = unique_task_queue("update-handles");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Counter::run, (), unique_id("update-handles"), &queue)
        .await
        .unwrap();

    let waiting = handle
        .start_update_with(
            Counter::value_when_done,
            (),
            UpdateOptions::new().id("when-done"),
        )
        .await
        .unwrap();
    assert_eq!(waiting.id(), "when-done");
    handle.update(Counter::add, 4).await.unwrap();
    handle.signal(Counter::finish, ()).await.unwrap();
    // A second handle, made from the id alone.
    let by_id = handle.update_handle::<i64>("when-done");
    assert_eq!(by_id.result().await.unwrap(), 4);
    assert_eq!(waiting.result().await.unwrap(), 4);
    assert_eq!(handle.result().await.unwrap(), 4);
    worker.stop().await;
}

#[tokio::test]
async fn an_update_id_sent_twice_runs_once() {
    let client = client().await;
    let queue = unique_task_queue("update-dedup");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Counter::run, (), unique_id("update-dedup"), &queue)
        .await
        .unwrap();
    let options = || {
        UpdateOptions::new()
            .id("add-once")
            .wait_for(UpdateStage::Completed)
    };
    let first = handle
        .start_update_with(Counter::add, 5, options())
        .await
        .unwrap();
    let second = handle
        .start_update_with(Counter::add, 5, options())
        .await
        .unwrap();
    assert_eq!(first.result().await.unwrap(), 5);
    assert_eq!(second.result().await.unwrap(), 5);
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 5);
    let history = history(&handle).await;
    assert_eq!(
        count(&history, EventType::WorkflowExecutionUpdateAccepted),
        1
    );
    worker.stop().await;
}

#[tokio::test]
async fn a_new_worker_finishes_an_update_the_stopped_worker_accepted() {
    let client = client().await;
    let queue = unique_task_queue("update-restart");
    let first = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Counter::run, (), unique_id("update-restart"), &queue)
        .await
        .unwrap();
    // Accepted by the first worker; the handler then waits on a 2 s timer.
    let update = handle
        .start_update(Counter::add_later, (6, 2000))
        .await
        .unwrap();
    first.stop().await;
    let second = RunningWorker::spawn(worker(&client, &queue));
    assert_eq!(update.result().await.unwrap(), 6);
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 6);
    second.stop().await;
}

#[tokio::test]
async fn an_unknown_update_is_rejected_with_the_known_names() {
    let client = client().await;
    let queue = unique_task_queue("update-unknown");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let handle = client
        .start(Counter::run, (), unique_id("update-unknown"), &queue)
        .await
        .unwrap();
    let untyped = client.untyped_handle(handle.workflow_id());
    let error = untyped.update::<_, i64>("subtract", 1).await.unwrap_err();
    let UpdateError::Failed { failure, .. } = &error else {
        panic!("expected a rejection, got {error}");
    };
    assert!(
        failure.message().contains("\"subtract\"")
            && failure
                .message()
                .contains("add, add_later, value_when_done, fail"),
        "{}",
        failure.message()
    );
    // By name, as other SDKs call it.
    assert_eq!(untyped.update::<_, i64>("add", 1).await.unwrap(), 1);
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 1);
    worker.stop().await;
}

#[tokio::test]
async fn the_temporal_cli_calls_an_update_by_name() {
    let client = client().await;
    let queue = unique_task_queue("update-cli");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let workflow_id = unique_id("update-cli");
    let handle = client
        .start(Counter::run, (), workflow_id.clone(), &queue)
        .await
        .unwrap();
    let address = server().await.address.clone();
    let cli = |input: &'static str| {
        let (address, workflow_id) = (address.clone(), workflow_id.clone());
        async move {
            tokio::process::Command::new("temporal")
                .args(["workflow", "update", "execute", "--address", &address])
                .args([
                    "--workflow-id",
                    &workflow_id,
                    "--name",
                    "add",
                    "--input",
                    input,
                ])
                .output()
                .await
                .expect("the temporal CLI runs")
        }
    };
    let accepted = cli("3").await;
    let stdout = String::from_utf8_lossy(&accepted.stdout);
    assert!(
        accepted.status.success() && stdout.contains('3'),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&accepted.stderr)
    );
    let rejected = cli("-2").await;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&rejected.stdout),
        String::from_utf8_lossy(&rejected.stderr)
    );
    assert!(
        !rejected.status.success() && output.contains("only amounts of 0 or more"),
        "{output}"
    );
    wait_for("the state to show the CLI's update", WAIT, || async {
        handle.update(Counter::add, 0).await.ok() == Some(3)
    })
    .await;
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 3);
    worker.stop().await;
}

/// The invoice example's `apply_discount`, called with the CLI exactly as its docs say.
#[tokio::test]
async fn the_invoice_takes_a_discount_from_the_cli_and_refuses_bad_ones() {
    use examples::invoice::{worker as invoice_worker, Invoice, InvoiceWorkflow, Payment};
    let client = client().await;
    let queue = unique_task_queue(examples::invoice::TASK_QUEUE);
    let worker =
        RunningWorker::spawn(invoice_worker(&client).configure(|o| o.task_queue = queue.clone()));
    let workflow_id = unique_id("invoice-discount");
    let invoice = Invoice {
        id: workflow_id.clone(),
        customer_email: "ap@customer.example".to_string(),
        amount_cents: 12_000,
        reminder_interval_secs: Some(3600),
    };
    let handle = client
        .start(InvoiceWorkflow::run, invoice, workflow_id.clone(), &queue)
        .await
        .unwrap();
    let address = server().await.address.clone();
    let cli = |input: &str| {
        let (address, workflow_id, input) =
            (address.clone(), workflow_id.clone(), input.to_string());
        async move {
            let output = tokio::process::Command::new("temporal")
                .args(["workflow", "update", "execute", "--address", &address])
                .args(["--workflow-id", &workflow_id, "--name", "apply_discount"])
                .args(["--input", &input])
                .output()
                .await
                .expect("the temporal CLI runs");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            (output.status.success(), text)
        }
    };
    let (ok, text) = cli("10").await;
    assert!(ok && text.contains("10800"), "{text}");
    let (ok, text) = cli("51").await;
    assert!(
        !ok && text.contains("a discount is 0 to 50 percent, not 51"),
        "{text}"
    );
    let (ok, text) = cli("-1").await;
    assert!(!ok && text.contains("not -1"), "{text}");
    // Typed, from Rust: 50 % of the 108.00 left.
    assert_eq!(
        handle
            .update(InvoiceWorkflow::apply_discount, 50.0)
            .await
            .unwrap(),
        5_400
    );
    handle
        .signal(
            InvoiceWorkflow::payment_received,
            Payment {
                amount_cents: 1_000,
                reference: "PAY-1".to_string(),
            },
        )
        .await
        .unwrap();
    let (ok, text) = cli("5").await;
    assert!(
        !ok && text.contains("a payment was received already"),
        "{text}"
    );
    handle
        .signal(
            InvoiceWorkflow::payment_received,
            Payment {
                amount_cents: 4_400,
                reference: "PAY-2".to_string(),
            },
        )
        .await
        .unwrap();
    assert_eq!(handle.result().await.unwrap().paid_cents, 5_400);
    worker.stop().await;
}

#[tokio::test]
async fn update_with_start_starts_the_workflow_once_and_updates_it_each_time() {
    let client = client().await;
    let queue = unique_task_queue("update-with-start");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let id = unique_id("update-with-start");
    let (handle, first) = client
        .start(Counter::run, (), &id, &queue)
        .with_update(Counter::add, 3, UpdateOptions::new())
        .await
        .unwrap();
    assert_eq!(first.result().await.unwrap(), 3);
    // The workflow runs: this start uses it (the default conflict policy here).
    let (again, second) = client
        .start(Counter::run, (), &id, &queue)
        .with_update(
            Counter::add,
            4,
            UpdateOptions::new().wait_for(UpdateStage::Completed),
        )
        .await
        .unwrap();
    assert_eq!(second.result().await.unwrap(), 7);
    assert_eq!(again.run_id(), handle.run_id());
    // A rejected update-with-start still started the workflow, which goes on.
    let rejected = client
        .start(Counter::run, (), &id, &queue)
        .with_update(Counter::add, -5, UpdateOptions::new())
        .await;
    let error = match rejected {
        Ok((_, update)) => update.result().await.unwrap_err(),
        Err(error) => error,
    };
    assert!(error.to_string().contains("cannot add -5"), "{error}");
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 7);
    let history = history(&handle).await;
    assert_eq!(count(&history, EventType::WorkflowExecutionStarted), 1);
    worker.stop().await;
}

/// Continues as new after its first update; counts the updates each run took.
#[derive(Default)]
struct Relay {
    generation: u32,
    count: u32,
    done: bool,
}

#[workflow]
impl Relay {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, generation: u32) -> WorkflowResult<u32> {
        ctx.update(|s| s.generation = generation);
        if generation == 0 {
            ctx.wait_until(|s| s.count >= 1).await?;
            // The handlers of accepted updates finish first; updates not yet delivered go to
            // the next run.
            ctx.wait_until_handlers_finished().await;
            return Err(ctx.continue_as_new(Relay::run, 1));
        }
        ctx.wait_until(|s| s.done).await?;
        Ok(ctx.state(|s| s.count))
    }

    /// Counts the update; returns the generation of the run that took it.
    #[update(validator = slow_check)]
    async fn hit(ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        Ok(ctx.update(|s| {
            s.count += 1;
            s.generation
        }))
    }

    /// Slows the first run's workflow task down, so that updates arrive while it is in flight.
    fn slow_check(&self) -> Result<(), String> {
        if self.generation == 0 {
            #[nondeterministic(reason = "test only: a slow task, whatever it decides")]
            std::thread::sleep(Duration::from_millis(300));
        }
        Ok(())
    }

    #[signal]
    fn finish(&mut self) {
        self.done = true;
    }
}

#[tokio::test]
async fn updates_in_flight_at_continue_as_new_reach_the_next_run() {
    let client = client().await;
    let queue = unique_task_queue("update-can");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Relay>());
    let handle = client
        .start(Relay::run, 0, unique_id("update-can"), &queue)
        .await
        .unwrap();
    // The first makes the run continue as new; the others are meant to arrive while its task
    // is in flight (the validator makes it slow), though the test holds whenever they arrive.
    let first = handle.update(Relay::hit, ());
    let others = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        futures::future::join_all((0..5).map(|_| handle.update(Relay::hit, ()))).await
    };
    let (first, others) = futures::join!(first, others);
    let generations: Vec<u32> = std::iter::once(first)
        .chain(others)
        .map(|r| r.expect("every update gets a result"))
        .collect();
    // None is lost: each was taken by one of the runs (which one depends on when the server
    // admitted it), and the next run counted exactly those that say so.
    assert!(generations.contains(&0), "{generations:?}");
    assert!(generations.iter().all(|g| *g <= 1), "{generations:?}");
    let in_next = generations.iter().filter(|g| **g == 1).count() as u32;
    handle.signal(Relay::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), in_next);
    worker.stop().await;
}

#[tokio::test]
async fn the_python_sdk_calls_an_update_by_name() {
    let client = client().await;
    let queue = unique_task_queue("update-python");
    let worker = RunningWorker::spawn(worker(&client, &queue));
    let workflow_id = unique_id("update-python");
    let handle = client
        .start(Counter::run, (), workflow_id.clone(), &queue)
        .await
        .unwrap();
    let address = server().await.address.clone();
    let out = python_json(
        "update_client.py",
        &[&address, &workflow_id, "add", "4", "-3", "5"],
    )
    .await
    .unwrap();
    assert_eq!(out[0]["result"], 4, "{out}");
    let rejected = out[1]["cause"].as_str().unwrap_or_default();
    assert!(rejected.contains("cannot add -3"), "{out}");
    assert_eq!(out[2]["result"], 9, "{out}");
    handle.signal(Counter::finish, ()).await.unwrap();
    assert_eq!(handle.result().await.unwrap(), 9);
    worker.stop().await;
}
