use chronicle::prelude::*;

#[derive(Default)]
pub struct EchoWorkflow<T>(std::marker::PhantomData<T>);

#[workflow]
impl<T: Default + 'static> EchoWorkflow<T> {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(name)
    }
}

fn main() {}
