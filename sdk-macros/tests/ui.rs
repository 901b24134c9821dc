//! Compile-time tests of the macros' expansions and error messages.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test -p chronicle-macros
//! --test ui`, then read every changed one: they are the messages users see.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
