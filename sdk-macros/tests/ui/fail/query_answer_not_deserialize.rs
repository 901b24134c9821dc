use chronicle::prelude::*;
use serde::Serialize;

#[derive(Default)]
pub struct Approval {
    pub approved_by: Option<String>,
}

/// Encodable, as the handler needs, but a client cannot decode it.
#[derive(Serialize)]
pub struct Status {
    pub approved: bool,
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.approved_by.is_some()).await?;
        Ok(ctx.state(|s| s.approved_by.clone().unwrap_or_default()))
    }

    #[query]
    pub fn status(&self) -> Status {
        Status {
            approved: self.approved_by.is_some(),
        }
    }
}

pub async fn status(client: &Client) -> Result<bool, chronicle::client::ClientError> {
    let handle = client.handle::<Approval>("approval-1");
    let status = handle.query(Approval::status, ()).await?;
    Ok(status.approved)
}

fn main() {}
