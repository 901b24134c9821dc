//! Patching on a live server: a run started before a change keeps its old path after the worker
//! is upgraded, a new run takes the new one, and the patch markers and `TemporalChangeVersion`
//! upserts are accepted by the server.

mod common;

use chronicle::prelude::*;
use chronicle_core::proto::enums::EventType;
use chronicle_core::proto::history::history_event::Attributes;
use chronicle_tests::{unique_id, unique_task_queue};
use common::{client, count, history, wait_for_event, RunningWorker};

#[activity]
async fn old_step(_ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok("old".to_string())
}

#[activity]
async fn new_step(_ctx: ActivityContext) -> Result<String, ActivityError> {
    Ok("new".to_string())
}

/// Version 1: on a go signal runs the old step, then waits for a finish signal.
#[derive(Default)]
struct OrderV1 {
    go: bool,
    finish: bool,
    step: Option<String>,
}

#[workflow(name = "Order")]
impl OrderV1 {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.go).await?;
        let step = ctx.activity(old_step, ()).await?;
        ctx.update(|s| s.step = Some(step.clone()));
        ctx.wait_until(|s| s.finish).await?;
        Ok(step)
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }

    #[signal]
    fn finish(&mut self) {
        self.finish = true;
    }

    #[query]
    fn step(&self) -> Option<String> {
        self.step.clone()
    }
}

/// Version 2: the step changed, behind a patch.
#[derive(Default)]
struct OrderV2 {
    go: bool,
    finish: bool,
}

#[workflow(name = "Order")]
impl OrderV2 {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.wait_until(|s| s.go).await?;
        let step = if ctx.patched("new-step") {
            ctx.activity(new_step, ()).await?
        } else {
            ctx.activity(old_step, ()).await?
        };
        ctx.wait_until(|s| s.finish).await?;
        Ok(step)
    }

    #[signal]
    fn go(&mut self) {
        self.go = true;
    }

    #[signal]
    fn finish(&mut self) {
        self.finish = true;
    }
}

fn worker_v1(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<OrderV1>()
        .register_activity(old_step)
}

fn worker_v2(client: &Client, queue: &str) -> Worker {
    Worker::new(client, queue)
        .register_workflow::<OrderV2>()
        .register_activity(old_step)
        .register_activity(new_step)
}

#[tokio::test]
async fn a_patch_keeps_old_runs_on_the_old_path_and_new_runs_on_the_new_one() {
    let client = client().await;
    let queue = unique_task_queue("patching");
    let v1 = RunningWorker::spawn(worker_v1(&client, &queue));
    let old_run = client
        .start(OrderV1::run, (), unique_id("patch-old"), &queue)
        .with_signal(OrderV1::go, ())
        .await
        .unwrap();
    chronicle_tests::wait_for("the old step", common::WAIT, || async {
        old_run.query(OrderV1::step, ()).await.unwrap().is_some()
    })
    .await;
    v1.stop().await;

    // Upgrade: the old run replays with the new code, which must take the old path there.
    let v2 = RunningWorker::spawn(worker_v2(&client, &queue));
    old_run.signal(OrderV1::finish, ()).await.unwrap();
    assert_eq!(old_run.result().await.unwrap(), "old");
    let old_history = history(&old_run).await;
    assert_eq!(count(&old_history, EventType::MarkerRecorded), 0);
    assert_eq!(count(&old_history, EventType::WorkflowTaskFailed), 0);

    let new_run = client
        .start(OrderV2::run, (), unique_id("patch-new"), &queue)
        .with_signal(OrderV2::go, ())
        .await
        .unwrap();
    wait_for_event(&new_run, EventType::ActivityTaskCompleted).await;
    new_run.signal(OrderV2::finish, ()).await.unwrap();
    assert_eq!(new_run.result().await.unwrap(), "new");
    let new_history = history(&new_run).await;
    assert_eq!(count(&new_history, EventType::WorkflowTaskFailed), 0);
    let marker = new_history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::MarkerRecordedEventAttributes(m)) => Some(m.clone()),
            _ => None,
        })
        .expect("a patch marker");
    assert_eq!(marker.marker_name, "core_patch");
    let upsert = new_history
        .events()
        .iter()
        .find_map(|e| match &e.attributes {
            Some(Attributes::UpsertWorkflowSearchAttributesEventAttributes(u)) => Some(u.clone()),
            _ => None,
        })
        .expect("a TemporalChangeVersion upsert");
    let value = &upsert.search_attributes.unwrap().indexed_fields["TemporalChangeVersion"];
    assert_eq!(value.data, br#"["new-step"]"#);

    // Both histories replay with the new code, and the new one no longer with the old code.
    let replayer = chronicle::Replayer::new().register_workflow::<OrderV2>();
    replayer
        .replay_from_server(&client, old_run.workflow_id(), None)
        .await
        .unwrap();
    replayer.replay(&new_history, "new run").unwrap();
    let error = chronicle::Replayer::new()
        .register_workflow::<OrderV1>()
        .replay(&new_history, "new run")
        .unwrap_err();
    assert!(
        error.to_string().contains("patched(\"new-step\")"),
        "{error}"
    );
    v2.stop().await;
}
