//! Attribute macros for Chronicle: `#[activity]`, `#[workflow]`, and the `#[run]`, `#[signal]`,
//! `#[query]` and `#[update]` marks inside it.
//!
//! Use them through the `chronicle` crate (`use chronicle::prelude::*;`), never directly: the
//! generated code refers to `::chronicle`.
//!
//! Each macro parses its input, validates it while collecting every error, then expands it.
//! Errors are reported at the offending tokens, and the item is still emitted next to them so
//! that the rest of the crate keeps resolving.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use proc_macro::TokenStream;

mod activity;
mod attr;
mod codec;
mod determinism;
mod diag;
mod handler;
mod paths;
mod signature;
mod workflow;

/// Defines an activity from an `async fn`.
///
/// ```no_run
/// use chronicle::prelude::*;
///
/// #[activity]
/// async fn compose_greeting(ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
///     Ok(format!("Hello, {name}!"))
/// }
/// ```
///
/// The function becomes a unit struct of the same name that implements `ActivityDefinition`,
/// so it can be passed by name: `ctx.activity(compose_greeting, name).await` in a workflow, or
/// registered on a worker. The body stays callable as `compose_greeting::call(ctx, name)`, for
/// example from unit tests.
///
/// - The first parameter is the `ActivityContext`, and may be left out.
/// - The other parameters are the activity's arguments: owned, serde types, each sent as one
///   payload. One argument is the activity's input as is; several make a tuple; none make `()`.
/// - The return type is `Result<T, ActivityError>`.
///
/// `#[activity(name = "wire_name")]` sets the activity type name on the wire, which defaults to
/// the function's name.
///
/// A declaration without a body (`async fn py_greet(name: String) -> Result<String,
/// ActivityError>;`) declares an activity that another worker implements, perhaps in another
/// language: workflows can call it, but it cannot be registered on a Rust worker.
#[proc_macro_attribute]
pub fn activity(args: TokenStream, item: TokenStream) -> TokenStream {
    activity::expand(args.into(), item.into()).into()
}

/// Defines a workflow from the inherent impl block of its type.
///
/// ```no_run
/// use chronicle::prelude::*;
/// # #[activity] async fn compose_greeting(name: String) -> Result<String, ActivityError> { Ok(name) }
///
/// #[derive(Default)]
/// pub struct HelloWorkflow;
///
/// #[workflow]
/// impl HelloWorkflow {
///     #[run]
///     pub async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
///         Ok(ctx.activity(compose_greeting, name).await?)
///     }
/// }
/// ```
///
/// The block must hold exactly one `#[run] async fn`: its first parameter is
/// `ctx: WorkflowContext<Self>`, the others are the workflow's arguments (same rules as for
/// activities), and it returns `WorkflowResult<T>`. The type is the workflow's state, created
/// with `Default` when a run starts, and implements `WorkflowDefinition`, so a client starts it
/// with `client.start(HelloWorkflow::run, input, workflow_id, task_queue)`.
///
/// `#[workflow(name = "WireName")]` sets the workflow type name on the wire, which defaults to
/// the type's name.
///
/// **Determinism is checked at compile time.** Workflow code is replayed, so it must make the
/// same decisions every time. In every method of the block, the macro rejects, at the offending
/// call and naming the deterministic alternative: wall-clock time (`SystemTime::now`,
/// `Instant::now`, `Utc::now`; use `ctx.now()`), sleeping (`tokio::time::sleep`,
/// `thread::sleep`; use `ctx.sleep`), spawning (`tokio::spawn`, `thread::spawn`), randomness and
/// ids (`rand`, `Uuid::new_v4`; use `ctx.random()`, `ctx.uuid()`), the environment
/// (`std::env`), file and network I/O (put it in an activity), `select!` without `biased;`, and
/// iteration over a `HashMap`/`HashSet` (checked by type: use `BTreeMap`/`BTreeSet`). A statement
/// or method whose nondeterminism is harmless can say so, greppably:
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(Default)] struct Timed;
/// # #[workflow] impl Timed {
/// #[run]
/// async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
///     #[nondeterministic(reason = "only logged; no decision depends on it")]
///     let started = std::time::Instant::now();
///     ctx.sleep(Duration::from_secs(1)).await?;
///     println!("slept for {:?}", started.elapsed());
///     Ok(())
/// }
/// # }
/// ```
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}

/// Marks the run function of a `#[workflow]` impl block.
///
/// It only has meaning inside `#[workflow]`, which reads and removes it; on its own it leaves
/// the item unchanged.
#[proc_macro_attribute]
pub fn run(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand_run(args.into(), item.into()).into()
}

/// Marks a signal handler of a `#[workflow]` impl block.
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(serde::Serialize, serde::Deserialize)] struct Payment { cents: u64 }
/// # #[derive(Default)] struct InvoiceWorkflow { paid: Option<Payment> }
/// # #[workflow] impl InvoiceWorkflow {
/// # #[run] async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
/// #[signal]
/// fn payment_received(&mut self, payment: Payment) {
///     self.paid = Some(payment);
/// }
/// # }
/// ```
///
/// A signal handler is a synchronous method taking `&mut self` and the signal's arguments
/// (owned serde types, one payload each), returning nothing. It runs when the workflow meets
/// the signal in its history, in history order, before the run function next resumes; the run
/// function reacts with `ctx.wait_until(..)`. Clients send it with
/// `handle.signal(MyWorkflow::payment_received, payment)`.
///
/// Written as `async fn name(ctx: WorkflowContext<Self>, a: A, ..)` (returning nothing or
/// `WorkflowResult<()>`), a signal handler runs as a task of its own next to the run function
/// and may run activities, timers and children and wait; its error fails the workflow. The
/// run function can wait for such handlers with `ctx.wait_until_handlers_finished()`.
///
/// `#[signal(name = "wire_name")]` sets the signal name on the wire (default: the method name).
#[proc_macro_attribute]
pub fn signal(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand_handler(handler::Kind::Signal, args.into(), item.into()).into()
}

/// Marks a query handler of a `#[workflow]` impl block.
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(Clone, Default, serde::Serialize, serde::Deserialize)] struct InvoiceStatus { paid: bool }
/// # #[derive(Default)] struct InvoiceWorkflow { status: InvoiceStatus }
/// # #[workflow] impl InvoiceWorkflow {
/// # #[run] async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
/// #[query]
/// fn status(&self) -> InvoiceStatus {
///     self.status.clone()
/// }
/// # }
/// ```
///
/// A query handler is a synchronous method taking `&self` and the query's arguments, returning
/// the answer (a serde type). It cannot change the state or issue commands. It answers while
/// the workflow runs and after it has closed. Clients ask with
/// `handle.query(MyWorkflow::status, ()).await`.
///
/// `#[query(name = "wire_name")]` sets the query name on the wire (default: the method name).
#[proc_macro_attribute]
pub fn query(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand_handler(handler::Kind::Query, args.into(), item.into()).into()
}

/// Marks an update handler of a `#[workflow]` impl block.
///
/// ```no_run
/// # use chronicle::prelude::*;
/// # #[derive(Default)] struct InvoiceWorkflow { due: f64, paid: bool }
/// # #[workflow] impl InvoiceWorkflow {
/// # #[run] async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
/// #[update(validator = validate_discount)]
/// async fn apply_discount(ctx: WorkflowContext<Self>, percent: u32) -> WorkflowResult<f64> {
///     Ok(ctx.update(|s| {
///         s.due *= 1.0 - f64::from(percent) / 100.0;
///         s.due
///     }))
/// }
///
/// fn validate_discount(&self, percent: &u32) -> Result<(), String> {
///     match (*percent, self.paid) {
///         (_, true) => Err("the invoice is paid".to_string()),
///         (0..=50, false) => Ok(()),
///         (_, false) => Err(format!("{percent}% is outside 0..=50")),
///     }
/// }
/// # }
/// ```
///
/// An update handler is an `async fn` taking `ctx: WorkflowContext<Self>` and the update's
/// arguments (owned serde types, one payload each), returning `WorkflowResult<T>`. It runs as
/// a task of its own next to the run function, and may run activities, timers and children
/// and wait on the state. Its error fails the update (the caller gets it), not the workflow.
///
/// `validator = method` names a synchronous method `fn(&self, &A, ..) -> Result<(), E>`
/// (`E: Display`) that runs before the update is accepted, never on replay; its error rejects
/// the update, which then leaves no trace in history. Clients call it with
/// `handle.update(MyWorkflow::apply_discount, 10).await`.
///
/// `#[update(name = "wire_name")]` sets the update name on the wire (default: the method name).
#[proc_macro_attribute]
pub fn update(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand_handler(handler::Kind::Update, args.into(), item.into()).into()
}
