use chronicle::prelude::*;

#[activity(nmae = "greet", timeout = 5)]
pub async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
