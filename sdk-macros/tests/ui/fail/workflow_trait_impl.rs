use chronicle::prelude::*;

#[derive(Default)]
pub struct HelloWorkflow;

pub trait Greets {
    fn greet();
}

#[workflow]
impl Greets for HelloWorkflow {
    #[run]
    fn greet() {}
}

fn main() {}
