//! A worker process for the shutdown tests: `slow_worker ADDRESS TASK_QUEUE GRACE_MILLIS`.
//!
//! Serves `SlowWorkflow` until SIGTERM or SIGINT, drains with the given grace period, and exits
//! 0 once drained. Prints `READY` once it is polling and `IDENTITY <identity>`.

use chronicle::prelude::*;
use chronicle_tests::workloads::slow_worker;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [address, task_queue, grace_millis] = args.as_slice() else {
        anyhow::bail!("usage: slow_worker ADDRESS TASK_QUEUE GRACE_MILLIS");
    };
    let grace = Duration::from_millis(grace_millis.parse()?);
    let client = Client::connect(ConnectionOptions::default().address(address.clone())).await?;
    println!("IDENTITY {}", client.connection().identity());
    let worker = slow_worker(&client, task_queue).configure(|o| o.shutdown_timeout = grace);
    println!("READY");
    worker.run_until_signal().await?;
    println!("STOPPED");
    Ok(())
}
