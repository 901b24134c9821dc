//! The input plumbing shared by activities and workflows: the `Input` type, one payload per
//! argument (`encode_input` / `decode_input`), and unpacking the input into call arguments.
//!
//! Zero arguments make `()`, one argument `A` itself, several the tuple `(A, B, ..)`.

use crate::paths::Runtime;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::Type;

/// The `Input` associated type.
pub(crate) fn input_type(args: &[Type]) -> TokenStream {
    match args {
        [single] => quote!(#single),
        _ => quote!((#(#args,)*)),
    }
}

/// A local variable of generated code. Locals are hygienic in `macro_rules!` expansions, so they
/// always get the call-site span, even inside code spanned at the user's tokens (which may come
/// from another expansion): declaration and uses then agree.
pub(crate) fn local(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// Names for the unpacked arguments: `__arg0`, `__arg1`, ...
pub(crate) fn arg_names(args: &[Type]) -> Vec<Ident> {
    (0..args.len())
        .map(|i| local(&format!("__arg{i}")))
        .collect()
}

/// A pattern binding `names` from a value of the `Input` type.
pub(crate) fn input_pattern(names: &[Ident]) -> TokenStream {
    match names {
        [single] => quote!(#single),
        _ => quote!((#(#names,)*)),
    }
}

/// `fn encode_input(input: &Self::Input) -> Result<Vec<Payload>, PayloadError>`.
pub(crate) fn encode_input(args: &[Type], rt: &Runtime) -> TokenStream {
    let body = if args.is_empty() {
        quote! {
            let _ = input;
            #rt::Ok(#rt::Vec::new())
        }
    } else {
        let names = arg_names(args);
        let pattern = input_pattern(&names);
        let count = args.len();
        // Spanned at the argument's type, so that "`T: Serialize` is not satisfied" points there.
        let pushes = args.iter().zip(&names).map(|(ty, name)| {
            let rt_ty = rt.at(ty.span());
            let encode = quote_spanned!(ty.span()=> #rt_ty::payload::encode::<#ty>(#name));
            quote!(__payloads.push(#encode?);)
        });
        quote! {
            let #pattern = input;
            let mut __payloads = #rt::Vec::with_capacity(#count);
            #(#pushes)*
            #rt::Ok(__payloads)
        }
    };
    quote! {
        fn encode_input(
            input: &Self::Input,
        ) -> #rt::Result<#rt::Vec<#rt::Payload>, #rt::PayloadError> {
            #body
        }
    }
}

/// `fn decode_input(payloads: Vec<Payload>) -> Result<Self::Input, PayloadError>`, which checks
/// the argument count and names `Self::NAME` in its errors.
pub(crate) fn decode_input(args: &[Type], rt: &Runtime) -> TokenStream {
    let count = args.len();
    let reader_var = local("__reader");
    let reader = quote! {
        #rt::ArgReader::new(Self::NAME, payloads, #count)?
    };
    let body = if args.is_empty() {
        quote! {
            let _ = #reader;
            #rt::Ok(())
        }
    } else {
        // Spanned at the argument's type, so that "`T: Deserialize` is not satisfied" points there.
        let reads: Vec<TokenStream> = args
            .iter()
            .map(|ty| quote_spanned!(ty.span()=> #reader_var.next::<#ty>()))
            .collect();
        // One argument: its result is the input's (no `Ok(x?)`, which clippy flags).
        let value = match reads.as_slice() {
            [single] => quote!(#single),
            _ => quote!(#rt::Ok((#(#reads?,)*))),
        };
        quote! {
            let mut #reader_var = #reader;
            #value
        }
    };
    quote! {
        fn decode_input(
            payloads: #rt::Vec<#rt::Payload>,
        ) -> #rt::Result<Self::Input, #rt::PayloadError> {
            #body
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn types(n: usize) -> Vec<Type> {
        let all: [Type; 3] = [
            parse_quote!(String),
            parse_quote!(u32),
            parse_quote!(Vec<u8>),
        ];
        all[..n].to_vec()
    }

    fn text(tokens: TokenStream) -> String {
        tokens.to_string()
    }

    fn encode_input_default(args: &[Type]) -> TokenStream {
        encode_input(args, &Runtime::default())
    }

    fn decode_input_default(args: &[Type]) -> TokenStream {
        decode_input(args, &Runtime::default())
    }

    #[test]
    fn the_crate_override_reaches_every_path() {
        let path: syn::Path = parse_quote!(::facade::chronicle);
        let rt = Runtime::new(Some(&path));
        for n in 0..3 {
            for out in [
                text(encode_input(&types(n), &rt)),
                text(decode_input(&types(n), &rt)),
            ] {
                assert!(!out.contains(":: chronicle :: __private") || out.contains("facade"));
                assert_eq!(
                    out.matches(":: chronicle :: __private").count(),
                    out.matches(":: facade :: chronicle :: __private").count(),
                    "{out}"
                );
            }
        }
    }

    #[test]
    fn arity_rules() {
        assert_eq!(text(input_type(&types(0))), "()");
        assert_eq!(text(input_type(&types(1))), "String");
        assert_eq!(text(input_type(&types(2))), "(String , u32 ,)");
        assert_eq!(text(input_pattern(&arg_names(&types(0)))), "()");
        assert_eq!(text(input_pattern(&arg_names(&types(1)))), "__arg0");
        assert_eq!(
            text(input_pattern(&arg_names(&types(3)))),
            "(__arg0 , __arg1 , __arg2 ,)"
        );
    }

    #[test]
    fn encode_pushes_one_payload_per_argument() {
        let out = text(encode_input_default(&types(3)));
        assert_eq!(out.matches("__payloads . push").count(), 3, "{out}");
        assert!(out.contains("with_capacity (3usize)"), "{out}");
        let out = text(encode_input_default(&types(0)));
        assert!(out.contains("Vec :: new ()"), "{out}");
    }

    #[test]
    fn decode_checks_the_count_and_reads_each_type() {
        let out = text(decode_input_default(&types(2)));
        assert!(
            out.contains("ArgReader :: new (Self :: NAME , payloads , 2usize)"),
            "{out}"
        );
        assert!(out.contains("__reader . next :: < String > ()"), "{out}");
        assert!(out.contains("__reader . next :: < u32 > ()"), "{out}");
        let out = text(decode_input_default(&types(0)));
        assert!(out.contains("payloads , 0usize"), "{out}");
        assert!(out.contains("Ok (())"), "{out}");
    }

    #[test]
    fn only_reaches_the_runtime_through_private() {
        for n in 0..3 {
            for out in [
                text(encode_input_default(&types(n))),
                text(decode_input_default(&types(n))),
            ] {
                for (i, _) in out.match_indices(":: chronicle ::") {
                    assert!(out[i..].starts_with(":: chronicle :: __private"), "{out}");
                }
            }
        }
    }
}
