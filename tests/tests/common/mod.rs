//! Helpers shared by the end-to-end test files (each file is its own test binary).
#![allow(dead_code)]

use chronicle::client::WorkflowHandle;
use chronicle::prelude::*;
use chronicle::{ShutdownHandle, WorkerError};
use chronicle_core::history::History;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::{history_event::Attributes, HistoryEvent};
use std::time::Duration;
use tokio::task::JoinHandle;

/// The hello example's workflow and activity (type `HelloWorkflow`, as the Python interop
/// scripts expect).
#[allow(unused_imports)] // each test binary uses part of this module
pub use examples::hello::{compose_greeting, HelloWorkflow};

/// How long a test waits for something the server should do within seconds.
pub const WAIT: Duration = Duration::from_secs(30);

/// A client of the shared test server.
pub async fn client() -> Client {
    client_with(|o| o).await
}

/// A client with adjusted options (for example another identity).
pub async fn client_with(adjust: impl FnOnce(ConnectionOptions) -> ConnectionOptions) -> Client {
    let options = adjust(chronicle_tests::connection_options().await);
    Client::connect(options)
        .await
        .expect("connect to the test server")
}

/// A worker running in the background; stopped (and awaited) by `stop`, stopped on drop.
pub struct RunningWorker {
    shutdown: ShutdownHandle,
    task: Option<JoinHandle<Result<(), WorkerError>>>,
}

impl RunningWorker {
    pub fn spawn(worker: Worker) -> Self {
        let shutdown = worker.shutdown_handle();
        let task = tokio::spawn(worker.run());
        Self {
            shutdown,
            task: Some(task),
        }
    }

    /// Stops polling, waits for in-flight tasks and for `run` to return.
    pub async fn stop(mut self) {
        self.shutdown.shutdown();
        if let Some(task) = self.task.take() {
            task.await
                .expect("worker task panicked")
                .expect("worker returned an error");
        }
    }
}

impl Drop for RunningWorker {
    fn drop(&mut self) {
        self.shutdown.shutdown();
    }
}

/// The history of the workflow behind `handle`.
pub async fn history<W>(handle: &WorkflowHandle<W>) -> History {
    handle.fetch_history().await.expect("fetch history")
}

pub fn event_type(event: &HistoryEvent) -> EventType {
    EventType::try_from(event.event_type).unwrap_or(EventType::Unspecified)
}

pub fn count(history: &History, kind: EventType) -> usize {
    history
        .events()
        .iter()
        .filter(|e| event_type(e) == kind)
        .count()
}

/// Waits until the history holds an event of `kind` and returns the first such event.
pub async fn wait_for_event<W>(handle: &WorkflowHandle<W>, kind: EventType) -> HistoryEvent {
    chronicle_tests::wait_for_some(&format!("a {kind:?} event"), WAIT, || async {
        history(handle)
            .await
            .events()
            .iter()
            .find(|e| event_type(e) == kind)
            .cloned()
    })
    .await
}

/// The failure message of a `WorkflowTaskFailed` event.
pub fn task_failure_message(event: &HistoryEvent) -> String {
    match &event.attributes {
        Some(Attributes::WorkflowTaskFailedEventAttributes(a)) => a
            .failure
            .as_ref()
            .map(|f| f.message.clone())
            .unwrap_or_default(),
        _ => String::new(),
    }
}
