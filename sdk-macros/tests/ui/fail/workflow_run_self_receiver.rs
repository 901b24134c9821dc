use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow {
    pub greeted: u32,
}

#[workflow]
impl HelloWorkflow {
    #[run]
    pub async fn run(&mut self, name: String) -> WorkflowResult<String> {
        self.greeted += 1;
        Ok(format!("Hello, {name}!"))
    }
}

fn main() {}
