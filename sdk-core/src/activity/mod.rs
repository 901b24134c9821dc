//! Activities: what the activity worker needs to run one, and what the activity code sees.

mod attempt;
mod cancellation;
mod context;
pub(crate) mod heartbeat;
mod running;

pub use attempt::WillCompleteAsync;
pub use cancellation::CancellationReason;
pub use context::{ActivityContext, ActivityInfo, AppData};
pub use heartbeat::{
    DEFAULT_THROTTLE as DEFAULT_HEARTBEAT_THROTTLE, MAX_THROTTLE as MAX_HEARTBEAT_THROTTLE,
};
pub use running::RunningActivities;

pub(crate) use attempt::Attempt;
pub(crate) use cancellation::CancelSignal;
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
