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
    pub fn approve(&mut self, by: String) {
        self.approved_by = Some(by);
    }

    #[query]
    pub fn status(&self) -> String {
        match &self.approved_by {
            Some(by) => format!("approved by {by}"),
            None => "waiting".to_string(),
        }
    }

    #[query]
    pub fn approved_by(&self, name: String) -> bool {
        self.approved_by.as_deref() == Some(name.as_str())
    }
}

pub async fn approved(client: &Client) -> Result<bool, chronicle::client::ClientError> {
    let handle = client.handle::<Approval>("approval-1");
    handle.query(Approval::approve, "ada".to_string()).await
}

fn main() {}
