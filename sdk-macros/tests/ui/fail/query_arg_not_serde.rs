use chronicle::prelude::*;

#[derive(Default)]
pub struct Approval {
    pub approved_by: Option<String>,
}

pub struct Candidate {
    pub name: String,
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.approved_by.is_some()).await?;
        Ok(ctx.state(|s| s.approved_by.clone().unwrap_or_default()))
    }

    #[query]
    pub fn approved_by(&self, candidate: Candidate) -> bool {
        self.approved_by.as_deref() == Some(candidate.name.as_str())
    }
}

fn main() {}
