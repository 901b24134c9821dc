//! `#[workflow]`: implements `WorkflowDefinition` for the type of an inherent impl block, from
//! the method marked `#[run]`.
//!
//! Parse (`ItemImpl`) → collect the marked methods ([`take_markers`]) → validate ([`Workflow`],
//! handlers in [`crate::handler`]) → expand ([`generate`]).

use crate::attr::{self, MacroKind};
use crate::codec;
use crate::determinism;
use crate::diag::{Errors, Failure};
use crate::handler::{self, Handler};
use crate::paths::{self, Runtime};
use crate::signature::{self, FnRules, Params};
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, ImplItem, ItemImpl, LitStr, Meta, Token, Type, Visibility};

const KIND: MacroKind = MacroKind {
    attr: "workflow",
    defines: "workflow",
    example: "WireName",
    accepts_crate: true,
};

const RUN_NEEDS_CONTEXT: &str = "#[run] takes `ctx: WorkflowContext<Self>` as its first \
    parameter: workflow state is reached through the context, never borrowed across `.await`";

const RUN_RULES: FnRules = FnRules {
    attr: "#[run]",
    why_async: "a workflow's run function is asynchronous (it awaits activities and timers)",
    owner: "workflow",
    context: "WorkflowContext",
    context_required: Some(RUN_NEEDS_CONTEXT),
    no_receiver: RUN_NEEDS_CONTEXT,
    returns: "WorkflowResult<T>",
};

const NEEDS_ONE_RUN: &str = "a #[workflow] impl block needs exactly one `#[run] async fn`";

/// Expands `#[workflow(args)] impl T { .. }`; never panics, errors become `compile_error!`s.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match analyze(args, item) {
        Ok(workflow) => generate(&workflow),
        Err(failure) => failure.into_tokens(),
    }
}

/// `#[run]` on its own: it only marks a method for `#[workflow]`, which removes it.
pub(crate) fn expand_run(args: TokenStream, item: TokenStream) -> TokenStream {
    if args.is_empty() {
        return item;
    }
    let error = syn::Error::new_spanned(args, "#[run] takes no arguments");
    Failure::new(error, item).into_tokens()
}

/// `#[signal]` or `#[query]` on its own: like `#[run]`, only a mark for `#[workflow]`; its
/// arguments are still checked.
pub(crate) fn expand_handler(
    kind: handler::Kind,
    args: TokenStream,
    item: TokenStream,
) -> TokenStream {
    let mut errors = Errors::new();
    let args = match kind {
        handler::Kind::Update => handler::async_handlers::take_validator(args, &mut errors).0,
        _ => args,
    };
    attr::parse(args, handler_macro_kind(kind), &mut errors);
    match errors.finish() {
        Ok(()) => item,
        Err(error) => Failure::new(error, item).into_tokens(),
    }
}

fn handler_macro_kind(kind: handler::Kind) -> MacroKind {
    match kind {
        handler::Kind::Signal => MacroKind {
            attr: "signal",
            defines: "signal",
            example: "payment_received",
            accepts_crate: false,
        },
        handler::Kind::Query => MacroKind {
            attr: "query",
            defines: "query",
            example: "status",
            accepts_crate: false,
        },
        handler::Kind::Update => MacroKind {
            attr: "update",
            defines: "update",
            example: "apply_discount",
            accepts_crate: false,
        },
    }
}

/// An attribute marking a method of a `#[workflow]` impl block.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Marker {
    /// `#[run]`: the workflow's entry point.
    Run,
    /// `#[signal]` or `#[query]`: a handler.
    Handler(handler::Kind),
}

impl Marker {
    /// The marker `attr` is, if any: `#[run]`, `#[chronicle::run]`, `#[::chronicle::run]`, or
    /// `#[path::run]` under `#[workflow(crate = "path")]`.
    fn of(attr: &Attribute, krate: Option<&syn::Path>) -> Option<Self> {
        let path = attr.path();
        let segments: Vec<&Ident> = path.segments.iter().map(|s| &s.ident).collect();
        let last = match segments.as_slice() {
            [last] if path.leading_colon.is_none() => last,
            [krate, last] if *krate == "chronicle" => last,
            [.., last] if krate.is_some_and(|krate| paths::is_under(path, krate)) => last,
            _ => return None,
        };
        match last.to_string().as_str() {
            "run" => Some(Self::Run),
            "signal" => Some(Self::Handler(handler::Kind::Signal)),
            "query" => Some(Self::Handler(handler::Kind::Query)),
            "update" => Some(Self::Handler(handler::Kind::Update)),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Run => "run",
            Self::Handler(kind) => kind.attr(),
        }
    }
}

/// A method carrying a marker.
struct Marked {
    marker: Marker,
    /// The marker attribute, for error spans.
    attr: Attribute,
    /// The method's position in `ItemImpl::items`.
    index: usize,
}

/// Removes the marker attributes from the impl block's items and returns where they were.
fn take_markers(
    item: &mut ItemImpl,
    krate: Option<&syn::Path>,
    errors: &mut Errors,
) -> Vec<Marked> {
    let mut marked: Vec<Marked> = Vec::new();
    for (index, impl_item) in item.items.iter_mut().enumerate() {
        let is_fn = matches!(impl_item, ImplItem::Fn(_));
        let Some(attrs) = attrs_mut(impl_item) else {
            continue;
        };
        let mut kept = Vec::with_capacity(attrs.len());
        for attr in attrs.drain(..) {
            let Some(marker) = Marker::of(&attr, krate) else {
                kept.push(attr);
                continue;
            };
            let name = marker.name();
            if marker == Marker::Run && !matches!(attr.meta, Meta::Path(_)) {
                errors.spanned(&attr.meta, format!("#[{name}] takes no arguments"));
            }
            let earlier = marked.iter().find(|m| m.index == index);
            if !is_fn {
                let example = match marker {
                    Marker::Run => {
                        "`#[run] async fn run(ctx: WorkflowContext<Self>, ..) -> WorkflowResult<T>`"
                    }
                    Marker::Handler(handler::Kind::Signal) => {
                        "`#[signal] fn approve(&mut self, by: String)`"
                    }
                    Marker::Handler(handler::Kind::Query) => {
                        "`#[query] fn status(&self) -> Status`"
                    }
                    Marker::Handler(handler::Kind::Update) => {
                        "`#[update] async fn apply(ctx: WorkflowContext<Self>, a: A) -> \
                         WorkflowResult<T>`"
                    }
                };
                errors.spanned(
                    &attr,
                    format!("#[{name}] goes on a function of the impl block, as in {example}"),
                );
            } else if let Some(earlier) = earlier {
                let message = if earlier.marker == marker {
                    format!("duplicate #[{name}] on the same function")
                } else {
                    format!(
                        "a function is either #[run], #[signal], #[query] or #[update]: this one \
                         is already #[{}]",
                        earlier.marker.name()
                    )
                };
                errors.spanned(&attr, message);
            } else {
                marked.push(Marked {
                    marker,
                    attr,
                    index,
                });
            }
        }
        *attrs = kept;
    }
    marked
}

fn attrs_mut(item: &mut ImplItem) -> Option<&mut Vec<Attribute>> {
    match item {
        ImplItem::Const(item) => Some(&mut item.attrs),
        ImplItem::Fn(item) => Some(&mut item.attrs),
        ImplItem::Type(item) => Some(&mut item.attrs),
        ImplItem::Macro(item) => Some(&mut item.attrs),
        _ => None,
    }
}

/// A validated workflow.
struct Workflow {
    /// The impl block, markers removed.
    item: ItemImpl,
    /// The wire name: `name = "..."`, or the last segment of the self type.
    name: LitStr,
    /// The `#[run]` function's name.
    run: Ident,
    params: Params,
    /// `#[signal]` and `#[query]` methods.
    handlers: Vec<Handler>,
    /// Where generated code finds the runtime.
    rt: Runtime,
}

fn analyze(args: TokenStream, tokens: TokenStream) -> Result<Workflow, Failure> {
    let mut errors = Errors::new();
    let args = attr::parse(args, KIND, &mut errors);
    let mut item = match parse_impl(tokens.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            return Err(failure(errors, tokens));
        }
    };

    if let Some((_, path, _)) = &item.trait_ {
        errors.spanned(
            path,
            "#[workflow] goes on the workflow type's inherent impl block (`impl MyWorkflow { .. \
             }`), not on a trait impl: it implements the workflow trait itself, from that \
             block's `#[run] async fn`",
        );
    }
    let generic_message = "#[workflow] impl blocks cannot be generic: a worker registers the \
                           workflow type by name, so it must be one concrete type";
    if !item.generics.params.is_empty() {
        errors.spanned(&item.generics, generic_message);
    } else if let Some(where_clause) = &item.generics.where_clause {
        errors.spanned(where_clause, generic_message);
    }

    let name = args.name.or_else(|| match type_name(&item.self_ty) {
        Some(ident) => Some(LitStr::new(&ident.unraw().to_string(), ident.span())),
        None => {
            errors.spanned(
                &item.self_ty,
                "#[workflow] needs a named type, as in `impl MyWorkflow { .. }`, to take the \
                 workflow's name from; or give it with `#[workflow(name = \"...\")]`",
            );
            None
        }
    });

    // In a trait impl the block itself is the mistake: its markers are removed without checks,
    // so that the one error that matters is not buried under consequences.
    let is_trait_impl = item.trait_.is_some();
    let mut marker_errors = Errors::new();
    let krate = args.krate;
    let rt = Runtime::new(krate.as_ref());
    let marked = take_markers(&mut item, krate.as_ref(), &mut marker_errors);
    if !is_trait_impl {
        if let Err(error) = marker_errors.finish() {
            errors.push(error);
        }
    }
    let mut runs = marked.iter().filter(|m| m.marker == Marker::Run);
    let run = match runs.next() {
        _ if is_trait_impl => None,
        None => {
            errors.spanned(
                &item.self_ty,
                format!(
                    "{NEEDS_ONE_RUN}: mark the function that runs the workflow, as in `#[run] \
                     async fn run(ctx: WorkflowContext<Self>, ..) -> WorkflowResult<T>`"
                ),
            );
            None
        }
        Some(first) => match item.items.get(first.index) {
            Some(ImplItem::Fn(function)) => {
                for extra in runs {
                    errors.spanned(
                        &extra.attr,
                        format!(
                            "{NEEDS_ONE_RUN}, but `{}` is already marked #[run]",
                            function.sig.ident
                        ),
                    );
                }
                signature::check(&function.sig, &RUN_RULES, &mut errors)
                    .map(|params| (function.sig.ident.clone(), params))
            }
            _ => None,
        },
    };

    let handlers = if is_trait_impl {
        Vec::new()
    } else {
        check_handlers(&item, &marked, &mut errors)
    };
    // Always run, to remove the `#[nondeterministic]` attributes from the emitted block.
    let mut nondeterminism = Errors::new();
    determinism::check(&mut item, &rt, &mut nondeterminism);

    match (errors.len(), name, run) {
        (0, Some(name), Some((run, params))) => {
            let workflow = Workflow {
                item,
                name,
                run,
                params,
                handlers,
                rt,
            };
            // Only the bodies are wrong: emit the whole expansion next to the errors.
            match nondeterminism.finish() {
                Ok(()) => Ok(workflow),
                Err(error) => Err(Failure::new(error, generate(&workflow))),
            }
        }
        _ => {
            if let (false, Err(error)) = (is_trait_impl, nondeterminism.finish()) {
                errors.push(error);
            }
            Err(failure(errors, item))
        }
    }
}

/// Validates the `#[signal]` and `#[query]` methods: their arguments, signatures and names.
fn check_handlers(item: &ItemImpl, marked: &[Marked], errors: &mut Errors) -> Vec<Handler> {
    let mut handlers = Vec::new();
    for mark in marked {
        let Marker::Handler(kind) = mark.marker else {
            continue;
        };
        let Some(ImplItem::Fn(function)) = item.items.get(mark.index) else {
            continue;
        };
        let args = match &mark.attr.meta {
            Meta::List(list) => list.tokens.clone(),
            Meta::Path(_) => TokenStream::new(),
            Meta::NameValue(nv) => {
                errors.spanned(
                    nv,
                    format!(
                        "write the arguments in parentheses, as in `#[{}(name = \"...\")]`",
                        kind.attr()
                    ),
                );
                continue;
            }
        };
        let (args, validator) = match kind {
            handler::Kind::Update => handler::async_handlers::take_validator(args, errors),
            _ => (args, None),
        };
        let wire_name = attr::parse(args, handler_macro_kind(kind), errors)
            .name
            .unwrap_or_else(|| {
                let method = &function.sig.ident;
                LitStr::new(&method.unraw().to_string(), method.span())
            });
        if let Some(handler) = handler::check(kind, &function.sig, wire_name, validator, errors) {
            handlers.push(handler);
        }
    }
    handler::check_names(&handlers, errors);
    handler::async_handlers::check_validators(item, &handlers, errors);
    handlers
}

fn failure(errors: Errors, fallback: impl quote::ToTokens) -> Failure {
    let error = errors.finish().err().unwrap_or_else(|| {
        syn::Error::new(
            proc_macro2::Span::call_site(),
            "internal error in #[workflow]: a check failed without a message; please report this",
        )
    });
    Failure::new(error, fallback)
}

/// Parses an impl block; anything else gets an error at its first token saying where
/// `#[workflow]` belongs.
fn parse_impl(tokens: TokenStream) -> syn::Result<ItemImpl> {
    let parser = |input: syn::parse::ParseStream| {
        let fork = input.fork();
        fork.call(Attribute::parse_outer)?;
        fork.parse::<Visibility>()?;
        let starts_impl = fork.peek(Token![impl])
            || fork.peek(Token![unsafe]) && fork.peek2(Token![impl])
            || fork.peek(Token![default]) && fork.peek2(Token![impl]);
        if starts_impl {
            return input.parse::<ItemImpl>();
        }
        let is_type =
            fork.peek(Token![struct]) || fork.peek(Token![enum]) || fork.peek(Token![union]);
        let message = if is_type {
            "#[workflow] goes on the type's `impl` block that holds its `#[run] async fn`, not on \
             the type definition: write `#[workflow] impl MyWorkflow { #[run] async fn run(..) }`"
        } else {
            "#[workflow] goes on an `impl` block, as in `#[workflow] impl MyWorkflow { #[run] \
             async fn run(ctx: WorkflowContext<Self>, ..) -> WorkflowResult<T> { .. } }`"
        };
        Err(fork.error(message))
    };
    syn::parse::Parser::parse2(parser, tokens)
}

/// The last path segment of the self type, as in `HelloWorkflow` for `crate::HelloWorkflow`.
fn type_name(ty: &Type) -> Option<&Ident> {
    match ty {
        Type::Group(group) => type_name(&group.elem),
        Type::Paren(paren) => type_name(&paren.elem),
        Type::Path(path) if path.qself.is_none() => path.path.segments.last().map(|s| &s.ident),
        _ => None,
    }
}

fn generate(workflow: &Workflow) -> TokenStream {
    let Workflow {
        item,
        name,
        run,
        params,
        handlers,
        rt,
    } = workflow;
    let handler_items = handler::generate(handlers, rt);
    let self_ty = &item.self_ty;
    let cfgs = item.attrs.iter().filter(|attr| attr.path().is_ident("cfg"));
    let input_type = codec::input_type(&params.args);
    // Spanned at the return type, so that "must return `WorkflowResult<T>`" points there.
    let ret = &params.ret;
    let rt_ret = rt.at(ret.span());
    let output = quote_spanned! {ret.span()=>
        type Output = <#ret as #rt_ret::WorkflowReturn>::Output;
    };
    let encode_input = codec::encode_input(&params.args, rt);
    let decode_input = codec::decode_input(&params.args, rt);
    let names = codec::arg_names(&params.args);
    let pattern = codec::input_pattern(&names);
    let (ctx, input) = (codec::local("ctx"), codec::local("input"));
    // Spanned at the run function's name, so that type errors in the call point there.
    let rt_run = rt.at(run.span());
    let call = quote_spanned! {run.span()=>
        #rt_run::Box::pin(<#self_ty>::#run(#ctx, #(#names),*))
    };

    // The whole function is spanned at the return type: its signature names `Self::Output`, and
    // a wrong return type is then reported once, there, instead of at the attribute too.
    let run_fn = quote_spanned! {ret.span()=>
        fn run(
            #ctx: #rt_ret::WorkflowContext<Self>,
            #input: Self::Input,
        ) -> #rt_ret::LocalBoxFuture<
            'static,
            #rt_ret::Result<Self::Output, #rt_ret::WorkflowError>,
        > {
            let #pattern = #input;
            #call
        }
    };

    quote! {
        #item

        #(#cfgs)*
        const _: () = {
            #[automatically_derived]
            impl #rt::WorkflowDefinition for #self_ty {
                type Input = #input_type;
                #output
                const NAME: &'static str = #name;

                #encode_input

                #decode_input

                #run_fn

                #handler_items
            }
        };
    }
}

#[cfg(test)]
mod tests;
