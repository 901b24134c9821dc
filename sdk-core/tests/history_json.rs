//! Real histories (recorded with the Temporal CLI and the Python SDK against a real server) load,
//! round-trip, and are written back exactly as `temporal workflow show --output json` wrote them.

use chronicle_core::history::{History, HistoryError};
use chronicle_core::proto::enums::EventType;
use std::path::PathBuf;

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/histories")
}

fn read(name: &str) -> String {
    let path = fixture_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (name, event count, workflow type) of every recorded history.
const RECORDED: &[(&str, usize, &str)] = &[
    ("timer", 10, "TimerWorkflow"),
    ("greeting", 23, "GreetingWorkflow"),
    ("parallel", 17, "ParallelWorkflow"),
    ("patched", 13, "PatchedWorkflow"),
    ("patched-v1", 11, "PatchedWorkflow"),
];

fn files() -> Vec<(String, usize, &'static str)> {
    let mut out = Vec::new();
    for (name, count, workflow_type) in RECORDED {
        for source in ["cli", "py"] {
            out.push((format!("{name}.{source}.json"), *count, *workflow_type));
        }
    }
    out
}

#[test]
fn every_fixture_is_covered() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixture_dir())
        .expect("fixture directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = files().into_iter().map(|f| f.0).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
}

#[test]
fn recorded_histories_load_with_the_expected_events() {
    for (file, count, workflow_type) in files() {
        let history = History::from_json(&read(&file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(history.len(), count, "{file}");
        assert_eq!(history.workflow_type(), Some(workflow_type), "{file}");
        assert_eq!(
            history.task_queue().map(|q| q.starts_with("holdout")),
            Some(true)
        );
        let ids: Vec<i64> = history.events().iter().map(|e| e.event_id).collect();
        assert_eq!(ids, (1..=count as i64).collect::<Vec<_>>(), "{file}");
        let types: Vec<EventType> = history.event_types().collect();
        assert_eq!(types[0], EventType::WorkflowExecutionStarted, "{file}");
        assert_eq!(
            types[count - 1],
            EventType::WorkflowExecutionCompleted,
            "{file}"
        );
        for (i, event) in history.events().iter().enumerate() {
            assert!(
                event.attributes.is_some(),
                "{file}: event {} has no attributes",
                i + 1
            );
            assert!(
                event.event_time.is_some(),
                "{file}: event {} has no time",
                i + 1
            );
        }
    }
}

#[test]
fn greeting_events_are_the_documented_ones() {
    use EventType::*;
    let history = History::from_json(&read("greeting.cli.json")).unwrap();
    let wft = [
        WorkflowTaskScheduled,
        WorkflowTaskStarted,
        WorkflowTaskCompleted,
    ];
    let activity = [
        ActivityTaskScheduled,
        ActivityTaskStarted,
        ActivityTaskCompleted,
    ];
    let mut expected = vec![WorkflowExecutionStarted];
    for _ in 0..3 {
        expected.extend(wft);
        expected.extend(activity);
    }
    expected.extend(wft);
    expected.push(WorkflowExecutionCompleted);
    assert_eq!(history.event_types().collect::<Vec<_>>(), expected);
}

#[test]
fn timer_and_patched_events_are_the_documented_ones() {
    use EventType::*;
    let timer = History::from_json(&read("timer.py.json")).unwrap();
    assert_eq!(
        timer.event_types().collect::<Vec<_>>(),
        [
            WorkflowExecutionStarted,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            TimerStarted,
            TimerFired,
            WorkflowTaskScheduled,
            WorkflowTaskStarted,
            WorkflowTaskCompleted,
            WorkflowExecutionCompleted,
        ]
    );
    let patched = History::from_json(&read("patched.cli.json")).unwrap();
    let types: Vec<_> = patched.event_types().collect();
    assert_eq!(
        types[4..7],
        [
            MarkerRecorded,
            UpsertWorkflowSearchAttributes,
            ActivityTaskScheduled
        ]
    );
}

#[test]
fn cli_and_python_files_hold_the_same_history() {
    for (name, _, _) in RECORDED {
        let cli = History::from_json(&read(&format!("{name}.cli.json"))).unwrap();
        let py = History::from_json(&read(&format!("{name}.py.json"))).unwrap();
        assert_eq!(cli, py, "{name}");
    }
}

#[test]
fn json_round_trips() {
    for (file, _, _) in files() {
        let history = History::from_json(&read(&file)).unwrap();
        let again = History::from_json(&history.to_json()).unwrap();
        assert_eq!(again, history, "{file}");
    }
}

#[test]
fn proto_bytes_round_trip() {
    for (file, _, _) in files() {
        let history = History::from_json(&read(&file)).unwrap();
        let again = History::from_proto_bytes(&history.to_proto_bytes()).unwrap();
        assert_eq!(again, history, "{file}");
    }
}

#[test]
fn to_json_writes_what_the_cli_writes() {
    for (name, _, _) in RECORDED {
        let file = format!("{name}.cli.json");
        let text = read(&file);
        let ours = History::from_json(&text).unwrap().to_json();
        let parsed_ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
        let parsed_cli: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed_ours, parsed_cli, "{file}");
        // Byte for byte, apart from the newline the CLI prints after the document.
        assert_eq!(ours, text.trim_end_matches('\n'), "{file}");
    }
}

#[test]
fn unknown_fields_from_newer_servers_are_ignored() {
    let mut value: serde_json::Value = serde_json::from_str(&read("timer.cli.json")).unwrap();
    let event = &mut value["events"][0];
    event["someFutureField"] = serde_json::json!({"nested": [1, 2, 3]});
    event["workflowExecutionStartedEventAttributes"]["anotherNewField"] = "x".into();
    event["workflowExecutionStartedEventAttributes"]["taskQueue"]["kind"] =
        "TASK_QUEUE_KIND_FROM_THE_FUTURE".into();
    let history = History::from_json(&value.to_string()).unwrap();
    assert_eq!(history.len(), 10);
    assert_eq!(history.workflow_type(), Some("TimerWorkflow"));
}

#[test]
fn errors_say_what_is_wrong() {
    assert!(matches!(
        History::from_json("{not json"),
        Err(HistoryError::Json(_))
    ));
    let err = History::from_json(r#"{"events": [{"eventId": {"a": 1}}]}"#).unwrap_err();
    assert!(matches!(err, HistoryError::Schema(_)), "{err}");
    let err = History::from_json(r#"{"events": 3}"#).unwrap_err();
    assert!(
        err.to_string().contains("temporal.api.history.v1.History"),
        "{err}"
    );
}

#[test]
fn empty_history() {
    let history = History::from_json("{}").unwrap();
    assert!(history.is_empty());
    assert_eq!(history.to_json(), "{}");
}
