//! `#[nondeterministic]` with a key other than `reason`.
use chronicle::prelude::*;

#[derive(Default)]
pub struct Excused;

#[workflow]
impl Excused {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        #[nondeterministic(because = "only logged")]
        let started = std::time::Instant::now();
        Ok(started.elapsed().as_secs())
    }
}

fn main() {}
