//! Every problem is reported at once, not one per compilation.
use chronicle::prelude::*;

#[activity(name = 1)]
pub fn greet<T>(greeting: &str, name: T) {
    let _ = (greeting, name);
}

fn main() {}
