use chronicle::prelude::*;

#[derive(Default)]
pub struct Ticket;

#[workflow]
impl Ticket {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(uuid::Uuid::new_v4().to_string())
    }
}

fn main() {}
