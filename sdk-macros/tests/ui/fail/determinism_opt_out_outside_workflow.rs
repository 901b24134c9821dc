//! `#[nondeterministic]` outside a `#[workflow]` impl block, where nothing reads it.
pub fn started() -> std::time::Instant {
    #[nondeterministic(reason = "only logged")]
    let started = std::time::Instant::now();
    started
}

fn main() {}
