//! `#[signal]` and `#[query]` methods of a `#[workflow]` impl block: their signature rules and
//! the dispatch code generated for them.
//!
//! A signal handler is `fn name(&mut self, a: A, ..)`: synchronous, it changes the state and
//! returns nothing. A query handler is `fn name(&self, a: A, ..) -> T`: synchronous, it reads
//! the state. Neither takes the `WorkflowContext`, so neither can issue a command: a query that
//! would schedule an activity does not compile.

use crate::codec;
use crate::diag::Errors;
use crate::paths::Runtime;
use crate::signature::{
    check_owned, check_pattern, check_shape, is_context, strip_groups, Asyncness, Shape,
};
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{FnArg, LitStr, ReturnType, Signature, Type};

/// Signal or query.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    Signal,
    Query,
    Update,
}

impl Kind {
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Kind::Signal => "signal",
            Kind::Query => "query",
            Kind::Update => "update",
        }
    }

    /// The plural, for messages: `signals`, `queries`.
    pub(crate) fn plural(self) -> &'static str {
        match self {
            Kind::Signal => "signals",
            Kind::Query => "queries",
            Kind::Update => "updates",
        }
    }
}

/// A validated handler.
pub(crate) struct Handler {
    pub(crate) kind: Kind,
    /// The method's name.
    pub(crate) method: Ident,
    /// The name on the wire: `name = "..."` or the method's name.
    pub(crate) wire_name: LitStr,
    /// Argument types after the receiver.
    pub(crate) args: Vec<Type>,
    /// A query's answer type.
    pub(crate) answer: Option<Type>,
    /// An update, or a signal written as `async fn`: it runs as a task of its own.
    pub(crate) is_async: bool,
    /// An update's validator method.
    pub(crate) validator: Option<Ident>,
}

/// Checks a handler's signature, reporting every problem; `None` when any was found.
pub(crate) fn check(
    kind: Kind,
    sig: &Signature,
    wire_name: LitStr,
    validator: Option<Ident>,
    errors: &mut Errors,
) -> Option<Handler> {
    if async_handlers::is_async_handler(kind, sig) {
        return async_handlers::check(kind, sig, wire_name, validator, errors);
    }
    let before = errors.len();
    let attr = kind.attr();
    let why_sync = match kind {
        Kind::Signal => {
            "it changes the state at once, and the run function reacts to the change with \
             `ctx.wait_until`"
        }
        Kind::Query | Kind::Update => "a query answers at once from the state, it cannot wait",
    };
    let shape = Shape {
        asyncness: Asyncness::Forbidden(format!(
            "#[{attr}] handlers are synchronous: {why_sync}; remove `async`"
        )),
        unsafe_message: format!("#[{attr}] handlers cannot be `unsafe`"),
        generic_message: format!(
            "#[{attr}] handlers cannot be generic: their argument types must be concrete so \
             that they can be decoded from the wire"
        ),
        variadic_message: format!("#[{attr}] handlers cannot be variadic"),
    };
    check_shape(sig, &shape, errors);

    let receiver_message = match kind {
        Kind::Signal => "a #[signal] handler changes the workflow's state: take `&mut self` first",
        Kind::Query | Kind::Update => {
            "a #[query] handler only reads the workflow's state and cannot change it: take \
             `&self` first"
        }
    };
    let mut inputs = sig.inputs.iter();
    match inputs.next() {
        Some(FnArg::Receiver(receiver)) => {
            let expected_mut = kind == Kind::Signal;
            let by_plain_reference = receiver.colon_token.is_none()
                && receiver.reference.is_some()
                && receiver.mutability.is_some() == expected_mut;
            if !by_plain_reference {
                errors.spanned(receiver, receiver_message);
            }
        }
        Some(FnArg::Typed(typed)) if is_workflow_context(&typed.ty) => {
            errors.spanned(typed, context_message(kind));
        }
        Some(FnArg::Typed(typed)) => errors.spanned(typed, receiver_message),
        None => errors.at(sig.paren_token.span.join(), receiver_message),
    }

    let mut args = Vec::new();
    for input in inputs {
        match input {
            FnArg::Receiver(receiver) => errors.spanned(receiver, receiver_message),
            FnArg::Typed(typed) if is_workflow_context(&typed.ty) => {
                errors.spanned(typed, context_message(kind));
            }
            FnArg::Typed(typed) => {
                check_pattern(&typed.pat, errors);
                check_owned(&typed.ty, attr, "arguments", errors);
                args.push((*typed.ty).clone());
            }
        }
    }

    let answer = match (kind, &sig.output) {
        (Kind::Update, _) => None,
        (Kind::Signal, ReturnType::Default) => None,
        (Kind::Signal, ReturnType::Type(_, ty)) => {
            if !is_unit(ty) {
                errors.spanned(
                    ty,
                    "a #[signal] handler returns nothing: a signal has no reply; remove the \
                     return type, and keep what the handler found in the state",
                );
            }
            None
        }
        (Kind::Query, ReturnType::Default) => {
            errors.at(
                sig.paren_token.span.close(),
                "a #[query] handler returns its answer: add `-> T` after the argument list, \
                 with `T: serde::Serialize`",
            );
            None
        }
        (Kind::Query, ReturnType::Type(_, ty)) => {
            check_owned(ty, attr, "answers", errors);
            Some((**ty).clone())
        }
    };

    (errors.len() == before).then(|| Handler {
        kind,
        method: sig.ident.clone(),
        wire_name,
        args,
        answer,
        is_async: false,
        validator: None,
    })
}

fn is_workflow_context(ty: &Type) -> bool {
    match strip_groups(ty) {
        Type::Reference(reference) => is_context(&reference.elem, "WorkflowContext"),
        ty => is_context(ty, "WorkflowContext"),
    }
}

fn is_unit(ty: &Type) -> bool {
    matches!(strip_groups(ty), Type::Tuple(tuple) if tuple.elems.is_empty())
}

fn context_message(kind: Kind) -> &'static str {
    match kind {
        Kind::Signal => {
            "a synchronous #[signal] handler does not take the `WorkflowContext`: change the \
             state through `&mut self`, and let the run function act on it (`ctx.wait_until`); \
             or write `async fn`, whose handler takes `ctx: WorkflowContext<Self>` first and may \
             run activities and wait"
        }
        Kind::Query | Kind::Update => {
            "#[query] handlers do not take the `WorkflowContext`: a query cannot issue commands \
             or wait; it reads the state through `&self`"
        }
    }
}

/// Reports wire names used twice within one kind, and names Temporal reserves.
pub(crate) fn check_names(handlers: &[Handler], errors: &mut Errors) {
    for (i, handler) in handlers.iter().enumerate() {
        let name = handler.wire_name.value();
        let attr = handler.kind.attr();
        if name.starts_with("__") {
            let plural = handler.kind.plural();
            errors.spanned(
                &handler.wire_name,
                format!(
                    "#[{attr}] names starting with `__` are reserved for Temporal's built-in \
                     {plural}; choose another name with `#[{attr}(name = \"...\")]`"
                ),
            );
        }
        let earlier = handlers[..i]
            .iter()
            .find(|h| h.kind == handler.kind && h.wire_name.value() == name);
        if let Some(earlier) = earlier {
            errors.spanned(
                &handler.wire_name,
                format!(
                    "two #[{attr}] handlers are named {name:?} (`{}` and `{}`): give one another \
                     name with `#[{attr}(name = \"...\")]`",
                    earlier.method, handler.method
                ),
            );
        }
    }
}

/// The handler items of the `WorkflowDefinition` impl: name lists, dispatch by name, and
/// recognition of handlers passed as values. The trait's defaults stand for "none", so the
/// items of a kind are emitted only when the workflow has handlers of that kind.
pub(crate) fn generate(handlers: &[Handler], rt: &Runtime) -> TokenStream {
    let signals: Vec<&Handler> = handlers.iter().filter(|h| h.kind == Kind::Signal).collect();
    let queries: Vec<&Handler> = handlers.iter().filter(|h| h.kind == Kind::Query).collect();
    let updates: Vec<&Handler> = handlers.iter().filter(|h| h.kind == Kind::Update).collect();
    let async_signals: Vec<&Handler> = signals.iter().copied().filter(|h| h.is_async).collect();
    let mut items = TokenStream::new();
    if !signals.is_empty() {
        items.extend(signal_items(&signals, rt));
    }
    if !async_signals.is_empty() {
        items.extend(async_handlers::async_signal_items(&async_signals, rt));
    }
    if !queries.is_empty() {
        items.extend(query_items(&queries, rt));
    }
    if !updates.is_empty() {
        items.extend(async_handlers::update_items(&updates, rt));
    }
    items
}

fn signal_items(signals: &[&Handler], rt: &Runtime) -> TokenStream {
    let names = signals.iter().map(|h| &h.wire_name);
    // Async handlers are started through `handle_async_signal`.
    let arms = signals
        .iter()
        .filter(|h| !h.is_async)
        .map(|h| dispatch_arm(h, rt));
    let lookup = name_lookup(signals, rt);
    let payloads = codec::local("payloads");
    quote! {
        const SIGNALS: &'static [&'static str] = &[#(#names),*];

        fn handle_signal(
            &mut self,
            name: &str,
            #payloads: #rt::Vec<#rt::Payload>,
        ) -> #rt::Option<#rt::Result<(), #rt::PayloadError>> {
            match name {
                #(#arms)*
                _ => {
                    let _ = #payloads;
                    #rt::None
                }
            }
        }

        fn signal_name(method: #rt::TypeId) -> #rt::Option<&'static str> {
            #lookup
        }
    }
}

fn query_items(queries: &[&Handler], rt: &Runtime) -> TokenStream {
    let names = queries.iter().map(|h| &h.wire_name);
    let arms = queries.iter().map(|h| dispatch_arm(h, rt));
    let lookup = name_lookup(queries, rt);
    let payloads = codec::local("payloads");
    quote! {
        const QUERIES: &'static [&'static str] = &[#(#names),*];

        fn handle_query(
            &self,
            name: &str,
            #payloads: #rt::Vec<#rt::Payload>,
        ) -> #rt::Option<#rt::Result<#rt::Vec<#rt::Payload>, #rt::PayloadError>> {
            match name {
                #(#arms)*
                _ => {
                    let _ = #payloads;
                    #rt::None
                }
            }
        }

        fn query_name(method: #rt::TypeId) -> #rt::Option<&'static str> {
            #lookup
        }
    }
}

/// `"name" => { decode each argument; call; Some(Ok(..)) }`, returning early on a decode error.
fn dispatch_arm(handler: &Handler, rt: &Runtime) -> TokenStream {
    let p = rt;
    let Handler {
        kind,
        method,
        wire_name,
        args,
        answer,
        ..
    } = handler;
    let what = format!("{} {}", kind.attr(), wire_name.value());
    let count = args.len();
    let reader = codec::local("__reader");
    let payloads = codec::local("payloads");
    let names = codec::arg_names(args);
    // Spanned at the argument's type, so that "`T: Deserialize` is not satisfied" points there.
    let reads = args.iter().zip(&names).map(|(ty, name)| {
        let next = quote_spanned!(ty.span()=> #reader.next::<#ty>());
        quote! {
            let #name = match #next {
                #p::Ok(value) => value,
                #p::Err(error) => return #p::Some(#p::Err(error)),
            };
        }
    });
    // Clients must be able to send the arguments and read the answer: checked here, at the
    // handler's types, rather than at each client call.
    let client_side = args
        .iter()
        .map(|ty| {
            let p = rt.at(ty.span());
            quote_spanned!(ty.span()=> #p::assert_serialize::<#ty>();)
        })
        .chain(answer.iter().map(|ty| {
            let p = rt.at(ty.span());
            quote_spanned!(ty.span()=> #p::assert_deserialize::<#ty>();)
        }));
    let call = quote_spanned!(method.span()=> self.#method(#(#names),*));
    let result = match answer {
        None => quote! {
            #call;
            #p::Some(#p::Ok(()))
        },
        Some(answer) => {
            let p_answer = rt.at(answer.span());
            let encode =
                quote_spanned!(answer.span()=> #p_answer::encode_answer::<#answer>(&#call));
            quote!(#p::Some(#encode))
        }
    };
    quote! {
        #wire_name => {
            #[allow(unused_mut)]
            let mut #reader = match #p::ArgReader::new(#what, #payloads, #count) {
                #p::Ok(reader) => reader,
                #p::Err(error) => return #p::Some(#p::Err(error)),
            };
            #(#client_side)*
            #(#reads)*
            #result
        }
    }
}

/// `if method == type_id_of(&Self::m) { return Some("name") } .. None`.
pub(crate) fn name_lookup(handlers: &[&Handler], rt: &Runtime) -> TokenStream {
    let p = rt;
    let checks = handlers.iter().map(|h| {
        let (method, wire_name) = (&h.method, &h.wire_name);
        quote! {
            if method == #p::type_id_of(&Self::#method) {
                return #p::Some(#wire_name);
            }
        }
    });
    quote! {
        #(#checks)*
        let _ = method;
        #p::None
    }
}

pub(crate) mod async_handlers;
#[cfg(test)]
mod tests;
