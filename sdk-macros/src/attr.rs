//! The arguments of `#[activity(..)]` and `#[workflow(..)]`: currently only `name = "..."`.

use crate::diag::Errors;
use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, Lit, LitStr, Meta, Token};

/// Which macro the arguments belong to; decides the wording of messages.
#[derive(Clone, Copy)]
pub(crate) struct MacroKind {
    /// The attribute's name, as in `activity`.
    pub(crate) attr: &'static str,
    /// What it defines, as in `activity`; used in "the activity type name on the wire".
    pub(crate) defines: &'static str,
    /// An example wire name for messages.
    pub(crate) example: &'static str,
}

/// Every key the macros accept, listed in "unknown argument" errors.
const VALID_KEYS: &[&str] = &["name"];

/// The parsed arguments.
#[derive(Default)]
pub(crate) struct MacroArgs {
    /// `name = "..."`: the type name on the wire, replacing the default.
    pub(crate) name: Option<LitStr>,
}

/// Parses `key = value, ...`, reporting every malformed or unknown argument.
pub(crate) fn parse(args: TokenStream, kind: MacroKind, errors: &mut Errors) -> MacroArgs {
    let mut parsed = MacroArgs::default();
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(metas) => metas,
        Err(error) => {
            for error in error {
                errors.at(
                    error.span(),
                    format!(
                        "{error}: expected arguments like `#[{}(name = \"{}\")]`",
                        kind.attr, kind.example
                    ),
                );
            }
            return parsed;
        }
    };
    for meta in metas {
        let path = meta.path();
        if !path.is_ident("name") {
            errors.spanned(
                path,
                format!(
                    "unknown #[{}] argument `{}`: valid keys are {}",
                    kind.attr,
                    path_text(path),
                    valid_keys()
                ),
            );
            continue;
        }
        let value = match &meta {
            Meta::NameValue(nv) => &nv.value,
            Meta::Path(_) | Meta::List(_) => {
                errors.spanned(
                    &meta,
                    format!(
                        "`name` needs a value: write `name = \"{}\"`, the {} type name on the wire",
                        kind.example, kind.defines
                    ),
                );
                continue;
            }
        };
        let Some(name) = string_literal(value) else {
            errors.spanned(
                value,
                format!(
                    "`name` must be a string literal, as in `name = \"{}\"`: it is the {} type \
                     name on the wire",
                    kind.example, kind.defines
                ),
            );
            continue;
        };
        if name.value().is_empty() {
            errors.spanned(
                name,
                format!(
                    "`name` must not be empty: it is the {} type name that workers and clients \
                     use to find it",
                    kind.defines
                ),
            );
            continue;
        }
        if parsed.name.is_some() {
            errors.spanned(path, "duplicate `name` argument: give the name only once");
            continue;
        }
        parsed.name = Some(name.clone());
    }
    parsed
}

fn string_literal(expr: &Expr) -> Option<&LitStr> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Some(lit),
        // A literal that came through a `macro_rules!` fragment is wrapped in an invisible group.
        Expr::Group(group) => string_literal(&group.expr),
        _ => None,
    }
}

fn path_text(path: &syn::Path) -> String {
    path.to_token_stream().to_string().replace(' ', "")
}

fn valid_keys() -> String {
    let keys: Vec<String> = VALID_KEYS.iter().map(|key| format!("`{key}`")).collect();
    keys.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    const KIND: MacroKind = MacroKind {
        attr: "activity",
        defines: "activity",
        example: "wire_name",
    };

    fn run(args: TokenStream) -> (Option<String>, Vec<String>) {
        let mut errors = Errors::new();
        let parsed = parse(args, KIND, &mut errors);
        let messages = match errors.finish() {
            Ok(()) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        };
        (parsed.name.map(|name| name.value()), messages)
    }

    #[test]
    fn empty_and_name() {
        assert_eq!(run(quote!()), (None, vec![]));
        assert_eq!(run(quote!(name = "greet")), (Some("greet".into()), vec![]));
        assert_eq!(run(quote!(name = "greet",)), (Some("greet".into()), vec![]));
    }

    #[test]
    fn every_problem_is_reported() {
        let (name, messages) = run(quote!(nmae = "x", name = 5, name, name = "", a::b(c)));
        assert_eq!(name, None);
        assert_eq!(messages.len(), 5, "{messages:#?}");
        assert_eq!(
            messages[0],
            "unknown #[activity] argument `nmae`: valid keys are `name`"
        );
        assert!(messages[1].starts_with("`name` must be a string literal"));
        assert!(messages[2].starts_with("`name` needs a value"));
        assert!(messages[3].starts_with("`name` must not be empty"));
        assert!(messages[4].contains("`a::b`"));
    }

    #[test]
    fn duplicate_name() {
        let (name, messages) = run(quote!(name = "a", name = "b"));
        assert_eq!(name.as_deref(), Some("a"));
        assert_eq!(
            messages,
            ["duplicate `name` argument: give the name only once"]
        );
    }

    #[test]
    fn malformed_arguments() {
        let (_, messages) = run(quote!("greet"));
        assert_eq!(messages.len(), 1);
        assert!(
            messages[0].contains("expected arguments like `#[activity(name = \"wire_name\")]`"),
            "{messages:?}"
        );
    }
}
