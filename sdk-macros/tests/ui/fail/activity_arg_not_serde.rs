use chronicle::prelude::*;

pub struct Person {
    pub name: String,
}

#[activity]
pub async fn greet(person: Person) -> Result<String, ActivityError> {
    Ok(format!("Hello, {}!", person.name))
}

fn main() {}
