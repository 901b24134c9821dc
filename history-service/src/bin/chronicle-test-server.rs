//! `chronicle-test-server <port> [args]`: the embedded service with time skipping, started as
//! the Java test server is (SDK test environments run `exe <port> [extra args]`).

use chronicle_history_service::HistoryService;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let port = match args.next().map(|p| p.parse::<u16>()) {
        Some(Ok(port)) => port,
        _ => {
            eprintln!("usage: chronicle-test-server <port> [extra args are ignored]");
            return ExitCode::from(2);
        }
    };
    // Like the Java test server: skipping on, one lock held until a client releases it.
    let service = match HistoryService::builder()
        .time_skipping(true)
        .initial_time_skipping_locks(1)
        .port(port)
        .start()
        .await
    {
        Ok(service) => service,
        Err(error) => {
            eprintln!("chronicle-test-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("chronicle-test-server listening on {}", service.target());
    let _ = tokio::signal::ctrl_c().await;
    service.shutdown().await;
    ExitCode::SUCCESS
}
