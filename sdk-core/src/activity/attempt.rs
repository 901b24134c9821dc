//! One running attempt as the worker and the activity code share it: its cancellation signal,
//! its heartbeats, and whether it said it will be completed later.

use super::cancellation::CancelSignal;
use super::Heartbeater;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The error type an activity's [`WillCompleteAsync`] becomes once converted to a failure.
pub(crate) const WILL_COMPLETE_ASYNC_TYPE: &str = "WillCompleteAsync";

/// What an activity returns as its error to say it will be completed later, by a client that
/// has its task token (or its workflow and activity ids). Only
/// [`ActivityContext::will_complete_async`](super::ActivityContext::will_complete_async) makes
/// one; the worker then reports nothing and frees the activity's slot.
#[derive(Debug, thiserror::Error)]
#[error("the activity will be completed asynchronously")]
pub struct WillCompleteAsync {
    _private: (),
}

#[derive(Clone, Default)]
pub(crate) struct Attempt {
    pub cancel: Arc<CancelSignal>,
    pub heartbeater: Option<Heartbeater>,
    completes_async: Arc<AtomicBool>,
}

impl Attempt {
    pub(crate) fn new(cancel: Arc<CancelSignal>, heartbeater: Option<Heartbeater>) -> Self {
        Self {
            cancel,
            heartbeater,
            completes_async: Arc::default(),
        }
    }

    pub(crate) fn will_complete_async(&self) -> WillCompleteAsync {
        self.completes_async.store(true, Ordering::Release);
        WillCompleteAsync { _private: () }
    }

    /// Whether the activity asked to be completed later and returned the marker as its error.
    pub(crate) fn completes_async(&self, failure: &crate::failure::Failure) -> bool {
        self.completes_async.load(Ordering::Acquire)
            && failure.error_type() == Some(WILL_COMPLETE_ASYNC_TYPE)
    }
}
