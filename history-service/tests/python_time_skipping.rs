//! The Python SDK's `WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)`
//! runs on the `chronicle-test-server` binary: it starts it with `<port>`, drives the
//! TestService, and a 30-day workflow completes. Needs `python3` with `temporalio`
//! (`CHRONICLE_PYTHON` names another interpreter), as the e2e interop tests do.

use std::process::Command;

#[test]
fn python_time_skipping_environment_runs_on_the_chronicle_test_server() {
    let python = std::env::var("CHRONICLE_PYTHON")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "python3".to_string());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/time_skipping.py");
    let output = Command::new(&python)
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_chronicle-test-server"))
        .output()
        .unwrap_or_else(|error| panic!("could not run {python}: {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "time_skipping.py failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    assert!(line.contains("\"result\": \"done\""), "{line}");
    let skipped = number_after(line, "\"skipped_secs\": ");
    assert!(skipped >= 30.0 * 86_400.0, "skipped only {skipped} s");
    let slept = number_after(line, "\"env_sleep_secs\": ");
    assert!(slept >= 3600.0, "env.sleep(1h) advanced {slept} s");
    println!("Python time-skipping environment on chronicle-test-server: {line}");
}

fn number_after(line: &str, key: &str) -> f64 {
    line.split(key)
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {line}"))
}
