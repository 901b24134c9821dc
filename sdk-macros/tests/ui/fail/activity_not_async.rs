use chronicle::prelude::*;

#[activity]
pub fn compose_greeting(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

fn main() {}
