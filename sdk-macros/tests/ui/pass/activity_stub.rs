//! A body-less activity: implemented by a worker in another language, called from Rust.
use chronicle::prelude::*;
use chronicle::{ActivityDefinition, WorkflowDefinition};

/// Greets, in Python.
#[activity(name = "py_greet")]
pub async fn py_greet(ctx: ActivityContext, name: String) -> Result<String, ActivityError>;

#[activity(name = "py_count")]
async fn count_words(text: String, separator: char) -> Result<usize, ActivityError>;

#[derive(Default)]
struct GreetWorkflow;

#[workflow]
impl GreetWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<usize> {
        let greeting = ctx.activity(py_greet, name).await?;
        Ok(ctx.activity(count_words, (greeting, ' ')).await?)
    }
}

fn main() {
    assert_eq!(<py_greet as ActivityDefinition>::NAME, "py_greet");
    assert_eq!(<count_words as ActivityDefinition>::NAME, "py_count");
    assert_eq!(<GreetWorkflow as WorkflowDefinition>::NAME, "GreetWorkflow");
    let payloads = <py_greet as ActivityDefinition>::encode_input(&"Ada".to_string()).unwrap();
    assert_eq!(payloads.len(), 1);
    assert_eq!(
        <py_greet as ActivityDefinition>::decode_input(payloads).unwrap(),
        "Ada"
    );
}
