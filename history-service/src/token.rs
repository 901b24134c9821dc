//! Task tokens: what a worker hands back to name the task it answers.
//!
//! A token names the run and the exact attempt of the task, so an answer to an older attempt,
//! or to a run that moved on, is recognised as stale (NotFound), as the real server does.

use crate::error::{Result, ServiceError};
use crate::ids::RunKey;

/// What a task token names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskToken {
    /// A workflow task: its schedule stamp (unique per scheduled task of the run).
    Workflow {
        /// The run.
        run: RunKey,
        /// The stamp of the scheduled task.
        stamp: u64,
    },
    /// One attempt of an activity.
    Activity {
        /// The run.
        run: RunKey,
        /// The ActivityTaskScheduled event id.
        scheduled_event_id: i64,
        /// The attempt.
        attempt: i32,
    },
    /// A direct (legacy) query task.
    Query {
        /// The query's id.
        query_id: u64,
    },
}

const SEPARATOR: char = '\u{1f}';

impl TaskToken {
    /// The token's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let fields: Vec<String> = match self {
            TaskToken::Workflow { run, stamp } => vec![
                "w".into(),
                run.namespace.clone(),
                run.workflow_id.clone(),
                run.run_id.clone(),
                stamp.to_string(),
            ],
            TaskToken::Activity {
                run,
                scheduled_event_id,
                attempt,
            } => vec![
                "a".into(),
                run.namespace.clone(),
                run.workflow_id.clone(),
                run.run_id.clone(),
                scheduled_event_id.to_string(),
                attempt.to_string(),
            ],
            TaskToken::Query { query_id } => vec!["q".into(), query_id.to_string()],
        };
        fields.join(&SEPARATOR.to_string()).into_bytes()
    }

    /// Parses a token; anything that is not one of ours is NotFound, as a stale token would be.
    pub fn decode(bytes: &[u8]) -> Result<TaskToken> {
        let invalid = || ServiceError::NotFound("invalid or expired task token".into());
        let text = std::str::from_utf8(bytes).map_err(|_| invalid())?;
        let fields: Vec<&str> = text.split(SEPARATOR).collect();
        let run = |f: &[&str]| RunKey {
            namespace: f[1].to_string(),
            workflow_id: f[2].to_string(),
            run_id: f[3].to_string(),
        };
        match fields.as_slice() {
            ["w", _, _, _, stamp] => Ok(TaskToken::Workflow {
                run: run(&fields),
                stamp: stamp.parse().map_err(|_| invalid())?,
            }),
            ["a", _, _, _, id, attempt] => Ok(TaskToken::Activity {
                run: run(&fields),
                scheduled_event_id: id.parse().map_err(|_| invalid())?,
                attempt: attempt.parse().map_err(|_| invalid())?,
            }),
            ["q", id] => Ok(TaskToken::Query {
                query_id: id.parse().map_err(|_| invalid())?,
            }),
            _ => Err(invalid()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_not_found() {
        let run = RunKey {
            namespace: "default".into(),
            workflow_id: "wf".into(),
            run_id: "r".into(),
        };
        for token in [
            TaskToken::Workflow {
                run: run.clone(),
                stamp: 7,
            },
            TaskToken::Activity {
                run,
                scheduled_event_id: 5,
                attempt: 2,
            },
            TaskToken::Query { query_id: 3 },
        ] {
            assert_eq!(TaskToken::decode(&token.encode()).unwrap(), token);
        }
        assert!(matches!(
            TaskToken::decode(b"nonsense"),
            Err(ServiceError::NotFound(_))
        ));
    }
}
