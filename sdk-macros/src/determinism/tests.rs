//! Unit tests of `determinism.rs`.
use super::*;
use quote::quote;

/// Checks an impl block; the rewritten block and the error messages.
fn run(item: TokenStream) -> (String, Vec<String>) {
    let mut item: ItemImpl = syn::parse2(item).unwrap();
    let mut errors = Errors::new();
    check(&mut item, &crate::paths::Runtime::default(), &mut errors);
    let messages = match errors.finish() {
        Ok(()) => Vec::new(),
        Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
    };
    (item.to_token_stream().to_string(), messages)
}

/// Each line: a word of the expected alternative (`-`: not reported), then paths.
const CASES: &str = "
    ctx.now() std::time::SystemTime::now SystemTime::now time::Instant::now Local::now
    ctx.now() chrono::Utc::now time::OffsetDateTime::now_utc
    ctx.sleep tokio::time::sleep std::thread::sleep tokio::time::interval
    join! tokio::spawn tokio::task::spawn_blocking spawn_local std::thread::spawn
    join! std::thread::Builder::new
    ctx.random() rand::random rand::thread_rng rand::rngs::OsRng OsRng::default
    ctx.random() fastrand::u32 getrandom::fill
    ctx.uuid() uuid::Uuid::new_v4 Uuid::now_v7
    configuration std::env::var env::current_dir
    I/O std::fs::read_to_string tokio::fs::File::open File::create OpenOptions::new
    I/O std::fs::OpenOptions::new tokio::net::TcpStream::connect reqwest::get
    - now sleep spawn random Self::now Uuid::parse_str Uuid::new_v5 Duration::from_secs
    - fs reqwest my::SystemTime::nowish env::set_var";

#[test]
fn paths_match_by_trailing_segments() {
    for line in CASES.lines().filter(|line| !line.trim().is_empty()) {
        let mut words = line.split_whitespace();
        let expected = words.next().unwrap();
        for path in words {
            let segments: Vec<String> = path.split("::").map(str::to_string).collect();
            match classify(&segments) {
                Some(rule) => assert!(rule.alternative.contains(expected), "{path}"),
                None => assert_eq!(expected, "-", "{path}"),
            }
        }
    }
}

#[test]
fn qualified_paths_and_values() {
    let path: ExprPath = syn::parse_quote!(<std::time::SystemTime>::now);
    assert_eq!(segments(&path), ["std", "time", "SystemTime", "now"]);
    let path: ExprPath = syn::parse_quote!(<Uuid as Gen>::new_v4);
    assert_eq!(segments(&path), ["Uuid", "new_v4"]);
    let (_, messages) = run(quote! {
        impl W {
            fn f(&self) {
                let now = SystemTime::now;
                let ids: Vec<_> = (0..3).map(|_| uuid::Uuid::new_v4()).collect();
            }
        }
    });
    assert_eq!(messages.len(), 2, "{messages:#?}");
    assert!(messages[0].starts_with("`SystemTime::now` reads the wall clock"));
    assert!(messages[0].ends_with("use `ctx.now()` (workflow time, the same on replay)"));
    assert!(messages[1].starts_with("`uuid::Uuid::new_v4` generates"));
}

#[test]
fn select_needs_biased() {
    assert!(starts_biased(&quote!(biased; _ = a => {})));
    assert!(!starts_biased(&quote!(_ = a => {})));
    assert!(!starts_biased(&quote!(biased _ = a => {})));
    let (_, messages) = run(quote! {
        impl W {
            async fn run(ctx: C) {
                tokio::select! { biased; _ = a => {}, _ = b => {} }
                tokio::select! { _ = a => {}, _ = b => {} }
                let x = select! { _ = a => 1, _ = b => 2 };
                futures::select! { _ = a => {} }
                futures::join!(a, b);
            }
        }
    });
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("add `biased;` as its first line"));
    assert!(messages[2].contains("futures::select_biased!"));
}

#[test]
fn opt_out_turns_checks_off_and_is_removed() {
    let (out, messages) = run(quote! {
        impl W {
            #[nondeterministic(reason = "logging only")]
            fn log(&self) { let t = SystemTime::now(); for x in &self.map {} }
            fn f(&self) {
                #[nondeterministic(reason = "debug timing")]
                let started = Instant::now();
                #[nondeterministic(reason = "sum of integers")]
                for x in self.map.values() { total += x; }
                #[nondeterministic(reason = "the env is fixed")]
                std::env::var("A");
                let late = Instant::now();
            }
        }
    });
    assert_eq!(messages.len(), 1, "{messages:#?}");
    assert!(messages[0].starts_with("`Instant::now`"));
    assert!(!out.contains("nondeterministic"), "{out}");
    assert!(!out.contains("require_ordered"), "{out}");
}

#[test]
fn opt_out_needs_a_reason() {
    let (out, messages) = run(quote! {
        impl W {
            #[nondeterministic]
            fn a(&self) {}
            #[nondeterministic(reason = " ")]
            fn b(&self) {}
            fn c(&self) {
                #[nondeterministic(because = "x")]
                let a = 1;
                #[nondeterministic = "x"]
                let b = 2;
                #[nondeterministic()]
                let c = 3;
            }
        }
    });
    assert_eq!(messages.len(), 5, "{messages:#?}");
    assert!(messages[0].starts_with("#[nondeterministic] turns the workflow's"));
    assert!(messages[1].starts_with("the reason of #[nondeterministic] is empty"));
    assert!(messages[2].starts_with("#[nondeterministic] takes only a `reason`"));
    assert!(messages[3].starts_with("#[nondeterministic] turns the workflow's"));
    assert!(messages[4].starts_with("#[nondeterministic] needs a reason"));
    assert!(!out.contains("nondeterministic"), "{out}");
}

#[test]
fn iteration_is_wrapped_once() {
    let (out, messages) = run(quote! {
        impl W {
            fn f(&mut self) {
                for (k, v) in &self.map {}
                for x in self.items.iter_mut() {}
                let n = self.map.values().count();
                let all = self.map.values().all(|v| *v > 0);
                let v: Vec<_> = self.map.keys().cloned().collect();
                let s = format!("{:?}", self.map.iter());
            }
            const fn g() { let n = X.len(); }
        }
    });
    assert!(messages.is_empty(), "{messages:#?}");
    // The `for` over `&self.map`, `iter_mut()` (not again for its loop), and `keys()`.
    assert_eq!(out.matches("require_ordered").count(), 3, "{out}");
    assert!(out.contains("match & self . map {"), "{out}");
    assert!(out.contains("match self . items . iter_mut () {"), "{out}");
    assert!(out.contains("match self . map . keys () {"), "{out}");
    assert!(out.contains("self . map . values () . count ()"), "{out}");
}

#[test]
fn errors_keep_the_whole_expansion() {
    let out = crate::workflow::expand(
        TokenStream::new(),
        quote! {
            impl W {
                #[run]
                async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
                    let t = std::time::SystemTime::now();
                    Ok(())
                }
            }
        },
    )
    .to_string();
    assert!(out.contains("WorkflowDefinition for W"), "{out}");
    assert!(out.contains("compile_error"), "{out}");
}

#[test]
fn statement_position_keeps_parsing() {
    let (out, _) = run(quote! {
        impl W {
            fn f(&mut self) {
                self.items.iter().for_each(|x| drop(x));
            }
        }
    });
    let reparsed: syn::Result<ItemImpl> = syn::parse_str(&out);
    assert!(reparsed.is_ok(), "{out}");
    assert!(out.contains("(match self . items . iter () {"), "{out}");
}

#[test]
fn collecting_then_sorting_in_the_next_statement_is_not_checked() {
    let checks = |body: TokenStream| {
        let (out, _) = run(quote!(impl W { fn f(&self) { #body } }));
        out.matches("require_ordered").count()
    };
    assert_eq!(
        checks(quote! { let mut v: Vec<_> = m.iter().collect(); v.sort(); }),
        0
    );
    assert_eq!(
        checks(
            quote! { let mut v = m.values().map(|x| x + 1).collect::<Vec<_>>(); v.sort_by_key(|x| *x); }
        ),
        0
    );
    assert_eq!(
        checks(
            quote! { let mut v: Vec<_> = ctx.state(|s| s.m.keys().cloned().collect()); v.sort(); }
        ),
        0
    );
    // Not sorted, sorted later, or another binding sorted: still checked.
    assert_eq!(checks(quote! { let v: Vec<_> = m.iter().collect(); }), 1);
    assert_eq!(
        checks(quote! { let mut v: Vec<_> = m.iter().collect(); log(&v); v.sort(); }),
        1
    );
    assert_eq!(
        checks(quote! { let mut v: Vec<_> = m.iter().collect(); w.sort(); }),
        1
    );
    // Iteration inside the chain's arguments is still checked.
    assert_eq!(
        checks(
            quote! { let mut v: Vec<_> = m.iter().map(|x| n.iter().count() + x).collect(); v.sort(); }
        ),
        0
    );
    assert_eq!(
        checks(
            quote! { let mut v: Vec<_> = m.iter().map(|x| { for y in n.values() {} x }).collect(); v.sort(); }
        ),
        1
    );
}
