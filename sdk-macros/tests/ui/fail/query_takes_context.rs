use chronicle::prelude::*;

#[derive(Default)]
pub struct Approval {
    pub approved_by: Option<String>,
}

#[activity]
pub async fn send_reminder(to: String) -> Result<(), ActivityError> {
    println!("reminding {to}");
    Ok(())
}

#[workflow]
impl Approval {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.approved_by.is_some()).await?;
        Ok(ctx.state(|s| s.approved_by.clone().unwrap_or_default()))
    }

    /// Tries to schedule an activity from a query: queries cannot issue commands.
    #[query]
    pub fn approver(&self, ctx: WorkflowContext<Self>) -> Option<String> {
        let _reminder = ctx.activity(send_reminder, "boss".to_string()).start();
        self.approved_by.clone()
    }
}

fn main() {}
