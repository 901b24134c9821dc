//! [`ContinueAsNewOptions`]: what the next run of a workflow that continues as new changes.

use crate::error::WorkflowError;
use chronicle_core::failure::Failure;
use chronicle_core::payload::{self, Payload};
use chronicle_core::retry_policy::RetryPolicy;
use chronicle_core::search_attributes::SearchAttribute;
use chronicle_core::workflow::ContinueAsNew;
use std::collections::HashMap;
use std::time::Duration;

/// Options of the next run, for
/// [`WorkflowContext::continue_as_new_with`](super::WorkflowContext::continue_as_new_with).
///
/// Whatever is not set is carried over from the current run.
///
/// ```
/// use chronicle::workflow::ContinueAsNewOptions;
/// use chronicle::SearchAttribute;
/// use std::time::Duration;
///
/// let next = ContinueAsNewOptions::new()
///     .task_queue("billing-v2")
///     .task_timeout(Duration::from_secs(20))
///     .memo("generation", &3)
///     .search_attribute("CustomKeywordField", SearchAttribute::Keyword("v2".into()));
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ContinueAsNewOptions {
    task_queue: Option<String>,
    run_timeout: Option<Duration>,
    task_timeout: Option<Duration>,
    retry_policy: Option<RetryPolicy>,
    memo: HashMap<String, Payload>,
    search_attributes: HashMap<String, Payload>,
    /// The first memo value that could not be encoded, reported when the run continues.
    memo_error: Option<WorkflowError>,
}

impl ContinueAsNewOptions {
    /// Options that change nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The next run's task queue (for example, one served by workers with new code).
    pub fn task_queue(mut self, task_queue: impl Into<String>) -> Self {
        self.task_queue = Some(task_queue.into());
        self
    }

    /// Limit for the next run.
    pub fn run_timeout(mut self, timeout: Duration) -> Self {
        self.run_timeout = Some(timeout);
        self
    }

    /// Limit for one workflow task of the next run.
    pub fn task_timeout(mut self, timeout: Duration) -> Self {
        self.task_timeout = Some(timeout);
        self
    }

    /// Retries of the next run.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry_policy = Some(policy);
        self
    }

    /// Adds a memo field. Setting any memo field replaces the current run's memo.
    pub fn memo<T: serde::Serialize + ?Sized>(mut self, key: impl Into<String>, value: &T) -> Self {
        let key = key.into();
        match payload::encode(value) {
            Ok(value) => {
                self.memo.insert(key, value);
            }
            Err(e) => {
                self.memo_error.get_or_insert_with(|| {
                    Failure::application(
                        format!("could not encode memo field {key:?} of the next run: {e}"),
                        "PayloadError",
                    )
                    .with_non_retryable(true)
                    .into()
                });
            }
        }
        self
    }

    /// Sets a search attribute. Setting any replaces the current run's search attributes.
    pub fn search_attribute(mut self, name: impl Into<String>, value: SearchAttribute) -> Self {
        self.search_attributes
            .insert(name.into(), value.to_payload());
        self
    }

    /// The engine's request for a run of `workflow_type` with `input`, or the memo field that
    /// could not be encoded.
    pub(super) fn into_request(
        self,
        workflow_type: &str,
        input: Vec<Payload>,
    ) -> Result<ContinueAsNew, WorkflowError> {
        if let Some(error) = self.memo_error {
            return Err(error);
        }
        Ok(ContinueAsNew {
            workflow_type: workflow_type.to_string(),
            input,
            task_queue: self.task_queue,
            run_timeout: self.run_timeout,
            task_timeout: self.task_timeout,
            retry_policy: self.retry_policy,
            memo: self.memo,
            search_attributes: self.search_attributes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronicle_core::payload::encode;

    #[test]
    fn every_option_reaches_the_request() {
        let policy = RetryPolicy::default().maximum_attempts(3);
        let next = ContinueAsNewOptions::new()
            .task_queue("v2")
            .run_timeout(Duration::from_secs(60))
            .task_timeout(Duration::from_secs(5))
            .retry_policy(policy.clone())
            .memo("generation", &3)
            .search_attribute("CustomKeywordField", SearchAttribute::Keyword("v2".into()))
            .into_request("Counter", vec![encode(&7).unwrap()])
            .unwrap();
        assert_eq!(next.workflow_type, "Counter");
        assert_eq!(next.input.len(), 1);
        assert_eq!(next.task_queue.as_deref(), Some("v2"));
        assert_eq!(next.run_timeout, Some(Duration::from_secs(60)));
        assert_eq!(next.task_timeout, Some(Duration::from_secs(5)));
        assert_eq!(next.retry_policy, Some(policy));
        assert_eq!(next.memo.get("generation"), Some(&encode(&3).unwrap()));
        assert!(next.search_attributes.contains_key("CustomKeywordField"));
    }

    #[test]
    fn defaults_carry_the_current_run_over() {
        let next = ContinueAsNewOptions::default()
            .into_request("Counter", Vec::new())
            .unwrap();
        assert_eq!(next.task_queue, None);
        assert_eq!(next.run_timeout, None);
        assert!(next.memo.is_empty() && next.search_attributes.is_empty());
    }

    #[test]
    fn a_memo_that_does_not_encode_fails_the_continue() {
        // JSON object keys must be strings.
        let bad: std::collections::HashMap<(u8, u8), u8> = [((1, 2), 3)].into_iter().collect();
        let error = ContinueAsNewOptions::new()
            .memo("bad", &bad)
            .memo("fine", &1)
            .into_request("Counter", Vec::new())
            .unwrap_err();
        assert_eq!(error.failure().error_type(), Some("PayloadError"));
        assert!(error.failure().non_retryable());
        assert!(error.to_string().contains("\"bad\""), "{error}");
    }
}
