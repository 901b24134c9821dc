use chronicle::prelude::*;

#[activity]
pub async fn echo<T: Clone>(value: T) -> Result<T, ActivityError> {
    Ok(value)
}

fn main() {}
