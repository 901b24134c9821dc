//! Updates from a client: [`WorkflowHandle::update`], [`WorkflowHandle::start_update`],
//! [`UpdateHandle`], and their by-name forms for workflows of other SDKs.
//!
//! `UpdateWorkflowExecution` returns when the update reached the stage asked for, or earlier
//! when the server's long poll ends first (the response then has a lower stage and no
//! outcome): the call is repeated with the same update id, which the server deduplicates.
//! Waiting for the result of an accepted update is `PollWorkflowExecutionUpdate`, repeated the
//! same way.

use super::handle::{Untyped, WorkflowHandle};
use super::ClientError;
use crate::definition::WorkflowDefinition;
use crate::handlers::{update_name, UpdateFn};
use chronicle_core::connection::Connection;
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload, PayloadError};
use chronicle_core::proto::common::WorkflowExecution;
use chronicle_core::proto::enums::UpdateWorkflowExecutionLifecycleStage as Stage;
use chronicle_core::proto::update::{
    outcome, Input, Meta, Outcome, Request, UpdateRef, WaitPolicy,
};
use chronicle_core::proto::workflowservice::{
    PollWorkflowExecutionUpdateRequest, UpdateWorkflowExecutionRequest,
};
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::marker::PhantomData;
use std::time::Duration;

/// How long one update call may wait on the server before it is repeated; longer than the
/// server's own long poll, which answers first.
const LONG_POLL: Duration = Duration::from_secs(70);

/// An update did not produce a result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError {
    /// The call itself failed (connection, unknown workflow, encoding the arguments, a function
    /// that is not an `#[update]`...).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The update was rejected (by its validator, or because the workflow has no such update),
    /// or its handler failed. The failure is the workflow's.
    #[error("update {name:?} failed: {failure}")]
    Failed {
        /// The update's name.
        name: String,
        /// Why.
        failure: Failure,
    },
    /// The result does not decode as the expected type.
    #[error("the result of update {name:?} does not decode: {error}")]
    Decode {
        /// The update's name.
        name: String,
        /// Why.
        #[source]
        error: PayloadError,
    },
}

impl UpdateError {
    /// The workflow's failure, when the update was rejected or its handler failed.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            UpdateError::Failed { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// How far an update must have gone before [`WorkflowHandle::start_update`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UpdateStage {
    /// The workflow accepted it (its validator passed): the handler runs.
    #[default]
    Accepted,
    /// Its handler returned.
    Completed,
}

impl UpdateStage {
    pub(super) fn to_proto(self) -> Stage {
        match self {
            UpdateStage::Accepted => Stage::Accepted,
            UpdateStage::Completed => Stage::Completed,
        }
    }
}

/// Options of an update call.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct UpdateOptions {
    /// The update id; a random one when `None`. Calls with the same id for the same workflow
    /// run are one update: the server runs it once and gives every caller its outcome.
    pub update_id: Option<String>,
    /// How far the update must have gone before `start_update` returns.
    pub wait_for: UpdateStage,
}

impl UpdateOptions {
    /// Default options: a random id, return once accepted.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the update id (for deduplication, or to find the update again by id).
    pub fn id(mut self, update_id: impl Into<String>) -> Self {
        self.update_id = Some(update_id.into());
        self
    }

    /// Sets how far the update must have gone before `start_update` returns.
    pub fn wait_for(mut self, stage: UpdateStage) -> Self {
        self.wait_for = stage;
        self
    }
}

/// An update sent to a workflow, identified by its id; [`result`](Self::result) waits for its
/// outcome.
pub struct UpdateHandle<T> {
    pub(super) conn: Connection,
    pub(super) execution: WorkflowExecution,
    pub(super) update_id: String,
    pub(super) name: String,
    /// The outcome, when the start already waited for it.
    pub(super) known: Option<Outcome>,
    pub(super) _result: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for UpdateHandle<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateHandle")
            .field("workflow_id", &self.execution.workflow_id)
            .field("update_id", &self.update_id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwned> UpdateHandle<T> {
    /// The update id.
    pub fn id(&self) -> &str {
        &self.update_id
    }

    /// The workflow id.
    pub fn workflow_id(&self) -> &str {
        &self.execution.workflow_id
    }

    /// Waits for the update's outcome and decodes its result.
    pub async fn result(&self) -> Result<T, UpdateError> {
        let outcome = match &self.known {
            Some(outcome) => outcome.clone(),
            None => self.poll_outcome().await?,
        };
        decode_outcome(&self.name, outcome)
    }

    async fn poll_outcome(&self) -> Result<Outcome, UpdateError> {
        const RPC: &str = "PollWorkflowExecutionUpdate";
        let request = PollWorkflowExecutionUpdateRequest {
            namespace: self.conn.namespace().to_string(),
            update_ref: Some(UpdateRef {
                workflow_execution: Some(self.execution.clone()),
                update_id: self.update_id.clone(),
            }),
            identity: self.conn.identity().to_string(),
            wait_policy: Some(WaitPolicy {
                lifecycle_stage: Stage::Completed as i32,
            }),
        };
        let conn = self.conn.with_rpc_timeout(LONG_POLL);
        loop {
            let response = conn
                .unary(RPC, request.clone(), |mut svc, request| async move {
                    svc.poll_workflow_execution_update(request).await
                })
                .await
                .map_err(|status| {
                    ClientError::from_status(RPC, &self.execution.workflow_id, status)
                })?;
            if let Some(outcome) = response.outcome {
                return Ok(outcome);
            }
        }
    }
}

fn decode_outcome<T: DeserializeOwned>(name: &str, outcome: Outcome) -> Result<T, UpdateError> {
    match outcome.value {
        Some(outcome::Value::Success(payloads)) => {
            let payloads = payloads.payloads;
            payload::decode_single(&payloads, &format!("the result of update {name}")).map_err(
                |error| UpdateError::Decode {
                    name: name.to_string(),
                    error,
                },
            )
        }
        Some(outcome::Value::Failure(failure)) => Err(UpdateError::Failed {
            name: name.to_string(),
            failure: Failure::from_proto(failure),
        }),
        None => Err(ClientError::UnexpectedResponse {
            rpc: "UpdateWorkflowExecution",
            detail: "the update's outcome has neither a result nor a failure".to_string(),
        }
        .into()),
    }
}

impl<W> WorkflowHandle<W> {
    /// Sends an update with encoded arguments and waits until it reaches `options.wait_for`.
    pub async fn start_update_payloads<T: DeserializeOwned>(
        &self,
        name: &str,
        args: Vec<Payload>,
        options: UpdateOptions,
    ) -> Result<UpdateHandle<T>, UpdateError> {
        const RPC: &str = "UpdateWorkflowExecution";
        let update_id = options.update_id.unwrap_or_else(super::request_id);
        let request = update_request(
            &self.conn,
            self.target_execution(),
            &update_id,
            name,
            args,
            options.wait_for,
        );
        let wanted = options.wait_for.to_proto() as i32;
        let conn = self.conn.with_rpc_timeout(LONG_POLL);
        // Repeated until the stage is reached: the long poll may end first.
        let response = loop {
            let response = conn
                .unary(RPC, request.clone(), |mut svc, request| async move {
                    svc.update_workflow_execution(request).await
                })
                .await
                .map_err(|status| ClientError::from_status(RPC, &self.workflow_id, status))?;
            if response.stage >= wanted || response.outcome.is_some() {
                break response;
            }
        };
        let execution = response
            .update_ref
            .and_then(|r| r.workflow_execution)
            .unwrap_or_else(|| self.target_execution());
        Ok(UpdateHandle {
            conn: self.conn.clone(),
            execution,
            update_id,
            name: name.to_string(),
            known: response.outcome,
            _result: PhantomData,
        })
    }

    /// A handle on an update already sent, by its id (the latest run, or the run this handle
    /// is pinned to).
    pub fn update_handle<T: DeserializeOwned>(
        &self,
        update_id: impl Into<String>,
    ) -> UpdateHandle<T> {
        let update_id = update_id.into();
        UpdateHandle {
            conn: self.conn.clone(),
            execution: self.target_execution(),
            // The name is not known from the id alone: errors name the update by its id.
            name: format!("with id {update_id}"),
            update_id,
            known: None,
            _result: PhantomData,
        }
    }
}

/// The `UpdateWorkflowExecution` request (also one operation of update-with-start).
pub(crate) fn update_request(
    conn: &Connection,
    execution: WorkflowExecution,
    update_id: &str,
    name: &str,
    args: Vec<Payload>,
    wait_for: UpdateStage,
) -> UpdateWorkflowExecutionRequest {
    UpdateWorkflowExecutionRequest {
        namespace: conn.namespace().to_string(),
        workflow_execution: Some(execution),
        wait_policy: Some(WaitPolicy {
            lifecycle_stage: wait_for.to_proto() as i32,
        }),
        request: Some(Request {
            meta: Some(Meta {
                update_id: update_id.to_string(),
                identity: conn.identity().to_string(),
            }),
            input: Some(Input {
                header: None,
                name: name.to_string(),
                args: payload::to_payloads(args),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

impl<W: WorkflowDefinition> WorkflowHandle<W> {
    /// Sends an update, typed by its `#[update]` handler, and waits for its result.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct InvoiceWorkflow { due: f64 }
    /// # #[workflow] impl InvoiceWorkflow {
    /// #     #[run] async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
    /// #     #[update] async fn apply_discount(ctx: WorkflowContext<Self>, percent: u32) -> WorkflowResult<f64> { Ok(0.0) }
    /// # }
    /// # async fn f(handle: chronicle::WorkflowHandle<InvoiceWorkflow>) -> Result<(), chronicle::client::UpdateError> {
    /// let due: f64 = handle.update(InvoiceWorkflow::apply_discount, 10).await?;
    /// # Ok(()) }
    /// ```
    pub fn update<U, Args>(
        &self,
        update: U,
        input: U::Input,
    ) -> BoxFuture<'_, Result<U::Output, UpdateError>>
    where
        U: UpdateFn<W, Args>,
        U::Output: Send + 'static,
    {
        let options = UpdateOptions::new().wait_for(UpdateStage::Completed);
        let started = self.start_update_with(update, input, options);
        Box::pin(async move { started.await?.result().await })
    }

    /// Sends an update and returns once the workflow has accepted it; the handle's
    /// [`result`](UpdateHandle::result) waits for the outcome.
    pub fn start_update<U, Args>(
        &self,
        update: U,
        input: U::Input,
    ) -> BoxFuture<'_, Result<UpdateHandle<U::Output>, UpdateError>>
    where
        U: UpdateFn<W, Args>,
    {
        self.start_update_with(update, input, UpdateOptions::new())
    }

    /// Sends an update with options (its id, the stage to wait for).
    pub fn start_update_with<U, Args>(
        &self,
        update: U,
        input: U::Input,
        options: UpdateOptions,
    ) -> BoxFuture<'_, Result<UpdateHandle<U::Output>, UpdateError>>
    where
        U: UpdateFn<W, Args>,
    {
        let _ = update;
        let prepared = update_name::<W, U>()
            .map_err(ClientError::from)
            .and_then(|name| Ok((name, U::encode(&input).map_err(ClientError::Encode)?)));
        Box::pin(async move {
            let (name, args) = prepared?;
            self.start_update_payloads(name, args, options).await
        })
    }
}

impl WorkflowHandle<Untyped> {
    /// Sends an update by name with one argument (`()` for none) and waits for its result;
    /// for workflows of other SDKs.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), chronicle::client::UpdateError> {
    /// let due: f64 = client.untyped_handle("invoice-7").update("apply_discount", 10).await?;
    /// # Ok(()) }
    /// ```
    pub async fn update<A: Serialize, T: DeserializeOwned>(
        &self,
        name: &str,
        arg: A,
    ) -> Result<T, UpdateError> {
        let args = encode_arg(&arg)?;
        let options = UpdateOptions::new().wait_for(UpdateStage::Completed);
        self.start_update_payloads::<T>(name, args, options)
            .await?
            .result()
            .await
    }
}

fn encode_arg<A: Serialize>(arg: &A) -> Result<Vec<Payload>, ClientError> {
    let encoded = payload::encode(arg).map_err(ClientError::Encode)?;
    // `()` stands for "no argument".
    Ok(if encoded.data.as_slice() == b"null" {
        Vec::new()
    } else {
        vec![encoded]
    })
}
