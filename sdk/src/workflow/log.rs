//! Logging from workflow code, quiet while history replays.
//!
//! Workflow code runs again from the start whenever its run is rebuilt from history, so a
//! plain `tracing::info!` in it would print the same line once per replay. The
//! [`WorkflowLogger`] drops lines while the run is replaying and tags the rest with the run's
//! ids and type, so each line appears once, when the code first gets there.

use chronicle_core::workflow::RunHandle;
use std::fmt::Display;

/// The `tracing` target of workflow log lines (filter with `RUST_LOG=chronicle::workflow=debug`).
pub const WORKFLOW_LOG_TARGET: &str = "chronicle::workflow";

/// A replay-aware logger for workflow code, from [`WorkflowContext::log`](super::WorkflowContext::log).
///
/// Lines go to `tracing` (target [`WORKFLOW_LOG_TARGET`]) with the fields `workflow_id`,
/// `run_id` and `workflow_type`; nothing is emitted while the run replays.
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(Default)] struct Orders;
/// # #[workflow] impl Orders { #[run] async fn run(ctx: WorkflowContext<Self>, id: String) -> WorkflowResult<()> {
/// ctx.log().info(format_args!("order {id} received"));
/// ctx.sleep(Duration::from_secs(60)).await;
/// // Printed once, although the run replays from the start after the timer.
/// ctx.log().info("order shipped");
/// # Ok(()) } }
/// ```
#[derive(Clone, Debug)]
pub struct WorkflowLogger {
    run: RunHandle,
}

macro_rules! at_level {
    ($(#[$doc:meta] $name:ident => $level:ident,)*) => {
        impl WorkflowLogger {
            $(
                #[$doc]
                pub fn $name(&self, message: impl Display) {
                    if self.is_enabled() {
                        let info = self.run.info();
                        tracing::event!(
                            target: WORKFLOW_LOG_TARGET,
                            tracing::Level::$level,
                            workflow_id = %info.workflow_id,
                            run_id = %info.run_id,
                            workflow_type = %info.workflow_type,
                            "{message}"
                        );
                    }
                }
            )*
        }
    };
}

at_level! {
    /// Logs at trace level (not while replaying).
    trace => TRACE,
    /// Logs at debug level (not while replaying).
    debug => DEBUG,
    /// Logs at info level (not while replaying).
    info => INFO,
    /// Logs at warn level (not while replaying).
    warn => WARN,
    /// Logs at error level (not while replaying).
    error => ERROR,
}

impl WorkflowLogger {
    pub(crate) fn new(run: RunHandle) -> Self {
        Self { run }
    }

    /// Whether lines are emitted now: false while the run replays history.
    pub fn is_enabled(&self) -> bool {
        !self.run.is_replaying()
    }
}
