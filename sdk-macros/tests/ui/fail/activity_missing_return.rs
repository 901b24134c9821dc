use chronicle::prelude::*;

#[activity]
pub async fn notify(_ctx: ActivityContext, message: String) {
    println!("{message}");
}

fn main() {}
