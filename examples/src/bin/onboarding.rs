//! Onboarding a user: create them in a SQLite database, then send a welcome email through a
//! flaky mail server whose first two attempts fail, to show the server retrying an activity.
//!
//! `cargo run -p examples --bin onboarding` prints the new user's id
//! (`start [NAME] [EMAIL]` and `worker` run the halves separately; `ONBOARDING_DB` sets the
//! database file, by default `chronicle-onboarding.sqlite` in the temp folder).

use chronicle::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Who to onboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    /// Display name.
    pub name: String,
    /// Email address (unique: onboarding the same address twice finds the same user).
    pub email: String,
}

/// Where the users live; handed to the activities through `Worker::data`.
struct Database {
    path: PathBuf,
}

/// Inserts the user (or finds them, so a retried attempt does not create a duplicate).
#[activity]
async fn create_user(ctx: ActivityContext, user: NewUser) -> Result<i64, ActivityError> {
    let db = ctx
        .data::<Database>()
        .ok_or_else(|| ActivityError::non_retryable("the worker has no Database configured"))?;
    let path = db.path.clone();
    let id = tokio::task::spawn_blocking(move || -> rusqlite::Result<i64> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS users (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 name TEXT NOT NULL,
                 email TEXT NOT NULL UNIQUE
             )",
        )?;
        conn.execute(
            "INSERT INTO users (name, email) VALUES (?1, ?2)
             ON CONFLICT(email) DO UPDATE SET name = excluded.name",
            (&user.name, &user.email),
        )?;
        conn.query_row(
            "SELECT id FROM users WHERE email = ?1",
            [&user.email],
            |row| row.get(0),
        )
    })
    .await??;
    Ok(id)
}

/// Sends the welcome email. The simulated mail server rejects the first two attempts.
#[activity]
async fn send_welcome_email(ctx: ActivityContext, email: String) -> Result<u32, ActivityError> {
    let attempt = ctx.info().attempt;
    if attempt < 3 {
        eprintln!(
            "  send_welcome_email attempt {attempt}: mail server busy (simulated), will be retried"
        );
        return Err(
            ActivityError::retryable("mail server busy (simulated)").with_type("MailServerBusy")
        );
    }
    eprintln!("  send_welcome_email attempt {attempt}: welcome email sent to {email}");
    Ok(attempt)
}

/// Creates the user, then welcomes them; returns the user id.
#[derive(Default)]
pub struct OnboardingWorkflow;

#[workflow]
impl OnboardingWorkflow {
    #[run]
    async fn run(ctx: WorkflowContext<Self>, user: NewUser) -> WorkflowResult<i64> {
        let id = ctx
            .activity(create_user, user.clone())
            .start_to_close(Duration::from_secs(10))
            .await?;
        ctx.activity(send_welcome_email, user.email)
            .start_to_close(Duration::from_secs(10))
            .retry_policy(
                RetryPolicy::default()
                    .initial_interval(Duration::from_millis(200))
                    .maximum_attempts(5),
            )
            .await?;
        Ok(id)
    }
}

const TASK_QUEUE: &str = "onboarding";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::var_os("ONBOARDING_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("chronicle-onboarding.sqlite"));
    examples::run_example(
        |client| {
            Worker::new(client, TASK_QUEUE)
                .register_workflow::<OnboardingWorkflow>()
                .register_activity(create_user)
                .register_activity(send_welcome_email)
                .data(Database { path: path.clone() })
        },
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
