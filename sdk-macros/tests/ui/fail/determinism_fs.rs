use chronicle::prelude::*;

#[derive(Default)]
pub struct Reader;

#[workflow]
impl Reader {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>, path: String) -> WorkflowResult<String> {
        Ok(std::fs::read_to_string(path).unwrap_or_default())
    }
}

fn main() {}
