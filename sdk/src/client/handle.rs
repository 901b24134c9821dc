//! [`WorkflowHandle`]: one workflow, seen from a client.

use super::describe::WorkflowDescription;
use super::{request_id, ClientError, WorkflowExecutionError};
use crate::definition::WorkflowDefinition;
use chronicle_core::connection::WorkflowService;
use chronicle_core::connection::{CallOptions, RetryUntil, LONG_POLL_TIMEOUT};
use chronicle_core::history::History;
use chronicle_core::payload::{self, Payload};
use chronicle_core::proto::common::WorkflowExecution;
use chronicle_core::proto::enums::HistoryEventFilterType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_core::proto::history::HistoryEvent;
use chronicle_core::proto::workflowservice::{
    DescribeWorkflowExecutionRequest, GetWorkflowExecutionHistoryRequest,
    RequestCancelWorkflowExecutionRequest, TerminateWorkflowExecutionRequest,
};
use chronicle_core::{Connection, Failure};
use serde::de::DeserializeOwned;
use std::future::Future;
use std::marker::PhantomData;

/// The workflow type of a handle made without one: results are decoded to whatever type the
/// caller asks for. See [`Client::untyped_handle`](super::Client::untyped_handle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Untyped {}

/// A handle to a workflow: wait for its result, signal and query it, describe, cancel or
/// terminate it, fetch its history.
///
/// `W` is the workflow type (typed results), or [`Untyped`].
///
/// Which run a handle acts on:
/// * from [`Client::start`](super::Client::start): `result()` waits from the started run on,
///   following continue-as-new and retries; the other calls act on the latest run of the chain
///   that run began (so `cancel` reaches the workflow even after it continued as new);
/// * from [`Client::handle`](super::Client::handle): the latest run with the id;
/// * after [`for_run`](Self::for_run): exactly that run.
///
/// ```no_run
/// # async fn f(client: chronicle::Client) -> Result<(), Box<dyn std::error::Error>> {
/// let handle = client.untyped_handle("greeting-1");
/// let greeting: String = handle.result().await?;
/// # Ok(()) }
/// ```
pub struct WorkflowHandle<W> {
    pub(super) conn: Connection,
    pub(super) workflow_id: String,
    run_id: Option<String>,
    /// Set for handles returned by a start: calls target the latest run of this chain.
    first_execution_run_id: Option<String>,
    _workflow: PhantomData<fn() -> W>,
}

impl<W> Clone for WorkflowHandle<W> {
    fn clone(&self) -> Self {
        Self {
            conn: self.conn.clone(),
            workflow_id: self.workflow_id.clone(),
            run_id: self.run_id.clone(),
            first_execution_run_id: self.first_execution_run_id.clone(),
            _workflow: PhantomData,
        }
    }
}

impl<W> std::fmt::Debug for WorkflowHandle<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkflowHandle")
            .field("workflow_id", &self.workflow_id)
            .field("run_id", &self.run_id)
            .finish_non_exhaustive()
    }
}

/// The end of a run, as its close event tells it.
#[allow(clippy::large_enum_variant)] // one per closed run, never stored
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The workflow finished: its result, or why there is none.
    Closed(Result<Vec<Payload>, WorkflowExecutionError>),
    /// The workflow goes on in another run (continue-as-new, retry or cron).
    NextRun(String),
}

impl<W> WorkflowHandle<W> {
    pub(crate) fn new(conn: Connection, workflow_id: String, run_id: Option<String>) -> Self {
        Self {
            conn,
            workflow_id,
            run_id,
            first_execution_run_id: None,
            _workflow: PhantomData,
        }
    }

    pub(crate) fn started(conn: Connection, workflow_id: String, run_id: String) -> Self {
        Self {
            conn,
            workflow_id,
            first_execution_run_id: Some(run_id.clone()),
            run_id: Some(run_id),
            _workflow: PhantomData,
        }
    }

    /// The same handle, whose calls give each attempt `timeout` instead of the connection's
    /// `rpc_timeout` (a query waits that long for a worker to answer).
    pub fn with_rpc_timeout(mut self, timeout: std::time::Duration) -> Self {
        self.conn = self.conn.with_rpc_timeout(timeout);
        self
    }

    /// One RPC about this workflow, with the connection's retries, its error mapped to a
    /// [`ClientError`].
    pub(super) async fn unary<Req, T, F, Fut>(
        &self,
        rpc: &'static str,
        request: Req,
        f: F,
    ) -> Result<T, ClientError>
    where
        Req: chronicle_core::connection::ApiMessage + Clone,
        T: chronicle_core::connection::ApiMessage,
        F: FnMut(WorkflowService, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        self.conn
            .unary(rpc, request, f)
            .await
            .map_err(|status| ClientError::from_status(rpc, &self.workflow_id, status))
    }

    /// Pins the handle to one run: every call then acts on exactly that run.
    pub fn for_run(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self.first_execution_run_id = None;
        self
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.workflow_id
    }

    /// The run this handle was made for: the started run, the pinned run, or `None` for "the
    /// latest run".
    pub fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The run the non-waiting calls target (empty: the latest run).
    fn target_run_id(&self) -> String {
        match (&self.first_execution_run_id, &self.run_id) {
            (Some(_), _) => String::new(),
            (None, Some(run_id)) => run_id.clone(),
            (None, None) => String::new(),
        }
    }

    pub(super) fn target_execution(&self) -> WorkflowExecution {
        WorkflowExecution {
            workflow_id: self.workflow_id.clone(),
            run_id: self.target_run_id(),
        }
    }

    /// Waits for the workflow to close and returns its result payloads.
    ///
    /// Follows the workflow through continue-as-new (and through retries and cron runs, whose
    /// close events also name a next run) to the run that ends it.
    pub async fn result_payloads(&self) -> Result<Vec<Payload>, WorkflowExecutionError> {
        let mut run_id = self.run_id.clone().unwrap_or_default();
        loop {
            let close = self.wait_for_close_event(&run_id).await?;
            match close_outcome(&close) {
                Outcome::Closed(result) => return result,
                Outcome::NextRun(next) => {
                    tracing::debug!(
                        workflow_id = self.workflow_id,
                        from = run_id,
                        to = next,
                        "following the workflow to its next run"
                    );
                    run_id = next;
                }
            }
        }
    }

    /// Long-polls the history of `run_id` (empty: latest run) until its close event arrives.
    async fn wait_for_close_event(
        &self,
        run_id: &str,
    ) -> Result<HistoryEvent, WorkflowExecutionError> {
        let mut next_page_token = Vec::new();
        loop {
            let request = GetWorkflowExecutionHistoryRequest {
                namespace: self.conn.namespace().to_string(),
                execution: Some(WorkflowExecution {
                    workflow_id: self.workflow_id.clone(),
                    run_id: run_id.to_string(),
                }),
                next_page_token: std::mem::take(&mut next_page_token),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                ..Default::default()
            };
            let response =
                self.conn
                    .unary_with(
                        "GetWorkflowExecutionHistory",
                        // Waiting for a result is waiting for an outcome: no outage ends it, only
                        // the caller dropping the future.
                        CallOptions::default()
                            .timeout(LONG_POLL_TIMEOUT)
                            .retry(RetryUntil::Forever),
                        request,
                        |mut svc, request| async move {
                            svc.get_workflow_execution_history(request).await
                        },
                    )
                    .await
                    .map_err(|status| {
                        WorkflowExecutionError::from_status(&self.workflow_id, status)
                    })?;
            let close = response
                .history
                .and_then(|h| h.events.into_iter().next_back());
            match close {
                Some(event) => return Ok(event),
                // The long poll expired without the workflow closing: poll again, continuing
                // from where the server left off.
                None => next_page_token = response.next_page_token,
            }
        }
    }

    /// Describes the workflow: status, type, times, pending activities...
    pub async fn describe(&self) -> Result<WorkflowDescription, ClientError> {
        const RPC: &str = "DescribeWorkflowExecution";
        let request = DescribeWorkflowExecutionRequest {
            namespace: self.conn.namespace().to_string(),
            execution: Some(self.target_execution()),
        };
        let response = self
            .unary(RPC, request, |mut svc, request| async move {
                svc.describe_workflow_execution(request).await
            })
            .await?;
        WorkflowDescription::from_proto(response).map_err(|detail| {
            ClientError::UnexpectedResponse {
                rpc: RPC,
                detail: detail.to_string(),
            }
        })
    }

    /// Asks the workflow to cancel. The workflow sees the request and decides how to end; wait
    /// for [`result`](WorkflowHandle::result) to learn how it did.
    pub async fn cancel(&self) -> Result<(), ClientError> {
        const RPC: &str = "RequestCancelWorkflowExecution";
        let request = RequestCancelWorkflowExecutionRequest {
            namespace: self.conn.namespace().to_string(),
            workflow_execution: Some(self.target_execution()),
            identity: self.conn.identity().to_string(),
            request_id: request_id(),
            first_execution_run_id: self.first_execution_run_id.clone().unwrap_or_default(),
            ..Default::default()
        };
        self.unary(RPC, request, |mut svc, request| async move {
            svc.request_cancel_workflow_execution(request).await
        })
        .await?;
        Ok(())
    }

    /// Ends the workflow at once, without running any more of its code.
    pub async fn terminate(&self, reason: impl Into<String>) -> Result<(), ClientError> {
        const RPC: &str = "TerminateWorkflowExecution";
        let request = TerminateWorkflowExecutionRequest {
            namespace: self.conn.namespace().to_string(),
            workflow_execution: Some(self.target_execution()),
            reason: reason.into(),
            identity: self.conn.identity().to_string(),
            first_execution_run_id: self.first_execution_run_id.clone().unwrap_or_default(),
            ..Default::default()
        };
        self.unary(RPC, request, |mut svc, request| async move {
            svc.terminate_workflow_execution(request).await
        })
        .await?;
        Ok(())
    }

    /// Fetches the run's whole history, every page of it.
    ///
    /// [`History::to_json`] writes it exactly as `temporal workflow show --output json` does,
    /// and the replayer reads it back.
    pub async fn fetch_history(&self) -> Result<History, ClientError> {
        const RPC: &str = "GetWorkflowExecutionHistory";
        let mut history = History::default();
        let mut next_page_token = Vec::new();
        loop {
            let request = GetWorkflowExecutionHistoryRequest {
                namespace: self.conn.namespace().to_string(),
                execution: Some(self.target_execution()),
                next_page_token: std::mem::take(&mut next_page_token),
                ..Default::default()
            };
            let response = self
                .unary(RPC, request, |mut svc, request| async move {
                    svc.get_workflow_execution_history(request).await
                })
                .await?;
            if let Some(page) = response.history {
                history.extend(page.events);
            }
            if response.next_page_token.is_empty() {
                return Ok(history);
            }
            next_page_token = response.next_page_token;
        }
    }
}

impl<W: WorkflowDefinition> WorkflowHandle<W> {
    /// Waits for the workflow to close and returns its result.
    ///
    /// ```no_run
    /// # use chronicle::{Client, WorkflowHandle, WorkflowDefinition};
    /// # async fn f<HelloWorkflow: WorkflowDefinition<Output = String>>(
    /// #     handle: WorkflowHandle<HelloWorkflow>,
    /// # ) -> Result<(), Box<dyn std::error::Error>> {
    /// let greeting: String = handle.result().await?;
    /// # Ok(()) }
    /// ```
    pub async fn result(&self) -> Result<W::Output, WorkflowExecutionError> {
        let payloads = self.result_payloads().await?;
        payload::decode_single(&payloads, &format!("the result of workflow {}", W::NAME))
            .map_err(WorkflowExecutionError::Decode)
    }
}

impl WorkflowHandle<Untyped> {
    /// Waits for the workflow to close and decodes its result as `T`.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let sum: i64 = client.untyped_handle("parallel-1").result().await?;
    /// # Ok(()) }
    /// ```
    pub async fn result<T: DeserializeOwned>(&self) -> Result<T, WorkflowExecutionError> {
        let payloads = self.result_payloads().await?;
        payload::decode_single(
            &payloads,
            &format!("the result of workflow {:?}", self.workflow_id),
        )
        .map_err(WorkflowExecutionError::Decode)
    }
}

/// Reads a run's close event.
pub(crate) fn close_outcome(event: &HistoryEvent) -> Outcome {
    use WorkflowExecutionError as E;
    let next = |run_id: &str| (!run_id.is_empty()).then(|| Outcome::NextRun(run_id.to_string()));
    let result = match &event.attributes {
        Some(Attributes::WorkflowExecutionCompletedEventAttributes(a)) => {
            // A cron workflow's completed run names the next one.
            if let Some(next) = next(&a.new_execution_run_id) {
                return next;
            }
            Ok(payload::from_payloads(a.result.clone()))
        }
        Some(Attributes::WorkflowExecutionFailedEventAttributes(a)) => {
            // A failed run that the workflow's retry policy retries names the next attempt.
            if let Some(next) = next(&a.new_execution_run_id) {
                return next;
            }
            Err(E::Failed(match &a.failure {
                Some(f) => Failure::from(f.clone()),
                None => Failure::application("workflow failed without a failure", ""),
            }))
        }
        Some(Attributes::WorkflowExecutionTimedOutEventAttributes(a)) => {
            if let Some(next) = next(&a.new_execution_run_id) {
                return next;
            }
            Err(E::TimedOut)
        }
        Some(Attributes::WorkflowExecutionContinuedAsNewEventAttributes(a)) => {
            match next(&a.new_execution_run_id) {
                Some(next) => return next,
                None => Err(E::UnexpectedHistory(
                    "continued as new without a new run id".to_string(),
                )),
            }
        }
        Some(Attributes::WorkflowExecutionCanceledEventAttributes(_)) => Err(E::Canceled),
        Some(Attributes::WorkflowExecutionTerminatedEventAttributes(a)) => Err(E::Terminated {
            reason: a.reason.clone(),
        }),
        _ => Err(E::UnexpectedHistory(format!(
            "event {} (type {}) is not a workflow close event",
            event.event_id, event.event_type
        ))),
    };
    Outcome::Closed(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronicle_core::proto::history as pb;

    fn event(attributes: Attributes) -> HistoryEvent {
        HistoryEvent {
            event_id: 7,
            attributes: Some(attributes),
            ..Default::default()
        }
    }

    #[test]
    fn completed_yields_the_result_payloads() {
        let result = payload::encode(&"done").unwrap();
        let e = event(Attributes::WorkflowExecutionCompletedEventAttributes(
            pb::WorkflowExecutionCompletedEventAttributes {
                result: payload::to_payloads(vec![result.clone()]),
                ..Default::default()
            },
        ));
        assert!(matches!(close_outcome(&e), Outcome::Closed(Ok(p)) if p == vec![result]));

        // A workflow returning nothing has no payloads; `()` still decodes.
        let e = event(Attributes::WorkflowExecutionCompletedEventAttributes(
            Default::default(),
        ));
        let Outcome::Closed(Ok(payloads)) = close_outcome(&e) else {
            panic!("expected a result")
        };
        payload::decode_single::<()>(&payloads, "result").unwrap();
    }

    #[test]
    fn next_runs_are_followed() {
        let cases = [
            Attributes::WorkflowExecutionContinuedAsNewEventAttributes(
                pb::WorkflowExecutionContinuedAsNewEventAttributes {
                    new_execution_run_id: "run-2".into(),
                    ..Default::default()
                },
            ),
            Attributes::WorkflowExecutionFailedEventAttributes(
                pb::WorkflowExecutionFailedEventAttributes {
                    new_execution_run_id: "run-2".into(),
                    ..Default::default()
                },
            ),
            Attributes::WorkflowExecutionTimedOutEventAttributes(
                pb::WorkflowExecutionTimedOutEventAttributes {
                    new_execution_run_id: "run-2".into(),
                    ..Default::default()
                },
            ),
            Attributes::WorkflowExecutionCompletedEventAttributes(
                pb::WorkflowExecutionCompletedEventAttributes {
                    new_execution_run_id: "run-2".into(),
                    ..Default::default()
                },
            ),
        ];
        for attributes in cases {
            assert!(matches!(
                close_outcome(&event(attributes)),
                Outcome::NextRun(run_id) if run_id == "run-2"
            ));
        }
    }

    #[test]
    fn unsuccessful_ends_map_to_errors() {
        let failure = Failure::application("boom", "ValueError")
            .with_cause(Failure::application("root", "IOError"));
        let e = event(Attributes::WorkflowExecutionFailedEventAttributes(
            pb::WorkflowExecutionFailedEventAttributes {
                failure: Some(failure.clone().into_proto()),
                ..Default::default()
            },
        ));
        match close_outcome(&e) {
            Outcome::Closed(Err(WorkflowExecutionError::Failed(f))) => {
                assert_eq!(f, failure);
                assert_eq!(f.to_string(), "boom (ValueError): root (IOError)");
            }
            other => panic!("{other:?}"),
        }

        let e = event(Attributes::WorkflowExecutionTerminatedEventAttributes(
            pb::WorkflowExecutionTerminatedEventAttributes {
                reason: "stuck".into(),
                ..Default::default()
            },
        ));
        assert!(matches!(
            close_outcome(&e),
            Outcome::Closed(Err(WorkflowExecutionError::Terminated { reason })) if reason == "stuck"
        ));

        let e = event(Attributes::WorkflowExecutionCanceledEventAttributes(
            Default::default(),
        ));
        assert!(matches!(
            close_outcome(&e),
            Outcome::Closed(Err(WorkflowExecutionError::Canceled))
        ));

        let e = event(Attributes::WorkflowExecutionTimedOutEventAttributes(
            Default::default(),
        ));
        assert!(matches!(
            close_outcome(&e),
            Outcome::Closed(Err(WorkflowExecutionError::TimedOut))
        ));

        let e = event(Attributes::TimerFiredEventAttributes(Default::default()));
        assert!(matches!(
            close_outcome(&e),
            Outcome::Closed(Err(WorkflowExecutionError::UnexpectedHistory(_)))
        ));
        let e = HistoryEvent::default();
        assert!(matches!(
            close_outcome(&e),
            Outcome::Closed(Err(WorkflowExecutionError::UnexpectedHistory(_)))
        ));
    }
}
