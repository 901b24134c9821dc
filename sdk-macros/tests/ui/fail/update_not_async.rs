use chronicle::prelude::*;

#[derive(Default)]
pub struct Invoice {
    pub due: u64,
}

#[workflow]
impl Invoice {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u64> {
        Ok(0)
    }

    #[update]
    pub fn discount(ctx: WorkflowContext<Self>, percent: u64) -> WorkflowResult<u64> {
        Ok(ctx.update(|s| s.due - percent))
    }
}

fn main() {}
