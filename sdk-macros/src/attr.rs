//! The arguments of `#[activity(..)]`, `#[workflow(..)]`, `#[signal(..)]` and `#[query(..)]`:
//! `name = "..."`, and for the first two `crate = "..."`.

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
    /// Whether `crate = "..."` is accepted (by the macros that generate code).
    pub(crate) accepts_crate: bool,
}

/// The parsed arguments.
#[derive(Default)]
pub(crate) struct MacroArgs {
    /// `name = "..."`: the type name on the wire, replacing the default.
    pub(crate) name: Option<LitStr>,
    /// `crate = "path"`: where generated code finds the runtime, instead of `::chronicle`.
    pub(crate) krate: Option<syn::Path>,
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
        if kind.accepts_crate && path.is_ident("crate") {
            parse_crate(&meta, kind, &mut parsed, errors);
            continue;
        }
        if !path.is_ident("name") {
            errors.spanned(
                path,
                format!(
                    "unknown #[{}] argument `{}`: valid keys are {}",
                    kind.attr,
                    path_text(path),
                    valid_keys(kind)
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

/// `crate = "path"`: a string holding a path, as in serde's `#[serde(crate = "...")]`.
fn parse_crate(meta: &Meta, kind: MacroKind, parsed: &mut MacroArgs, errors: &mut Errors) {
    let usage = format!(
        "write `#[{}(crate = \"path::to::chronicle\")]`, the path under which generated code \
         finds the `chronicle` crate",
        kind.attr
    );
    let literal = match meta {
        Meta::NameValue(nv) => string_literal(&nv.value),
        Meta::Path(_) | Meta::List(_) => None,
    };
    let Some(literal) = literal else {
        errors.spanned(meta, format!("`crate` needs a string value: {usage}"));
        return;
    };
    let path = match literal.parse::<syn::Path>() {
        Ok(path) => path,
        Err(_) => {
            errors.spanned(literal, format!("`crate` must name a path: {usage}"));
            return;
        }
    };
    if parsed.krate.is_some() {
        errors.spanned(
            meta.path(),
            "duplicate `crate` argument: give the path only once",
        );
        return;
    }
    parsed.krate = Some(path);
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

/// The keys `kind` accepts, listed in "unknown argument" errors.
fn valid_keys(kind: MacroKind) -> String {
    let keys: &[&str] = if kind.accepts_crate {
        &["name", "crate"]
    } else {
        &["name"]
    };
    let keys: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
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
        accepts_crate: false,
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
    fn crate_path() {
        let kind = MacroKind {
            accepts_crate: true,
            ..KIND
        };
        let parse_with = |args: TokenStream| {
            let mut errors = Errors::new();
            let parsed = parse(args, kind, &mut errors);
            let messages: Vec<String> = match errors.finish() {
                Ok(()) => Vec::new(),
                Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
            };
            (parsed.krate.map(|p| quote!(#p).to_string()), messages)
        };
        assert_eq!(
            parse_with(quote!(crate = "::facade::chronicle", name = "x")),
            (Some(":: facade :: chronicle".to_string()), vec![])
        );
        let (_, messages) = parse_with(quote!(crate = 5, crate = "not a path"));
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].starts_with("`crate` needs a string value"));
        assert!(messages[1].starts_with("`crate` must name a path"));
        // Handlers do not generate code: no `crate` key.
        assert_eq!(
            run(quote!(crate = "x")).1,
            ["unknown #[activity] argument `crate`: valid keys are `name`"]
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
