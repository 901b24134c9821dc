use chronicle::prelude::*;

#[activity(name = greet_v2)]
pub async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
