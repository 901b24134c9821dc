//! The HTTP endpoint Prometheus scrapes: `GET /metrics` answers the registry in the text
//! format, rendered by the `prometheus` crate's encoder.
//!
//! One endpoint per address per process: workers naming the same address share it (the
//! registry is process-wide anyway). It runs on a thread of its own and lives until the process
//! ends, so it outlives the runtime that asked for it and a restarted worker does not find its
//! own port taken.

use super::metrics::registry;
use super::TelemetryError;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus::{Encoder, TextEncoder};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use tokio::net::TcpListener;

/// Addresses asked for → the address actually bound (they differ for port 0).
static SERVING: Mutex<Option<HashMap<SocketAddr, SocketAddr>>> = Mutex::new(None);

/// Serves the metrics of this process on `http://<address>/metrics` and returns the bound
/// address (useful with port 0). Serving the same address again returns the endpoint already
/// there.
///
/// ```no_run
/// # fn f() -> Result<(), chronicle_core::telemetry::TelemetryError> {
/// let bound = chronicle_core::telemetry::serve_prometheus("127.0.0.1:9464".parse().unwrap())?;
/// println!("scrape http://{bound}/metrics");
/// # Ok(()) }
/// ```
pub fn serve_prometheus(address: SocketAddr) -> Result<SocketAddr, TelemetryError> {
    if let Some(bound) = already_serving(address) {
        return Ok(bound);
    }
    let bind_error = |source| TelemetryError::PrometheusBind { address, source };
    let listener = std::net::TcpListener::bind(address).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    {
        let Ok(mut serving) = SERVING.lock() else {
            return Ok(bound);
        };
        let serving = serving.get_or_insert_with(HashMap::new);
        // Two workers starting at once: the first to get here serves, the other's listener
        // closes when dropped.
        if let Some(existing) = serving.get(&address) {
            return Ok(*existing);
        }
        serving.insert(address, bound);
        serving.insert(bound, bound);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(bind_error)?;
    std::thread::Builder::new()
        .name("chronicle-metrics".to_string())
        .spawn(move || {
            runtime.block_on(async move {
                match TcpListener::from_std(listener) {
                    Ok(listener) => accept_loop(listener).await,
                    Err(error) => tracing::error!(%error, "metrics endpoint could not start"),
                }
            })
        })
        .map_err(bind_error)?;
    tracing::info!(address = %bound, "serving Prometheus metrics on /metrics");
    Ok(bound)
}

fn already_serving(address: SocketAddr) -> Option<SocketAddr> {
    SERVING.lock().ok()?.as_ref()?.get(&address).copied()
}

async fn accept_loop(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors and the like: wait for the next connection.
                tracing::debug!(%error, "metrics endpoint could not accept a connection");
                continue;
            }
        };
        tokio::spawn(async move {
            let service = hyper::service::service_fn(|request| async move {
                Ok::<_, std::convert::Infallible>(answer(&request))
            });
            if let Err(error) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "metrics connection ended with an error");
            }
        });
    }
}

fn answer(request: &Request<Incoming>) -> Response<Full<Bytes>> {
    if request.method() != Method::GET || request.uri().path() != "/metrics" {
        return respond(
            StatusCode::NOT_FOUND,
            "text/plain",
            b"try /metrics\n".to_vec(),
        );
    }
    let encoder = TextEncoder::new();
    let mut body = Vec::new();
    match encoder.encode(&registry().gather(), &mut body) {
        Ok(()) => respond(StatusCode::OK, encoder.format_type(), body),
        Err(error) => respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain",
            format!("could not encode metrics: {error}\n").into_bytes(),
        ),
    }
}

fn respond(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = hyper::header::HeaderValue::from_str(content_type) {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(address: SocketAddr, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn serves_the_registry_once_per_address() {
        super::super::metrics::Metrics::global()
            .request
            .with_label_values(&["unit-test-ns", "GetSystemInfo"])
            .inc();
        let bound = serve_prometheus("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_ne!(bound.port(), 0);
        assert_eq!(serve_prometheus(bound).unwrap(), bound);

        let response = get(bound, "/metrics").await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response
            .contains(r#"temporal_request{namespace="unit-test-ns",operation="GetSystemInfo"} 1"#));
        assert!(get(bound, "/other").await.starts_with("HTTP/1.1 404"));
    }
}
