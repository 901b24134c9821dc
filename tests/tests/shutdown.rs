//! A worker process told to stop with SIGTERM, as Docker, Kubernetes and systemd do, drains:
//! the activities it runs finish and are reported by it, and it exits 0.

mod common;

use chronicle::client::WorkflowHandle;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::workloads::{slow_worker, SlowWorkflow};
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, history, RunningWorker, WAIT};
use std::collections::HashSet;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// The `slow_worker` binary, running.
struct WorkerProcess {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    identity: String,
}

impl WorkerProcess {
    async fn start(address: &str, task_queue: &str, grace: Duration) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_slow_worker"))
            .args([address, task_queue, &grace.as_millis().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("run slow_worker");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut process = Self {
            child,
            lines: BufReader::new(stdout).lines(),
            identity: String::new(),
        };
        let identity = process.next_line_starting("IDENTITY ").await;
        process.identity = identity;
        process.next_line_starting("READY").await;
        process
    }

    /// Reads lines until one starts with `prefix`; returns the rest of it.
    async fn next_line_starting(&mut self, prefix: &str) -> String {
        let read = async {
            while let Some(line) = self.lines.next_line().await.expect("read stdout") {
                if let Some(rest) = line.strip_prefix(prefix) {
                    return rest.trim().to_string();
                }
            }
            panic!("slow_worker exited before printing {prefix:?}");
        };
        tokio::time::timeout(WAIT, read)
            .await
            .unwrap_or_else(|_| panic!("slow_worker did not print {prefix:?} within {WAIT:?}"))
    }

    /// Waits until the activities of all these workflows have started.
    async fn wait_until_running(&mut self, workflow_ids: &HashSet<String>) {
        let mut started = HashSet::new();
        while !workflow_ids.is_subset(&started) {
            started.insert(self.next_line_starting("activity started ").await);
        }
    }

    fn sigterm(&self) {
        let pid = self.child.id().expect("the worker is running");
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }
}

async fn start_all(
    client: &chronicle::Client,
    queue: &str,
    count: usize,
    millis: u64,
) -> Vec<WorkflowHandle<SlowWorkflow>> {
    let mut handles = Vec::new();
    for i in 0..count {
        let id = unique_id(&format!("slow-{i}"));
        handles.push(
            client
                .start(SlowWorkflow::run, millis, id, queue)
                .await
                .unwrap(),
        );
    }
    handles
}

fn ids(handles: &[WorkflowHandle<SlowWorkflow>]) -> HashSet<String> {
    handles
        .iter()
        .map(|h| h.workflow_id().to_string())
        .collect()
}

#[tokio::test]
async fn sigterm_drains_the_activities_in_flight_and_exits_zero() {
    let client = client().await;
    let server = chronicle_tests::server().await;
    let queue = unique_task_queue("sigterm");
    let mut process = WorkerProcess::start(&server.address, &queue, Duration::from_secs(30)).await;
    let handles = start_all(&client, &queue, 20, 3_000).await;
    process.wait_until_running(&ids(&handles)).await;

    process.sigterm();
    let status = tokio::time::timeout(WAIT, process.child.wait())
        .await
        .expect("the worker exits after draining")
        .unwrap();
    assert!(status.success(), "the worker exited with {status}");
    process.next_line_starting("STOPPED").await;

    // The workflows' last tasks need a worker; their activities must not run again.
    let finisher = RunningWorker::spawn(slow_worker(&client, &queue));
    for handle in &handles {
        assert_eq!(
            handle.result().await.unwrap(),
            1,
            "the first attempt finished"
        );
        let history = history(handle).await;
        let completed_by = history.events().iter().find_map(|e| match &e.attributes {
            Some(Attributes::ActivityTaskStartedEventAttributes(started)) => {
                Some((started.attempt, started.identity.clone()))
            }
            _ => None,
        });
        assert_eq!(
            completed_by,
            Some((1, process.identity.clone())),
            "the stopping worker ran and reported the activity"
        );
    }
    finisher.stop().await;
}

#[tokio::test]
async fn after_the_grace_period_activities_are_cancelled_and_retried_elsewhere() {
    let client = client().await;
    let server = chronicle_tests::server().await;
    let queue = unique_task_queue("sigterm-grace");
    let mut process = WorkerProcess::start(&server.address, &queue, Duration::from_secs(1)).await;
    // Far longer than the grace period.
    let handles = start_all(&client, &queue, 3, 300_000).await;
    let ids = ids(&handles);
    process.wait_until_running(&ids).await;

    process.sigterm();
    // Each heartbeating activity sees the cancellation.
    let mut cancelled = HashSet::new();
    while !ids.is_subset(&cancelled) {
        cancelled.insert(process.next_line_starting("activity cancelled ").await);
    }
    let status = tokio::time::timeout(WAIT, process.child.wait())
        .await
        .expect("the worker exits after its grace period")
        .unwrap();
    assert!(status.success(), "the worker exited with {status}");

    // Reported as failed by the stopping worker, they are retried at once by another, long
    // before their 120 s start-to-close timeout.
    let finisher = RunningWorker::spawn(slow_worker(&client, &queue));
    for handle in &handles {
        let attempt = tokio::time::timeout(WAIT, handle.result())
            .await
            .expect("retried before the attempt's timeout")
            .unwrap();
        assert_eq!(attempt, 2);
    }
    finisher.stop().await;
}
