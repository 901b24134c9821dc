//! Schedules from the client against the dev server: a schedule's actions start a typed
//! workflow that runs on the test worker; describe, list, update, pause, unpause, trigger,
//! backfill and delete, and their typed errors.

mod common;

use chronicle::client::schedule::{
    Schedule, ScheduleBackfill, ScheduleError, ScheduleOverlapPolicy, ScheduleSpec,
};
use chronicle::prelude::*;
use chronicle_tests::{unique_id, unique_task_queue, wait_for, wait_for_some};
use common::{client, RunningWorker, WAIT};
use std::time::{SystemTime, UNIX_EPOCH};

/// What each action runs.
#[derive(Default)]
struct Tick;

#[workflow]
impl Tick {
    #[run]
    async fn run(_ctx: WorkflowContext<Self>, label: String) -> WorkflowResult<String> {
        Ok(format!("tick {label}"))
    }
}

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_triggered_schedule_runs_its_workflow_on_the_worker_and_is_listed() {
    let client = client().await;
    let queue = unique_task_queue("schedules");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Tick>());
    let id = unique_id("schedule");
    // Hourly: nothing happens by itself during the test.
    let schedule = Schedule::new(Tick::run, "a".to_string(), ScheduleSpec::interval(HOUR))
        .task_queue(&queue)
        .workflow_id(format!("{id}-tick"));
    let handle = client.create_schedule(&id, schedule.clone()).await.unwrap();

    // What was created reads back typed.
    let description = handle.describe().await.unwrap();
    assert_eq!(description.schedule.action.workflow_type, "Tick");
    assert_eq!(description.schedule.action.task_queue, queue);
    assert_eq!(description.schedule.action.input_of::<Tick>().unwrap(), "a");
    assert_eq!(description.schedule.spec.intervals[0].every, HOUR);
    assert_eq!(description.action_count, 0);
    assert!(!description.next_action_times.is_empty());

    // Triggered: the workflow runs on our worker.
    handle
        .trigger(ScheduleOverlapPolicy::AllowAll)
        .await
        .unwrap();
    let started = wait_for_some("the triggered action", WAIT, || async {
        let description = handle.describe().await.ok()?;
        description.recent_actions.first().cloned()
    })
    .await;
    assert!(
        started.workflow_id.starts_with(&format!("{id}-tick")),
        "{started:?}"
    );
    let result = client
        .handle::<Tick>(&started.workflow_id)
        .result()
        .await
        .unwrap();
    assert_eq!(result, "tick a");

    // Listed, once visibility has caught up.
    wait_for("the schedule to be listed", WAIT, || async {
        client
            .list_schedules()
            .await
            .unwrap()
            .iter()
            .any(|s| s.schedule_id == id && s.workflow_type == "Tick")
    })
    .await;

    // The id is taken.
    let error = client.create_schedule(&id, schedule).await.unwrap_err();
    assert!(
        matches!(&error, ScheduleError::AlreadyExists { schedule_id } if *schedule_id == id),
        "{error}"
    );

    // Deleted: gone, with a typed error.
    handle.delete().await.unwrap();
    let error = handle.describe().await.unwrap_err();
    assert!(matches!(error, ScheduleError::NotFound { .. }), "{error}");
    worker.stop().await;
}

#[tokio::test]
async fn a_schedule_is_paused_unpaused_updated_and_backfilled() {
    let client = client().await;
    let queue = unique_task_queue("schedule-changes");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Tick>());
    let id = unique_id("schedule");
    let handle = client
        .create_schedule(
            &id,
            Schedule::new(Tick::run, "a".to_string(), ScheduleSpec::interval(HOUR))
                .task_queue(&queue),
        )
        .await
        .unwrap();

    handle.pause("maintenance").await.unwrap();
    let description = handle.describe().await.unwrap();
    assert!(description.schedule.paused);
    assert_eq!(description.schedule.note, "maintenance");
    handle.unpause("done").await.unwrap();
    let description = handle.describe().await.unwrap();
    assert!(!description.schedule.paused);
    assert_eq!(description.schedule.note, "done");

    // Updated: a cron spec (which the server compiles into a calendar) and a new input.
    handle
        .update(|s| {
            s.spec = ScheduleSpec::cron("0 3 * * *");
            s.action.set_workflow(Tick::run, "b".to_string()).unwrap();
            s.overlap = ScheduleOverlapPolicy::AllowAll;
        })
        .await
        .unwrap();
    let schedule = handle.describe().await.unwrap().schedule;
    assert!(schedule.spec.intervals.is_empty(), "{:?}", schedule.spec);
    let calendar = &schedule.spec.calendars[0];
    assert_eq!((calendar.hour[0].start, calendar.minute[0].start), (3, 0));
    assert_eq!(schedule.action.input_of::<Tick>().unwrap(), "b");
    assert_eq!(schedule.overlap, ScheduleOverlapPolicy::AllowAll);

    // Backfilled: every minute, over a range of two and a half minutes that holds three
    // minute boundaries (none on its edges), ten minutes ago.
    handle
        .update(|s| s.spec = ScheduleSpec::interval(Duration::from_secs(60)))
        .await
        .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let boundary = UNIX_EPOCH + Duration::from_secs(now - now % 60);
    let start = boundary - Duration::from_secs(630);
    handle
        .backfill([
            ScheduleBackfill::new(start, start + Duration::from_secs(150))
                .overlap(ScheduleOverlapPolicy::AllowAll),
        ])
        .await
        .unwrap();
    let description = wait_for_some("the backfilled actions", WAIT, || async {
        let description = handle.describe().await.ok()?;
        (description.action_count >= 3).then_some(description)
    })
    .await;
    assert_eq!(description.action_count, 3);
    let mut due: Vec<SystemTime> = description
        .recent_actions
        .iter()
        .filter_map(|a| a.scheduled_at)
        .collect();
    due.sort();
    let expected: Vec<SystemTime> = [600, 540, 480]
        .iter()
        .map(|ago| boundary - Duration::from_secs(*ago))
        .collect();
    assert_eq!(due, expected);
    for action in &description.recent_actions {
        let result = client
            .handle::<Tick>(&action.workflow_id)
            .result()
            .await
            .unwrap();
        assert_eq!(result, "tick b");
    }
    handle.delete().await.unwrap();
    worker.stop().await;
}

#[tokio::test]
async fn bad_schedules_are_refused_with_typed_errors() {
    let client = client().await;
    // No task queue: refused before any call.
    let error = client
        .create_schedule(
            unique_id("schedule"),
            Schedule::new(Tick::run, "a".to_string(), ScheduleSpec::interval(HOUR)),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&error, ScheduleError::Invalid { message, .. } if message.contains("task queue")),
        "{error}"
    );
    // A cron expression the server cannot read.
    let error = client
        .create_schedule(
            unique_id("schedule"),
            Schedule::new(
                Tick::run,
                "a".to_string(),
                ScheduleSpec::cron("every tuesday"),
            )
            .task_queue("nowhere"),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, ScheduleError::Invalid { .. }), "{error}");
    // Nothing to backfill.
    let error = client
        .schedule_handle("missing")
        .backfill([])
        .await
        .unwrap_err();
    assert!(matches!(error, ScheduleError::Invalid { .. }), "{error}");
    let error = client
        .schedule_handle(unique_id("missing"))
        .pause("")
        .await
        .unwrap_err();
    assert!(matches!(error, ScheduleError::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn an_interval_schedule_acts_by_itself_until_its_actions_run_out() {
    let client = client().await;
    let queue = unique_task_queue("schedule-interval");
    let worker = RunningWorker::spawn(Worker::new(&client, &queue).register_workflow::<Tick>());
    let id = unique_id("schedule");
    let handle = client
        .create_schedule(
            &id,
            Schedule::new(
                Tick::run,
                "c".to_string(),
                ScheduleSpec::interval(Duration::from_secs(1)),
            )
            .task_queue(&queue)
            .overlap(ScheduleOverlapPolicy::AllowAll)
            .remaining_actions(2),
        )
        .await
        .unwrap();
    let description = wait_for_some("two actions of the interval", WAIT, || async {
        let description = handle.describe().await.ok()?;
        (description.action_count >= 2).then_some(description)
    })
    .await;
    assert_eq!(description.action_count, 2);
    assert_eq!(description.schedule.remaining_actions, Some(0));
    for action in &description.recent_actions {
        let handle = client.handle::<Tick>(&action.workflow_id);
        assert_eq!(handle.result().await.unwrap(), "tick c");
    }
    handle.delete().await.unwrap();
    worker.stop().await;
}
