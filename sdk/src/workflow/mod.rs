//! What workflow code sees: [`WorkflowContext`] and the futures it hands out.
//!
//! The context is also at the crate root and in the prelude; the futures live here, named in
//! signatures but rarely written out:
//!
//! - activities: [`ActivityCall`] (set options, then `.await`), [`ActivityFuture`];
//! - time and state: [`Timer`], [`WaitUntil`], [`WaitUntilTimeout`];
//! - cancellation: [`CancelRequested`], [`NonCancellable`];
//! - other workflows: [`ChildWorkflowCall`], [`ChildStart`], [`ChildWorkflow`], [`ChildResult`],
//!   [`ExternalWorkflow`], [`ExternalOperation`]; [`Untyped`] for workflows known only by their
//!   type name (written with another SDK);
//! - ending the run: [`ContinueAsNewOptions`].

use crate::definition::{ActivityDefinition, RunFn, WorkflowDefinition};
use crate::error::WorkflowError;
use chronicle_core::payload::{self, PayloadError};
use chronicle_core::search_attributes::SearchAttribute;
use chronicle_core::workflow::{ActivityOptions, RunHandle, WorkflowInfo};
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

mod activity;
mod children;
mod continue_as_new;
mod external;
mod handlers;
mod local_activity;
mod log;
mod run_properties;
mod waiting;

pub use crate::client::Untyped;
pub use activity::{ActivityCall, ActivityFuture};
pub use children::{ChildKind, ChildResult, ChildStart, ChildWorkflow, ChildWorkflowCall};
pub use chronicle_core::workflow::{LocalActivityOptions, DEFAULT_LOCAL_RETRY_THRESHOLD};
pub use continue_as_new::ContinueAsNewOptions;
pub use external::{ExternalOperation, ExternalWorkflow};
pub use handlers::HandlersFinished;
pub use local_activity::{LocalActivityCall, LocalActivityFuture};
pub use log::{WorkflowLogger, WORKFLOW_LOG_TARGET};
pub use waiting::{CancelRequested, NonCancellable, Timer, WaitUntil, WaitUntilTimeout};

/// The workflow's window on the world: activities, timers, time, and its own state `W`.
///
/// Everything here is deterministic: on replay the same calls produce the same commands and
/// see the same results.
pub struct WorkflowContext<W> {
    run: RunHandle,
    state: Rc<RefCell<W>>,
}

impl<W> fmt::Debug for WorkflowContext<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.info();
        f.debug_struct("WorkflowContext")
            .field("workflow_type", &info.workflow_type)
            .field("workflow_id", &info.workflow_id)
            .field("run_id", &info.run_id)
            .finish_non_exhaustive()
    }
}

impl<W> Clone for WorkflowContext<W> {
    fn clone(&self) -> Self {
        Self {
            run: self.run.clone(),
            state: self.state.clone(),
        }
    }
}

impl<W> WorkflowContext<W> {
    pub(crate) fn new(run: RunHandle, state: W) -> Self {
        Self {
            run,
            state: Rc::new(RefCell::new(state)),
        }
    }

    pub(crate) fn run_handle(&self) -> RunHandle {
        self.run.clone()
    }

    /// Facts about this run: ids, type, task queue, attempt, start time.
    pub fn info(&self) -> Rc<WorkflowInfo> {
        self.run.info()
    }

    /// Workflow time: when the current workflow task started. Use it instead of
    /// `SystemTime::now()`, which would differ on replay.
    pub fn now(&self) -> SystemTime {
        self.run.now()
    }

    /// Upserts search attributes of this workflow (recorded in history, indexed by the server
    /// for `temporal workflow list --query ..`).
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// use chronicle::SearchAttribute;
    /// # fn f(ctx: WorkflowContext<()>) {
    /// ctx.upsert_search_attributes([("CustomKeywordField", SearchAttribute::Keyword("paid".into()))]);
    /// # }
    /// ```
    #[track_caller]
    pub fn upsert_search_attributes<'a>(
        &self,
        attributes: impl IntoIterator<Item = (&'a str, SearchAttribute)>,
    ) {
        let fields = attributes
            .into_iter()
            .map(|(name, value)| (name.to_string(), value.to_payload()))
            .collect();
        self.run
            .upsert_search_attributes_at(fields, Location::caller());
    }

    /// A search attribute of the run: what it was started with, changed by
    /// [`upsert_search_attributes`](Self::upsert_search_attributes).
    pub fn search_attribute(&self, name: &str) -> Option<SearchAttribute> {
        self.run
            .search_attributes()
            .get(name)
            .and_then(SearchAttribute::from_payload)
    }

    /// A memo field of the run, decoded as `T`: what it was started with, changed by
    /// [`upsert_memo`](Self::upsert_memo).
    pub fn memo<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Option<Result<T, PayloadError>> {
        let memo = self.run.memo();
        let value = memo.get(key)?;
        Some(payload::decode(value, &format!("memo field {key:?}")))
    }

    /// How many events this run's history holds so far (the same on replay): continue as new
    /// before it grows into the tens of thousands.
    pub fn history_length(&self) -> i64 {
        self.run.history_length()
    }

    /// Whether the code is re-running recorded history (e.g. to skip logging).
    pub fn is_replaying(&self) -> bool {
        self.run.is_replaying()
    }

    /// A logger that is quiet while the run replays history (see [`WorkflowLogger`]).
    pub fn log(&self) -> WorkflowLogger {
        WorkflowLogger::new(self.run.clone())
    }

    /// Calls an activity; set options on the returned call, then `.await` it.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[activity] async fn compose_greeting(name: String) -> Result<String, ActivityError> { Ok(name) }
    /// # async fn f(ctx: WorkflowContext<()>, name: String) -> WorkflowResult<()> {
    /// let greeting = ctx
    ///     .activity(compose_greeting, name)
    ///     .start_to_close(Duration::from_secs(10))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn activity<A: ActivityDefinition>(&self, activity: A, input: A::Input) -> ActivityCall<A> {
        let _ = activity;
        ActivityCall {
            run: self.run.clone(),
            input,
            options: ActivityOptions::default(),
            location: Location::caller(),
            _activity: PhantomData,
        }
    }

    /// Runs a local activity: an `#[activity]` function registered on this worker, run by the
    /// worker inside the workflow task, its outcome recorded in history as a marker (replay
    /// reads it and does not run the activity). For short work that would not be worth an
    /// activity task; retries with short backoffs happen in the task, longer ones after a
    /// durable timer.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[activity] async fn normalize(name: String) -> Result<String, ActivityError> { Ok(name) }
    /// # async fn f(ctx: WorkflowContext<()>, name: String) -> WorkflowResult<()> {
    /// let name = ctx
    ///     .local_activity(normalize, name)
    ///     .start_to_close(Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn local_activity<A: ActivityDefinition>(
        &self,
        activity: A,
        input: A::Input,
    ) -> LocalActivityCall<A> {
        let _ = activity;
        LocalActivityCall {
            run: self.run.clone(),
            input,
            options: LocalActivityOptions::default(),
            location: Location::caller(),
            _activity: PhantomData,
        }
    }

    /// A durable timer: the workflow sleeps for `duration` of workflow time, surviving worker
    /// restarts. Use it instead of `tokio::time::sleep`.
    #[track_caller]
    pub fn sleep(&self, duration: Duration) -> Timer {
        Timer {
            handle: self.run.start_timer(duration),
        }
    }

    /// A random number, the same on every replay of this run (seeded from the run id). Use it
    /// instead of `rand`, whose numbers would differ on replay.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # fn f(ctx: WorkflowContext<()>) {
    /// let jitter = Duration::from_millis(ctx.random() % 1_000);
    /// # }
    /// ```
    pub fn random(&self) -> u64 {
        self.run.random_u64()
    }

    /// A random (version 4) UUID, the same on every replay of this run. Use it instead of
    /// `Uuid::new_v4()`, e.g. for idempotency keys passed to activities.
    pub fn uuid(&self) -> uuid::Uuid {
        let high = self.random().to_be_bytes();
        let low = self.random().to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&high);
        bytes[8..].copy_from_slice(&low);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// Runs `compute` once, the first time the workflow gets here, and records its value in
    /// history; every replay returns the recorded value without running `compute`.
    ///
    /// For small nondeterministic values that do not deserve an activity (a generated id, a
    /// quick read of local configuration). `compute` must not fail or block; anything that may
    /// belongs in an activity, which is retried.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # fn hostname() -> String { String::new() }
    /// # fn f(ctx: WorkflowContext<()>) {
    /// let started_on: String = ctx.side_effect(|| hostname());
    /// # }
    /// ```
    ///
    /// # Panics
    /// When the value cannot be encoded as JSON, or the recorded value does not decode as `T`
    /// (the code changed the side effect's type): both fail the workflow task, like a
    /// nondeterminism error, and the workflow waits for fixed code.
    #[track_caller]
    pub fn side_effect<T, F>(&self, compute: F) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: FnOnce() -> T,
    {
        let recorded = self.run.side_effect(|| match payload::encode(&compute()) {
            Ok(value) => value,
            Err(e) => panic!("the value of a side effect could not be encoded: {e}"),
        });
        match payload::decode(&recorded, "the recorded value of a side effect") {
            Ok(value) => value,
            Err(e) => panic!("{e}"),
        }
    }

    /// Ends this run and starts a fresh one of workflow `W2` (this workflow's type, or another)
    /// with `input`: return it as the run function's error. The new run starts with an empty
    /// history, so a workflow that loops forever stays small; clients' `result()` follows the
    /// chain to the run that finally completes.
    ///
    /// The next run keeps this run's task queue, timeouts, memo and search attributes; change
    /// them with [`continue_as_new_with`](Self::continue_as_new_with).
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct Counter;
    /// # #[workflow] impl Counter {
    /// #[run]
    /// async fn run(ctx: WorkflowContext<Self>, remaining: u32) -> WorkflowResult<()> {
    ///     if ctx.history_length() > 10_000 {
    ///         return Err(ctx.continue_as_new(Self::run, remaining));
    ///     }
    ///     Ok(())
    /// }
    /// # }
    /// ```
    #[must_use = "continuing as new only happens when the error is returned from the run function"]
    pub fn continue_as_new<W2, Args, F>(&self, run: F, input: W2::Input) -> WorkflowError
    where
        W2: WorkflowDefinition,
        F: RunFn<W2, Args>,
    {
        self.continue_as_new_with(run, input, ContinueAsNewOptions::default())
    }

    /// [`continue_as_new`](Self::continue_as_new), with the next run's task queue, timeouts,
    /// retry policy, memo or search attributes changed.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// use chronicle::workflow::ContinueAsNewOptions;
    /// # #[derive(Default)] struct Counter;
    /// # #[workflow] impl Counter {
    /// #[run]
    /// async fn run(ctx: WorkflowContext<Self>, remaining: u32) -> WorkflowResult<()> {
    ///     let next = ContinueAsNewOptions::new()
    ///         .task_queue("counters-v2")
    ///         .run_timeout(Duration::from_secs(3600));
    ///     Err(ctx.continue_as_new_with(Self::run, remaining, next))
    /// }
    /// # }
    /// ```
    #[must_use = "continuing as new only happens when the error is returned from the run function"]
    pub fn continue_as_new_with<W2, Args, F>(
        &self,
        run: F,
        input: W2::Input,
        options: ContinueAsNewOptions,
    ) -> WorkflowError
    where
        W2: WorkflowDefinition,
        F: RunFn<W2, Args>,
    {
        let _ = run;
        match W2::encode_input(&input) {
            Ok(input) => match options.into_request(W2::NAME, input) {
                Ok(mut next) => {
                    // The server carries neither the memo nor the search attributes over by
                    // itself: a command without them starts the next run without any.
                    // Temporal's other SDKs send the current run's, upserts included, unless
                    // others were set, and so does Chronicle.
                    if next.memo.is_empty() {
                        next.memo = self.run.memo();
                    }
                    if next.search_attributes.is_empty() {
                        next.search_attributes = self.run.search_attributes();
                    }
                    WorkflowError::continue_as_new(next)
                }
                Err(e) => e,
            },
            Err(e) => WorkflowError::from(e),
        }
    }

    /// Whether a client asked the workflow to cancel.
    ///
    /// After the request, timers, waits and activities outside
    /// [`non_cancellable`](Self::non_cancellable) end at once with [`Canceled`](crate::Canceled)
    /// (activities with an [`ActivityFailure`](crate::ActivityFailure) that
    /// [`is_canceled`](crate::ActivityFailure::is_canceled)); new ones end as soon as awaited.
    pub fn is_cancel_requested(&self) -> bool {
        self.run.is_cancel_requested()
    }

    /// Resolves when a client asks the workflow to cancel, e.g. to race it with other work.
    pub fn cancel_requested(&self) -> CancelRequested {
        CancelRequested {
            run: self.run.clone(),
        }
    }

    /// Runs `work` shielded from the workflow's cancellation: cleanup after a cancellation
    /// request (a refund, a release of held stock) runs its activities and timers to the end.
    ///
    /// The shield covers what `work` starts once it is polled. Activity and child calls start
    /// then, but [`sleep`](Self::sleep) starts its timer when it is called (so that command
    /// order follows the code), so a timer goes inside an `async` block:
    /// `ctx.non_cancellable(async { ctx.sleep(d).await })`.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[activity] async fn ship(order: String) -> Result<(), ActivityError> { Ok(()) }
    /// # #[activity] async fn refund(order: String) -> Result<(), ActivityError> { Ok(()) }
    /// # async fn f(ctx: WorkflowContext<()>, order: String) -> WorkflowResult<()> {
    /// match ctx.activity(ship, order.clone()).await {
    ///     Err(e) if e.is_canceled() => {
    ///         ctx.non_cancellable(ctx.activity(refund, order.clone())).await?;
    ///         return Err(Canceled.into()); // ends the workflow as canceled
    ///     }
    ///     other => other?,
    /// };
    /// # Ok(()) }
    /// ```
    pub fn non_cancellable<F: std::future::IntoFuture>(&self, work: F) -> NonCancellable<F> {
        NonCancellable {
            run: self.run.clone(),
            work: Some(work),
            inner: None,
        }
    }

    /// Whether to take the new code path of a change identified by `patch_id`.
    ///
    /// New runs, and runs that already took the patched path, get `true`; runs that started
    /// before the change and are replaying up to this point get `false`, so they keep doing
    /// what their history says. The decision is recorded in history as a patch marker (the
    /// format of Temporal's other SDKs, so patched histories replay across them).
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[activity] async fn send_sms(phone: String) -> Result<(), ActivityError> { Ok(()) }
    /// # #[activity] async fn send_email(address: String) -> Result<(), ActivityError> { Ok(()) }
    /// # async fn f(ctx: WorkflowContext<()>, phone: String, address: String) -> WorkflowResult<()> {
    /// if ctx.patched("send-sms") {
    ///     ctx.activity(send_sms, phone).await?;
    /// } else {
    ///     ctx.activity(send_email, address).await?;
    /// }
    /// # Ok(()) }
    /// ```
    ///
    /// Once no run that could take the old path remains, replace the call with
    /// [`deprecate_patch`](Self::deprecate_patch) and drop the old branch; later, remove that
    /// call too.
    #[track_caller]
    pub fn patched(&self, patch_id: &str) -> bool {
        self.run.patched(patch_id, false)
    }

    /// Marks a patch whose old code path is gone: replays histories that recorded the patch
    /// and histories that did not, and records the patch as deprecated for new runs.
    #[track_caller]
    pub fn deprecate_patch(&self, patch_id: &str) {
        self.run.patched(patch_id, true);
    }

    /// Reads the workflow's state.
    pub fn state<R>(&self, read: impl FnOnce(&W) -> R) -> R {
        read(&self.state.borrow())
    }

    /// Changes the workflow's state. The borrow ends with the closure, so it can never be held
    /// across an `.await`.
    pub fn update<R>(&self, change: impl FnOnce(&mut W) -> R) -> R {
        let result = change(&mut self.state.borrow_mut());
        self.run.state_changed();
        result
    }

    /// Changes the state without waking `wait_until` (for signal handlers, applied right
    /// before an activation that wakes them anyway).
    pub(crate) fn mutate_quietly<R>(&self, change: impl FnOnce(&mut W) -> R) -> R {
        change(&mut self.state.borrow_mut())
    }

    /// Waits until `condition` holds for the workflow's state, typically after a signal.
    ///
    /// The condition is checked at once, then again whenever the state may have changed (a
    /// signal, an [`update`](Self::update), a new workflow task), always at the same points on
    /// replay. It must read only the state it is given.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct Approval { approved: bool }
    /// # async fn f(ctx: WorkflowContext<Approval>) -> WorkflowResult<()> {
    /// ctx.wait_until(|s| s.approved).await?; // `Err(Canceled)` if the workflow is canceled
    /// # Ok(()) }
    /// ```
    pub fn wait_until<F: FnMut(&W) -> bool>(&self, condition: F) -> WaitUntil<W, F> {
        WaitUntil {
            run: self.run.clone(),
            state: self.state.clone(),
            condition,
        }
    }

    /// Waits until `condition` holds or `timeout` of workflow time passes, whichever comes
    /// first: `true` when the condition held, `false` on timeout.
    ///
    /// The timeout is a durable timer (canceled when the condition wins), exactly what the
    /// other Temporal SDKs record for the same wait.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[activity] async fn send_reminder(id: String) -> Result<(), ActivityError> { Ok(()) }
    /// # #[derive(Default)] struct Invoice { id: String, paid: Option<u64> }
    /// # async fn f(ctx: WorkflowContext<Invoice>) -> WorkflowResult<()> {
    /// # let reminder_interval = Duration::from_secs(86_400);
    /// let id = ctx.state(|s| s.id.clone());
    /// while !ctx.wait_until_timeout(|s| s.paid.is_some(), reminder_interval).await? {
    ///     ctx.activity(send_reminder, id.clone()).await?;
    /// }
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn wait_until_timeout<F: FnMut(&W) -> bool>(
        &self,
        condition: F,
        timeout: Duration,
    ) -> WaitUntilTimeout<W, F> {
        WaitUntilTimeout {
            wait: self.wait_until(condition),
            timeout,
            location: Location::caller(),
            timer: None,
        }
    }
}
