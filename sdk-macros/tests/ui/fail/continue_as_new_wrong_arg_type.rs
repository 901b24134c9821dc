//! `continue_as_new` with an input of the wrong type, and a forgotten `return Err(..)`.
use chronicle::prelude::*;

#[derive(Default)]
pub struct Counter;

#[workflow]
impl Counter {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, remaining: u32) -> WorkflowResult<()> {
        if remaining > 0 {
            return Err(ctx.continue_as_new(Self::run, "one less".to_string()));
        }
        Ok(())
    }
}

fn main() {}
