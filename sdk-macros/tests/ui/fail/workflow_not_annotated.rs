//! A type registered as a workflow without a `#[workflow]` impl block.
use chronicle::prelude::*;

#[derive(Default)]
pub struct Plain;

impl Plain {
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<()> {
        Ok(())
    }
}

pub fn register(client: &Client) -> Worker {
    Worker::new(client, "plain").register_workflow::<Plain>()
}

fn main() {}
