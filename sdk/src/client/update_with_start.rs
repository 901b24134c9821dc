//! Update-with-start: one `ExecuteMultiOperation` call that starts the workflow (or, with the
//! id conflict policy, uses the running one) and sends it an update, which the new run sees in
//! its first workflow task.

use super::handle::WorkflowHandle;
use super::start::{IdConflictPolicy, StartWorkflow};
use super::update::{update_request, UpdateError, UpdateHandle, UpdateOptions};
use super::{request_id, ClientError};
use crate::definition::WorkflowDefinition;
use crate::handlers::{update_name, UpdateFn};
use chronicle_core::payload::Payload;
use chronicle_core::proto::common::WorkflowExecution;
use chronicle_core::proto::workflowservice::execute_multi_operation_request::{
    operation, Operation,
};
use chronicle_core::proto::workflowservice::execute_multi_operation_response::response;
use chronicle_core::proto::workflowservice::ExecuteMultiOperationRequest;
use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use std::future::IntoFuture;
use std::marker::PhantomData;

impl<W: WorkflowDefinition> StartWorkflow<W> {
    /// Turns the start into an update-with-start: the update goes to the workflow with this
    /// id, started by this call unless one is running. When no id conflict policy was set,
    /// [`IdConflictPolicy::UseExisting`] applies (the server needs one for this call).
    /// Awaiting it gives the workflow's handle and the update's, once the update reached
    /// `options.wait_for`.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # use chronicle::client::UpdateOptions;
    /// # #[derive(Default)] struct Cart { items: u32 }
    /// # #[workflow] impl Cart {
    /// #     #[run] async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
    /// #     #[update] async fn add(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> { Ok(n) }
    /// # }
    /// # async fn f(client: Client) -> Result<(), chronicle::client::UpdateError> {
    /// let (cart, added) = client
    ///     .start(Cart::run, (), "cart-7", "shop")
    ///     .with_update(Cart::add, 2, UpdateOptions::new())
    ///     .await?;
    /// let items: u32 = added.result().await?;
    /// # Ok(()) }
    /// ```
    pub fn with_update<U, Args>(
        self,
        update: U,
        input: U::Input,
        options: UpdateOptions,
    ) -> UpdateWithStart<W, U::Output>
    where
        U: UpdateFn<W, Args>,
    {
        let _ = update;
        let prepared = update_name::<W, U>()
            .map_err(ClientError::from)
            .and_then(|name| {
                let args = U::encode(&input).map_err(ClientError::Encode)?;
                Ok((name.to_string(), args))
            });
        UpdateWithStart {
            start: self,
            update: prepared,
            options,
            _result: PhantomData,
        }
    }
}

/// An update-with-start, ready to be sent: `.await` it. Made by
/// [`StartWorkflow::with_update`].
#[must_use = "an update-with-start does nothing until it is awaited"]
pub struct UpdateWithStart<W, T> {
    start: StartWorkflow<W>,
    update: Result<(String, Vec<Payload>), ClientError>,
    options: UpdateOptions,
    _result: PhantomData<fn() -> T>,
}

impl<W, T> std::fmt::Debug for UpdateWithStart<W, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateWithStart")
            .field("workflow_id", &self.start.spec.workflow_id)
            .field("update_id", &self.options.update_id)
            .finish_non_exhaustive()
    }
}

impl<W: 'static, T: DeserializeOwned + 'static> UpdateWithStart<W, T> {
    async fn send(self) -> Result<(WorkflowHandle<W>, UpdateHandle<T>), UpdateError> {
        const RPC: &str = "ExecuteMultiOperation";
        let (name, args) = self.update?;
        let StartWorkflow { conn, mut spec, .. } = self.start;
        spec.id_conflict_policy
            .get_or_insert(IdConflictPolicy::UseExisting);
        let workflow_id = spec.workflow_id.clone();
        let update_id = self.options.update_id.clone().unwrap_or_else(request_id);
        let start = spec.into_request(conn.namespace(), conn.identity(), request_id())?;
        let execution = WorkflowExecution {
            workflow_id: workflow_id.clone(),
            run_id: String::new(),
        };
        let update = update_request(
            &conn,
            execution.clone(),
            &update_id,
            &name,
            args.clone(),
            self.options.wait_for,
        );
        let request = ExecuteMultiOperationRequest {
            namespace: conn.namespace().to_string(),
            operations: vec![
                Operation {
                    operation: Some(operation::Operation::StartWorkflow(start)),
                },
                Operation {
                    operation: Some(operation::Operation::UpdateWorkflow(update)),
                },
            ],
            ..Default::default()
        };
        let response = conn
            .unary(RPC, request, |mut svc, request| async move {
                svc.execute_multi_operation(request).await
            })
            .await
            .map_err(|status| ClientError::from_status(RPC, &workflow_id, status))?;
        let mut run_id = None;
        let mut update_response = None;
        for answer in response.responses {
            match answer.response {
                Some(response::Response::StartWorkflow(started)) => run_id = Some(started.run_id),
                Some(response::Response::UpdateWorkflow(updated)) => {
                    update_response = Some(updated)
                }
                None => {}
            }
        }
        let (Some(run_id), Some(updated)) = (run_id, update_response) else {
            return Err(ClientError::UnexpectedResponse {
                rpc: RPC,
                detail: "the response lacks the start's or the update's answer".to_string(),
            }
            .into());
        };
        let handle = WorkflowHandle::started(conn.clone(), workflow_id, run_id);
        let wanted = self.options.wait_for.to_proto() as i32;
        if updated.stage >= wanted || updated.outcome.is_some() {
            let execution = updated
                .update_ref
                .and_then(|r| r.workflow_execution)
                .unwrap_or(execution);
            let update = UpdateHandle {
                conn,
                execution,
                update_id,
                name,
                known: updated.outcome,
                _result: PhantomData,
            };
            return Ok((handle, update));
        }
        // The server's long poll ended first: the same update id again is the same update.
        let options = UpdateOptions::new()
            .id(update_id)
            .wait_for(self.options.wait_for);
        let update = handle
            .start_update_payloads::<T>(&name, args, options)
            .await?;
        Ok((handle, update))
    }
}

impl<W: 'static, T: DeserializeOwned + 'static> IntoFuture for UpdateWithStart<W, T> {
    type Output = Result<(WorkflowHandle<W>, UpdateHandle<T>), UpdateError>;
    type IntoFuture = BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.send())
    }
}
