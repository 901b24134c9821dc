//! A child workflow started with an input of the wrong type.
use chronicle::prelude::*;

#[derive(Default)]
pub struct Child;

#[workflow]
impl Child {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        Ok(name)
    }
}

#[derive(Default)]
pub struct Parent;

#[workflow]
impl Parent {
    #[run]
    pub async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(ctx.child_workflow(Child::run, 42u32).await?)
    }
}

fn main() {}
