use chronicle::prelude::*;

#[derive(Default)]
pub struct Configured;

#[workflow]
impl Configured {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(std::env::var("REGION").unwrap_or_default())
    }
}

fn main() {}
