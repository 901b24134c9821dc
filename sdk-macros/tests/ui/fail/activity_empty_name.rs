use chronicle::prelude::*;

#[activity(name = "")]
pub async fn greet(name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
