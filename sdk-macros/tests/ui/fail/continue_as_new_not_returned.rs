//! `continue_as_new` whose error is not returned: `#[must_use]` warns, denied here.
#![deny(unused_must_use)]
use chronicle::prelude::*;

#[derive(Default)]
pub struct Counter;

#[workflow]
impl Counter {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>, remaining: u32) -> WorkflowResult<()> {
        if remaining > 0 {
            ctx.continue_as_new(Self::run, remaining - 1);
        }
        Ok(())
    }
}

fn main() {}
