//! `ctx.random()`, `ctx.uuid()` and `ctx.side_effect(..)`: values that differ between runs but
//! are the same on every replay of one run.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, history, wait_for_event, RunningWorker};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicUsize, Ordering};

static SIDE_EFFECT_RUNS: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Drawn {
    random: Vec<u64>,
    uuid: String,
    side_effect: String,
}

#[derive(Default)]
struct Lottery {
    drawn: Drawn,
    close: bool,
}

#[workflow]
impl Lottery {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<Drawn> {
        let drawn = Drawn {
            random: vec![ctx.random(), ctx.random()],
            uuid: ctx.uuid().to_string(),
            side_effect: ctx.side_effect(|| {
                let run = SIDE_EFFECT_RUNS.fetch_add(1, Ordering::SeqCst);
                format!("computed on call {run}")
            }),
        };
        ctx.update(|s| s.drawn = drawn.clone());
        ctx.wait_until(|s| s.close).await?;
        Ok(drawn)
    }

    #[signal]
    fn close(&mut self) {
        self.close = true;
    }

    #[query]
    fn drawn(&self) -> Drawn {
        self.drawn.clone()
    }
}

#[tokio::test]
async fn random_values_and_side_effects_are_the_same_on_every_replay() {
    let client = client().await;
    let queue = unique_task_queue("lottery");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Lottery>());
    let first = client
        .start(Lottery::run, (), unique_id("lottery"), &queue)
        .await
        .unwrap();
    let second = client
        .start(Lottery::run, (), unique_id("lottery"), &queue)
        .await
        .unwrap();
    wait_for_event(&first, EventType::WorkflowTaskCompleted).await;
    wait_for_event(&second, EventType::WorkflowTaskCompleted).await;
    let runs_after_start = SIDE_EFFECT_RUNS.load(Ordering::SeqCst);
    assert_eq!(runs_after_start, 2, "computed once per run");

    // Each query replays the run from its history.
    let seen = first.query(Lottery::drawn, ()).await.unwrap();
    assert_eq!(first.query(Lottery::drawn, ()).await.unwrap(), seen);
    first.signal(Lottery::close, ()).await.unwrap();
    assert_eq!(first.result().await.unwrap(), seen);
    assert_eq!(first.query(Lottery::drawn, ()).await.unwrap(), seen);
    assert_eq!(
        SIDE_EFFECT_RUNS.load(Ordering::SeqCst),
        2,
        "replays read the marker"
    );

    assert_ne!(seen.random[0], seen.random[1]);
    let uuid: chronicle::Uuid = seen.uuid.parse().unwrap();
    assert_eq!(uuid.get_version_num(), 4);
    let other = second.query(Lottery::drawn, ()).await.unwrap();
    assert_ne!(other.random, seen.random, "another run draws other numbers");
    assert_ne!(other.uuid, seen.uuid);

    let history = history(&first).await;
    assert_eq!(count(&history, EventType::MarkerRecorded), 1);
    second.terminate("done").await.unwrap();
    worker.stop().await;
}
