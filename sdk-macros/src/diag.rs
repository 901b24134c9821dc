//! Error collection: every check reports into an [`Errors`], so one compilation shows every
//! problem at once instead of one per fix-and-rebuild cycle.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use std::fmt::Display;

/// Accumulates `syn::Error`s, combining them into one that renders as several `compile_error!`s.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
    count: usize,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Records an error (which may itself hold several).
    pub(crate) fn push(&mut self, error: syn::Error) {
        self.count += error.clone().into_iter().count();
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error covering `tokens` (first to last token).
    pub(crate) fn spanned(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error at one span.
    pub(crate) fn at(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// How many errors were recorded so far; lets a check tell whether its own part failed.
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// `Ok` when nothing was recorded, otherwise every recorded error.
    pub(crate) fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// Why an expansion failed, and what to emit in its place.
pub(crate) struct Failure {
    /// Every error found.
    pub(crate) error: syn::Error,
    /// The user's item, emitted next to the errors so that name resolution, the IDE and the
    /// remaining diagnostics keep working.
    pub(crate) fallback: TokenStream,
}

impl Failure {
    pub(crate) fn new(error: syn::Error, fallback: impl ToTokens) -> Self {
        Self {
            error,
            fallback: fallback.into_token_stream(),
        }
    }

    /// The item followed by one `compile_error!` per error.
    pub(crate) fn into_tokens(self) -> TokenStream {
        let Failure { error, fallback } = self;
        let errors = error.into_compile_error();
        quote! {
            #fallback
            #errors
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combines_and_counts() {
        let mut errors = Errors::new();
        assert_eq!(errors.len(), 0);
        errors.at(Span::call_site(), "first");
        errors.spanned(quote!(a b), "second");
        assert_eq!(errors.len(), 2);
        let messages: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn empty_is_ok() {
        assert!(Errors::new().finish().is_ok());
    }

    #[test]
    fn failure_keeps_the_item() {
        let failure = Failure::new(
            syn::Error::new(Span::call_site(), "bad"),
            quote!(
                struct Kept;
            ),
        );
        let out = failure.into_tokens().to_string();
        assert!(out.starts_with("struct Kept ;"), "{out}");
        assert!(out.contains("compile_error"), "{out}");
    }
}
