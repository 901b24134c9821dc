use chronicle::prelude::*;

#[workflow]
#[derive(Default)]
pub struct HelloWorkflow;

fn main() {}
