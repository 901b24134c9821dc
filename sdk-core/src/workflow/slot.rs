//! Where a command's result waits for the workflow code that awaits it.
//!
//! Every waitable machine owns one [`Slot`] per thing the code can wait on (an activity's
//! result, a child's start and its result, ...). The machine resolves it; the handle future
//! polls it. Writing this once keeps the rules the same for every kind: the first resolution
//! wins, resolving wakes the waiting code, and polling registers the waker.

use std::fmt;
use std::task::{Context, Poll, Waker};

/// A value that arrives once, and the waker of the code waiting for it.
pub(crate) struct Slot<T> {
    value: Option<T>,
    /// Set by the first resolution, and kept after the value is taken: a later event must not
    /// resolve the slot again.
    resolved: bool,
    waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self {
            value: None,
            resolved: false,
            waker: None,
        }
    }
}

impl<T> Slot<T> {
    /// Stores `value` and wakes the waiting code, unless the slot was resolved before (the
    /// first resolution wins). Returns whether this call resolved it.
    pub fn resolve(&mut self, value: T) -> bool {
        if self.resolved {
            return false;
        }
        self.resolved = true;
        self.value = Some(value);
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
        true
    }

    /// Whether the slot has been resolved (even if its value was taken since).
    pub fn is_resolved(&self) -> bool {
        self.resolved
    }

    /// Ready with the value, taking it out; otherwise remembers the waker.
    pub fn poll_take(&mut self, cx: &Context<'_>) -> Poll<T> {
        match self.value.take() {
            Some(value) => Poll::Ready(value),
            None => self.pending(cx),
        }
    }

    /// Ready with a copy of the value, which stays for later polls; otherwise remembers the
    /// waker.
    pub fn poll_cloned(&mut self, cx: &Context<'_>) -> Poll<T>
    where
        T: Clone,
    {
        match &self.value {
            Some(value) => Poll::Ready(value.clone()),
            None => self.pending(cx),
        }
    }

    /// The value, if resolved and not taken.
    #[cfg(test)]
    pub fn peek(&self) -> Option<&T> {
        self.value.as_ref()
    }

    fn pending(&mut self, cx: &Context<'_>) -> Poll<T> {
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T: fmt::Debug> fmt::Debug for Slot<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("value", &self.value)
            .field("resolved", &self.resolved)
            .field("waiting", &self.waker.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_first_resolution_wins_and_wakes_the_waiter() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let cx = Context::from_waker(&waker);
        let mut slot = Slot::default();
        assert_eq!(slot.poll_cloned(&cx), Poll::Pending);
        assert!(slot.resolve(1));
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(!slot.resolve(2));
        assert_eq!(slot.poll_cloned(&cx), Poll::Ready(1));
        assert_eq!(slot.poll_take(&cx), Poll::Ready(1));
        assert!(slot.is_resolved());
        assert_eq!(slot.poll_take(&cx), Poll::Pending, "a taken value is gone");
        assert!(!slot.resolve(3), "and is not replaced");
    }
}
