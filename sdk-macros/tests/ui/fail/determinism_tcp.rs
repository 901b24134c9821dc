use chronicle::prelude::*;

#[derive(Default)]
pub struct Caller;

#[workflow]
impl Caller {
    #[run]
    pub async fn run(_ctx: WorkflowContext<Self>) -> WorkflowResult<bool> {
        let stream = std::net::TcpStream::connect("127.0.0.1:7233");
        Ok(stream.is_ok())
    }
}

fn main() {}
