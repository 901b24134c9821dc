//! Where generated code reaches the runtime: `::chronicle::__private`, or
//! `<path>::__private` when the macro is given `crate = "path"` (a renamed dependency, or a
//! crate that re-exports Chronicle's macros).
//!
//! Every path to the runtime in generated code comes from a [`Runtime`], so the override
//! reaches all of them.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{quote, ToTokens};

/// The path to the runtime's hidden `__private` module.
#[derive(Clone)]
pub(crate) struct Runtime {
    private: TokenStream,
}

impl Default for Runtime {
    fn default() -> Self {
        Self {
            private: quote!(::chronicle::__private),
        }
    }
}

impl Runtime {
    /// The runtime of `krate` (`chronicle` when `None`).
    pub(crate) fn new(krate: Option<&syn::Path>) -> Self {
        match krate {
            None => Self::default(),
            Some(path) => Self {
                private: quote!(#path::__private),
            },
        }
    }

    /// The path with every token at `span`: what `quote_spanned!` would have written, so that
    /// errors in generated code spanned at the user's tokens keep pointing there.
    pub(crate) fn at(&self, span: Span) -> TokenStream {
        respan(self.private.clone(), span)
    }
}

impl ToTokens for Runtime {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        self.private.to_tokens(tokens);
    }
}

fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Whether `path` is `prefix::name`, ignoring a leading `::` or `crate::` on either (a marker
/// written `#[facade::run]` under `crate = "crate::facade"`).
pub(crate) fn is_under(path: &syn::Path, prefix: &syn::Path) -> bool {
    let names = |path: &syn::Path| -> Vec<String> {
        let mut names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        if names.first().is_some_and(|first| first == "crate") {
            names.remove(0);
        }
        names
    };
    let (segments, prefix) = (names(path), names(prefix));
    segments.len() == prefix.len() + 1 && segments[..prefix.len()] == prefix[..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn default_and_override() {
        assert_eq!(
            Runtime::default().to_token_stream().to_string(),
            ":: chronicle :: __private"
        );
        let path: syn::Path = parse_quote!(::facade::chronicle);
        assert_eq!(
            Runtime::new(Some(&path)).to_token_stream().to_string(),
            ":: facade :: chronicle :: __private"
        );
    }

    #[test]
    fn paths_under_a_prefix() {
        let prefix: syn::Path = parse_quote!(facade::chronicle);
        assert!(is_under(&parse_quote!(facade::chronicle::run), &prefix));
        assert!(is_under(&parse_quote!(::facade::chronicle::run), &prefix));
        assert!(!is_under(&parse_quote!(facade::run), &prefix));
        assert!(!is_under(&parse_quote!(chronicle::run), &prefix));
        let local: syn::Path = parse_quote!(crate::facade::chronicle);
        assert!(is_under(&parse_quote!(facade::chronicle::run), &local));
    }
}
