use chronicle::prelude::*;

#[activity]
pub async fn add(_ctx: ActivityContext, (a, b): (i64, i64)) -> Result<i64, ActivityError> {
    Ok(a + b)
}

fn main() {}
