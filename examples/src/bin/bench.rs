//! Throughput and cost benchmark: `cargo run --release -p examples --bin bench [-- W N]`.
//!
//! Starts W `BenchWorkflow`s at once (default 500), each running `bench_echo` N times in
//! sequence (default 2), waits for all, and prints workflows/s plus the worker's CPU time per
//! workflow and peak RSS. The worker runs as a child process (this binary's `worker`
//! subcommand) so that its figures exclude the starter's work. For measuring, not a test.
//!
//! Knobs: `BENCH_POLLERS` (pollers of each kind, default 4), `BENCH_RUNTIME=multi` (run the
//! worker on tokio's multi-threaded runtime instead of a current-thread one), and
//! `TEMPORAL_ADDRESS` (use that server; by default one at 127.0.0.1:7233, else a dev server the
//! bench starts with its data on tmpfs).

use chronicle::prelude::*;
use std::future::IntoFuture;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Echoes its input.
#[activity]
async fn bench_echo(_ctx: ActivityContext, input: String) -> Result<String, ActivityError> {
    Ok(input)
}

/// Runs `bench_echo` n times in sequence and returns n.
#[derive(Default)]
pub struct BenchWorkflow;

#[workflow]
impl BenchWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        for i in 0..n {
            ctx.activity(bench_echo, format!("echo {i}"))
                .start_to_close(Duration::from_secs(10))
                .await?;
        }
        Ok(n)
    }
}

const TASK_QUEUE: &str = "bench";

/// CPU time (user + system) of a process, from /proc.
fn cpu_millis(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is parenthesised and may contain spaces.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| anyhow::anyhow!("unexpected /proc/{pid}/stat format"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields
        .get(11)
        .ok_or_else(|| anyhow::anyhow!("no utime"))?
        .parse()?;
    let stime: f64 = fields
        .get(12)
        .ok_or_else(|| anyhow::anyhow!("no stime"))?
        .parse()?;
    // Linux reports these in clock ticks of 1/100 s on every mainstream configuration.
    Ok((utime + stime) * 10.0)
}

/// Peak resident set size of a process in MiB.
fn peak_rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/{pid}/status"))?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("bad VmHWM line"))?
        .parse()?;
    Ok(kib / 1024.0)
}

async fn run_worker() -> anyhow::Result<()> {
    examples::init_tracing();
    let (client, _server) = examples::connect().await?;
    let worker = Worker::new(&client, TASK_QUEUE)
        .register_workflow::<BenchWorkflow>()
        .register_activity(bench_echo)
        .configure(|o| {
            o.max_concurrent_workflow_tasks = 1000;
            o.max_concurrent_activities = 1000;
            let pollers = std::env::var("BENCH_POLLERS")
                .ok()
                .and_then(|p| p.parse().ok())
                .unwrap_or(4);
            o.workflow_pollers = pollers;
            o.activity_pollers = pollers;
        });
    println!("READY");
    worker.run_until_signal().await?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        // Workflow tasks are short and CPU-light: one thread serves them without the
        // cross-thread wake-ups a multi-threaded runtime pays on every RPC.
        let flavor = std::env::var("BENCH_RUNTIME").unwrap_or_default();
        let runtime = if flavor == "multi" {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
        } else {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?
        };
        return runtime.block_on(run_worker());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(start_and_measure(args))
}

async fn start_and_measure(args: Vec<String>) -> anyhow::Result<()> {
    examples::init_tracing();
    let workflows: usize = args.first().map(|a| a.parse()).transpose()?.unwrap_or(500);
    let n: u32 = args.get(1).map(|a| a.parse()).transpose()?.unwrap_or(2);

    let (client, server) = examples::connect().await?;
    let address = server
        .as_ref()
        .map(|s| s.address())
        .or_else(|| std::env::var("TEMPORAL_ADDRESS").ok())
        .unwrap_or_else(|| "127.0.0.1:7233".to_string());

    let mut child = Command::new(std::env::current_exe()?)
        .arg("worker")
        .env("TEMPORAL_ADDRESS", &address)
        .stdout(Stdio::piped())
        .spawn()?;
    let pid = child.id();
    let mut ready = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut ready)?;
    }
    anyhow::ensure!(ready.trim() == "READY", "bench worker did not start");

    // Warm up: one workflow, so connection set-up is not counted.
    let warm = client
        .start(
            BenchWorkflow::run,
            1,
            examples::workflow_id("bench-warmup"),
            TASK_QUEUE,
        )
        .await?;
    warm.result().await?;

    let cpu_before = cpu_millis(pid)?;
    let started = Instant::now();
    let prefix = examples::workflow_id("bench");
    let handles = futures::future::try_join_all((0..workflows).map(|i| {
        client
            .start(BenchWorkflow::run, n, format!("{prefix}-{i}"), TASK_QUEUE)
            .into_future()
    }))
    .await?;
    let results = futures::future::try_join_all(handles.iter().map(|h| h.result())).await?;
    let elapsed = started.elapsed();
    let cpu = cpu_millis(pid)? - cpu_before;
    let rss = peak_rss_mib(pid)?;
    anyhow::ensure!(
        results.iter().all(|r| *r == n),
        "a workflow returned the wrong count"
    );

    let _ = Command::new("kill")
        .arg("-INT")
        .arg(pid.to_string())
        .status();
    let _ = child.wait();

    println!("workflows:               {workflows} (n = {n} activities each)");
    println!("elapsed:                 {:.2} s", elapsed.as_secs_f64());
    println!(
        "throughput:              {:.1} workflows/s",
        workflows as f64 / elapsed.as_secs_f64()
    );
    println!("worker CPU per workflow: {:.3} ms", cpu / workflows as f64);
    println!("worker peak RSS:         {rss:.1} MiB");
    Ok(())
}
