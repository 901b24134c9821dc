//! Replay benchmark: `cargo run --release -p examples --bin replay_bench [-- HISTORY.json]`.
//!
//! Records one history of at least 1,000 events from a dev server (a workflow running 200
//! activities, with a timer every 10) — or reads the given history file — then replays it
//! through the worker's engine for a few seconds and prints events/s and histories/s. The
//! history is written to the temp folder, so that later runs can pass it. For measuring, not a
//! test.

use chronicle::prelude::*;
use chronicle::{History, Replayer};
use std::time::{Duration as StdDuration, Instant};

#[activity]
async fn replay_echo(_ctx: ActivityContext, input: String) -> Result<String, ActivityError> {
    Ok(input)
}

/// 200 activities in sequence, a short timer after every 10th.
#[derive(Default)]
pub struct ReplayBenchWorkflow {
    done: u32,
}

#[workflow]
impl ReplayBenchWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, steps: u32) -> WorkflowResult<u32> {
        for i in 0..steps {
            ctx.activity(replay_echo, format!("step {i}"))
                .start_to_close(Duration::from_secs(10))
                .await?;
            ctx.update(|s| s.done += 1);
            if i % 10 == 9 {
                ctx.sleep(Duration::from_millis(1)).await?;
            }
        }
        Ok(ctx.state(|s| s.done))
    }
}

const TASK_QUEUE: &str = "replay-bench";
const STEPS: u32 = 200;
const MEASURE_FOR: StdDuration = StdDuration::from_secs(5);

async fn record() -> anyhow::Result<History> {
    let (client, _server) = examples::connect().await?;
    let worker = Worker::new(&client, TASK_QUEUE)
        .register_workflow::<ReplayBenchWorkflow>()
        .register_activity(replay_echo);
    let started = Instant::now();
    let history = examples::with_worker(worker, async {
        let handle = client
            .start(
                ReplayBenchWorkflow::run,
                STEPS,
                examples::workflow_id("replay-bench"),
                TASK_QUEUE,
            )
            .await?;
        handle.result().await?;
        Ok(handle.fetch_history().await?)
    })
    .await?;
    eprintln!(
        "recorded {} events in {:.1} s",
        history.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(history)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    examples::init_tracing();
    let history = match std::env::args().nth(1) {
        Some(path) => History::from_json(&std::fs::read_to_string(&path)?)?,
        None => {
            let history = record().await?;
            let path = std::env::temp_dir().join("chronicle-replay-bench.json");
            std::fs::write(&path, history.to_json())?;
            eprintln!(
                "history saved to {} (pass it to skip recording)",
                path.display()
            );
            history
        }
    };
    let replayer = Replayer::new().register_workflow::<ReplayBenchWorkflow>();
    replayer.replay(&history, "benchmark history")?; // warm-up, and proof that it replays

    let events = history.len();
    let started = Instant::now();
    let mut replays = 0u64;
    while started.elapsed() < MEASURE_FOR {
        replayer.replay(&history, "benchmark history")?;
        replays += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("history: {events} events");
    println!("replays: {replays} in {seconds:.2} s");
    println!("histories/s: {:.0}", replays as f64 / seconds);
    println!(
        "events/s: {:.0}",
        (replays * events as u64) as f64 / seconds
    );
    println!("per replay: {:.3} ms", seconds * 1000.0 / replays as f64);
    Ok(())
}
