//! Unit tests of `workflow.rs`.
use super::*;

fn ok(args: TokenStream, item: TokenStream) -> String {
    match analyze(args, item) {
        Ok(workflow) => generate(&workflow).to_string(),
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
fn expands_and_strips_the_marker() {
    let out = ok(
        quote!(),
        quote! {
            impl HelloWorkflow {
                /// Runs.
                #[run]
                pub async fn start(ctx: WorkflowContext<Self>, name: String)
                    -> WorkflowResult<String> { Ok(name) }
                fn helper(&self) {}
            }
        },
    );
    assert!(
        out.starts_with(
            "impl HelloWorkflow { # [doc = r\" Runs.\"] pub async fn start (ctx : \
             WorkflowContext < Self > , name : String)"
        ),
        "{out}"
    );
    assert!(!out.contains("# [run]"), "{out}");
    assert!(out.contains("fn helper (& self) { }"));
    assert!(out.contains("WorkflowDefinition for HelloWorkflow"));
    assert!(out.contains("type Input = String ;"));
    assert!(out.contains("const NAME : & 'static str = \"HelloWorkflow\" ;"));
    assert!(
        out.contains("Box :: pin (< HelloWorkflow > :: start (ctx , __arg0))"),
        "{out}"
    );
}

#[test]
fn name_and_qualified_marker() {
    let out = ok(
        quote!(name = "Wire"),
        quote! {
            #[cfg(feature = "x")]
            impl crate::flows::Flow {
                #[chronicle::run]
                async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> { Ok(()) }
            }
        },
    );
    assert!(out.contains("\"Wire\""));
    assert!(out.contains("type Input = () ;"));
    assert!(!out.contains("chronicle :: run"), "{out}");
    assert_eq!(out.matches("# [cfg (feature = \"x\")]").count(), 2);
    let out = ok(
        quote!(),
        quote!(impl a::Flow { #[run] async fn run(ctx: WorkflowContext<Self>) -> R { x } }),
    );
    assert!(out.contains("\"Flow\""));
}

#[test]
fn missing_and_extra_runs() {
    let messages = errors(quote!(), quote!(impl W { async fn run() {} }));
    assert_eq!(messages.len(), 1);
    assert!(messages[0].starts_with(NEEDS_ONE_RUN));
    let messages = errors(
        quote!(),
        quote! {
            impl W {
                #[run] async fn a(ctx: WorkflowContext<Self>) -> R { x }
                #[run] async fn b(ctx: WorkflowContext<Self>) -> R { x }
                #[run] #[run] const C: u8 = 0;
            }
        },
    );
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].starts_with("#[run] goes on a function"));
    assert!(messages[2].ends_with("but `a` is already marked #[run]"));
}

#[test]
fn block_and_run_errors_are_combined() {
    let messages = errors(
        quote!(name = 1),
        quote! {
            impl<T> W<T> {
                #[run(x)] fn run(&self) -> R { x }
            }
        },
    );
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert!(messages[0].starts_with("`name` must be a string literal"));
    assert!(messages[1].contains("cannot be generic"));
    assert_eq!(messages[2], "#[run] takes no arguments");
    assert!(messages[3].starts_with("#[run] requires an `async fn`"));
    assert_eq!(messages[4], RUN_NEEDS_CONTEXT);
}

#[test]
fn trait_impl_reports_only_the_block() {
    let item = quote!(impl Trait for W { #[run] fn run(&self) {} });
    let messages = errors(quote!(), item.clone());
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].contains("not on a trait impl"));
    let out = expand(quote!(), item).to_string();
    assert!(
        out.starts_with("impl Trait for W { fn run (& self) { } }"),
        "{out}"
    );
}

#[test]
fn not_an_impl_block() {
    let messages = errors(
        quote!(),
        quote!(
            #[derive(Default)]
            pub struct W;
        ),
    );
    assert!(
        messages[0].contains("not on the type definition"),
        "{messages:?}"
    );
    let messages = errors(
        quote!(),
        quote!(
            fn f() {}
        ),
    );
    assert!(messages[0].starts_with("#[workflow] goes on an `impl` block"));
}

#[test]
fn errors_keep_the_item_without_markers() {
    let out = expand(quote!(), quote!(impl W { #[run] fn run() {} })).to_string();
    assert!(out.starts_with("impl W { fn run () { } }"), "{out}");
    assert!(out.contains("compile_error"));
}

#[test]
fn run_alone_is_a_no_op() {
    let item = quote!(
        async fn run() {}
    );
    assert_eq!(
        expand_run(quote!(), item.clone()).to_string(),
        item.to_string()
    );
    let out = expand_run(quote!(x), item).to_string();
    assert!(out.contains("takes no arguments"), "{out}");
}
