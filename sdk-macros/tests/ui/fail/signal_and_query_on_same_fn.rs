use chronicle::prelude::*;

#[derive(Default)]
pub struct Approval {
    pub approved_by: Option<String>,
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.approved_by.is_some()).await?;
        Ok(ctx.state(|s| s.approved_by.clone().unwrap_or_default()))
    }

    #[signal]
    #[query]
    pub fn approve(&mut self, by: String) {
        self.approved_by = Some(by);
    }
}

fn main() {}
