use chronicle::prelude::*;
use std::time::Instant;

#[derive(Default)]
pub struct Timed;

#[workflow]
impl Timed {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        let started = Instant::now();
        ctx.sleep(Duration::from_secs(1)).await?;
        Ok(started.elapsed().as_secs())
    }
}

fn main() {}
