use chronicle::prelude::*;

#[derive(Default)]
pub struct Threaded;

#[workflow]
impl Threaded {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<u32> {
        let worker = std::thread::spawn(|| 6 * 7);
        Ok(worker.join().unwrap_or_default())
    }
}

fn main() {}
