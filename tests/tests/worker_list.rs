//! Worker heartbeats: a running Chronicle worker shows in `temporal worker list` (and so in the
//! Web UI's Workers tab) under its task queue and Chronicle's own SDK name.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_core::proto::workflowservice::DescribeWorkerRequest;
use chronicle_core::telemetry::{SDK_NAME, SDK_VERSION};
use chronicle_tests::{server, unique_id, unique_task_queue, wait_for_some};
use common::{client, compose_greeting, history, HelloWorkflow, RunningWorker, WAIT};
use serde_json::Value;

/// The Temporal CLI the tests' dev server runs (`$CHRONICLE_TEMPORAL_BIN`, else `temporal`).
fn temporal_cli() -> String {
    std::env::var(chronicle::testing::TEMPORAL_BIN_ENV)
        .ok()
        .filter(|bin| !bin.trim().is_empty())
        .unwrap_or_else(|| chronicle::testing::DEFAULT_TEMPORAL_BIN.to_string())
}

/// `temporal worker list --output json` for one task queue.
async fn worker_list(address: &str, task_queue: &str) -> Vec<Value> {
    let output = tokio::process::Command::new(temporal_cli())
        .args([
            "worker",
            "list",
            "--address",
            address,
            "--namespace",
            "default",
        ])
        .args(["--query", &format!("TaskQueue=\"{task_queue}\"")])
        .args(["--output", "json"])
        .output()
        .await
        .expect("run the temporal CLI");
    assert!(
        output.status.success(),
        "temporal worker list failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    match serde_json::from_slice(&output.stdout) {
        Ok(Value::Array(workers)) => workers,
        other => panic!("unexpected worker list output: {other:?}"),
    }
}

/// The heartbeat fields of the listed worker of `task_queue` once its status is `status`.
async fn listed_with_status(address: &str, task_queue: &str, status: &str) -> Value {
    wait_for_some(
        &format!("the worker to be listed as {status}"),
        WAIT,
        || async {
            worker_list(address, task_queue)
                .await
                .into_iter()
                .map(|w| w.get("workerHeartbeat").cloned().unwrap_or(w))
                .find(|w| w["status"] == status)
        },
    )
    .await
}

#[tokio::test]
async fn running_worker_is_listed_with_its_task_queue_and_sdk() {
    let address = server().await.address.clone();
    let client = client().await;
    let queue = unique_task_queue("listed");
    let worker = Worker::new(&client, &queue)
        .register_workflow::<HelloWorkflow>()
        .register_activity(compose_greeting)
        .configure(|o| {
            o.max_concurrent_workflow_tasks = 9;
            o.telemetry.worker_heartbeat_interval = Some(Duration::from_secs(1));
        });
    let worker = RunningWorker::spawn(worker);
    let handle = client
        .start(
            HelloWorkflow::run,
            "list".to_string(),
            unique_id("listed"),
            &queue,
        )
        .await
        .unwrap();
    handle.result().await.unwrap();

    let listed = listed_with_status(&address, &queue, "WORKER_STATUS_RUNNING").await;
    assert_eq!(listed["taskQueue"], queue.as_str());
    assert_eq!(listed["sdkName"], SDK_NAME);
    assert_eq!(listed["sdkVersion"], SDK_VERSION);
    assert_eq!(listed["workerIdentity"], client.connection().identity());
    assert_eq!(
        listed["hostInfo"]["processId"],
        std::process::id().to_string().as_str()
    );
    let key = listed["workerInstanceKey"]
        .as_str()
        .expect("an instance key")
        .to_string();

    // The full heartbeat, by the key the list gave: slots and task totals.
    let described = client
        .connection()
        .raw()
        .describe_worker(DescribeWorkerRequest {
            namespace: "default".to_string(),
            worker_instance_key: key,
        })
        .await
        .expect("describe the worker")
        .into_inner();
    let beat = described
        .worker_info
        .and_then(|info| info.worker_heartbeat)
        .expect("a heartbeat");
    let slots = beat.workflow_task_slots_info.expect("workflow slots");
    assert_eq!(slots.current_available_slots + slots.current_used_slots, 9);
    assert_eq!(slots.slot_supplier_kind, "Fixed");
    assert!(beat.activity_task_slots_info.is_some());
    assert!(beat.workflow_poller_info.is_some());

    // The name the Web UI reads from the run's history.
    let sdk = history(&handle)
        .await
        .events()
        .iter()
        .find_map(|event| match &event.attributes {
            Some(Attributes::WorkflowTaskCompletedEventAttributes(a)) => a.sdk_metadata.clone(),
            _ => None,
        })
        .expect("sdk metadata on the first completed workflow task");
    assert_eq!(sdk.sdk_name, "chronicle");
    assert!(!sdk.sdk_name.to_lowercase().contains("rust"));

    // The last heartbeats say so when it stops, and the server drops it from the list (without
    // them it would stay listed as running until the registry's entry expires, minutes later).
    worker.stop().await;
    wait_for_some("the stopped worker to leave the list", WAIT, || async {
        worker_list(&address, &queue).await.is_empty().then_some(())
    })
    .await;
}
