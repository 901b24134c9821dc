//! Onboarding a user: create them in a SQLite database, then send a welcome email through a
//! flaky mail server whose first two attempts fail, to show the server retrying an activity.

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
pub struct Database {
    path: PathBuf,
}

/// Inserts the user (or finds them, so a retried attempt does not create a duplicate).
#[activity]
pub async fn create_user(ctx: ActivityContext, user: NewUser) -> Result<i64, ActivityError> {
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
pub async fn send_welcome_email(ctx: ActivityContext, email: String) -> Result<u32, ActivityError> {
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
    pub async fn run(ctx: WorkflowContext<Self>, user: NewUser) -> WorkflowResult<i64> {
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

/// The task queue the onboarding worker polls.
pub const TASK_QUEUE: &str = "onboarding";

/// A worker for the onboarding workflow, its activities writing to the SQLite file `database`.
pub fn worker(client: &Client, database: PathBuf) -> Worker {
    Worker::new(client, TASK_QUEUE)
        .register_workflow::<OnboardingWorkflow>()
        .register_activity(create_user)
        .register_activity(send_welcome_email)
        .data(Database { path: database })
}
