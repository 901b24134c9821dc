use chronicle::prelude::*;

pub struct Greeter;

impl Greeter {
    #[activity]
    pub async fn greet(&self, name: String) -> Result<String, ActivityError> {
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
