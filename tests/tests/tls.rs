//! Connecting through TLS, mutual TLS and an API key, end to end: each test puts a secured
//! endpoint (tests/src/secure.rs, with certificates made here) in front of the dev server and
//! runs the hello workflow through it, then shows wrong or missing credentials fail clearly.

mod common;

use chronicle::prelude::*;
use chronicle_core::connection::{Tls, TlsOptions};
use chronicle_tests::secure::{Guard, IssuedCert, SecureEndpoint, TestPki};
use chronicle_tests::{unique_id, unique_task_queue};
use common::{compose_greeting, HelloWorkflow, RunningWorker, WAIT};
use std::path::PathBuf;
use std::time::Duration;

/// The dev server's address (plaintext; the endpoints forward to it).
async fn upstream() -> String {
    chronicle_tests::server().await.address.clone()
}

/// Options for `endpoint` with `tls`, and a short retry budget so failures come back fast.
fn options(endpoint: &SecureEndpoint, tls: TlsOptions) -> ConnectionOptions {
    let mut options = ConnectionOptions::default()
        .address(endpoint.address())
        .tls(tls);
    options.retry.max_attempts = 3;
    options
}

/// Runs the hello workflow with a worker of its own, both through `options`.
async fn greet(options: ConnectionOptions) -> anyhow::Result<String> {
    let client = Client::connect(options).await?;
    let queue = unique_task_queue("tls");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<HelloWorkflow>()
            .register_activity(compose_greeting),
    );
    let handle = client
        .start(
            HelloWorkflow::run,
            "TLS".to_string(),
            unique_id("tls"),
            &queue,
        )
        .await?;
    let greeting = tokio::time::timeout(WAIT, handle.result()).await??;
    worker.stop().await;
    Ok(greeting)
}

/// Connects and starts one workflow (no worker needed); the error, with its causes, if that
/// fails.
async fn first_call(options: ConnectionOptions) -> Result<(), String> {
    let client = Client::connect(options).await.map_err(|e| chain(&e))?;
    client
        .start(
            HelloWorkflow::run,
            "nobody".to_string(),
            unique_id("tls-denied"),
            unique_task_queue("tls-denied"),
        )
        .await
        .map_err(|e| chain(&e))?;
    Ok(())
}

/// An error and its sources, `: `-separated.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn assert_fails(outcome: Result<(), String>, expected: &[&str]) {
    let error = match outcome {
        Ok(()) => panic!("expected a failure mentioning {expected:?}, but the call succeeded"),
        Err(error) => error,
    };
    eprintln!("failed as expected: {error}");
    assert!(
        expected.iter().any(|text| error.contains(text)),
        "expected an error mentioning one of {expected:?}, got: {error}"
    );
}

#[tokio::test]
async fn server_tls_runs_a_workflow_and_rejects_an_untrusted_server() {
    let pki = TestPki::new("chronicle server CA").unwrap();
    let cert = pki.issue_server(&["127.0.0.1"]).unwrap();
    let endpoint = SecureEndpoint::start(&upstream().await, &cert, Guard::None)
        .await
        .unwrap();

    let trusted = TlsOptions::new().server_ca_cert_pem(pki.ca_pem());
    assert_eq!(
        greet(options(&endpoint, trusted)).await.unwrap(),
        "Hello, TLS!"
    );

    // Without the CA (system and Mozilla roots only) the server is not trusted.
    assert_fails(
        first_call(options(&endpoint, TlsOptions::new())).await,
        &["UnknownIssuer"],
    );
    // Another CA does not vouch for it either.
    let other = TestPki::new("some other CA").unwrap();
    assert_fails(
        first_call(options(
            &endpoint,
            TlsOptions::new().server_ca_cert_pem(other.ca_pem()),
        ))
        .await,
        &["UnknownIssuer", "BadSignature"],
    );
    // A plaintext client cannot talk to a TLS endpoint.
    let mut plain = ConnectionOptions::default().address(endpoint.address());
    plain.retry.max_attempts = 2;
    assert!(first_call(plain).await.is_err());
}

#[tokio::test]
async fn server_name_and_disabled_host_verification_accept_a_certificate_for_another_name() {
    let pki = TestPki::new("chronicle name CA").unwrap();
    let cert = pki.issue_server(&["temporal.test"]).unwrap();
    let endpoint = SecureEndpoint::start(&upstream().await, &cert, Guard::None)
        .await
        .unwrap();
    let ca = || TlsOptions::new().server_ca_cert_pem(pki.ca_pem());

    // Dialled as 127.0.0.1, the certificate (for temporal.test) does not match.
    assert_fails(
        first_call(options(&endpoint, ca())).await,
        &["NotValidForName", "not valid for name"],
    );
    // Checked against the name it was issued for, it does.
    assert_eq!(
        greet(options(&endpoint, ca().server_name("temporal.test")))
            .await
            .unwrap(),
        "Hello, TLS!"
    );
    // Skipping host verification accepts the name...
    assert_eq!(
        greet(options(&endpoint, ca().disable_host_verification(true)))
            .await
            .unwrap(),
        "Hello, TLS!"
    );
    // ...but still insists on a trusted CA.
    assert_fails(
        first_call(options(
            &endpoint,
            TlsOptions::new().disable_host_verification(true),
        ))
        .await,
        &["UnknownIssuer"],
    );
}

#[tokio::test]
async fn mutual_tls_runs_a_workflow_and_rejects_clients_without_a_valid_certificate() {
    let server_pki = TestPki::new("chronicle mTLS server CA").unwrap();
    let client_pki = TestPki::new("chronicle mTLS client CA").unwrap();
    let cert = server_pki.issue_server(&["127.0.0.1"]).unwrap();
    let endpoint = SecureEndpoint::start(
        &upstream().await,
        &cert,
        Guard::ClientCert(client_pki.ca_pem().to_string()),
    )
    .await
    .unwrap();
    let ca = || TlsOptions::new().server_ca_cert_pem(server_pki.ca_pem());

    let client = client_pki.issue_client("worker-1").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = client.write(dir.path(), "worker-1").unwrap();
    assert_eq!(
        greet(options(
            &endpoint,
            ca().client_cert_files(&cert_path, &key_path)
        ))
        .await
        .unwrap(),
        "Hello, TLS!"
    );

    let before = endpoint.handshake_failures();
    // No client certificate.
    assert_fails(
        first_call(options(&endpoint, ca())).await,
        &[
            "CertificateRequired",
            "certificate required",
            "HandshakeFailure",
            "transport",
        ],
    );
    // A certificate from a CA the server does not accept.
    let stranger: IssuedCert = TestPki::new("stranger CA")
        .unwrap()
        .issue_client("stranger")
        .unwrap();
    assert_fails(
        first_call(options(
            &endpoint,
            ca().client_cert_pem(stranger.cert_pem.clone(), stranger.key_pem.clone()),
        ))
        .await,
        &[
            "UnknownCA",
            "unknown ca",
            "BadCertificate",
            "DecryptError",
            "transport",
        ],
    );
    assert!(
        endpoint.handshake_failures() > before,
        "the endpoint refused the handshakes"
    );
    // A key that does not belong to the certificate is refused before connecting.
    let outcome = first_call(options(
        &endpoint,
        ca().client_cert_pem(client.cert_pem.clone(), stranger.key_pem.clone()),
    ))
    .await;
    assert!(outcome.is_err(), "a mismatched key must not connect");
    // A missing key file is named in the error.
    assert_fails(
        first_call(options(
            &endpoint,
            ca().client_cert_files(&cert_path, dir.path().join("missing.key")),
        ))
        .await,
        &["missing.key"],
    );
}

#[tokio::test]
async fn api_key_runs_a_workflow_and_wrong_or_missing_keys_are_unauthenticated() {
    let pki = TestPki::new("chronicle API key CA").unwrap();
    let cert = pki.issue_server(&["127.0.0.1"]).unwrap();
    let endpoint = SecureEndpoint::start(
        &upstream().await,
        &cert,
        Guard::ApiKey("k-right".to_string()),
    )
    .await
    .unwrap();
    // TLS is on by default with an API key: only the CA is given here, no `tls(...)` call.
    let with_key = |key: Option<&str>| {
        let mut options = ConnectionOptions::default()
            .address(endpoint.address())
            .header("x-chronicle-test", "yes");
        options.tls = Tls::Auto;
        options.retry.max_attempts = 3;
        if let Some(key) = key {
            options = options.api_key(key);
        }
        options
    };
    let mut right = with_key(Some("k-right"));
    right.tls = Tls::Enabled(TlsOptions::new().server_ca_cert_pem(pki.ca_pem()));
    assert_eq!(greet(right).await.unwrap(), "Hello, TLS!");
    assert_eq!(
        endpoint.last_header("authorization").as_deref(),
        Some("Bearer k-right")
    );
    assert_eq!(
        endpoint.last_header("temporal-namespace").as_deref(),
        Some("default")
    );
    assert_eq!(
        endpoint.last_header("x-chronicle-test").as_deref(),
        Some("yes")
    );

    let tls_with = |mut options: ConnectionOptions| {
        options.tls = Tls::Enabled(TlsOptions::new().server_ca_cert_pem(pki.ca_pem()));
        options
    };
    let rejected = endpoint.rejected();
    assert_fails(
        first_call(tls_with(with_key(Some("k-wrong")))).await,
        &["Unauthenticated", "missing or wrong API key"],
    );
    assert_fails(
        first_call(tls_with(with_key(None))).await,
        &["Unauthenticated", "missing or wrong API key"],
    );
    assert!(endpoint.rejected() >= rejected + 2);

    // With an API key and no TLS settings, TLS is on (with the default roots): the test CA is
    // not among them, so the handshake fails rather than sending the key in plaintext.
    assert_fails(
        first_call(with_key(Some("k-right"))).await,
        &["UnknownIssuer"],
    );
}

/// The built `hello` example (built here if needed, into this test's target directory).
async fn hello_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/tls-<hash>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut build = tokio::process::Command::new(cargo);
    build
        .args(["build", "--quiet", "-p", "examples", "--bin", "hello"])
        .arg("--target-dir")
        .arg(&target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    // Cargo sets these for this test binary; some crates' builds (ring) depend on them, so
    // passing them on would rebuild half the tree instead of reusing it.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name == "CARGO_MANIFEST_DIR"
            || name == "CARGO_MANIFEST_PATH"
            || name == "CARGO_CRATE_NAME"
            || name == "CARGO_PRIMARY_PACKAGE"
            || name == "CARGO_TARGET_TMPDIR"
            || name == "CARGO_RUSTC_CURRENT_DIR"
            || name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_EXE_")
        {
            build.env_remove(name.as_ref());
        }
    }
    if profile_dir
        .file_name()
        .is_some_and(|name| name == "release")
    {
        build.arg("--release");
    }
    let status = build.status().await.expect("run cargo build");
    assert!(
        status.success(),
        "cargo build -p examples --bin hello failed"
    );
    profile_dir.join(format!("hello{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the hello example with only `env` configuring it (no inherited `TEMPORAL_*`, and no
/// profile file unless `env` names one); returns its stdout.
async fn run_hello(binary: &PathBuf, env: &[(&str, String)]) -> String {
    let mut command = tokio::process::Command::new(binary);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("TEMPORAL_") {
            command.env_remove(name);
        }
    }
    command
        .env(
            "TEMPORAL_CONFIG_FILE",
            "/nonexistent/chronicle-test/temporal.toml",
        )
        .envs(env.iter().map(|(k, v)| (k.to_string(), v.clone())))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let started = std::time::Instant::now();
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .expect("the example finished within 120 s")
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    eprintln!("the example ran in {:?}", started.elapsed());
    assert!(
        output.status.success(),
        "the example failed ({}): {stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn the_hello_example_runs_through_each_endpoint_by_environment_alone() {
    let binary = hello_binary().await;
    let upstream = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let pki = TestPki::new("chronicle example CA").unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, pki.ca_pem()).unwrap();
    let ca = ca_path.to_string_lossy().to_string();

    // Server TLS, with a server name override.
    let named = pki.issue_server(&["temporal.test"]).unwrap();
    let tls = SecureEndpoint::start(&upstream, &named, Guard::None)
        .await
        .unwrap();
    let out = run_hello(
        &binary,
        &[
            ("TEMPORAL_ADDRESS", tls.address()),
            ("TEMPORAL_TLS", "true".to_string()),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", ca.clone()),
            ("TEMPORAL_TLS_SERVER_NAME", "temporal.test".to_string()),
        ],
    )
    .await;
    assert!(out.contains("Hello, World!"), "{out}");

    // Mutual TLS, from a profile file chosen by TEMPORAL_CONFIG_FILE and TEMPORAL_PROFILE.
    let clients = TestPki::new("chronicle example client CA").unwrap();
    let ip_cert = pki.issue_server(&["127.0.0.1"]).unwrap();
    let mtls = SecureEndpoint::start(
        &upstream,
        &ip_cert,
        Guard::ClientCert(clients.ca_pem().to_string()),
    )
    .await
    .unwrap();
    let (cert, key) = clients
        .issue_client("example")
        .unwrap()
        .write(dir.path(), "client")
        .unwrap();
    let config = dir.path().join("temporal.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.secure]\naddress = {:?}\n[profile.secure.tls]\nclient_cert_path = {:?}\nclient_key_path = {:?}\nserver_ca_cert_path = {:?}\n",
            mtls.address(),
            cert.to_string_lossy(),
            key.to_string_lossy(),
            ca
        ),
    )
    .unwrap();
    let out = run_hello(
        &binary,
        &[
            ("TEMPORAL_CONFIG_FILE", config.to_string_lossy().to_string()),
            ("TEMPORAL_PROFILE", "secure".to_string()),
        ],
    )
    .await;
    assert!(out.contains("Hello, World!"), "{out}");
    assert!(mtls.accepted() > 0);

    // An API key (TLS on by default), plus a header from TEMPORAL_GRPC_META_*.
    let keyed = SecureEndpoint::start(&upstream, &ip_cert, Guard::ApiKey("k-env".to_string()))
        .await
        .unwrap();
    let out = run_hello(
        &binary,
        &[
            ("TEMPORAL_ADDRESS", keyed.address()),
            ("TEMPORAL_API_KEY", "k-env".to_string()),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", ca.clone()),
            ("TEMPORAL_GRPC_META_X_FROM_ENV", "example".to_string()),
        ],
    )
    .await;
    assert!(out.contains("Hello, World!"), "{out}");
    assert_eq!(keyed.last_header("x-from-env").as_deref(), Some("example"));
    assert_eq!(keyed.rejected(), 0);
}
