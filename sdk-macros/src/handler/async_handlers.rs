//! Handlers that run as tasks of their own: `#[update]` methods, and `#[signal]` methods written
//! as `async fn`. Both take `ctx: WorkflowContext<Self>` first, like the run function, so that
//! they can run activities, timers and children and wait on the state; neither takes `self`.
//!
//! An update returns `WorkflowResult<T>` (its error fails the update, not the workflow) and may
//! name a validator, a synchronous method `fn(&self, &A, ..) -> Result<(), E>` with
//! `E: Display`, run before the update is accepted (never on replay).

use super::{Handler, Kind};
use crate::codec;
use crate::diag::Errors;
use crate::paths::Runtime;
use crate::signature::{self, FnRules};
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Expr, ImplItem, ItemImpl, LitStr, Meta, ReturnType, Signature, Token};

const UPDATE_NEEDS_CONTEXT: &str = "an #[update] handler takes `ctx: WorkflowContext<Self>` as \
    its first parameter: it reaches the workflow state through the context, like the run \
    function, and may run activities and wait";

const UPDATE_RULES: FnRules = FnRules {
    attr: "#[update]",
    why_async: "an update handler may wait (activities, timers, conditions) before it returns \
                its result",
    owner: "update",
    context: "WorkflowContext",
    context_required: Some(UPDATE_NEEDS_CONTEXT),
    no_receiver: UPDATE_NEEDS_CONTEXT,
    returns: "WorkflowResult<T>",
};

const ASYNC_SIGNAL_NEEDS_CONTEXT: &str = "an async #[signal] handler takes `ctx: \
    WorkflowContext<Self>` as its first parameter instead of `&mut self`: it reaches the state \
    through the context (`ctx.update(|s| ..)`); or drop `async` for a synchronous handler";

const ASYNC_SIGNAL_RULES: FnRules = FnRules {
    attr: "#[signal]",
    why_async: "",
    owner: "signal",
    context: "WorkflowContext",
    context_required: Some(ASYNC_SIGNAL_NEEDS_CONTEXT),
    no_receiver: ASYNC_SIGNAL_NEEDS_CONTEXT,
    returns: "()",
};

/// Whether `kind` with this signature is checked here rather than as a synchronous handler.
pub(crate) fn is_async_handler(kind: Kind, sig: &Signature) -> bool {
    kind == Kind::Update || (kind == Kind::Signal && sig.asyncness.is_some())
}

/// Checks an update's or an async signal's signature.
pub(crate) fn check(
    kind: Kind,
    sig: &Signature,
    wire_name: LitStr,
    validator: Option<Ident>,
    errors: &mut Errors,
) -> Option<Handler> {
    let params = match kind {
        Kind::Update => signature::check(sig, &UPDATE_RULES, errors)?,
        _ => {
            // A signal has no reply: no return type means `()`.
            let mut sig = sig.clone();
            if matches!(sig.output, ReturnType::Default) {
                sig.output = syn::parse_quote!(-> ());
            }
            signature::check(&sig, &ASYNC_SIGNAL_RULES, errors)?
        }
    };
    Some(Handler {
        kind,
        method: sig.ident.clone(),
        wire_name,
        args: params.args,
        answer: None,
        is_async: true,
        validator,
    })
}

/// Takes `validator = method` out of an `#[update(..)]` argument list; the rest is left for the
/// common parser. Unparsable lists are left whole, for it to report.
pub(crate) fn take_validator(
    args: TokenStream,
    errors: &mut Errors,
) -> (TokenStream, Option<Ident>) {
    let parser = Punctuated::<Meta, Token![,]>::parse_terminated;
    let Ok(metas) = syn::parse::Parser::parse2(parser, args.clone()) else {
        return (args, None);
    };
    let mut rest = Punctuated::<Meta, Token![,]>::new();
    let mut validator = None;
    for meta in metas {
        if !meta.path().is_ident("validator") {
            rest.push(meta);
            continue;
        }
        let ident = match &meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Path(path) if path.qself.is_none() => path.path.get_ident().cloned(),
                _ => None,
            },
            _ => None,
        };
        match ident {
            None => errors.spanned(
                &meta,
                "write `validator = method_name`, naming a method of this impl block: `fn \
                 method_name(&self, arg: &A, ..) -> Result<(), E>`",
            ),
            Some(_) if validator.is_some() => {
                errors.spanned(meta.path(), "duplicate `validator`: give it only once")
            }
            Some(ident) => validator = Some(ident),
        }
    }
    (quote!(#rest), validator)
}

/// Reports validators that name no synchronous method of the impl block.
pub(crate) fn check_validators(item: &ItemImpl, handlers: &[Handler], errors: &mut Errors) {
    for handler in handlers {
        let Some(validator) = &handler.validator else {
            continue;
        };
        let method = item.items.iter().find_map(|item| match item {
            ImplItem::Fn(function) if function.sig.ident == *validator => Some(function),
            _ => None,
        });
        match method {
            None => errors.spanned(
                validator,
                format!(
                    "validator `{validator}` is not a method of this impl block: add `fn \
                     {validator}(&self, arg: &A, ..) -> Result<(), E>` (E: Display), taking \
                     the update's arguments by reference"
                ),
            ),
            Some(function) => {
                if let Some(asyncness) = &function.sig.asyncness {
                    errors.spanned(
                        asyncness,
                        format!(
                            "validator `{validator}` must be synchronous: it decides at once, \
                             before the update is accepted; remove `async`"
                        ),
                    );
                }
            }
        }
    }
}

/// `"name" => { decode; validate; Some(Ok(Box::pin(async move { .. }))) }` for an update, or the
/// same without validation for an async signal.
pub(crate) fn dispatch_arm(handler: &Handler, rt: &Runtime) -> TokenStream {
    let p = rt;
    let Handler {
        kind,
        method,
        wire_name,
        args,
        validator,
        ..
    } = handler;
    let what = format!("{} {}", kind.attr(), wire_name.value());
    let count = args.len();
    let reader = codec::local("__reader");
    let payloads = codec::local("payloads");
    let ctx = codec::local("ctx");
    let validate = codec::local("validate");
    let state = codec::local("__state");
    let names = codec::arg_names(args);
    let reads = args.iter().zip(&names).map(|(ty, name)| {
        let next = quote_spanned!(ty.span()=> #reader.next::<#ty>());
        quote! {
            let #name = match #next {
                #p::Ok(value) => value,
                #p::Err(error) => return #p::Some(#p::Err(#p::Into::into(error))),
            };
        }
    });
    let client_side = args.iter().map(|ty| {
        let p = rt.at(ty.span());
        quote_spanned!(ty.span()=> #p::assert_serialize::<#ty>();)
    });
    let call = quote_spanned!(method.span()=> <Self>::#method(#ctx, #(#names),*).await);
    let check = validator.as_ref().map(|validator| {
        let rt_v = rt.at(validator.span());
        let verdict = quote_spanned! {validator.span()=>
            #rt_v::validated(#state.#validator(#(&#names),*))
        };
        quote! {
            if #validate {
                if let #p::Err(rejection) = #ctx.state(|#state: &Self| #verdict) {
                    return #p::Some(#p::Err(rejection));
                }
            }
        }
    });
    let body = match kind {
        Kind::Update => {
            let rt_m = rt.at(method.span());
            quote_spanned!(method.span()=> #rt_m::encode_update_result(#call))
        }
        _ => {
            let rt_m = rt.at(method.span());
            quote_spanned!(method.span()=> #rt_m::SignalReturn::into_result(#call))
        }
    };
    quote! {
        #wire_name => {
            #[allow(unused_mut)]
            let mut #reader = match #p::ArgReader::new(#what, #payloads, #count) {
                #p::Ok(reader) => reader,
                #p::Err(error) => return #p::Some(#p::Err(#p::Into::into(error))),
            };
            #(#client_side)*
            #(#reads)*
            #check
            let _ = #validate;
            #p::Some(#p::Ok(#p::Box::pin(async move { #body })))
        }
    }
}

/// The update items of the `WorkflowDefinition` impl.
pub(crate) fn update_items(updates: &[&Handler], rt: &Runtime) -> TokenStream {
    let names = updates.iter().map(|h| &h.wire_name);
    let arms = updates.iter().map(|h| dispatch_arm(h, rt));
    let lookup = super::name_lookup(updates, rt);
    let (payloads, ctx, validate) = (
        codec::local("payloads"),
        codec::local("ctx"),
        codec::local("validate"),
    );
    quote! {
        const UPDATES: &'static [&'static str] = &[#(#names),*];

        fn handle_update(
            #ctx: #rt::WorkflowContext<Self>,
            name: &str,
            #payloads: #rt::Vec<#rt::Payload>,
            #validate: bool,
        ) -> #rt::Option<#rt::Result<#rt::UpdateFuture, #rt::UpdateRejection>> {
            match name {
                #(#arms)*
                _ => {
                    let _ = (#ctx, #payloads, #validate);
                    #rt::None
                }
            }
        }

        fn update_name(method: #rt::TypeId) -> #rt::Option<&'static str> {
            #lookup
        }
    }
}

/// The async signal items of the `WorkflowDefinition` impl.
pub(crate) fn async_signal_items(signals: &[&Handler], rt: &Runtime) -> TokenStream {
    let names = signals.iter().map(|h| &h.wire_name);
    let arms = signals.iter().map(|h| dispatch_arm(h, rt));
    let (payloads, ctx, validate) = (
        codec::local("payloads"),
        codec::local("ctx"),
        codec::local("validate"),
    );
    quote! {
        const ASYNC_SIGNALS: &'static [&'static str] = &[#(#names),*];

        fn handle_async_signal(
            #ctx: #rt::WorkflowContext<Self>,
            name: &str,
            #payloads: #rt::Vec<#rt::Payload>,
        ) -> #rt::Option<#rt::Result<
            #rt::LocalBoxFuture<'static, #rt::Result<(), #rt::WorkflowError>>,
            #rt::PayloadError,
        >> {
            let #validate = false;
            match name {
                #(#arms)*
                _ => {
                    let _ = (#ctx, #payloads, #validate);
                    #rt::None
                }
            }
        }
    }
}
