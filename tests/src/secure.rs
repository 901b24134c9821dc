//! Secured endpoints in front of the dev server (which speaks only plaintext), for the TLS,
//! mutual-TLS and API-key tests: certificates the tests generate ([`TestPki`]) and a proxy on
//! 127.0.0.1 ([`SecureEndpoint`]).
//!
//! - [`Guard::None`] and [`Guard::ClientCert`]: TLS is terminated (rustls) and the bytes are
//!   forwarded to the dev server as they are; with a client CA, the handshake fails for a
//!   client without a certificate it signed.
//! - [`Guard::ApiKey`]: TLS is terminated and each HTTP/2 request is read (hyper) and checked
//!   for `authorization: Bearer <key>`; a request without it is answered `UNAUTHENTICATED`
//!   as a gRPC server would, the others are forwarded to the dev server.
//!
//! ```no_run
//! # async fn f() -> anyhow::Result<()> {
//! use chronicle_tests::secure::{Guard, SecureEndpoint, TestPki};
//! let pki = TestPki::new("test CA")?;
//! let server_cert = pki.issue_server(&["127.0.0.1"])?;
//! let upstream = chronicle_tests::server().await.address.clone();
//! let endpoint = SecureEndpoint::start(&upstream, &server_cert, Guard::None).await?;
//! println!("TLS at {}, trust {}", endpoint.address(), pki.ca_pem());
//! # Ok(()) }
//! ```

use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::{HeaderMap, Request, Response};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

/// A certificate authority made for one test, issuing server and client certificates.
pub struct TestPki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A certificate and its private key, in PEM.
#[derive(Clone)]
pub struct IssuedCert {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key.
    pub key_pem: String,
}

impl IssuedCert {
    /// Writes `<name>.pem` and `<name>.key` into `dir`; returns their paths.
    pub fn write(&self, dir: &Path, name: &str) -> anyhow::Result<(PathBuf, PathBuf)> {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem)?;
        std::fs::write(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}

impl TestPki {
    /// A new self-signed CA called `name`.
    pub fn new(name: &str) -> anyhow::Result<Self> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate()?;
        let ca_pem = params.self_signed(&key)?.pem();
        Ok(Self {
            ca_pem,
            issuer: Issuer::new(params, key),
        })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A server certificate valid for `names` (DNS names or IP addresses).
    pub fn issue_server(&self, names: &[&str]) -> anyhow::Result<IssuedCert> {
        self.issue(
            names,
            "chronicle test server",
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate for mutual TLS.
    pub fn issue_client(&self, name: &str) -> anyhow::Result<IssuedCert> {
        self.issue(&[], name, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(
        &self,
        names: &[&str],
        common_name: &str,
        usage: ExtendedKeyUsagePurpose,
    ) -> anyhow::Result<IssuedCert> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names)?;
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(IssuedCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }
}

/// What a [`SecureEndpoint`] demands besides TLS.
#[derive(Clone)]
pub enum Guard {
    /// Nothing: server TLS only.
    None,
    /// A client certificate signed by this CA (PEM): mutual TLS.
    ClientCert(String),
    /// `authorization: Bearer <this key>` on every request.
    ApiKey(String),
}

#[derive(Default)]
struct Observed {
    accepted: AtomicUsize,
    rejected: AtomicUsize,
    handshake_failures: AtomicUsize,
    last_headers: Mutex<Option<HeaderMap>>,
}

/// A TLS endpoint on 127.0.0.1 forwarding to a plaintext Temporal server; stops when dropped.
pub struct SecureEndpoint {
    address: String,
    observed: Arc<Observed>,
    task: JoinHandle<()>,
}

impl Drop for SecureEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SecureEndpoint {
    /// Listens on a free port, presenting `server` and demanding `guard`, and forwards to
    /// `upstream` (`host:port`).
    pub async fn start(upstream: &str, server: &IssuedCert, guard: Guard) -> anyhow::Result<Self> {
        let acceptor = TlsAcceptor::from(Arc::new(server_config(server, &guard)?));
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let observed = Arc::new(Observed::default());
        let upstream = upstream.to_string();
        let state = observed.clone();
        let task = tokio::spawn(async move {
            let http = HttpClient::builder(TokioExecutor::new())
                .http2_only(true)
                .build_http::<Incoming>();
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let upstream = upstream.clone();
                let state = state.clone();
                let guard = guard.clone();
                let http = http.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        state.handshake_failures.fetch_add(1, Ordering::SeqCst);
                        return;
                    };
                    match guard {
                        Guard::ApiKey(key) => serve_checked(tls, key, upstream, http, state).await,
                        Guard::None | Guard::ClientCert(_) => {
                            state.accepted.fetch_add(1, Ordering::SeqCst);
                            let Ok(mut backend) = TcpStream::connect(&upstream).await else {
                                return;
                            };
                            let mut tls = tls;
                            let _ = tokio::io::copy_bidirectional(&mut tls, &mut backend).await;
                        }
                    }
                });
            }
        });
        Ok(Self {
            address,
            observed,
            task,
        })
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Connections (TLS modes) or requests (API-key mode) let through.
    pub fn accepted(&self) -> usize {
        self.observed.accepted.load(Ordering::SeqCst)
    }

    /// Requests answered `UNAUTHENTICATED` (API-key mode).
    pub fn rejected(&self) -> usize {
        self.observed.rejected.load(Ordering::SeqCst)
    }

    /// TLS handshakes that failed (for example a client without an accepted certificate).
    pub fn handshake_failures(&self) -> usize {
        self.observed.handshake_failures.load(Ordering::SeqCst)
    }

    /// A header of the last request let through (API-key mode).
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = self.observed.last_headers.lock().ok()?;
        headers
            .as_ref()?
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    }
}

fn server_config(server: &IssuedCert, guard: &Guard) -> anyhow::Result<ServerConfig> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let certs = CertificateDer::pem_slice_iter(server.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()?;
    let key = PrivateKeyDer::from_pem_slice(server.key_pem.as_bytes())?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match guard {
        Guard::ClientCert(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(ca.as_bytes()) {
                roots.add(cert?)?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build()?;
            builder.with_client_cert_verifier(verifier)
        }
        Guard::None | Guard::ApiKey(_) => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key)?;
    // gRPC clients insist on HTTP/2 being negotiated.
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(config)
}

type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// Serves one TLS connection as HTTP/2, checking each request's API key.
async fn serve_checked(
    tls: tokio_rustls::server::TlsStream<TcpStream>,
    key: String,
    upstream: String,
    http: HttpClient<hyper_util::client::legacy::connect::HttpConnector, Incoming>,
    state: Arc<Observed>,
) {
    let expected = format!("Bearer {key}");
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        let authorized = request
            .headers()
            .get("authorization")
            .is_some_and(|value| value.as_bytes() == expected.as_bytes());
        let state = state.clone();
        let http = http.clone();
        let upstream = upstream.clone();
        async move {
            if !authorized {
                state.rejected.fetch_add(1, Ordering::SeqCst);
                return Ok::<_, Infallible>(grpc_error(16, "missing or wrong API key"));
            }
            state.accepted.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut last) = state.last_headers.lock() {
                *last = Some(request.headers().clone());
            }
            let path = request
                .uri()
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".to_string());
            match format!("http://{upstream}{path}").parse() {
                Ok(uri) => *request.uri_mut() = uri,
                Err(_) => return Ok(grpc_error(13, "bad request path")),
            }
            Ok(match http.request(request).await {
                Ok(response) => response.map(BodyExt::boxed),
                Err(_) => grpc_error(14, "upstream unavailable"),
            })
        }
    });
    let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(tls), service)
        .await;
}

/// A trailers-only gRPC answer with this status code.
fn grpc_error(code: u32, message: &str) -> Response<ProxyBody> {
    let body = Empty::<Bytes>::new()
        .map_err(|never| match never {})
        .boxed();
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        "content-type",
        hyper::header::HeaderValue::from_static("application/grpc"),
    );
    headers.insert("grpc-status", hyper::header::HeaderValue::from(code));
    if let Ok(message) = hyper::header::HeaderValue::from_str(message) {
        headers.insert("grpc-message", message);
    }
    response
}
