//! Unit tests of `handler.rs`.
use super::*;
use proc_macro2::Span;
use syn::parse_quote;

/// Checks `sig` with the method's name as its wire name.
fn run(kind: Kind, sig: Signature) -> Result<Handler, Vec<String>> {
    let wire_name = LitStr::new(&sig.ident.to_string(), sig.ident.span());
    run_named(kind, sig, wire_name)
}

fn run_named(kind: Kind, sig: Signature, wire_name: LitStr) -> Result<Handler, Vec<String>> {
    let mut errors = Errors::new();
    let handler = check(kind, &sig, wire_name, None, &mut errors);
    match errors.finish() {
        Ok(()) => Ok(handler.expect("no errors means a handler")),
        Err(error) => {
            assert!(handler.is_none());
            Err(error.into_iter().map(|e| e.to_string()).collect())
        }
    }
}

fn errors(kind: Kind, sig: Signature) -> Vec<String> {
    match run(kind, sig) {
        Ok(handler) => panic!("expected errors for `{}`", handler.method),
        Err(messages) => messages,
    }
}

/// A valid handler of `kind` for `method`, named `wire_name` on the wire.
fn handler(kind: Kind, method: &str, wire_name: &str) -> Handler {
    let method = Ident::new(method, Span::call_site());
    let sig: Signature = match kind {
        Kind::Signal => parse_quote!(fn #method(&mut self)),
        Kind::Query => parse_quote!(fn #method(&self) -> u8),
        Kind::Update => {
            parse_quote!(async fn #method(ctx: WorkflowContext<Self>) -> WorkflowResult<u8>)
        }
    };
    let wire_name = LitStr::new(wire_name, Span::call_site());
    run_named(kind, sig, wire_name).unwrap_or_else(|e| panic!("{e:?}"))
}

fn name_errors(handlers: &[Handler]) -> Vec<String> {
    let mut errors = Errors::new();
    check_names(handlers, &mut errors);
    match errors.finish() {
        Ok(()) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn valid_signals() {
    let signal = run(
        Kind::Signal,
        parse_quote!(fn approve(&mut self, by: String, at: Option<u64>)),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(signal.kind, Kind::Signal);
    assert_eq!(signal.method, "approve");
    assert_eq!(signal.wire_name.value(), "approve");
    assert_eq!(signal.args.len(), 2);
    assert!(signal.answer.is_none());

    let unit = run(
        Kind::Signal,
        parse_quote!(fn cancel(&mut self, _: u8) -> ()),
    );
    let unit = unit.unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(unit.args.len(), 1);
    assert!(unit.answer.is_none());
}

#[test]
fn valid_queries() {
    let query = run(
        Kind::Query,
        parse_quote!(fn line(&self, index: usize) -> Option<String>),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(query.kind, Kind::Query);
    assert_eq!(query.args.len(), 1);
    let answer = query.answer.expect("a query has an answer");
    assert_eq!(quote!(#answer).to_string(), "Option < String >");

    let query = run(Kind::Query, parse_quote!(fn status(&self) -> Status));
    assert!(query.unwrap_or_else(|e| panic!("{e:?}")).args.is_empty());
}

#[test]
fn signal_receiver_is_mut_self() {
    for sig in [
        parse_quote!(fn approve(&self)),
        parse_quote!(fn approve(self)),
        parse_quote!(fn approve(mut self)),
        parse_quote!(fn approve(self: &mut Self)),
        parse_quote!(fn approve(by: String)),
        parse_quote!(fn approve()),
    ] {
        let messages = errors(Kind::Signal, sig);
        assert_eq!(
            messages,
            ["a #[signal] handler changes the workflow's state: take `&mut self` first"]
        );
    }
}

#[test]
fn query_receiver_is_shared_self() {
    for sig in [
        parse_quote!(fn status(&mut self) -> u8),
        parse_quote!(fn status(self) -> u8),
        parse_quote!(fn status(index: usize) -> u8),
        parse_quote!(fn status() -> u8),
    ] {
        let messages = errors(Kind::Query, sig);
        assert_eq!(messages.len(), 1, "{messages:#?}");
        assert!(
            messages[0].starts_with("a #[query] handler only reads the workflow's state"),
            "{messages:#?}"
        );
        assert!(messages[0].ends_with("take `&self` first"));
    }
}

#[test]
fn handlers_are_synchronous() {
    // An async signal is a handler of its own kind, which takes the context instead.
    let messages = errors(Kind::Signal, parse_quote!(async fn approve(&mut self)));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("an async #[signal] handler takes `ctx"));
    assert!(messages[0].ends_with("or drop `async` for a synchronous handler"));

    let messages = errors(Kind::Query, parse_quote!(async fn status(&self) -> u8));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("#[query] handlers are synchronous"));
    assert!(messages[0].contains("it cannot wait"));
}

#[test]
fn handlers_cannot_take_the_context() {
    for sig in [
        parse_quote!(fn status(&self, ctx: WorkflowContext<Self>) -> u8),
        parse_quote!(fn status(&self, ctx: &chronicle::WorkflowContext<Self>) -> u8),
        parse_quote!(fn status(ctx: WorkflowContext<Self>) -> u8),
    ] {
        let messages = errors(Kind::Query, sig);
        assert_eq!(messages, [context_message(Kind::Query)]);
    }
    assert!(context_message(Kind::Query).contains("a query cannot issue commands"));

    let messages = errors(
        Kind::Signal,
        parse_quote!(fn approve(&mut self, ctx: WorkflowContext<Self>, by: String)),
    );
    assert_eq!(messages, [context_message(Kind::Signal)]);
    assert!(context_message(Kind::Signal).contains("or write `async fn`"));
}

#[test]
fn return_types() {
    let messages = errors(Kind::Signal, parse_quote!(fn approve(&mut self) -> bool));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("a #[signal] handler returns nothing"));

    let messages = errors(Kind::Query, parse_quote!(fn status(&self)));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("a #[query] handler returns its answer: add `-> T`"));

    let messages = errors(Kind::Query, parse_quote!(fn status(&self) -> &str));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("query answers must be owned types, not borrowed"));

    let messages = errors(Kind::Query, parse_quote!(fn status(&self) -> impl Copy));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("query answers need concrete types"));
}

#[test]
fn every_problem_is_reported() {
    let messages = errors(
        Kind::Signal,
        parse_quote!(
            unsafe fn f<T>(&self, (a, b): (u32, u32), s: &str, i: impl Copy) -> u8
        ),
    );
    assert_eq!(messages.len(), 7, "{messages:#?}");
    assert_eq!(messages[0], "#[signal] handlers cannot be `unsafe`");
    assert!(messages[1].starts_with("#[signal] handlers cannot be generic"));
    assert!(messages[2].ends_with("take `&mut self` first"));
    assert!(messages[3].starts_with("expected an argument name"));
    assert!(messages[4].starts_with("signal arguments must be owned types"));
    assert!(messages[5].starts_with("signal arguments need concrete types"));
    assert!(messages[6].starts_with("a #[signal] handler returns nothing"));

    let messages = errors(
        Kind::Query,
        parse_quote!(fn f(&self, x: u8) -> u8 where u8: Copy),
    );
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].starts_with("#[query] handlers cannot be generic"));
}

#[test]
fn reserved_names() {
    let messages = name_errors(&[
        handler(Kind::Signal, "a", "__stack_trace"),
        handler(Kind::Query, "b", "__enhanced_stack_trace"),
        handler(Kind::Query, "c", "_single_underscore"),
    ]);
    assert_eq!(
        messages,
        [
            "#[signal] names starting with `__` are reserved for Temporal's built-in \
             signals; choose another name with `#[signal(name = \"...\")]`",
            "#[query] names starting with `__` are reserved for Temporal's built-in \
             queries; choose another name with `#[query(name = \"...\")]`",
        ]
    );
}

#[test]
fn duplicate_names_within_a_kind() {
    let messages = name_errors(&[
        handler(Kind::Signal, "approve", "approve"),
        handler(Kind::Query, "is_approved", "approve"),
        handler(Kind::Signal, "approve_anonymously", "approve"),
        handler(Kind::Signal, "approve_later", "approve"),
        handler(Kind::Query, "status", "status"),
    ]);
    assert_eq!(
        messages,
        [
            "two #[signal] handlers are named \"approve\" (`approve` and \
             `approve_anonymously`): give one another name with `#[signal(name = \"...\")]`",
            "two #[signal] handlers are named \"approve\" (`approve` and `approve_later`): \
             give one another name with `#[signal(name = \"...\")]`",
        ]
    );

    let messages = name_errors(&[
        handler(Kind::Query, "status", "status"),
        handler(Kind::Query, "state", "status"),
    ]);
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with("two #[query] handlers are named \"status\""));
}

#[test]
fn generates_dispatch_by_kind() {
    let handlers = [
        run(
            Kind::Signal,
            parse_quote!(fn approve(&mut self, by: String)),
        )
        .unwrap(),
        run(Kind::Query, parse_quote!(fn status(&self) -> Status)).unwrap(),
    ];
    let out = generate(&handlers, &Runtime::default()).to_string();
    assert!(out.contains("const SIGNALS : & 'static [& 'static str] = & [\"approve\"] ;"));
    assert!(out.contains("const QUERIES : & 'static [& 'static str] = & [\"status\"] ;"));
    assert!(out.contains("\"signal approve\""), "{out}");
    assert!(out.contains("next :: < String > ()"), "{out}");
    assert!(
        out.contains("encode_answer :: < Status > (& self . status ())"),
        "{out}"
    );
    assert!(out.contains("type_id_of (& Self :: approve)"), "{out}");
}

#[test]
fn emits_the_items_of_a_kind_only_when_it_has_handlers() {
    let rt = Runtime::default();
    assert!(generate(&[], &rt).is_empty());
    let signal_only = [run(
        Kind::Signal,
        parse_quote!(fn approve(&mut self, by: String)),
    )
    .unwrap()];
    let out = generate(&signal_only, &rt).to_string();
    assert!(out.contains("fn handle_signal"), "{out}");
    assert!(out.contains("fn signal_name"), "{out}");
    assert!(!out.contains("QUERIES"), "{out}");
    assert!(!out.contains("fn handle_query"), "{out}");
}

#[test]
fn valid_updates_and_async_signals() {
    let update = run(
        Kind::Update,
        parse_quote!(async fn discount(ctx: WorkflowContext<Self>, percent: f64) -> WorkflowResult<u64>),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(update.is_async);
    assert_eq!(update.args.len(), 1);
    let signal = run(
        Kind::Signal,
        parse_quote!(async fn approve(ctx: WorkflowContext<Self>, by: String)),
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(signal.is_async);
    assert_eq!(signal.args.len(), 1);
}

#[test]
fn updates_need_async_the_context_and_a_return_type() {
    let messages = errors(
        Kind::Update,
        parse_quote!(fn discount(ctx: WorkflowContext<Self>) -> WorkflowResult<u64>),
    );
    assert!(
        messages[0].starts_with("#[update] requires an `async fn`"),
        "{messages:?}"
    );
    let messages = errors(
        Kind::Update,
        parse_quote!(async fn discount(&mut self, p: u8) -> WorkflowResult<u64>),
    );
    assert!(
        messages[0].contains("takes `ctx: WorkflowContext<Self>`"),
        "{messages:?}"
    );
    let messages = errors(
        Kind::Update,
        parse_quote!(async fn discount(ctx: WorkflowContext<Self>)),
    );
    assert!(
        messages[0].contains("must declare their return type"),
        "{messages:?}"
    );
    let messages = errors(
        Kind::Signal,
        parse_quote!(async fn approve(&mut self, by: String)),
    );
    assert!(
        messages[0].starts_with("an async #[signal] handler takes"),
        "{messages:?}"
    );
}

#[test]
fn the_validator_is_taken_out_of_the_update_arguments() {
    let mut errors = Errors::new();
    let (rest, validator) = async_handlers::take_validator(
        quote::quote!(name = "x", validator = check_it),
        &mut errors,
    );
    assert!(errors.finish().is_ok());
    assert_eq!(
        validator.map(|v| v.to_string()),
        Some("check_it".to_string())
    );
    assert_eq!(rest.to_string(), quote::quote!(name = "x").to_string());
    let mut errors = Errors::new();
    let (_, validator) =
        async_handlers::take_validator(quote::quote!(validator = "check_it"), &mut errors);
    assert!(validator.is_none());
    let messages: Vec<String> = errors
        .finish()
        .unwrap_err()
        .into_iter()
        .map(|e| e.to_string())
        .collect();
    assert!(
        messages[0].starts_with("write `validator = method_name`"),
        "{messages:?}"
    );
}
