use chronicle::prelude::*;

#[derive(Default)]
pub struct EchoWorkflow;

#[workflow]
impl EchoWorkflow {
    #[run]
    pub async fn run<T>(_ctx: WorkflowContext<Self>, value: T) -> WorkflowResult<T> {
        Ok(value)
    }
}

fn main() {}
