//! What the worker tells the server when an attempt ends, and telling it.
//!
//! The report follows the attempt's result and why it was asked to stop, as the other SDKs do:
//! an error after a cancel request is a cancellation; after a pause, a reset or a worker
//! shutdown it is a retryable failure of a type the server and the other SDKs know
//! (`ActivityPause`, `ActivityReset`, `WorkerShutdown`), with the activity's own error as its
//! cause, so the server keeps a paused activity paused, restarts a reset one, and retries one
//! cut short by shutdown on another worker at once instead of after its timeout.

use super::Shared;
use crate::activity::CancellationReason;
use crate::connection::{CallOptions, RetryUntil};
use crate::failure::Failure;
use crate::payload::{self, Payload};
use crate::proto::workflowservice::{
    RespondActivityTaskCanceledRequest, RespondActivityTaskCompletedRequest,
    RespondActivityTaskFailedRequest,
};
use std::time::{Instant, SystemTime};

/// How an attempt ends, as far as the server is concerned.
#[derive(Debug)]
pub(super) enum Report {
    Completed(Vec<Payload>),
    Failed {
        failure: Failure,
        /// The latest heartbeat details, for the next attempt.
        last_heartbeat: Option<Vec<Payload>>,
    },
    Canceled,
    /// Nothing to send: the activity will be completed by a client, or the server no longer
    /// knows the attempt.
    Nothing,
}

/// The report for an attempt that ended with `result`, having been asked to stop for
/// `reason`; `completes_async` when its error is the marker of a later completion.
pub(super) fn decide(
    result: Result<Vec<Payload>, Failure>,
    reason: Option<CancellationReason>,
    completes_async: bool,
    last_heartbeat: Option<Vec<Payload>>,
) -> Report {
    if reason == Some(CancellationReason::NotFound) {
        // The server answered a heartbeat with NotFound: any report would get the same.
        return Report::Nothing;
    }
    let failure = match result {
        Ok(output) => return Report::Completed(output),
        Err(_) if completes_async => return Report::Nothing,
        Err(failure) => failure,
    };
    match reason {
        None => Report::Failed {
            failure,
            last_heartbeat,
        },
        Some(CancellationReason::CancelRequested) => Report::Canceled,
        Some(reason) => Report::Failed {
            failure: stop_failure(reason).with_cause(failure),
            last_heartbeat,
        },
    }
}

/// The retryable failure an attempt stopped for `reason` is reported with.
fn stop_failure(reason: CancellationReason) -> Failure {
    let message = match reason {
        CancellationReason::Paused => "the activity was paused while this attempt ran",
        CancellationReason::Reset => "the activity was reset while this attempt ran",
        CancellationReason::WorkerShutdown => {
            "the worker shut down before this activity attempt finished"
        }
        CancellationReason::CancelRequested | CancellationReason::NotFound => {
            "the activity was canceled"
        }
    };
    Failure::application(message, reason.failure_type().unwrap_or("ActivityCancel"))
        .with_non_retryable(false)
}

/// Sends `report` for the attempt with `task_token`.
///
/// A computed result is worth keeping until the attempt's deadline, after which the server
/// has timed the attempt out: the report is retried that long through any outage, so that
/// the activity does not run again for nothing.
pub(super) async fn send(
    shared: &Shared,
    task_token: &[u8],
    report: Report,
    deadline: Option<SystemTime>,
) -> Result<(), tonic::Status> {
    let call = match deadline {
        Some(deadline) => {
            let left = deadline
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            CallOptions::default().retry(RetryUntil::Deadline(Instant::now() + left))
        }
        None => CallOptions::default(),
    };
    let identity = shared.connection.identity().to_string();
    let namespace = shared.connection.namespace().to_string();
    let task_token = task_token.to_vec();
    match report {
        Report::Nothing => Ok(()),
        Report::Completed(output) => {
            let request = RespondActivityTaskCompletedRequest {
                task_token,
                result: payload::to_payloads(output),
                identity,
                namespace,
                ..Default::default()
            };
            shared
                .connection
                .unary_with("RespondActivityTaskCompleted", call, request, |mut svc, request| async move {
                    svc.respond_activity_task_completed(request).await
                })
                .await
                .map(drop)
        }
        // The workflow asked to cancel and the activity stopped: that is a cancellation, which
        // the workflow waits for with `WaitCancellationCompleted`, not a failure to retry.
        Report::Canceled => {
            let request = RespondActivityTaskCanceledRequest {
                task_token,
                details: None,
                identity,
                namespace,
                ..Default::default()
            };
            shared
                .connection
                .unary_with("RespondActivityTaskCanceled", call, request, |mut svc, request| async move {
                    svc.respond_activity_task_canceled(request).await
                })
                .await
                .map(drop)
        }
        Report::Failed {
            failure,
            last_heartbeat,
        } => {
            let request = RespondActivityTaskFailedRequest {
                task_token,
                failure: Some(failure.into_proto()),
                identity,
                namespace,
                last_heartbeat_details: last_heartbeat.and_then(payload::to_payloads),
                ..Default::default()
            };
            shared
                .connection
                .unary_with("RespondActivityTaskFailed", call, request, |mut svc, request| async move {
                    svc.respond_activity_task_failed(request).await
                })
                .await
                .map(drop)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::failure::FailureKind;

    fn user_error() -> Failure {
        Failure::application("stopped", "MyError").with_non_retryable(true)
    }

    fn details() -> Option<Vec<Payload>> {
        Some(vec![payload::encode(&7).unwrap()])
    }

    #[test]
    fn results_and_plain_errors_are_reported_as_they_are() {
        let output = vec![payload::encode("done").unwrap()];
        assert!(matches!(
            decide(Ok(output.clone()), None, false, None),
            Report::Completed(o) if o == output
        ));
        // A result is a result, whatever the activity was asked.
        assert!(matches!(
            decide(
                Ok(output),
                Some(CancellationReason::WorkerShutdown),
                false,
                None
            ),
            Report::Completed(_)
        ));
        match decide(Err(user_error()), None, false, details()) {
            Report::Failed {
                failure,
                last_heartbeat,
            } => {
                assert_eq!(failure.error_type(), Some("MyError"));
                assert!(failure.non_retryable());
                assert_eq!(last_heartbeat, details());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_error_after_a_cancel_request_is_a_cancellation() {
        assert!(matches!(
            decide(
                Err(user_error()),
                Some(CancellationReason::CancelRequested),
                false,
                details()
            ),
            Report::Canceled
        ));
    }

    #[test]
    fn pause_reset_and_shutdown_are_retryable_failures_of_their_own_type() {
        for (reason, error_type) in [
            (CancellationReason::Paused, "ActivityPause"),
            (CancellationReason::Reset, "ActivityReset"),
            (CancellationReason::WorkerShutdown, "WorkerShutdown"),
        ] {
            match decide(Err(user_error()), Some(reason), false, details()) {
                Report::Failed {
                    failure,
                    last_heartbeat,
                } => {
                    assert_eq!(failure.kind(), FailureKind::Application);
                    assert_eq!(failure.error_type(), Some(error_type));
                    // The server must retry (or hold) it, even if the activity's error says
                    // otherwise; that error stays as the cause.
                    assert!(!failure.non_retryable(), "{reason:?}");
                    assert_eq!(failure.cause().unwrap().error_type(), Some("MyError"));
                    assert_eq!(last_heartbeat, details());
                }
                other => panic!("{reason:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn nothing_is_reported_for_async_completion_or_an_attempt_the_server_forgot() {
        let marker = Failure::application("later", "WillCompleteAsync");
        assert!(matches!(
            decide(Err(marker), None, true, details()),
            Report::Nothing
        ));
        assert!(matches!(
            decide(
                Err(user_error()),
                Some(CancellationReason::NotFound),
                false,
                None
            ),
            Report::Nothing
        ));
        assert!(matches!(
            decide(Ok(vec![]), Some(CancellationReason::NotFound), false, None),
            Report::Nothing
        ));
    }
}
