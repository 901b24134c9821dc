//! Determinism checks over the method bodies of a `#[workflow]` impl block.
//!
//! Workflow code is replayed from its history, on any worker, at any later time, and must take
//! the same decisions every time. [`check`] walks every method body and:
//!
//! - reports calls (or uses as values) of functions that differ between runs: the wall clock,
//!   local timers, spawned tasks, randomness, new ids, the environment, file and network I/O.
//!   Paths are matched by their trailing segments, so `std::time::SystemTime::now`,
//!   `time::SystemTime::now` and `SystemTime::now` are all caught;
//! - reports `select!` without a leading `biased;`;
//! - wraps each `for` loop's iterable and each `.iter()`, `.values()`, .. call in a type-based
//!   check (`chronicle::__private::require_ordered`) that fails to compile for a `HashMap`,
//!   a `HashSet` or their iterators, whose order differs between processes. The one exception
//!   is the fix the check's message suggests: collecting into a binding that the very next
//!   statement sorts (`let mut v: Vec<_> = m.iter().collect(); v.sort();`);
//! - removes the opt-out `#[nondeterministic(reason = "...")]` from methods, statements and
//!   expressions, turning the checks off inside them.
//!
//! Macro bodies other than `select!` are not looked into.

use crate::diag::Errors;
use crate::paths::Runtime;
use proc_macro2::{Delimiter, Group, Ident, Span, TokenStream, TokenTree};
use quote::{quote_spanned, ToTokens};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, ExprPath, ImplItem, ImplItemFn, ItemFn, ItemImpl, LitStr, Macro,
    Signature, Stmt,
};

/// The opt-out attribute.
const OPT_OUT: &str = "nondeterministic";

const OPT_OUT_USAGE: &str = "write `#[nondeterministic(reason = \"...\")]`, saying why this code \
    is safe to replay";

/// Functions that differ between runs: what they do, and what to use instead.
struct Rule {
    /// Path patterns, matched against a path's segments (generic arguments ignored): `A::B`
    /// matches paths ending with `A::B`; `A::*`, paths where `A` is followed by a segment.
    patterns: &'static str,
    problem: &'static str,
    alternative: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        patterns: "SystemTime::now Instant::now Utc::now Local::now OffsetDateTime::now_utc \
                   OffsetDateTime::now_local Timestamp::now Zoned::now",
        problem: "reads the wall clock, which has moved on when the workflow is replayed",
        alternative: "use `ctx.now()` (workflow time, the same on replay)",
    },
    Rule {
        patterns: "thread::sleep thread::sleep_ms time::sleep time::sleep_until sleep_until \
                   time::interval time::interval_at",
        problem: "waits on a local timer that the workflow's history does not record, so the wait \
                  is lost when the worker restarts, and redone when the workflow is replayed",
        alternative: "use `ctx.sleep(duration)`, a durable timer",
    },
    Rule {
        patterns: "tokio::spawn task::spawn spawn_blocking spawn_local block_in_place \
                   thread::spawn thread::scope thread::Builder::*",
        problem: "runs code outside the workflow's single-threaded, deterministic executor, so a \
                  replay can interleave it differently",
        alternative:
            "run concurrent workflow code with `futures::join!`/`futures::future::select` \
                      on the context's futures; put blocking or parallel work in an activity",
    },
    Rule {
        patterns: "rand::random rand::thread_rng thread_rng rand::rng OsRng OsRng::* from_entropy \
                   from_os_rng fastrand::* getrandom getrandom::*",
        problem: "draws different random values on every replay",
        alternative: "use `ctx.random()` (seeded per run, the same on replay)",
    },
    Rule {
        patterns: "Uuid::new_v4 Uuid::now_v1 Uuid::now_v6 Uuid::now_v7 Uuid::new_v7 Ulid::new",
        problem: "generates a different id on every replay",
        alternative: "use `ctx.uuid()`",
    },
    Rule {
        patterns: "env::var env::var_os env::vars env::vars_os env::args env::args_os \
                   env::current_dir env::current_exe env::temp_dir env::home_dir",
        problem: "reads the worker process's environment, which can differ on the worker that \
                  replays the workflow",
        alternative: "read configuration in an activity, or pass it in the workflow's input",
    },
    Rule {
        patterns: "fs::* File::open File::create File::create_new File::options OpenOptions::* \
                   TcpStream::connect TcpListener::bind UdpSocket::bind UnixStream::connect \
                   UnixListener::bind UnixDatagram::bind net::lookup_host io::stdin \
                   process::Command::* reqwest::*",
        problem: "does file or network I/O, whose result is not recorded in the workflow's \
                  history and can differ on replay",
        alternative: "do I/O in an activity",
    },
];

/// Methods that iterate over their receiver; their result is checked for a hash collection's
/// iterator.
const ITERATING_METHODS: &str = "iter iter_mut keys values values_mut into_iter drain into_keys \
    into_values union intersection difference symmetric_difference";

/// Methods whose answer does not depend on the order of the items: `map.values().any(..)` is
/// not reported.
const ORDER_INSENSITIVE: &[&str] = &["count", "len", "is_empty", "any", "all"];

/// Methods that put a collected `Vec` in a fixed order.
const SORTS: &[&str] = &[
    "sort",
    "sort_unstable",
    "sort_by",
    "sort_by_key",
    "sort_unstable_by",
    "sort_unstable_by_key",
    "sort_by_cached_key",
];

/// The `.collect()` call `expr` ends with: `expr` itself, or the body of the closure read
/// through `ctx.state(|s| ..collect())`.
fn collected(expr: &Expr) -> Option<&syn::ExprMethodCall> {
    match expr {
        Expr::MethodCall(call) if call.method == "collect" => Some(call),
        Expr::MethodCall(call) if call.method == "state" && call.args.len() == 1 => {
            match &call.args[0] {
                Expr::Closure(closure) => collected(&closure.body),
                _ => None,
            }
        }
        _ => None,
    }
}

/// [`collected`], mutably.
fn collected_mut(expr: &mut Expr) -> Option<&mut syn::ExprMethodCall> {
    collected(expr)?;
    let Expr::MethodCall(call) = expr else {
        return None;
    };
    if call.method == "collect" {
        return Some(call);
    }
    match call.args.first_mut() {
        Some(Expr::Closure(closure)) => collected_mut(&mut closure.body),
        _ => None,
    }
}

/// Whether `stmts[index]` is `let v = <..>.collect();` (or `let mut v: T = ..`) and the next
/// statement sorts `v`: then the order the items were collected in does not matter.
fn is_sorted_collect(stmts: &[Stmt], index: usize) -> bool {
    let Some(Stmt::Local(local)) = stmts.get(index) else {
        return false;
    };
    let pat = match &local.pat {
        syn::Pat::Type(typed) => &*typed.pat,
        pat => pat,
    };
    let syn::Pat::Ident(binding) = pat else {
        return false;
    };
    let collects = local
        .init
        .as_ref()
        .is_some_and(|init| init.diverge.is_none() && collected(&init.expr).is_some());
    let sorted_next = match stmts.get(index + 1) {
        Some(Stmt::Expr(Expr::MethodCall(call), Some(_))) => {
            SORTS.iter().any(|m| call.method == m)
                && matches!(&*call.receiver, Expr::Path(path)
                    if path.qself.is_none() && path.path.is_ident(&binding.ident))
        }
        _ => false,
    };
    collects && sorted_next
}

/// Checks every method of a `#[workflow]` impl block, reporting into `errors`, and rewrites the
/// bodies: iteration checks added, `#[nondeterministic]` attributes removed.
pub(crate) fn check(item: &mut ItemImpl, rt: &Runtime, errors: &mut Errors) {
    let mut walker = Walker {
        errors,
        rt,
        off: 0,
        in_const: 0,
    };
    for impl_item in &mut item.items {
        if let ImplItem::Fn(function) = impl_item {
            walker.visit_impl_item_fn_mut(function);
        }
    }
}

/// The rule a path, given as its segments, breaks.
fn classify(segments: &[String]) -> Option<&'static Rule> {
    let patterns = |rule: &&Rule| rule.patterns.split_whitespace();
    RULES
        .iter()
        .find(|rule| patterns(rule).any(|pattern| matches(pattern, segments)))
}

fn matches(pattern: &str, segments: &[String]) -> bool {
    let parts: Vec<&str> = pattern.split("::").collect();
    let same = |window: &[String]| window.iter().zip(&parts).all(|(s, p)| s == p);
    match parts.split_last() {
        Some((&"*", prefix)) => {
            segments.len() > prefix.len()
                && segments[..segments.len() - 1]
                    .windows(prefix.len())
                    .any(same)
        }
        _ => segments.len() >= parts.len() && same(&segments[segments.len() - parts.len()..]),
    }
}

/// The segments of a path expression; `<T>::f` and `<T as Tr>::f` count as `T::f`.
fn segments(path: &ExprPath) -> Vec<String> {
    let mut segments = Vec::new();
    let mut skip = 0;
    if let Some(qself) = &path.qself {
        if let syn::Type::Path(ty) = &*qself.ty {
            segments.extend(ty.path.segments.iter().map(|s| s.ident.to_string()));
        }
        skip = qself.position;
    }
    let rest = path.path.segments.iter().skip(skip);
    segments.extend(rest.map(|s| s.ident.to_string()));
    segments
}

/// Whether a `select!` body starts with `biased;`.
fn starts_biased(tokens: &TokenStream) -> bool {
    let mut tokens = tokens.clone().into_iter();
    match tokens.next() {
        Some(TokenTree::Ident(ident)) if ident == "biased" => {
            matches!(tokens.next(), Some(TokenTree::Punct(p)) if p.as_char() == ';')
        }
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::None => {
            starts_biased(&group.stream())
        }
        _ => false,
    }
}

/// Whether `expr` is `RECV.iter()` or another [`ITERATING_METHODS`] call.
fn is_iterating_call(expr: &Expr) -> bool {
    let Expr::MethodCall(call) = expr else {
        return false;
    };
    ITERATING_METHODS
        .split_whitespace()
        .any(|m| call.method == m)
}

/// `value`, checked to be no hash collection or iterator over one. The value goes through a
/// `match`, like in `dbg!`, so that its temporaries live as long as before; the check is
/// spanned at the user's expression, so that the error points there.
fn require_ordered(value: Expr, rt: &Runtime) -> Expr {
    let mut tokens = value.to_token_stream().into_iter();
    let first = tokens.next().map_or_else(Span::call_site, |t| t.span());
    let last = tokens.last().map_or(first, |t| t.span());
    // Located at the user's code, resolved like `macro_rules!`: the binding is invisible to the
    // user's code, and lints treat the wrapper as macro-generated.
    let start = Span::mixed_site().located_at(first);
    let end = Span::mixed_site().located_at(last);
    let binding = Ident::new("__chronicle_iterable", start);
    // At the attribute, so that "required by a bound introduced by this call" is not at the
    // user's expression too.
    let rt_attr = rt.at(Span::mixed_site());
    let require_ordered = quote_spanned!(Span::mixed_site()=> #rt_attr::require_ordered);
    let rt_user = rt.at(start);
    let mut args = Group::new(Delimiter::Parenthesis, TokenStream::new());
    args.set_span(end);
    let tokens = quote_spanned! {start=>
        match #value {
            #binding => {
                #[allow(unused_imports)]
                use #rt_user::{OrderedProbe as _, UnorderedProbe as _};
                #require_ordered((&#rt_user::Probe(&#binding)).probe #args);
                #binding
            }
        }
    };
    syn::parse2(tokens.clone()).unwrap_or(Expr::Verbatim(tokens))
}

/// `(match x { .. }).f()`: a checked receiver needs parentheses, lest a statement starting with
/// it end at the `match`'s closing brace.
fn parenthesize_leftmost(expr: &mut Expr) {
    let leftmost = match expr {
        Expr::MethodCall(e) => &mut e.receiver,
        Expr::Field(e) => &mut e.base,
        Expr::Try(e) => &mut e.expr,
        Expr::Await(e) => &mut e.base,
        Expr::Index(e) => &mut e.expr,
        _ => return,
    };
    if let Expr::Match(_) = **leftmost {
        let inner = std::mem::replace(&mut **leftmost, Expr::PLACEHOLDER);
        **leftmost = Expr::Paren(syn::ExprParen {
            attrs: Vec::new(),
            paren_token: Default::default(),
            expr: Box::new(inner),
        });
    }
}

/// The attributes of an expression, for the opt-out.
fn expr_attrs(expr: &mut Expr) -> Option<&mut Vec<Attribute>> {
    macro_rules! attrs {
        ($($variant:ident),*) => {
            match expr {
                $(Expr::$variant(e) => Some(&mut e.attrs),)*
                _ => None,
            }
        };
    }
    attrs!(
        Array, Assign, Async, Await, Binary, Block, Break, Call, Cast, Closure, Const, Continue,
        Field, ForLoop, Group, If, Index, Infer, Let, Lit, Loop, Macro, Match, MethodCall, Paren,
        Path, Range, RawAddr, Reference, Repeat, Return, Struct, Try, TryBlock, Tuple, Unary,
        Unsafe, While, Yield
    )
}

/// Validates an opt-out attribute: `#[nondeterministic(reason = "...")]`, reason not empty.
fn check_opt_out(attr: &Attribute, errors: &mut Errors) {
    if !matches!(attr.meta, syn::Meta::List(_)) {
        errors.spanned(
            attr,
            format!(
                "#[nondeterministic] turns the workflow's determinism checks off, so it needs \
                 a reason: {OPT_OUT_USAGE}"
            ),
        );
        return;
    }
    let mut reason: Option<LitStr> = None;
    let parsed = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("reason") {
            reason = Some(meta.value()?.parse()?);
            Ok(())
        } else {
            Err(meta.error(format!(
                "#[nondeterministic] takes only a `reason`: {OPT_OUT_USAGE}"
            )))
        }
    });
    match (parsed, reason) {
        (Err(error), _) => errors.push(error),
        (Ok(()), None) => errors.spanned(
            attr,
            format!("#[nondeterministic] needs a reason: {OPT_OUT_USAGE}"),
        ),
        (Ok(()), Some(reason)) if reason.value().trim().is_empty() => errors.spanned(
            &reason,
            format!("the reason of #[nondeterministic] is empty: {OPT_OUT_USAGE}"),
        ),
        (Ok(()), Some(_)) => {}
    }
}

struct Walker<'a> {
    errors: &'a mut Errors,
    /// Where the iteration check is found.
    rt: &'a Runtime,
    /// How many enclosing `#[nondeterministic]` items turn the checks off.
    off: usize,
    /// How many enclosing `const` contexts forbid adding the iteration check.
    in_const: usize,
}

impl Walker<'_> {
    fn active(&self) -> bool {
        self.off == 0
    }

    /// Removes and validates the opt-out attributes; whether there was one.
    fn take_opt_out(&mut self, attrs: &mut Vec<Attribute>) -> bool {
        let before = attrs.len();
        let errors = &mut *self.errors;
        attrs.retain(|attr| {
            let opt_out = attr.path().is_ident(OPT_OUT);
            if opt_out {
                check_opt_out(attr, errors);
            }
            !opt_out
        });
        attrs.len() != before
    }

    /// Runs `visit`, with the checks off if `off`.
    fn scoped(&mut self, off: bool, visit: impl FnOnce(&mut Self)) {
        self.off += usize::from(off);
        visit(self);
        self.off -= usize::from(off);
    }

    fn report_path(&mut self, path: &ExprPath) {
        let segments = segments(path);
        if let Some(rule) = classify(&segments) {
            let (problem, alternative) = (rule.problem, rule.alternative);
            let message = format!("`{}` {problem}: {alternative}", segments.join("::"));
            self.errors.spanned(path, message);
        }
    }

    /// `m.values().any(..)`: visits the parts, without checking the inner call.
    fn visit_order_insensitive(&mut self, expr: &mut Expr) -> bool {
        let Expr::MethodCall(call) = expr else {
            return false;
        };
        if !ORDER_INSENSITIVE.iter().any(|m| call.method == m) || !is_iterating_call(&call.receiver)
        {
            return false;
        }
        if let Expr::MethodCall(inner) = &mut *call.receiver {
            visit_mut::visit_expr_method_call_mut(self, inner);
        }
        for arg in &mut call.args {
            self.visit_expr_mut(arg);
        }
        true
    }

    fn visit_expr_inner(&mut self, expr: &mut Expr) {
        if self.visit_order_insensitive(expr) {
            return;
        }
        match expr {
            Expr::Path(path) if self.active() => self.report_path(path),
            Expr::ForLoop(for_loop) => {
                // `for x in m.values()` is checked at the call, below.
                let checked_below = is_iterating_call(&for_loop.expr);
                visit_mut::visit_expr_for_loop_mut(self, for_loop);
                if self.active() && self.in_const == 0 && !checked_below {
                    let iterable = std::mem::replace(&mut *for_loop.expr, Expr::PLACEHOLDER);
                    *for_loop.expr = require_ordered(iterable, self.rt);
                }
                return;
            }
            Expr::Const(_) => {
                self.in_const += 1;
                visit_mut::visit_expr_mut(self, expr);
                self.in_const -= 1;
                return;
            }
            _ => {}
        }
        visit_mut::visit_expr_mut(self, expr);
        parenthesize_leftmost(expr);
        if self.active() && self.in_const == 0 && is_iterating_call(expr) {
            let call = std::mem::replace(expr, Expr::PLACEHOLDER);
            *expr = require_ordered(call, self.rt);
        }
    }

    /// `let v = m.iter().map(..).collect();` followed by `v.sort()`: visits the statement
    /// without checking the chain's iterating call; everything else in it is checked as usual.
    fn visit_sorted_collect(&mut self, local: &mut syn::Local) {
        let off = self.take_opt_out(&mut local.attrs);
        self.scoped(off, |this| {
            let Some(init) = local.init.as_mut() else {
                return;
            };
            if let Expr::MethodCall(outer) = &mut *init.expr {
                if outer.method != "collect" {
                    // `ctx.state(|s| ..)`: the context is checked as usual.
                    this.visit_expr_mut(&mut outer.receiver);
                }
            }
            let Some(collect) = collected_mut(&mut init.expr) else {
                return;
            };
            for arg in &mut collect.args {
                this.visit_expr_mut(arg);
            }
            let mut link = &mut *collect.receiver;
            loop {
                if is_iterating_call(link) {
                    if let Expr::MethodCall(call) = link {
                        visit_mut::visit_expr_method_call_mut(this, call);
                    }
                    parenthesize_leftmost(link);
                    return;
                }
                match link {
                    Expr::MethodCall(adapter) => {
                        for arg in &mut adapter.args {
                            this.visit_expr_mut(arg);
                        }
                        link = &mut *adapter.receiver;
                    }
                    other => {
                        this.visit_expr_mut(other);
                        return;
                    }
                }
            }
        });
    }

    fn visit_fn(&mut self, attrs: &mut Vec<Attribute>, sig: &Signature, block: &mut Block) {
        let off = self.take_opt_out(attrs);
        let is_const = usize::from(sig.constness.is_some());
        self.in_const += is_const;
        self.scoped(off, |this| this.visit_block_mut(block));
        self.in_const -= is_const;
    }
}

impl VisitMut for Walker<'_> {
    fn visit_impl_item_fn_mut(&mut self, function: &mut ImplItemFn) {
        self.visit_fn(&mut function.attrs, &function.sig, &mut function.block);
    }

    fn visit_item_fn_mut(&mut self, function: &mut ItemFn) {
        self.visit_fn(&mut function.attrs, &function.sig, &mut function.block);
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        for index in 0..block.stmts.len() {
            if is_sorted_collect(&block.stmts, index) {
                if let Stmt::Local(local) = &mut block.stmts[index] {
                    self.visit_sorted_collect(local);
                }
            } else {
                self.visit_stmt_mut(&mut block.stmts[index]);
            }
        }
    }

    fn visit_stmt_mut(&mut self, stmt: &mut Stmt) {
        let attrs = match stmt {
            Stmt::Local(local) => Some(&mut local.attrs),
            Stmt::Macro(mac) => Some(&mut mac.attrs),
            Stmt::Expr(expr, _) => expr_attrs(expr),
            Stmt::Item(_) => None,
        };
        let off = attrs.is_some_and(|attrs| self.take_opt_out(attrs));
        self.scoped(off, |this| visit_mut::visit_stmt_mut(this, stmt));
    }

    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        let off = expr_attrs(expr).is_some_and(|attrs| self.take_opt_out(attrs));
        self.scoped(off, |this| this.visit_expr_inner(expr));
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        let is_select = mac
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "select");
        if !self.active() || !is_select || starts_biased(&mac.tokens) {
            return;
        }
        let from_futures = mac.path.segments.iter().any(|s| s.ident == "futures");
        let alternative = if from_futures {
            "use `futures::select_biased!`, which polls its branches in the order written, or \
             `futures::future::select`"
        } else {
            "add `biased;` as its first line so that branches are polled in a fixed order, or \
             use `futures::future::select`"
        };
        let path = mac.path.to_token_stream();
        let bang = mac.bang_token;
        self.errors.spanned(
            quote::quote!(#path #bang),
            format!(
                "`select!` polls its branches in random order, so a replay can take another \
                 branch than the first run: {alternative}"
            ),
        );
    }
}

#[cfg(test)]
mod tests;
