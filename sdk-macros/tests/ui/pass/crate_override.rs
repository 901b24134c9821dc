//! `crate = "..."`: generated code finds the runtime through another path, as for a crate that
//! re-exports Chronicle (here a module standing in for one).
mod facade {
    pub use chronicle;
}

use facade::chronicle::prelude::{ActivityContext, ActivityError, WorkflowContext, WorkflowResult};

#[facade::chronicle::activity(crate = "crate::facade::chronicle")]
async fn greet(_ctx: ActivityContext, name: String) -> Result<String, ActivityError> {
    Ok(format!("Hello, {name}!"))
}

#[derive(Default)]
pub struct Hello {
    greeted: Vec<String>,
}

#[facade::chronicle::workflow(crate = "crate::facade::chronicle")]
impl Hello {
    #[facade::chronicle::run]
    pub async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let greeting = ctx.activity(greet, name).await?;
        for earlier in ctx.state(|s| s.greeted.clone()) {
            let _ = earlier;
        }
        Ok(greeting)
    }

    #[facade::chronicle::signal]
    pub fn greeted(&mut self, name: String) {
        self.greeted.push(name);
    }
}

fn main() {
    use facade::chronicle::WorkflowDefinition;
    assert_eq!(<Hello as WorkflowDefinition>::SIGNALS, ["greeted"]);
}
