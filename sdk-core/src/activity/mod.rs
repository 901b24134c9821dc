//! Activities: what the activity worker needs to run one, and what the activity code sees.

mod context;
mod heartbeat;

pub use context::{ActivityContext, ActivityInfo, AppData};
pub(crate) use heartbeat::Heartbeater;

use crate::failure::Failure;
use crate::payload::Payload;
use futures::future::BoxFuture;

/// A registered activity, type-erased: payloads in, payloads or a failure out.
///
/// The `chronicle` crate implements it for every `#[activity]` function.
pub trait ActivityFactory: Send + Sync + 'static {
    /// The activity type name.
    fn name(&self) -> &str;
    /// Decodes the input, runs the activity and encodes its result.
    fn execute(
        &self,
        ctx: ActivityContext,
        input: Vec<Payload>,
    ) -> BoxFuture<'static, Result<Vec<Payload>, Failure>>;
}
