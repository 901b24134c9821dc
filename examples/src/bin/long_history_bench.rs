//! Long-history benchmark: `cargo run --release -p examples --bin long_history_bench [-- N]`.
//!
//! One workflow runs `long_echo` N times in sequence (default 1,000: about 6,000 events and
//! 1,001 workflow tasks). While it runs, the starter samples the history length
//! (`DescribeWorkflowExecution`, which costs the worker nothing) and the worker's CPU time from
//! /proc, in nanoseconds: the whole worker process, and its workflow thread alone (where the
//! run is resumed or replayed). It prints both per workflow task around ~100, ~1,000, ~3,000
//! and ~6,000 events, then how many history events the worker received from the server against
//! the history's length. The worker is a child process (this binary's `worker` subcommand), as
//! in `bench`. For measuring, not a test.
//!
//! `long_history_bench -- cache [N]` measures the memory of cached runs instead: it starts N
//! workflows (default 1,000) that each run one activity and then sleep, so that all N stay
//! in the worker's sticky cache, and prints the worker's resident memory before and after, and
//! per cached run. It terminates them at the end.
//!
//! Knobs: `BENCH_MAX_CACHED` (the worker's `max_cached_workflows`; 0 is the old full replay
//! at every task), and `TEMPORAL_ADDRESS` as in `bench`.

use chronicle::prelude::*;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Echoes its input.
#[activity]
async fn long_echo(_ctx: ActivityContext, i: u32) -> Result<u32, ActivityError> {
    Ok(i)
}

/// Runs `long_echo` n times in sequence and returns n.
#[derive(Default)]
pub struct LongHistoryWorkflow;

#[workflow]
impl LongHistoryWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: u32) -> WorkflowResult<u32> {
        for i in 0..n {
            ctx.activity(long_echo, i)
                .start_to_close(Duration::from_secs(10))
                .await?;
        }
        Ok(n)
    }
}

/// Runs one activity, then sleeps an hour (cached all the while).
#[derive(Default)]
pub struct ParkedWorkflow;

#[workflow]
impl ParkedWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, i: u32) -> WorkflowResult<u32> {
        ctx.activity(long_echo, i)
            .start_to_close(Duration::from_secs(10))
            .await?;
        ctx.sleep(Duration::from_secs(3600)).await?;
        Ok(i)
    }
}

const TASK_QUEUE: &str = "long-history-bench";
/// The worker's workflow thread, as /proc names it (`chronicle_core::worker::WORKFLOW_THREAD_NAME`).
const WORKFLOW_THREAD: &str = "chronicle-wf";
/// The series the worker counts received history events in.
const EVENTS_METRIC: &str = "temporal_workflow_task_history_events";

/// Time on CPU, in nanoseconds, from a schedstat file (its first field).
fn schedstat_ns(path: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(path)?;
    let first = stat
        .split_whitespace()
        .next()
        .ok_or_else(|| anyhow::anyhow!("empty {path}"))?;
    Ok(first.parse()?)
}

/// The thread of `pid` named `name`.
fn thread_id(pid: u32, name: &str) -> anyhow::Result<String> {
    for entry in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let entry = entry?;
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            return Ok(entry.file_name().to_string_lossy().into_owned());
        }
    }
    anyhow::bail!("process {pid} has no thread named {name}")
}

async fn run_worker() -> anyhow::Result<()> {
    examples::init_tracing();
    let (client, _server) = examples::connect().await?;
    let worker = Worker::new(&client, TASK_QUEUE)
        .register_workflow::<LongHistoryWorkflow>()
        .register_workflow::<ParkedWorkflow>()
        .register_activity(long_echo)
        .configure(|o| {
            o.max_concurrent_workflow_tasks = 1000;
            if let Some(max) = std::env::var("BENCH_MAX_CACHED")
                .ok()
                .and_then(|m| m.parse().ok())
            {
                o.max_cached_workflows = max;
            }
        });
    println!("READY");
    worker.run_until_signal().await?;
    let events: f64 = chronicle::telemetry::registry()
        .gather()
        .iter()
        .filter(|family| family.name() == EVENTS_METRIC)
        .flat_map(|family| family.get_metric())
        .map(|m| m.get_counter().get_value())
        .sum();
    println!("EVENTS {events}");
    Ok(())
}

/// One sample: history length, process CPU and workflow-thread CPU (ns).
#[derive(Clone, Copy)]
struct Sample {
    events: u64,
    process_ns: u64,
    thread_ns: u64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        // As `bench`: one thread for the async side; workflow code runs on its own thread.
        return tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run_worker());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(start_and_measure(args))
}

/// Resident memory of a process in MiB, now.
fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS in /proc/{pid}/status"))?
        .parse()?;
    Ok(kib / 1024.0)
}

/// The `cache` mode: the memory of `n` cached runs.
async fn measure_cache(client: &Client, pid: u32, n: u32) -> anyhow::Result<()> {
    let before = rss_mib(pid)?;
    let prefix = examples::workflow_id("parked");
    let mut handles = Vec::new();
    for i in 0..n {
        let id = format!("{prefix}-{i}");
        handles.push(client.start(ParkedWorkflow::run, i, id, TASK_QUEUE).await?);
    }
    // Cached once the task after the activity has started the hour's timer.
    for handle in &handles {
        loop {
            let d = handle.describe().await?;
            if d.history_length >= 11 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    let after = rss_mib(pid)?;
    println!("cached runs:             {n}");
    println!("worker RSS:              {before:.1} MiB before, {after:.1} MiB with them cached");
    println!(
        "per cached run:          {:.1} KiB",
        (after - before) * 1024.0 / f64::from(n)
    );
    for handle in &handles {
        handle.terminate("bench done").await?;
    }
    Ok(())
}

async fn start_and_measure(args: Vec<String>) -> anyhow::Result<()> {
    examples::init_tracing();
    let cache_mode = args.first().map(String::as_str) == Some("cache");
    let args = &args[usize::from(cache_mode)..];
    let n: u32 = args.first().map(|a| a.parse()).transpose()?.unwrap_or(1000);
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
    let mut stdout = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no worker stdout"))?,
    );
    let mut ready = String::new();
    stdout.read_line(&mut ready)?;
    anyhow::ensure!(ready.trim() == "READY", "bench worker did not start");

    // Warm up, so that connection set-up is not counted.
    client
        .start(
            LongHistoryWorkflow::run,
            1,
            examples::workflow_id("long-warmup"),
            TASK_QUEUE,
        )
        .await?
        .result()
        .await?;
    if cache_mode {
        measure_cache(&client, pid, n).await?;
        let _ = Command::new("kill")
            .arg("-INT")
            .arg(pid.to_string())
            .status();
        let _ = child.wait();
        return Ok(());
    }
    let tid = thread_id(pid, WORKFLOW_THREAD)?;
    let process_stat = format!("/proc/{pid}/schedstat");
    let thread_stat = format!("/proc/{pid}/task/{tid}/schedstat");
    let sample = |events| -> anyhow::Result<Sample> {
        Ok(Sample {
            events,
            process_ns: schedstat_ns(&process_stat)?,
            thread_ns: schedstat_ns(&thread_stat)?,
        })
    };

    let handle = client
        .start(
            LongHistoryWorkflow::run,
            n,
            examples::workflow_id("long-history"),
            TASK_QUEUE,
        )
        .await?;
    let started = Instant::now();
    let mut samples = vec![sample(0)?];
    let result = handle.result();
    tokio::pin!(result);
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let returned = loop {
        tokio::select! {
            r = &mut result => break r?,
            _ = tick.tick() => {
                let length = handle.describe().await?.history_length;
                samples.push(sample(length)?);
            }
        }
    };
    anyhow::ensure!(returned == n, "the workflow returned {returned}, not {n}");
    let elapsed = started.elapsed();
    let length = handle.describe().await?.history_length;
    samples.push(sample(length)?);

    let _ = Command::new("kill")
        .arg("-INT")
        .arg(pid.to_string())
        .status();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest)?;
    let _ = child.wait();
    let fetched: f64 = rest
        .lines()
        .find_map(|l| l.strip_prefix("EVENTS "))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("the worker did not report its events"))?;

    println!("workflow:                {n} sequential activities, {length} events");
    println!("elapsed:                 {:.2} s", elapsed.as_secs_f64());
    println!("history events          CPU per task: workflow thread | whole worker");
    // Each activity adds about 6 events (one workflow task); windows span ~50 tasks.
    for target in [100u64, 1000, 3000, 6000] {
        let (lo, hi) = (target.saturating_sub(150).max(20), target + 150);
        let first = samples.iter().find(|s| s.events >= lo);
        let last = samples
            .iter()
            .rev()
            .find(|s| s.events <= hi)
            .filter(|s| first.is_some_and(|f| s.events > f.events));
        let (Some(a), Some(b)) = (first, last) else {
            println!("~{target:<5}                 (history too short)");
            continue;
        };
        let tasks = (b.events - a.events) as f64 / 6.0;
        let per_task = |ns: u64| ns as f64 / tasks / 1e6;
        println!(
            "~{target:<5} ({:>4}-{:>4})     {:>7.3} ms | {:>7.3} ms",
            a.events,
            b.events,
            per_task(b.thread_ns - a.thread_ns),
            per_task(b.process_ns - a.process_ns),
        );
    }
    // The warm-up workflow's few events are in the worker's count too.
    println!(
        "history events fetched:  {fetched} for a history of {length} ({:.2}x)",
        fetched / length as f64
    );
    Ok(())
}
