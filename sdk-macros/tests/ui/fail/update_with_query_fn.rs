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

    #[query]
    pub fn due(&self) -> u64 {
        self.due
    }
}

async fn call(handle: chronicle::WorkflowHandle<Invoice>) {
    let _ = handle.update(Invoice::due, ()).await;
}

fn main() {
    let _ = call;
}
