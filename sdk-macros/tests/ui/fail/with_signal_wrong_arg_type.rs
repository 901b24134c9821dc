//! Signal-with-start with an argument of the wrong type for the handler.
use chronicle::prelude::*;

#[derive(Default)]
pub struct Approval {
    by: Option<String>,
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        ctx.wait_until(|s| s.by.is_some()).await?;
        Ok(())
    }

    #[signal]
    pub fn approve(&mut self, by: String) {
        self.by = Some(by);
    }
}

pub async fn start(client: &Client) {
    let _ = client
        .start(Approval::run, (), "approval-1", "approvals")
        .with_signal(Approval::approve, 7u8)
        .await;
}

fn main() {}
