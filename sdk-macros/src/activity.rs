//! `#[activity]`: turns `async fn f(..)` into a unit struct `f` implementing
//! `ActivityDefinition`, with the body kept as `f::call`.
//!
//! Parse ([`ActivityItem`]) → validate ([`Activity`]) → expand ([`generate`]).

use crate::attr::{self, MacroKind};
use crate::codec;
use crate::diag::{Errors, Failure};
use crate::paths::Runtime;
use crate::signature::{self, FnRules, Params};
use proc_macro2::{Ident, TokenStream};
use quote::{quote, quote_spanned, ToTokens, TokenStreamExt};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, Block, ItemFn, LitStr, Signature, Token, Visibility};

const KIND: MacroKind = MacroKind {
    attr: "activity",
    defines: "activity",
    example: "wire_name",
    accepts_crate: true,
};

const RULES: FnRules = FnRules {
    attr: "#[activity]",
    why_async: "activities are asynchronous (the worker runs them as futures)",
    owner: "activity",
    context: "ActivityContext",
    context_required: None,
    no_receiver: "#[activity] functions cannot take `self`: an activity is a free function that \
                  receives only its context and arguments; move it out of the impl block",
    returns: "Result<T, ActivityError>",
};

/// Expands `#[activity(args)] item`; never panics, errors become `compile_error!`s.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    match analyze(args, item) {
        Ok(activity) => generate(&activity),
        Err(failure) => failure.into_tokens(),
    }
}

/// The function as written, with or without a body.
struct ActivityItem {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    /// `None` for a stub, `async fn f(..) -> R;`, whose body lives in another worker.
    body: Option<Body>,
}

/// A function body with its inner attributes (`#![allow(..)]`), which syn's `ItemFn` keeps
/// among the outer ones but which must stay inside the braces.
struct Body {
    inner_attrs: Vec<Attribute>,
    block: Box<Block>,
}

impl ToTokens for Body {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.block.brace_token.surround(tokens, |tokens| {
            tokens.append_all(&self.inner_attrs);
            tokens.append_all(&self.block.stmts);
        });
    }
}

impl Parse for ActivityItem {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let fork = input.fork();
        let attrs = fork.call(Attribute::parse_outer)?;
        let vis: Visibility = fork.parse()?;
        let starts_fn = fork.peek(Token![fn])
            || fork.peek(Token![async])
            || fork.peek(Token![unsafe])
            || fork.peek(Token![const])
            || fork.peek(Token![extern]);
        if !starts_fn {
            return Err(fork.error(
                "#[activity] goes on an `async fn`, as in `#[activity] async fn greet(ctx: \
                 ActivityContext, name: String) -> Result<String, ActivityError> { .. }`",
            ));
        }
        let sig: Signature = fork.parse()?;
        if fork.peek(Token![;]) {
            fork.parse::<Token![;]>()?;
            input.advance_to(&fork);
            return Ok(Self {
                attrs,
                vis,
                sig,
                body: None,
            });
        }
        // With a body: let `ItemFn` handle it, inner attributes included.
        let function: ItemFn = input.parse()?;
        let (inner_attrs, attrs) = function
            .attrs
            .into_iter()
            .partition(|attr| matches!(attr.style, AttrStyle::Inner(_)));
        Ok(Self {
            attrs,
            vis: function.vis,
            sig: function.sig,
            body: Some(Body {
                inner_attrs,
                block: function.block,
            }),
        })
    }
}

impl ActivityItem {
    /// What to emit when the macro fails: the function as written. A stub gets a diverging body
    /// so that rustc does not add "free function without a body" to the real errors.
    fn fallback(&self) -> TokenStream {
        let Self {
            attrs,
            vis,
            sig,
            body,
        } = self;
        let body = match body {
            Some(body) => body.to_token_stream(),
            None => quote!({ loop {} }),
        };
        quote!(#(#attrs)* #vis #sig #body)
    }
}

/// A validated activity.
struct Activity {
    item: ActivityItem,
    params: Params,
    /// The wire name: `name = "..."`, or the function's name.
    name: LitStr,
    /// Where generated code finds the runtime.
    rt: Runtime,
}

fn analyze(args: TokenStream, tokens: TokenStream) -> Result<Activity, Failure> {
    let mut errors = Errors::new();
    let args = attr::parse(args, KIND, &mut errors);
    let item: ActivityItem = match syn::parse2(tokens.clone()) {
        Ok(item) => item,
        Err(error) => {
            errors.push(error);
            let error = errors.finish().err().unwrap_or_else(unreachable_error);
            return Err(Failure::new(error, tokens));
        }
    };
    let params = signature::check(&item.sig, &RULES, &mut errors);
    match (errors.finish(), params) {
        (Ok(()), Some(params)) => {
            let name = args.name.unwrap_or_else(|| {
                LitStr::new(&item.sig.ident.unraw().to_string(), item.sig.ident.span())
            });
            let rt = Runtime::new(args.krate.as_ref());
            Ok(Activity {
                item,
                params,
                name,
                rt,
            })
        }
        (Err(error), _) => Err(Failure::new(error, item.fallback())),
        (Ok(()), None) => Err(Failure::new(unreachable_error(), item.fallback())),
    }
}

/// Reported if a check failed without saying why; a bug, but not worth a panic.
fn unreachable_error() -> syn::Error {
    syn::Error::new(
        proc_macro2::Span::call_site(),
        "internal error in #[activity]: a check failed without a message; please report this",
    )
}

/// Splits the function's attributes: docs, `deprecated` and `cfg`s describe the activity (the
/// struct); the rest (`allow`, `inline`, `tracing::instrument`, ..) belong to the body.
struct SplitAttrs<'a> {
    on_struct: Vec<&'a Attribute>,
    cfgs: Vec<&'a Attribute>,
    on_body: Vec<&'a Attribute>,
}

fn split_attrs(attrs: &[Attribute]) -> SplitAttrs<'_> {
    let mut split = SplitAttrs {
        on_struct: Vec::new(),
        cfgs: Vec::new(),
        on_body: Vec::new(),
    };
    for attr in attrs {
        let path = attr.path();
        if path.is_ident("doc") || path.is_ident("deprecated") {
            split.on_struct.push(attr);
        } else if path.is_ident("cfg") {
            split.on_struct.push(attr);
            split.cfgs.push(attr);
        } else {
            split.on_body.push(attr);
        }
    }
    split
}

fn generate(activity: &Activity) -> TokenStream {
    let Activity {
        item,
        params,
        name,
        rt,
    } = activity;
    let ActivityItem {
        attrs,
        vis,
        sig,
        body,
    } = item;
    let ident = &sig.ident;
    let SplitAttrs {
        mut on_struct,
        cfgs,
        on_body,
    } = split_attrs(attrs);

    let call_item = match body {
        Some(body) => {
            let mut call_sig = sig.clone();
            call_sig.ident = Ident::new("call", ident.span());
            quote! {
                #(#cfgs)*
                impl #ident {
                    /// The activity body, callable directly (for example in unit tests).
                    #(#on_body)*
                    #vis #call_sig #body
                }
            }
        }
        None => {
            // A stub has no body to carry the other attributes; they stay with the struct.
            on_struct.extend(on_body);
            TokenStream::new()
        }
    };

    let input_type = codec::input_type(&params.args);
    // Spanned at the return type, so that "must return `Result<T, ActivityError>`" points there.
    let ret = &params.ret;
    let rt_ret = rt.at(ret.span());
    let output = quote_spanned! {ret.span()=>
        type Output = <#ret as #rt_ret::ActivityReturn>::Output;
    };
    let encode_input = codec::encode_input(&params.args, rt);
    let decode_input = codec::decode_input(&params.args, rt);
    let (ctx, input, future_var) = (
        codec::local("ctx"),
        codec::local("input"),
        codec::local("__future"),
    );
    let execute_body = match body {
        Some(_) => {
            let names = codec::arg_names(&params.args);
            let pattern = codec::input_pattern(&names);
            let (context, discard_context) = if params.has_context {
                (quote!(#ctx,), TokenStream::new())
            } else {
                (TokenStream::new(), quote!(let _ = #ctx;))
            };
            // Spanned at the name, so that "future cannot be sent between threads" points there.
            let rt_name = rt.at(ident.span());
            let future = quote_spanned! {ident.span()=>
                let #future_var: #rt_name::BoxFuture<
                    'static,
                    #rt_name::Result<Self::Output, #rt_name::ActivityError>,
                > = #rt_name::Box::pin(#ident::call(#context #(#names),*));
            };
            quote! {
                #discard_context
                let #pattern = #input;
                #future
                #rt::Some(#future_var)
            }
        }
        None => quote! {
            let _ = (#ctx, #input);
            #rt::None
        },
    };

    // The whole function is spanned at the return type: its signature names `Self::Output`, and
    // a wrong return type is then reported once, there, instead of at the attribute too.
    let execute = quote_spanned! {ret.span()=>
        fn execute(
            #ctx: #rt_ret::ActivityContext,
            #input: Self::Input,
        ) -> #rt_ret::Option<
            #rt_ret::BoxFuture<
                'static,
                #rt_ret::Result<Self::Output, #rt_ret::ActivityError>,
            >,
        > {
            #execute_body
        }
    };

    quote! {
        #(#on_struct)*
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, Default)]
        #vis struct #ident;

        #call_item

        #(#cfgs)*
        const _: () = {
            #[automatically_derived]
            impl #rt::ActivityDefinition for #ident {
                type Input = #input_type;
                #output
                const NAME: &'static str = #name;

                #encode_input

                #decode_input

                #execute
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn ok(args: TokenStream, item: TokenStream) -> String {
        match analyze(args, item) {
            Ok(activity) => generate(&activity).to_string(),
            Err(failure) => panic!("unexpected error: {}", failure.error),
        }
    }

    fn errors(args: TokenStream, item: TokenStream) -> Vec<String> {
        match analyze(args, item) {
            Ok(_) => panic!("expected errors"),
            Err(failure) => failure.error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn expands_a_function_with_context() {
        let out = ok(
            quote!(),
            quote! {
                /// Greets.
                #[allow(unused)]
                pub async fn compose_greeting(ctx: ActivityContext, greeting: String, name: String)
                    -> Result<String, ActivityError> { Ok(format!("{greeting}, {name}!")) }
            },
        );
        let expected_struct = "# [doc = r\" Greets.\"] # [allow (non_camel_case_types)] \
             # [derive (Clone , Copy , Debug , Default)] pub struct compose_greeting ;";
        assert!(out.starts_with(expected_struct), "{out}");
        assert!(out.contains("impl compose_greeting { # [doc = r\" The activity body"));
        assert!(out.contains("# [allow (unused)] pub async fn call (ctx : ActivityContext"));
        assert!(out.contains("type Input = (String , String ,) ;"), "{out}");
        assert!(out.contains(
            "type Output = < Result < String , ActivityError > as :: chronicle :: __private :: \
             ActivityReturn > :: Output ;"
        ));
        assert!(out.contains("const NAME : & 'static str = \"compose_greeting\" ;"));
        assert!(
            out.contains("compose_greeting :: call (ctx , __arg0 , __arg1)"),
            "{out}"
        );
    }

    #[test]
    fn without_context_and_with_a_name() {
        let out = ok(
            quote!(name = "Add"),
            quote!(
                async fn r#add(a: u32) -> Result<u32, ActivityError> {
                    Ok(a)
                }
            ),
        );
        assert!(out.contains("const NAME : & 'static str = \"Add\" ;"));
        assert!(out.contains("type Input = u32 ;"));
        assert!(out.contains("r#add :: call (__arg0)"), "{out}");

        let out = ok(
            quote!(),
            quote!(
                async fn r#type() -> Result<(), ActivityError> {
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains("\"type\""),
            "raw identifiers lose their `r#`: {out}"
        );
        assert!(out.contains("type Input = () ;"));
    }

    #[test]
    fn stub_has_no_body() {
        let out = ok(
            quote!(name = "py_greet"),
            quote!(
                #[allow(dead_code)]
                async fn py_greet(
                    ctx: ActivityContext,
                    name: String,
                ) -> Result<String, ActivityError>;
            ),
        );
        assert!(!out.contains("fn call"), "{out}");
        assert!(out.contains("# [allow (dead_code)] # [allow (non_camel_case_types)]"));
        assert!(out.contains(":: chronicle :: __private :: None"));
    }

    #[test]
    fn inner_attributes_stay_in_the_body() {
        let out = ok(
            quote!(),
            quote!(
                #[inline]
                async fn f() -> R {
                    #![allow(unused)]
                    let x = 1;
                    Ok(())
                }
            ),
        );
        assert!(
            out.contains(
                "# [inline] async fn call () -> R { # ! [allow (unused)] let x = 1 ; Ok (()) }"
            ),
            "{out}"
        );
        let out = expand(
            quote!(),
            quote!(
                fn f() {
                    #![allow(unused)]
                }
            ),
        )
        .to_string();
        assert!(out.starts_with("fn f () { # ! [allow (unused)] }"), "{out}");
    }

    #[test]
    fn cfg_applies_to_every_item() {
        let out = ok(
            quote!(),
            quote!(
                #[cfg(test)]
                async fn f() -> Result<(), ActivityError> {
                    Ok(())
                }
            ),
        );
        assert_eq!(out.matches("# [cfg (test)]").count(), 3, "{out}");
    }

    #[test]
    fn argument_and_signature_errors_are_combined() {
        let messages = errors(
            quote!(nmae = "x"),
            quote!(
                fn f<T>((a, b): (T, T));
            ),
        );
        assert_eq!(messages.len(), 5, "{messages:#?}");
        assert_eq!(
            messages[0],
            "unknown #[activity] argument `nmae`: valid keys are `name`, `crate`"
        );
        assert!(messages[1].starts_with("#[activity] requires an `async fn`: activities are"));
        assert!(messages[2].contains("cannot be generic"));
        assert!(messages[3].starts_with("expected an argument name"));
        assert!(messages[4].contains("add `-> Result<T, ActivityError>`"));
    }

    #[test]
    fn not_a_function() {
        let messages = errors(
            quote!(),
            quote!(
                #[derive(Debug)]
                pub struct S;
            ),
        );
        assert_eq!(messages.len(), 1);
        assert!(messages[0].starts_with("#[activity] goes on an `async fn`"));
    }

    #[test]
    fn errors_keep_the_item() {
        let out = expand(
            quote!(),
            quote!(
                fn f() -> R {
                    1
                }
            ),
        )
        .to_string();
        assert!(out.starts_with("fn f () -> R { 1 }"), "{out}");
        assert!(out.contains("compile_error"));
        let out = expand(
            quote!(),
            quote!(
                fn f() -> R;
            ),
        )
        .to_string();
        assert!(out.starts_with("fn f () -> R { loop { } }"), "{out}");
    }
}
