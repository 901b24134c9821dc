use chronicle::prelude::*;

#[activity]
pub async fn greet(name: String, _ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
