use chronicle::prelude::*;

#[derive(Default)]
pub struct Stamp;

#[workflow]
impl Stamp {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        let now = std::time::SystemTime::now();
        Ok(now.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs())
    }
}

fn main() {}
