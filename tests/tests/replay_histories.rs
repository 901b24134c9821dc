//! Replay tests against recorded histories, as a user would write them: the example workflows
//! replay the histories recorded from them (`record_histories.rs`), equivalent Chronicle code
//! replays the histories the Temporal Python SDK recorded, and changed code fails with a
//! message that says where and why. No server needed.

use chronicle::prelude::*;
use chronicle::{ReplayError, Replayer};
use futures::future::join_all;
use std::path::{Path, PathBuf};

fn fixtures(folder: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(folder)
}

/// The histories recorded by the Python SDK, shared with the core crate's tests.
fn python_histories() -> PathBuf {
    fixtures("../sdk-core/tests/fixtures/histories")
}

fn examples_replayer() -> Replayer {
    Replayer::new()
        .register_workflow::<examples::hello::HelloWorkflow>()
        .register_workflow::<examples::onboarding::OnboardingWorkflow>()
        .register_workflow::<examples::invoice::InvoiceWorkflow>()
        .register_workflow::<examples::invoice_batch::InvoiceBatchWorkflow>()
}

#[test]
fn every_example_workflow_replays_its_recorded_history() {
    let replayed = examples_replayer()
        .replay_dir(fixtures("fixtures/histories"))
        .unwrap();
    assert_eq!(replayed, 4);
}

// The workflows of ../shared/histories, written in Chronicle. Activities are declared without
// a body: replay never runs them.

#[activity]
async fn compose_greeting(name: String) -> Result<String, ActivityError>;
#[activity]
async fn square(x: i64) -> Result<i64, ActivityError>;
#[activity]
async fn v1_step() -> Result<String, ActivityError>;
#[activity]
async fn v2_step() -> Result<String, ActivityError>;

const TEN_SECONDS: Duration = Duration::from_secs(10);

#[derive(Default)]
struct TimerWorkflow;

#[workflow]
impl TimerWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(2)).await?;
        Ok("timer done".to_string())
    }
}

#[derive(Default)]
struct GreetingWorkflow;

#[workflow]
impl GreetingWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        let mut greetings = Vec::new();
        for _ in 0..3 {
            let greeting = ctx
                .activity(compose_greeting, name.clone())
                .start_to_close(TEN_SECONDS)
                .await?;
            greetings.push(greeting);
        }
        Ok(greetings.join(" "))
    }
}

#[derive(Default)]
struct ParallelWorkflow;

#[workflow]
impl ParallelWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, n: i64) -> WorkflowResult<i64> {
        let calls = (1..=n).map(|x| ctx.activity(square, x).start_to_close(TEN_SECONDS).start());
        let mut sum = 0;
        for result in join_all(calls).await {
            sum += result?;
        }
        Ok(sum)
    }
}

#[derive(Default)]
struct PatchedWorkflow;

#[workflow]
impl PatchedWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        let step = if ctx.patched("use-v2") {
            ctx.activity(v2_step, ())
                .start_to_close(TEN_SECONDS)
                .await?
        } else {
            ctx.activity(v1_step, ())
                .start_to_close(TEN_SECONDS)
                .await?
        };
        Ok(step)
    }
}

#[test]
fn histories_recorded_by_the_python_sdk_replay_with_equivalent_chronicle_code() {
    let replayed = Replayer::new()
        .register_workflow::<TimerWorkflow>()
        .register_workflow::<GreetingWorkflow>()
        .register_workflow::<ParallelWorkflow>()
        .register_workflow::<PatchedWorkflow>()
        .replay_dir(python_histories())
        .unwrap();
    // timer, greeting, parallel, patched and patched-v1, each as the CLI and as Python wrote it.
    assert_eq!(replayed, 10);
}

/// The hello workflow, changed without a patch: it now sleeps before greeting.
#[derive(Default)]
struct SleepyHello;

#[workflow(name = "HelloWorkflow")]
impl SleepyHello {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        ctx.sleep(Duration::from_secs(1)).await?; // the change
        Ok(ctx
            .activity(examples::hello::compose_greeting, name)
            .await?)
    }
}

fn replay_error(result: Result<(), ReplayError>) -> ReplayError {
    result.expect_err("the history should not replay")
}

#[test]
fn a_changed_workflow_fails_naming_the_file_event_both_sides_and_the_code_line() {
    let path = fixtures("fixtures/histories/hello.json");
    let error = replay_error(
        Replayer::new()
            .register_workflow::<SleepyHello>()
            .replay_file(&path),
    );
    let message = error.to_string();
    let line = line_of("ctx.sleep(Duration::from_secs(1)).await?; // the change");
    for expected in [
        path.display().to_string(),
        "nondeterminism at event 5".to_string(),
        "history has ActivityTaskScheduled(activity_id=1, type=compose_greeting)".to_string(),
        "the workflow code issued StartTimer(timer_id=1, 1s)".to_string(),
        format!("tests/tests/replay_histories.rs:{line}"),
    ] {
        assert!(message.contains(&expected), "{expected:?} not in {message}");
    }
    let nondeterminism = error.nondeterminism().expect("a nondeterminism error");
    assert_eq!(nondeterminism.event_id, 5);
}

/// The same change behind a patch.
#[derive(Default)]
struct PatchedHello;

#[workflow(name = "HelloWorkflow")]
impl PatchedHello {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> {
        if ctx.patched("sleep-first") {
            ctx.sleep(Duration::from_secs(1)).await?;
        }
        Ok(ctx
            .activity(examples::hello::compose_greeting, name)
            .await?)
    }
}

#[test]
fn the_same_change_behind_a_patch_replays_the_old_history() {
    Replayer::new()
        .register_workflow::<PatchedHello>()
        .replay_file(fixtures("fixtures/histories/hello.json"))
        .unwrap();
}

/// PatchedWorkflow after the patch was removed without deprecating it first.
#[derive(Default)]
struct PatchRemoved;

#[workflow(name = "PatchedWorkflow")]
impl PatchRemoved {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        Ok(ctx
            .activity(v2_step, ())
            .start_to_close(TEN_SECONDS)
            .await?)
    }
}

/// PatchedWorkflow once every run took the new path: the patch is deprecated.
#[derive(Default)]
struct PatchDeprecated;

#[workflow(name = "PatchedWorkflow")]
impl PatchDeprecated {
    #[run]
    async fn run(ctx: WorkflowContext<Self>) -> WorkflowResult<String> {
        ctx.deprecate_patch("use-v2");
        Ok(ctx
            .activity(v2_step, ())
            .start_to_close(TEN_SECONDS)
            .await?)
    }
}

#[test]
fn a_removed_patch_fails_clearly_and_a_deprecated_one_replays() {
    let patched = python_histories().join("patched.cli.json");
    let error = replay_error(
        Replayer::new()
            .register_workflow::<PatchRemoved>()
            .replay_file(&patched),
    );
    let message = error.to_string();
    assert!(message.contains("nondeterminism at event 5"), "{message}");
    assert!(
        message.contains("MarkerRecorded(patched(\"use-v2\"))")
            && message.contains("deprecate_patch(\"use-v2\")"),
        "{message}"
    );

    let deprecated = Replayer::new().register_workflow::<PatchDeprecated>();
    deprecated.replay_file(&patched).unwrap();
    // A run from before the patch took the old path, which is gone: that history no longer
    // replays, and says so.
    let error =
        replay_error(deprecated.replay_file(python_histories().join("patched-v1.cli.json")));
    assert!(error.to_string().contains("type=v1_step"), "{error}");
}

#[test]
fn replaying_a_folder_reports_every_failing_history() {
    let dir = std::env::temp_dir().join(chronicle_tests::unique_id("replay-folder"));
    std::fs::create_dir_all(&dir).unwrap();
    let copy = |name: &str, to: &str| {
        std::fs::copy(fixtures("fixtures/histories").join(name), dir.join(to)).unwrap();
    };
    copy("hello.json", "a-hello.json");
    copy("invoice.json", "b-invoice.json");
    copy("hello.json", "c-hello-again.json");
    std::fs::write(dir.join("d-broken.json"), "{ not json").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a history").unwrap();

    let failures = Replayer::new()
        .register_workflow::<SleepyHello>()
        .replay_dir(&dir)
        .unwrap_err();
    assert_eq!(failures.replayed, 0);
    let files: Vec<String> = failures
        .failures
        .iter()
        .map(|f| file_name(&f.source_name))
        .collect();
    assert_eq!(
        files,
        [
            "a-hello.json",
            "b-invoice.json",
            "c-hello-again.json",
            "d-broken.json"
        ]
    );
    let report = format!("{failures:?}");
    assert!(
        report.starts_with("4 of 4 histories did not replay:"),
        "{report}"
    );
    assert!(
        report.contains("workflow type \"InvoiceWorkflow\" is not registered"),
        "{report}"
    );
    assert!(report.contains("history is not valid JSON"), "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The line of this file holding `text`.
fn line_of(text: &str) -> usize {
    include_str!("replay_histories.rs")
        .lines()
        .position(|line| line.contains(text))
        .map(|i| i + 1)
        .expect("the text is in this file")
}

#[test]
fn protobuf_history_files_replay_too() {
    let json = std::fs::read_to_string(fixtures("fixtures/histories/invoice.json")).unwrap();
    let history = chronicle_core::history::History::from_json(&json).unwrap();
    let path = std::env::temp_dir().join(format!("{}.pb", chronicle_tests::unique_id("invoice")));
    std::fs::write(&path, history.to_proto_bytes()).unwrap();
    let result = examples_replayer().replay_file(&path);
    std::fs::remove_file(&path).unwrap();
    result.unwrap();
}
