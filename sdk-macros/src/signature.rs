//! Validation of the signature shared by activities and `#[run]` functions:
//! `async fn name(ctx: Context, a: A, b: B) -> Ret`, and the pre-check ([`check_shape`]) that
//! handlers share with them: `async` or not, `unsafe`, generics, variadics.

use crate::diag::Errors;
use syn::visit::Visit;
use syn::{FnArg, Pat, ReturnType, Signature, Type};

/// What the function is, for the wording of messages and the context rule.
pub(crate) struct FnRules {
    /// The marking attribute, as in `#[activity]`.
    pub(crate) attr: &'static str,
    /// Why it must be `async`, completing "... requires an `async fn`: ".
    pub(crate) why_async: &'static str,
    /// Whose arguments these are, as in "activity" (for "activity arguments must ...").
    pub(crate) owner: &'static str,
    /// The last path segment of the context type, as in `ActivityContext`.
    pub(crate) context: &'static str,
    /// `Some(message)` when the context is a mandatory first parameter; the message explains it.
    pub(crate) context_required: Option<&'static str>,
    /// When the function is not free (`self` receiver) and the context is optional.
    pub(crate) no_receiver: &'static str,
    /// The expected return type, as in `Result<T, ActivityError>`.
    pub(crate) returns: &'static str,
}

/// A signature that passed every check.
pub(crate) struct Params {
    /// Whether the first parameter is the context.
    pub(crate) has_context: bool,
    /// The types of the arguments after the context, in order.
    pub(crate) args: Vec<Type>,
    /// The written return type.
    pub(crate) ret: Type,
}

/// Whether a marked function must be `async`, with the message when it breaks the rule.
pub(crate) enum Asyncness {
    /// Activities and `#[run]`: reported at `fn` when `async` is missing.
    Required(String),
    /// Handlers: reported at `async`.
    Forbidden(String),
}

/// The rules every marked function's signature follows before its parameters are read, with
/// the wording of each kind.
pub(crate) struct Shape {
    pub(crate) asyncness: Asyncness,
    pub(crate) unsafe_message: String,
    pub(crate) generic_message: String,
    pub(crate) variadic_message: String,
}

/// Checks `sig` against `shape`, reporting every rule it breaks.
pub(crate) fn check_shape(sig: &Signature, shape: &Shape, errors: &mut Errors) {
    match (&shape.asyncness, &sig.asyncness) {
        (Asyncness::Required(message), None) => errors.spanned(sig.fn_token, message),
        (Asyncness::Forbidden(message), Some(asyncness)) => errors.spanned(asyncness, message),
        _ => {}
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.spanned(unsafety, &shape.unsafe_message);
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(&sig.generics, &shape.generic_message);
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.spanned(where_clause, &shape.generic_message);
    }
    if let Some(variadic) = &sig.variadic {
        errors.spanned(variadic, &shape.variadic_message);
    }
}

/// Checks `sig`, reporting every problem; `None` when any was found.
pub(crate) fn check(sig: &Signature, rules: &FnRules, errors: &mut Errors) -> Option<Params> {
    let before = errors.len();
    let attr = rules.attr;
    let shape = Shape {
        asyncness: Asyncness::Required(format!(
            "{attr} requires an `async fn`: {}; write `async fn {}(..)`",
            rules.why_async, sig.ident
        )),
        unsafe_message: format!(
            "{attr} functions cannot be `unsafe`: the worker calls them with decoded \
             arguments and cannot uphold safety requirements"
        ),
        generic_message: format!(
            "{attr} functions cannot be generic: their argument and return types must be \
             concrete so that they can be encoded on the wire"
        ),
        variadic_message: format!("{attr} functions cannot be variadic"),
    };
    check_shape(sig, &shape, errors);

    let mut has_context = false;
    let mut args = Vec::new();
    // Whether the first parameter (the context's slot) was already dealt with.
    let mut first_done = false;
    for input in &sig.inputs {
        match input {
            FnArg::Receiver(receiver) => {
                errors.spanned(
                    receiver,
                    rules.context_required.unwrap_or(rules.no_receiver),
                );
                first_done = true;
            }
            FnArg::Typed(typed) => {
                let ty = &*typed.ty;
                let slot_is_first = !first_done;
                first_done = true;
                if is_context(ty, rules.context) {
                    if slot_is_first {
                        has_context = true;
                    } else {
                        errors.spanned(
                            ty,
                            format!(
                                "the `{}` must be the first parameter of {attr} functions",
                                rules.context
                            ),
                        );
                    }
                    continue;
                }
                if let Type::Reference(reference) = strip_groups(ty) {
                    if is_context(&reference.elem, rules.context) {
                        errors.spanned(
                            ty,
                            format!(
                                "take the context by value, as in `ctx: {}`: it is cheap to \
                                 move and lives as long as the call",
                                rules.context
                            ),
                        );
                        continue;
                    }
                }
                if slot_is_first {
                    if let Some(message) = rules.context_required {
                        errors.spanned(typed, message);
                        continue;
                    }
                }
                check_pattern(&typed.pat, errors);
                check_owned(ty, rules.owner, "arguments", errors);
                args.push(ty.clone());
            }
        }
    }
    if !first_done {
        if let Some(message) = rules.context_required {
            errors.at(sig.paren_token.span.join(), message);
        }
    }

    let ret = match &sig.output {
        ReturnType::Type(_, ty) => {
            check_owned(ty, rules.owner, "return values", errors);
            Some((**ty).clone())
        }
        ReturnType::Default => {
            errors.at(
                sig.paren_token.span.close(),
                format!(
                    "{attr} functions must declare their return type: add `-> {}` after the \
                     argument list",
                    rules.returns
                ),
            );
            None
        }
    };
    match ret {
        Some(ret) if errors.len() == before => Some(Params {
            has_context,
            args,
            ret,
        }),
        _ => None,
    }
}

/// Whether `ty` is a path whose last segment is `context`, as in `chronicle::ActivityContext`.
pub(crate) fn is_context(ty: &Type, context: &str) -> bool {
    match strip_groups(ty) {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == context),
        _ => false,
    }
}

/// Looks through parentheses and the invisible groups of `macro_rules!` fragments.
pub(crate) fn strip_groups(ty: &Type) -> &Type {
    match ty {
        Type::Group(group) => strip_groups(&group.elem),
        Type::Paren(paren) => strip_groups(&paren.elem),
        _ => ty,
    }
}

pub(crate) fn check_pattern(pat: &Pat, errors: &mut Errors) {
    match pat {
        Pat::Ident(ident) if ident.subpat.is_none() => {}
        Pat::Wild(_) => {}
        _ => errors.spanned(
            pat,
            "expected an argument name, as in `name: String`: each argument travels as its own \
             payload, so destructure it inside the function body instead",
        ),
    }
}

/// Reports the first borrowed or `impl Trait` type inside `ty`.
pub(crate) fn check_owned(ty: &Type, owner: &str, role: &str, errors: &mut Errors) {
    #[derive(Default)]
    struct Finder<'a> {
        reference: Option<&'a syn::TypeReference>,
        impl_trait: Option<&'a syn::TypeImplTrait>,
    }
    impl<'a> Visit<'a> for Finder<'a> {
        fn visit_type_reference(&mut self, node: &'a syn::TypeReference) {
            self.reference.get_or_insert(node);
        }
        fn visit_type_impl_trait(&mut self, node: &'a syn::TypeImplTrait) {
            self.impl_trait.get_or_insert(node);
        }
    }
    let mut finder = Finder::default();
    finder.visit_type(ty);
    if let Some(reference) = finder.reference {
        errors.spanned(
            reference,
            format!(
                "{owner} {role} must be owned types, not borrowed: each one is encoded as its \
                 own payload and decoded on the other side; use for example `String` instead of \
                 `&str`"
            ),
        );
    } else if let Some(impl_trait) = finder.impl_trait {
        errors.spanned(
            impl_trait,
            format!(
                "{owner} {role} need concrete types, not `impl Trait`: the worker decodes each \
                 one into its declared type"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    const RULES: FnRules = FnRules {
        attr: "#[test_attr]",
        why_async: "it is asynchronous",
        owner: "test",
        context: "TestContext",
        context_required: None,
        no_receiver: "no self",
        returns: "Result<T, E>",
    };

    const REQUIRED: FnRules = FnRules {
        context_required: Some("ctx first"),
        ..RULES
    };

    fn run(sig: Signature, rules: &FnRules) -> Result<Params, Vec<String>> {
        let mut errors = Errors::new();
        let params = check(&sig, rules, &mut errors);
        match errors.finish() {
            Ok(()) => Ok(params.expect("no errors means params")),
            Err(error) => {
                assert!(params.is_none());
                Err(error.into_iter().map(|e| e.to_string()).collect())
            }
        }
    }

    #[test]
    fn optional_context() {
        let params = run(
            parse_quote!(async fn f(ctx: a::TestContext, x: u32, _: String) -> R),
            &RULES,
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(params.has_context);
        assert_eq!(params.args.len(), 2);

        let params = run(parse_quote!(async fn f() -> R), &RULES).unwrap();
        assert!(!params.has_context);
        assert!(params.args.is_empty());
    }

    #[test]
    fn required_context() {
        let ok = run(
            parse_quote!(async fn f(c: TestContext<Self>) -> R),
            &REQUIRED,
        );
        assert!(ok.is_ok());
        for sig in [
            parse_quote!(async fn f() -> R),
            parse_quote!(async fn f(x: u32) -> R),
            parse_quote!(async fn f(&self) -> R),
            parse_quote!(async fn f(self, x: u32) -> R),
        ] {
            assert_eq!(run(sig, &REQUIRED).err().unwrap(), ["ctx first"]);
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let errors = run(
            parse_quote!(unsafe fn f<T>(&self, (a, b): (u32, u32), s: &str, c: TestContext, i: impl Copy) -> R),
            &RULES,
        )
        .err()
        .unwrap();
        assert_eq!(errors.len(), 8, "{errors:#?}");
        assert!(errors[0].starts_with("#[test_attr] requires an `async fn`: it is asynchronous"));
        assert!(errors[1].contains("cannot be `unsafe`"));
        assert!(errors[2].contains("cannot be generic"));
        assert_eq!(errors[3], "no self");
        assert!(errors[4].starts_with("expected an argument name"));
        assert!(errors[5].starts_with("test arguments must be owned types"));
        assert!(errors[6].contains("must be the first parameter"));
        assert!(errors[7].contains("not `impl Trait`"));
    }

    #[test]
    fn context_by_reference_and_missing_return() {
        let errors = run(parse_quote!(async fn f(c: &TestContext)), &RULES)
            .err()
            .unwrap();
        assert_eq!(errors.len(), 2);
        assert!(errors[0].starts_with("take the context by value"));
        assert!(errors[1].contains("add `-> Result<T, E>`"));
    }

    #[test]
    fn borrowed_return_value() {
        let errors = run(
            parse_quote!(async fn f() -> Result<&'static str, E>),
            &RULES,
        )
        .err()
        .unwrap();
        assert!(errors[0].starts_with("test return values must be owned"));
    }

    #[test]
    fn context_detection() {
        assert!(is_context(&parse_quote!(TestContext), "TestContext"));
        assert!(is_context(&parse_quote!(x::TestContext<S>), "TestContext"));
        assert!(!is_context(
            &parse_quote!(<T as X>::TestContext),
            "TestContext"
        ));
        assert!(!is_context(
            &parse_quote!(TestContext::Other),
            "TestContext"
        ));
    }
}
