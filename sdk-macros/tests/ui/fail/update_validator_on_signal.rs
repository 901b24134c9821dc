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

    #[signal(validator = validate_discount)]
    pub fn discount(&mut self, percent: u64) {
        self.due -= percent;
    }
}

fn main() {}
