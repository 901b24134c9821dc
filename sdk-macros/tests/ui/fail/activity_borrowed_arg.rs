use chronicle::prelude::*;

#[activity]
pub async fn greet(_ctx: ActivityContext, name: &str) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
