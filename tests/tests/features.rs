//! Temporal's feature scenarios (github.com/temporalio/features), ported to Chronicle: one test
//! per scenario of the groups activity, child_workflow, continue_as_new, query and signal,
//! named `<group>_<scenario>` and asserting what the original asserts. All share one dev
//! server, which is why they are one test binary. `docs/conformance.md` lists every scenario
//! with its test, and says why the ones without a test have none.
//!
//! History checks, as the features harness makes them: each scenario replays the histories
//! Chronicle recorded of it with earlier versions (`tests/fixtures/features/<group>/<scenario>/
//! history.chronicle.<version>.json`) with the current code, besides the history of the run it
//! just made (see [`check_history`]). Record the current version's with
//! `CHRONICLE_RECORD_FEATURE_HISTORIES=1 cargo test -p chronicle-tests --test features`. The Go
//! and Java histories recorded for `activity/retry_on_error` are replayed as well, with the
//! result their activity ids allow.

mod common;

#[path = "features/activity.rs"]
mod activity;
#[path = "features/child_workflow.rs"]
mod child_workflow;
#[path = "features/continue_as_new.rs"]
mod continue_as_new;
#[path = "features/query.rs"]
mod query;
#[path = "features/signal.rs"]
mod signal;

use chronicle::client::WorkflowHandle;
use chronicle::prelude::*;
use chronicle::Replayer;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

/// The history of the run behind `handle` replays without nondeterminism in `replayer`.
pub async fn replays<W>(handle: &WorkflowHandle<W>, replayer: Replayer) {
    let history = common::history(handle).await;
    let source = format!("history of {}", handle.workflow_id());
    if let Err(error) = replayer.replay(&history, &source) {
        panic!("{source} does not replay: {error}");
    }
}

/// Set to record the current version's history of every scenario.
const RECORD_ENV: &str = "CHRONICLE_RECORD_FEATURE_HISTORIES";

/// The folder of a scenario's recorded histories, e.g. `activity/retry_on_error`.
pub fn scenario_dir(scenario: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/features")
        .join(scenario)
}

/// The scenario's history check: the run behind `handle` replays, and so does every history
/// Chronicle recorded of the scenario (`history.chronicle.*.json`); with
/// `CHRONICLE_RECORD_FEATURE_HISTORIES` set, the run's history is first recorded as this
/// version's. Call it once the scenario's workflows have run to their end.
pub async fn check_history<W>(handle: &WorkflowHandle<W>, scenario: &str, replayer: Replayer) {
    let history = common::history(handle).await;
    let dir = scenario_dir(scenario);
    if std::env::var_os(RECORD_ENV).is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!(
            "history.chronicle.{}.json",
            env!("CARGO_PKG_VERSION")
        ));
        std::fs::write(&path, history.to_json()).unwrap();
    }
    let source = format!("{scenario}: history of {}", handle.workflow_id());
    if let Err(error) = replayer.replay(&history, &source) {
        panic!("{source} does not replay: {error}");
    }
    let recorded: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with("history.chronicle.") && n.ends_with(".json")
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        !recorded.is_empty(),
        "no recorded history in {}: record one with {RECORD_ENV}=1",
        dir.display()
    );
    for path in recorded {
        if let Err(error) = replayer.replay_file(&path) {
            panic!("{} does not replay: {error}", path.display());
        }
    }
}

/// Holds a workflow task in flight, for scenarios about what arrives meanwhile.
///
/// Workflow code calls [`hold`](Self::hold), which blocks the worker thread running it until the
/// test calls [`release`](Self::release); afterwards (on the retry of that task) it passes at
/// once. Blocking a thread is only acceptable in a test, and only in a multi-threaded runtime.
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    held: bool,
    released: bool,
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

impl Gate {
    pub const fn new() -> Self {
        Self {
            state: Mutex::new(GateState {
                held: false,
                released: false,
            }),
            changed: Condvar::new(),
        }
    }

    /// Blocks until released; gives up after [`common::WAIT`] so a failing test cannot hang.
    pub fn hold(&self) {
        let wait = || {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.held = true;
            self.changed.notify_all();
            let (_state, _timeout) = self
                .changed
                .wait_timeout_while(state, common::WAIT, |s| !s.released)
                .unwrap_or_else(|p| p.into_inner());
        };
        // On a runtime worker thread, hand its other tasks (the test's among them, perhaps) to
        // another thread first, so that only the held workflow task waits.
        let multi_threaded = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_threaded {
            tokio::task::block_in_place(wait);
        } else {
            wait();
        }
    }

    /// Waits until workflow code is blocked in [`hold`](Self::hold).
    pub async fn wait_held(&self) {
        chronicle_tests::wait_for("the workflow task to be held", common::WAIT, || {
            let held = self.state.lock().map(|s| s.held).unwrap_or(false);
            async move { held }
        })
        .await;
    }

    pub fn release(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.released = true;
        self.changed.notify_all();
    }
}

/// A worker on a fresh task queue, running in the background.
pub async fn start_worker(
    prefix: &str,
    build: impl FnOnce(Worker) -> Worker,
) -> (Client, String, common::RunningWorker) {
    let client = common::client().await;
    let queue = chronicle_tests::unique_task_queue(prefix);
    let worker = common::RunningWorker::spawn(build(Worker::new(&client, &queue)));
    (client, queue, worker)
}
