//! Shared plumbing for the example binaries: logging, connecting (starting a local dev server
//! when none is running), and the `worker` / `start` / both-in-one-process subcommands.

pub mod encryption;
pub mod hello;
pub mod invoice;
pub mod invoice_batch;
pub mod onboarding;

use chronicle::testing::{connect_or_start_dev_server, DevServer};
use chronicle::{Client, Worker};
use std::future::Future;

/// Logs to stderr; `RUST_LOG` overrides the default level (warn, info for the examples).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Connects to `TEMPORAL_ADDRESS` (default 127.0.0.1:7233), starting a local dev server when
/// nothing answers there. Keep the returned server alive as long as the client.
pub async fn connect() -> anyhow::Result<(Client, Option<DevServer>)> {
    let (options, server) = connect_or_start_dev_server().await?;
    if let Some(server) = &server {
        eprintln!(
            "(no Temporal server at the default address: started a dev server at {})",
            server.address()
        );
    }
    let client = Client::connect(options).await?;
    Ok((client, server))
}

/// A unique-enough workflow id for one run of an example.
pub fn workflow_id(prefix: &str) -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    format!("{prefix}-{millis}")
}

/// Runs `body` while `worker` runs in the same process, then stops the worker. SIGTERM or
/// SIGINT stops both, after the worker drained.
pub async fn with_worker<T>(
    worker: Worker,
    body: impl Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let shutdown = worker.shutdown_handle();
    let mut running = tokio::spawn(worker.run_until_signal());
    tokio::select! {
        outcome = body => {
            shutdown.shutdown();
            running.await??;
            outcome
        }
        stopped = &mut running => {
            stopped??;
            anyhow::bail!("stopped by a signal before the example finished")
        }
    }
}

/// Runs an example's command line: `worker` runs the worker until SIGTERM or ctrl-c, `start [ARGS]` runs
/// the starter, and no subcommand runs both in one process and stops the worker afterwards.
pub async fn run_example<S, Fut>(
    make_worker: impl Fn(&Client) -> Worker,
    start: S,
) -> anyhow::Result<()>
where
    S: FnOnce(Client, Vec<String>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    init_tracing();
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let command = if args.is_empty() {
        String::new()
    } else {
        args.remove(0)
    };
    let (client, _server) = connect().await?;
    match command.as_str() {
        "worker" => {
            eprintln!("worker running; ctrl-c or SIGTERM to stop");
            make_worker(&client).run_until_signal().await?;
        }
        "start" => start(client, args).await?,
        "" => with_worker(make_worker(&client), start(client, args)).await?,
        other => {
            anyhow::bail!("unknown subcommand {other:?}: expected `worker`, `start`, or nothing")
        }
    }
    Ok(())
}
