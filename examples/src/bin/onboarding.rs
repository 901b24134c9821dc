//! Onboarding a user: create them in a SQLite database, then send a welcome email through a
//! flaky mail server whose first two attempts fail, to show the server retrying an activity.
//!
//! `cargo run -p examples --bin onboarding` prints the new user's id
//! (`start [NAME] [EMAIL]` and `worker` run the halves separately; `ONBOARDING_DB` sets the
//! database file, by default `chronicle-onboarding.sqlite` in the temp folder).

use examples::onboarding::{worker, NewUser, OnboardingWorkflow, TASK_QUEUE};
use std::path::PathBuf;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::var_os("ONBOARDING_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("chronicle-onboarding.sqlite"));
    examples::run_example(
        |client| worker(client, path.clone()),
        |client, args| async move {
            let user = NewUser {
                name: args.first().cloned().unwrap_or_else(|| "Ada".to_string()),
                email: args
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| "ada@example.com".to_string()),
            };
            let handle = client
                .start(
                    OnboardingWorkflow::run,
                    user.clone(),
                    examples::workflow_id("onboarding"),
                    TASK_QUEUE,
                )
                .await?;
            let id = handle.result().await?;
            println!("onboarded {} <{}> as user {id}", user.name, user.email);
            Ok(())
        },
    )
    .await
}
