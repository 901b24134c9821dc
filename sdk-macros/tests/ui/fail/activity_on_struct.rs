use chronicle::prelude::*;

#[activity]
pub struct Greet {
    pub name: String,
}

fn main() {}
