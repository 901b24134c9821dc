//! The harness itself: the shared server answers real gRPC calls.

use chronicle::testing::{DevServer, DevServerError, DevServerOptions};
use chronicle_core::proto::workflowservice::{DescribeNamespaceRequest, GetSystemInfoRequest};
use chronicle_core::Connection;
use chronicle_tests::{server, unique_id, unique_task_queue, wait_for};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[tokio::test]
async fn shared_server_answers_get_system_info() {
    let server = server().await;
    assert!(server.address.starts_with("127.0.0.1:") || !server.started_here);
    let conn = Connection::connect(server.connection_options())
        .await
        .expect("connect");
    let info = conn
        .call("GetSystemInfo", |mut svc| async move {
            svc.get_system_info(GetSystemInfoRequest::default()).await
        })
        .await
        .expect("GetSystemInfo");
    assert!(!info.server_version.is_empty(), "{info:?}");
    let namespace = conn
        .call("DescribeNamespace", |mut svc| async move {
            svc.describe_namespace(DescribeNamespaceRequest {
                namespace: "default".to_string(),
                ..Default::default()
            })
            .await
        })
        .await
        .expect("DescribeNamespace");
    assert_eq!(
        namespace.namespace_info.map(|info| info.name).as_deref(),
        Some("default")
    );
}

/// A second test on its own runtime gets the same server (the first test's runtime may be gone).
#[tokio::test]
async fn every_test_gets_the_same_server() {
    let first = server().await;
    let second = server().await;
    assert!(std::ptr::eq(first, second));
    let address = std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { server().await.address.clone() })
    })
    .join()
    .unwrap();
    assert_eq!(address, first.address);
}

#[tokio::test]
async fn ids_are_unique_and_wait_for_polls() {
    assert_ne!(unique_id("wf"), unique_id("wf"));
    assert!(unique_task_queue("smoke").starts_with("smoke-tq-"));

    let calls = Arc::new(AtomicUsize::new(0));
    wait_for("the third poll", Duration::from_secs(5), || {
        let calls = calls.clone();
        async move { calls.fetch_add(1, Ordering::SeqCst) >= 2 }
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);

    let timed_out = tokio::spawn(wait_for(
        "something that never happens",
        Duration::from_millis(120),
        || async { false },
    ))
    .await
    .unwrap_err();
    let message = timed_out
        .into_panic()
        .downcast::<String>()
        .map(|message| *message)
        .unwrap_or_default();
    assert!(
        message.contains("waiting for something that never happens"),
        "{message}"
    );
}

/// A `DevServer` of its own (not the shared one): extra namespaces are ready when `start` returns,
/// and dropping it stops the process and deletes its database.
#[tokio::test]
async fn dev_server_is_ready_then_stopped_and_cleaned_on_drop() {
    let server = DevServer::start_with(DevServerOptions::default().namespace("chronicle-extra"))
        .await
        .expect("start a dev server");
    let address = server.address();
    let dir = server.data_dir().to_path_buf();
    let pid = server.pid().expect("running");
    assert!(address.starts_with("127.0.0.1:"), "{address}");
    assert!(dir.join("temporal.db").exists());

    let conn = Connection::connect(server.connection_options().namespace("chronicle-extra"))
        .await
        .expect("connect");
    conn.call("DescribeNamespace", |mut svc| async move {
        svc.describe_namespace(DescribeNamespaceRequest {
            namespace: "chronicle-extra".to_string(),
            ..Default::default()
        })
        .await
    })
    .await
    .expect("the extra namespace exists");
    drop(conn);

    drop(server);
    assert!(!dir.exists(), "{} was not deleted", dir.display());
    if cfg!(target_os = "linux") {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "server process {pid} still exists"
        );
    }
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "something still listens at {address}"
    );
}

#[tokio::test]
async fn dev_server_reports_a_taken_port_with_its_output() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("address").port();
    let error = DevServer::start_with(DevServerOptions::default().port(port))
        .await
        .expect_err("the port is taken");
    let message = error.to_string();
    assert!(
        matches!(error, DevServerError::ExitedEarly { .. }),
        "{message}"
    );
    assert!(message.contains("address already in use"), "{message}");
}
