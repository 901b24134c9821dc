//! A lost connection loses nothing: the server dies mid-workflow, comes back on the same port
//! and database, and the worker and client carry on by themselves.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::workflowservice::GetSystemInfoRequest;
use chronicle_core::Connection;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{compose_greeting, event_type, RunningWorker, WAIT};
use std::path::Path;
use std::process::{Child, Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A dev server whose database outlives the process, so that it can be restarted.
struct RestartableServer {
    port: u16,
    http_port: u16,
    metrics_port: u16,
    db: std::path::PathBuf,
    child: Option<Child>,
}

impl RestartableServer {
    async fn start(dir: &Path) -> Self {
        let mut server = Self {
            port: free_port(),
            http_port: free_port(),
            metrics_port: free_port(),
            db: dir.join("temporal.db"),
            child: None,
        };
        server.spawn().await;
        server
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("temporal")
            .args([
                "server",
                "start-dev",
                "--headless",
                "--ip",
                "127.0.0.1",
                "--log-level",
                "error",
            ])
            .args(["--port", &self.port.to_string()])
            .args(["--http-port", &self.http_port.to_string()])
            .args(["--metrics-port", &self.metrics_port.to_string()])
            .arg("--db-filename")
            .arg(&self.db)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run the temporal CLI");
        self.child = Some(child);
        let options = ConnectionOptions::default().address(self.address());
        chronicle_tests::wait_for("the restarted server to answer", WAIT, || {
            let options = options.clone();
            async move {
                let Ok(conn) = Connection::connect(options).await else {
                    return false;
                };
                conn.call("GetSystemInfo", |mut svc| async move {
                    svc.get_system_info(GetSystemInfoRequest::default()).await
                })
                .await
                .is_ok()
            }
        })
        .await;
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RestartableServer {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Default)]
struct GreetTwice;

#[workflow]
impl GreetTwice {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<Vec<String>> {
        let first = ctx.activity(compose_greeting, name.clone()).await?;
        ctx.sleep(Duration::from_secs(3)).await?;
        let second = ctx.activity(compose_greeting, name).await?;
        Ok(vec![first, second])
    }
}

#[tokio::test]
async fn worker_and_client_survive_a_server_restart() {
    let dir = std::env::temp_dir().join(unique_id("chronicle-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let mut server = RestartableServer::start(&dir).await;
    let client = Client::connect(ConnectionOptions::default().address(server.address()))
        .await
        .unwrap();
    let queue = unique_task_queue("restart-server");
    let worker = RunningWorker::spawn(
        Worker::new(&client, &queue)
            .register_workflow::<GreetTwice>()
            .register_activity(compose_greeting),
    );
    let handle = client
        .start(
            GreetTwice::run,
            "again".to_string(),
            unique_id("greet-twice"),
            &queue,
        )
        .await
        .unwrap();
    chronicle_tests::wait_for("the timer to start", WAIT, || async {
        handle.fetch_history().await.is_ok_and(|h| {
            h.events()
                .iter()
                .any(|e| event_type(e) == EventType::TimerStarted)
        })
    })
    .await;

    server.kill();
    // While the server is down the worker's polls fail and back off; nothing panics.
    server.spawn().await;

    let result = tokio::time::timeout(Duration::from_secs(60), handle.result())
        .await
        .expect("the workflow finishes after the server is back")
        .unwrap();
    assert_eq!(result, vec!["Hello, again!", "Hello, again!"]);
    worker.stop().await;
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
