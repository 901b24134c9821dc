//! Signals and queries as values: what makes `InvoiceWorkflow::payment_received` usable in
//! `handle.signal(InvoiceWorkflow::payment_received, payment)`.
//!
//! A `#[signal]` is a method `fn(&mut self, A..)` and a `#[query]` a method `fn(&self, A..) -> R`
//! of the workflow type. Passed as values, they implement [`SignalFn`] and [`QueryFn`], which
//! type the arguments (and the query's answer) from the method's own signature. The wire name
//! comes from the workflow's definition, which recognises its handlers by their function type.

use crate::definition::{UpdateRejection, WorkflowDefinition};
use crate::error::WorkflowError;
use crate::workflow::WorkflowContext;
use chronicle_core::payload::{self, Payload, PayloadError};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::TypeId;
use std::future::Future;

/// A signal handler of workflow `W` used as a value, as in `InvoiceWorkflow::payment_received`.
///
/// `Args` only tells the arities apart.
///
/// The argument types must also be `Serialize`, to be sent. When one is not, the compiler only
/// reports that this trait is not implemented, never the missing `Serialize`: hence the
/// diagnostic's second note.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a signal to `{W}`",
    label = "expected a `#[signal]` method of `{W}`, like `MyWorkflow::approve`",
    note = "a signal handler is a method `fn name(&mut self, a: A, ..)` marked `#[signal]` in the workflow's #[workflow] impl block; a `#[query]` method is asked with `handle.query(..)`",
    note = "a client encodes the signal's arguments: each argument type must implement `serde::Serialize`, not only `Deserialize`"
)]
pub trait SignalFn<W, Args>: 'static {
    /// The argument (one), a tuple of them (several), or `()` (none).
    type Input;
    /// One payload per argument.
    fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError>;
}

/// A query handler of workflow `W` used as a value, as in `InvoiceWorkflow::status`.
///
/// As for [`SignalFn`], the argument types must also be `Serialize`, and the answer type
/// `DeserializeOwned`; the compiler reports only this trait when one is not.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be asked as a query of `{W}`",
    label = "expected a `#[query]` method of `{W}`, like `MyWorkflow::status`",
    note = "a query handler is a method `fn name(&self, a: A, ..) -> T` marked `#[query]` in the workflow's #[workflow] impl block; a `#[signal]` method is sent with `handle.signal(..)`",
    note = "a client encodes the query's arguments and decodes its answer: each argument type must implement `serde::Serialize`, and the answer type `T` `serde::Deserialize`"
)]
pub trait QueryFn<W, Args>: 'static {
    /// The argument (one), a tuple of them (several), or `()` (none).
    type Input;
    /// The answer.
    type Output: DeserializeOwned;
    /// One payload per argument.
    fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError>;
}

macro_rules! impl_handler_fns {
    ($input:ty; $($arg:ident $value:ident),*) => {
        impl<W, F, $($arg,)*> SignalFn<W, ($($arg,)*)> for F
        where
            F: Fn(&mut W, $($arg,)*) + 'static,
            $($arg: Serialize,)*
        {
            type Input = $input;
            #[allow(unused_variables)]
            fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError> {
                impl_handler_fns!(@encode input; $($value),*)
            }
        }

        impl<W, F, R, $($arg,)*> QueryFn<W, ($($arg,)*)> for F
        where
            F: Fn(&W, $($arg,)*) -> R + 'static,
            R: DeserializeOwned,
            $($arg: Serialize,)*
        {
            type Input = $input;
            type Output = R;
            #[allow(unused_variables)]
            fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError> {
                impl_handler_fns!(@encode input; $($value),*)
            }
        }
    };
    (@encode $input:ident;) => { Ok(Vec::new()) };
    (@encode $input:ident; $value:ident) => { Ok(vec![payload::encode($input)?]) };
    (@encode $input:ident; $($value:ident),+) => {{
        let ($($value,)+) = $input;
        Ok(vec![$(payload::encode($value)?),+])
    }};
}
/// An update handler of workflow `W` used as a value, as in `InvoiceWorkflow::apply_discount`.
///
/// An `#[update]` is `async fn name(ctx: WorkflowContext<Self>, a: A, ..) -> WorkflowResult<T>`;
/// the method itself types the call's arguments and its result. `Args` only tells the arities
/// apart.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an update to `{W}`",
    label = "expected an `#[update]` method of `{W}`, like `MyWorkflow::apply_discount`",
    note = "an update handler is `async fn name(ctx: WorkflowContext<Self>, a: A, ..) -> WorkflowResult<T>` marked `#[update]` in the workflow's #[workflow] impl block",
    note = "a client encodes the update's arguments and decodes its result: each argument type must implement `serde::Serialize`, and `T` `serde::Deserialize`"
)]
pub trait UpdateFn<W, Args>: 'static {
    /// The argument (one), a tuple of them (several), or `()` (none).
    type Input;
    /// The handler's result.
    type Output: DeserializeOwned;
    /// One payload per argument.
    fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError>;
}

/// Marks the argument list of an async `#[signal]` handler (`async fn(ctx, A..)`), so that its
/// [`SignalFn`] impl stays apart from the synchronous handlers'.
#[derive(Debug)]
pub struct AsyncHandler<Args>(std::marker::PhantomData<Args>);

macro_rules! impl_async_handler_fns {
    ($input:ty; $($arg:ident $value:ident),*) => {
        impl<W, F, Fut, R, $($arg,)*> UpdateFn<W, ($($arg,)*)> for F
        where
            F: Fn(WorkflowContext<W>, $($arg,)*) -> Fut + 'static,
            Fut: Future<Output = Result<R, WorkflowError>>,
            R: DeserializeOwned,
            $($arg: Serialize,)*
        {
            type Input = $input;
            type Output = R;
            #[allow(unused_variables)]
            fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError> {
                impl_handler_fns!(@encode input; $($value),*)
            }
        }

        impl<W, F, Fut, $($arg,)*> SignalFn<W, AsyncHandler<($($arg,)*)>> for F
        where
            F: Fn(WorkflowContext<W>, $($arg,)*) -> Fut + 'static,
            Fut: Future,
            Fut::Output: SignalReturn,
            $($arg: Serialize,)*
        {
            type Input = $input;
            #[allow(unused_variables)]
            fn encode(input: &Self::Input) -> Result<Vec<Payload>, PayloadError> {
                impl_handler_fns!(@encode input; $($value),*)
            }
        }
    };
}
impl_async_handler_fns!((););
impl_async_handler_fns!(A1; A1 a1);
impl_async_handler_fns!((A1, A2); A1 a1, A2 a2);
impl_async_handler_fns!((A1, A2, A3); A1 a1, A2 a2, A3 a3);
impl_async_handler_fns!((A1, A2, A3, A4); A1 a1, A2 a2, A3 a3, A4 a4);
impl_async_handler_fns!((A1, A2, A3, A4, A5); A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
impl_async_handler_fns!((A1, A2, A3, A4, A5, A6); A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);

/// What an async `#[signal]` handler may return: nothing, or `WorkflowResult<()>`, whose error
/// fails the workflow (the sender of a signal gets no reply to carry it).
#[diagnostic::on_unimplemented(
    message = "an async #[signal] handler returns nothing or `WorkflowResult<()>`, not `{Self}`",
    note = "a signal has no reply: return `()`, or `WorkflowResult<()>` whose error fails the workflow"
)]
pub trait SignalReturn {
    /// As a result.
    fn into_result(self) -> Result<(), WorkflowError>;
}
impl SignalReturn for () {
    fn into_result(self) -> Result<(), WorkflowError> {
        Ok(())
    }
}
impl SignalReturn for Result<(), WorkflowError> {
    fn into_result(self) -> Result<(), WorkflowError> {
        self
    }
}

/// A validator's verdict as generated code hands it on: any error type that displays.
pub fn validated<E: std::fmt::Display>(verdict: Result<(), E>) -> Result<(), UpdateRejection> {
    verdict.map_err(|error| {
        let type_name = std::any::type_name::<E>();
        let error_type = type_name
            .split('<')
            .next()
            .and_then(|path| path.rsplit("::").next())
            .unwrap_or(type_name);
        UpdateRejection::Invalid {
            message: error.to_string(),
            error_type: error_type.to_string(),
        }
    })
}

/// Encodes an update handler's result as its one payload; an encoding error fails the update.
pub fn encode_update_result<T: Serialize>(
    result: Result<T, WorkflowError>,
) -> Result<Vec<Payload>, WorkflowError> {
    Ok(vec![payload::encode(&result?)?])
}

/// The wire name of update handler `F` of `W`, or why it has none.
pub(crate) fn update_name<W: WorkflowDefinition, F: 'static>() -> Result<&'static str, NotAHandler>
{
    W::update_name(TypeId::of::<F>()).ok_or_else(|| NotAHandler::new::<W, F>("update"))
}

impl_handler_fns!((););
impl_handler_fns!(A1; A1 a1);
impl_handler_fns!((A1, A2); A1 a1, A2 a2);
impl_handler_fns!((A1, A2, A3); A1 a1, A2 a2, A3 a3);
impl_handler_fns!((A1, A2, A3, A4); A1 a1, A2 a2, A3 a3, A4 a4);
impl_handler_fns!((A1, A2, A3, A4, A5); A1 a1, A2 a2, A3 a3, A4 a4, A5 a5);
impl_handler_fns!((A1, A2, A3, A4, A5, A6); A1 a1, A2 a2, A3 a3, A4 a4, A5 a5, A6 a6);

/// The wire name of signal handler `F` of `W`, or why it has none.
pub(crate) fn signal_name<W: WorkflowDefinition, F: 'static>() -> Result<&'static str, NotAHandler>
{
    W::signal_name(TypeId::of::<F>()).ok_or_else(|| NotAHandler::new::<W, F>("signal"))
}

/// The wire name of query handler `F` of `W`, or why it has none.
pub(crate) fn query_name<W: WorkflowDefinition, F: 'static>() -> Result<&'static str, NotAHandler> {
    W::query_name(TypeId::of::<F>()).ok_or_else(|| NotAHandler::new::<W, F>("query"))
}

/// A method with a handler's shape that is not marked as one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("`{function}` is not a #[{kind}] of workflow {workflow}: mark it `#[{kind}]` in the workflow's #[workflow] impl block")]
pub struct NotAHandler {
    /// `signal` or `query`.
    pub kind: &'static str,
    /// The workflow type name.
    pub workflow: &'static str,
    /// The function passed, as the compiler names it.
    pub function: &'static str,
}

impl NotAHandler {
    fn new<W: WorkflowDefinition, F>(kind: &'static str) -> Self {
        Self {
            kind,
            workflow: W::NAME,
            function: std::any::type_name::<F>(),
        }
    }
}

/// The `TypeId` of a value's type; generated code uses it on `&Self::method` to recognise the
/// workflow's handlers when they are passed as values.
pub fn type_id_of<T: 'static>(_: &T) -> TypeId {
    TypeId::of::<T>()
}

/// Compile-time check that a handler's argument can be sent by a client; generated code calls
/// it spanned at the argument's type.
pub fn assert_serialize<T: Serialize>() {}

/// Compile-time check that a query's answer can be read by a client.
pub fn assert_deserialize<T: DeserializeOwned>() {}

/// Encodes a query's answer as its one payload.
pub fn encode_answer<T: Serialize>(answer: &T) -> Result<Vec<Payload>, PayloadError> {
    Ok(vec![payload::encode(answer)?])
}
