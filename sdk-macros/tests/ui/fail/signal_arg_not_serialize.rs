use chronicle::prelude::*;
use serde::Deserialize;

#[derive(Default)]
pub struct Approval {
    pub approved_by: Option<String>,
}

/// Decodable, as the handler needs, but a client cannot encode it.
#[derive(Deserialize)]
pub struct Approver {
    pub name: String,
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.approved_by.is_some()).await?;
        Ok(ctx.state(|s| s.approved_by.clone().unwrap_or_default()))
    }

    #[signal]
    pub fn approve(&mut self, by: Approver) {
        self.approved_by = Some(by.name);
    }
}

pub async fn approve(client: &Client) -> Result<(), chronicle::client::ClientError> {
    let handle = client.handle::<Approval>("approval-1");
    let by = Approver {
        name: "ada".to_string(),
    };
    handle.signal(Approval::approve, by).await
}

fn main() {}
