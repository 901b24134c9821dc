use chronicle::prelude::*;

#[derive(Default)]
pub struct Dice;

#[workflow]
impl Dice {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u8> {
        Ok(rand::random::<u8>() % 6 + 1)
    }
}

fn main() {}
