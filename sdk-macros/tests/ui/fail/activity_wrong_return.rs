use chronicle::prelude::*;

#[activity]
pub async fn greet(name: String) -> String {
    format!("Hello, {name}!")
}

fn main() {}
