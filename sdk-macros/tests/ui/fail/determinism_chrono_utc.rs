use chronicle::prelude::*;

#[derive(Default)]
pub struct Dated;

#[workflow]
impl Dated {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(chrono::Utc::now().to_rfc3339())
    }
}

fn main() {}
