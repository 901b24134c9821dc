//! The run's own properties that workflow code changes or watches: its memo, and the server's
//! suggestion to continue as new.

use super::WorkflowContext;
use chronicle_core::payload::{self, PayloadError};
use serde::Serialize;
use std::collections::HashMap;
use std::panic::Location;

impl<W> WorkflowContext<W> {
    /// Upserts memo fields of this run (a `ModifyWorkflowProperties` command). A null value
    /// (`None`, `()`) removes the field. [`memo`](Self::memo) sees the change at once;
    /// `describe()` from a client once the workflow task completes.
    ///
    /// Fails (before any command is issued) if a value cannot be encoded; `?` turns that
    /// into the workflow's failure.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # fn f(ctx: WorkflowContext<()>) -> WorkflowResult<()> {
    /// ctx.upsert_memo([("status", "paid")])?;
    /// ctx.upsert_memo([("draft", None::<String>)])?; // removes `draft`
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn upsert_memo<'a, T: Serialize>(
        &self,
        fields: impl IntoIterator<Item = (&'a str, T)>,
    ) -> Result<(), PayloadError> {
        let memo = fields
            .into_iter()
            .map(|(key, value)| Ok((key.to_string(), payload::encode(&value)?)))
            .collect::<Result<HashMap<_, _>, PayloadError>>()?;
        self.run_handle().upsert_memo_at(memo, Location::caller());
        Ok(())
    }

    /// Whether the server suggests continuing as new, because the history passed the length
    /// or size it suggests (`limit.historyCount.suggestContinueAsNew` and
    /// `limit.historySize.suggestContinueAsNew` on the server). As of the current workflow
    /// task, so the same on replay.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct Poller;
    /// # #[workflow] impl Poller {
    /// #[run]
    /// async fn run(ctx: WorkflowContext<Self>, polls: u64) -> WorkflowResult<()> {
    ///     for i in 0.. {
    ///         if ctx.continue_as_new_suggested() {
    ///             return Err(ctx.continue_as_new(Self::run, polls + i));
    ///         }
    ///         ctx.sleep(Duration::from_secs(60)).await?;
    ///     }
    ///     Ok(())
    /// }
    /// # }
    /// ```
    pub fn continue_as_new_suggested(&self) -> bool {
        self.run_handle().continue_as_new_suggested()
    }

    /// The history's size in bytes as of the current workflow task, as the server counts it
    /// (0 from servers that do not say).
    pub fn history_size(&self) -> u64 {
        self.run_handle().history_size_bytes()
    }
}
