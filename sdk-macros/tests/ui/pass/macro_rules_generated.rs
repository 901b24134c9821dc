//! Activities and workflows written by a `macro_rules!` macro, with types from its caller:
//! the generated locals must resolve whichever expansion the spans come from.
use chronicle::prelude::*;
use chronicle::{ActivityDefinition, WorkflowDefinition};

macro_rules! echo_activity {
    ($name:ident, $arg:ty, $ret:ty) => {
        #[activity]
        pub async fn $name(_ctx: ActivityContext, value: $arg) -> $ret {
            Ok(value)
        }
    };
}

macro_rules! echo_workflow {
    ($workflow:ident, $arg:ty, $ret:ty) => {
        #[derive(Default)]
        pub struct $workflow;

        #[workflow]
        impl $workflow {
            #[run]
            pub async fn run(_ctx: WorkflowContext<Self>, value: $arg, _n: u8) -> $ret {
                Ok(value)
            }
        }
    };
}

echo_activity!(echo_text, String, Result<String, ActivityError>);
echo_workflow!(EchoWorkflow, Vec<u32>, WorkflowResult<Vec<u32>>);

fn main() {
    assert_eq!(<echo_text as ActivityDefinition>::NAME, "echo_text");
    assert_eq!(<EchoWorkflow as WorkflowDefinition>::NAME, "EchoWorkflow");
    let payloads = <EchoWorkflow as WorkflowDefinition>::encode_input(&(vec![1, 2], 3)).unwrap();
    let input = <EchoWorkflow as WorkflowDefinition>::decode_input(payloads).unwrap();
    assert_eq!(input, (vec![1, 2], 3));
}
