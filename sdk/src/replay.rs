//! [`Replayer`]: proves that the current workflow code still replays recorded histories.
//!
//! ```no_run
//! # use chronicle::prelude::*;
//! # #[derive(Default)] struct InvoiceWorkflow;
//! # #[workflow] impl InvoiceWorkflow { #[run] async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) } }
//! use chronicle::Replayer;
//!
//! #[test]
//! fn recorded_histories_still_replay() {
//!     Replayer::new()
//!         .register_workflow::<InvoiceWorkflow>()
//!         .replay_dir("tests/histories")
//!         .unwrap();
//! }
//! ```
//!
//! Replay drives the worker's own engine, so a history that replays here replays on a worker.

use crate::client::{Client, ClientError, Untyped, WorkflowHandle};
use crate::definition::WorkflowDefinition;
use crate::worker::WorkflowRegistration;
use chronicle_core::history::{History, HistoryError};
use chronicle_core::workflow::run::{RunContext, WorkflowRun};
use chronicle_core::workflow::{ActivityOptions, WorkflowFactory};

pub use chronicle_core::workflow::{Nondeterminism, TaskFailure, TaskFailureKind};
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Replays histories against registered workflow types, without a server.
#[derive(Default, Clone)]
pub struct Replayer {
    workflows: HashMap<String, Arc<dyn WorkflowFactory>>,
}

impl fmt::Debug for Replayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.workflows.keys().collect();
        names.sort();
        f.debug_struct("Replayer")
            .field("workflows", &names)
            .finish()
    }
}

impl Replayer {
    /// A replayer with no workflow types.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a `#[workflow]` type; histories of its type name replay against it.
    pub fn register_workflow<W: WorkflowDefinition>(mut self) -> Self {
        self.workflows.insert(
            W::NAME.to_string(),
            Arc::new(WorkflowRegistration::<W>::new()),
        );
        self
    }

    /// Replays one history; `source` names it in errors (a file name, a workflow id).
    pub fn replay(&self, history: &History, source: &str) -> Result<(), ReplayError> {
        let fail = |kind| ReplayError::new(source, kind);
        let workflow_type = history.workflow_type().unwrap_or_default();
        let factory = self.workflows.get(workflow_type).ok_or_else(|| {
            let mut registered: Vec<_> = self.workflows.keys().cloned().collect();
            registered.sort();
            fail(ReplayErrorKind::UnknownWorkflowType {
                workflow_type: workflow_type.to_string(),
                registered,
            })
        })?;
        let context = RunContext {
            workflow_id: history.workflow_id().unwrap_or("replay").to_string(),
            run_id: "replay".to_string(),
            namespace: "replay".to_string(),
            default_activity_options: ActivityOptions::default(),
        };
        let events = history.events();
        let mut run =
            WorkflowRun::new(events, context).map_err(|e| fail(ReplayErrorKind::Replay(e)))?;
        run.process(factory.as_ref(), events)
            .map(|_| ())
            .map_err(|e| fail(ReplayErrorKind::Replay(e)))
    }

    /// Replays a history file: JSON as `temporal workflow show --output json` or the SDKs'
    /// `to_json` write it (`.json`), or the protobuf encoding of `temporal.api.history.v1.History`
    /// (any other extension).
    pub fn replay_file(&self, path: impl AsRef<Path>) -> Result<(), ReplayError> {
        let path = path.as_ref();
        let history = load(path)?;
        self.replay(&history, &path.display().to_string())
    }

    /// Replays every `.json`, `.pb` and `.binpb` file in `dir` (not its subfolders), in name
    /// order. Returns how many replayed; the error lists every history that did not, not only
    /// the first.
    pub fn replay_dir(&self, dir: impl AsRef<Path>) -> Result<usize, ReplayFailures> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir).map_err(|error| ReplayFailures {
            replayed: 0,
            failures: vec![ReplayError::new(
                &dir.display().to_string(),
                ReplayErrorKind::Io(error),
            )],
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                path.is_file()
                    && matches!(
                        path.extension().and_then(|e| e.to_str()),
                        Some("json" | "pb" | "binpb")
                    )
            })
            .collect();
        paths.sort();
        let mut failures = Vec::new();
        let mut replayed = 0;
        for path in &paths {
            match self.replay_file(path) {
                Ok(()) => replayed += 1,
                Err(error) => failures.push(error),
            }
        }
        if failures.is_empty() && replayed == 0 {
            failures.push(ReplayError::new(
                &dir.display().to_string(),
                ReplayErrorKind::Empty,
            ));
        }
        if failures.is_empty() {
            Ok(replayed)
        } else {
            Err(ReplayFailures { replayed, failures })
        }
    }

    /// Fetches a run's history from the server (the latest run when `run_id` is `None`) and
    /// replays it.
    pub async fn replay_from_server(
        &self,
        client: &Client,
        workflow_id: &str,
        run_id: Option<&str>,
    ) -> Result<(), ReplayError> {
        let mut handle: WorkflowHandle<Untyped> = client.untyped_handle(workflow_id);
        if let Some(run_id) = run_id {
            handle = handle.for_run(run_id);
        }
        let history = handle.fetch_history().await.map_err(|error| {
            ReplayError::new(workflow_id, ReplayErrorKind::Fetch(Box::new(error)))
        })?;
        self.replay(&history, &format!("workflow {workflow_id}"))
    }
}

fn load(path: &Path) -> Result<History, ReplayError> {
    let source = path.display().to_string();
    let bytes =
        std::fs::read(path).map_err(|e| ReplayError::new(&source, ReplayErrorKind::Io(e)))?;
    let history = if path.extension().and_then(|e| e.to_str()) == Some("json") {
        let text = String::from_utf8_lossy(&bytes);
        History::from_json(&text)
    } else {
        History::from_proto_bytes(&bytes)
    };
    history.map_err(|e| ReplayError::new(&source, ReplayErrorKind::Load(e)))
}

/// A history did not replay.
///
/// `Display` names the history and says why; for nondeterminism: the event id, what the
/// history has there, what the code did instead, and where in the workflow code.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {kind}")]
#[non_exhaustive]
pub struct ReplayError {
    /// The history: its file, or the workflow it was fetched for.
    pub source_name: String,
    /// What went wrong.
    pub kind: ReplayErrorKind,
}

impl ReplayError {
    fn new(source: &str, kind: ReplayErrorKind) -> Self {
        Self {
            source_name: source.to_string(),
            kind,
        }
    }

    /// The nondeterminism found, if that is what failed.
    pub fn nondeterminism(&self) -> Option<&Nondeterminism> {
        match &self.kind {
            ReplayErrorKind::Replay(TaskFailure {
                kind: TaskFailureKind::Nondeterminism(n),
            }) => Some(n),
            _ => None,
        }
    }
}

/// Why a history did not replay.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayErrorKind {
    /// The file could not be read.
    #[error("{0}")]
    Io(#[source] std::io::Error),
    /// The file is not a history.
    #[error("{0}")]
    Load(#[source] HistoryError),
    /// The history could not be fetched.
    #[error("could not fetch the history: {0}")]
    Fetch(#[source] Box<ClientError>),
    /// No workflow of the history's type is registered.
    #[error("workflow type {workflow_type:?} is not registered with the replayer (registered: {})", list(.registered))]
    UnknownWorkflowType {
        /// The history's type.
        workflow_type: String,
        /// What is registered.
        registered: Vec<String>,
    },
    /// The code does not replay the history: nondeterminism, a panic, a malformed history.
    #[error("{0}")]
    Replay(#[source] TaskFailure),
    /// A folder held no history.
    #[error("no history files (.json, .pb, .binpb) found")]
    Empty,
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Every history of a folder that did not replay.
///
/// `Debug` prints the same as `Display`, so that `replay_dir(..).unwrap()` in a test shows a
/// readable list.
#[non_exhaustive]
pub struct ReplayFailures {
    /// Histories that replayed.
    pub replayed: usize,
    /// Histories that did not, in file name order.
    pub failures: Vec<ReplayError>,
}

impl fmt::Display for ReplayFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} histories did not replay:",
            self.failures.len(),
            self.failures.len() + self.replayed
        )?;
        for failure in &self.failures {
            write!(f, "\n  {failure}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ReplayFailures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for ReplayFailures {}
