//! [`WorkflowDescription`]: what `DescribeWorkflowExecution` tells about a workflow.

use chronicle_core::payload::{self, Payload};
use chronicle_core::proto::enums::{PendingActivityState, WorkflowExecutionStatus};
use chronicle_core::proto::system_time;
use chronicle_core::proto::workflow::PendingActivityInfo;
use chronicle_core::proto::workflowservice::DescribeWorkflowExecutionResponse;
use chronicle_core::Failure;
use std::time::SystemTime;

/// Where a workflow run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowStatus {
    /// Still running.
    Running,
    /// Returned a result.
    Completed,
    /// Failed.
    Failed,
    /// Was canceled.
    Canceled,
    /// Was terminated.
    Terminated,
    /// Continued as a new run.
    ContinuedAsNew,
    /// Hit its run or execution timeout.
    TimedOut,
    /// Paused by an operator.
    Paused,
    /// A status this SDK does not know (from a newer server), by number.
    Unknown(i32),
}

impl WorkflowStatus {
    /// Reads the protobuf enum number.
    pub fn from_proto(status: i32) -> Self {
        match WorkflowExecutionStatus::try_from(status) {
            Ok(WorkflowExecutionStatus::Running) => WorkflowStatus::Running,
            Ok(WorkflowExecutionStatus::Completed) => WorkflowStatus::Completed,
            Ok(WorkflowExecutionStatus::Failed) => WorkflowStatus::Failed,
            Ok(WorkflowExecutionStatus::Canceled) => WorkflowStatus::Canceled,
            Ok(WorkflowExecutionStatus::Terminated) => WorkflowStatus::Terminated,
            Ok(WorkflowExecutionStatus::ContinuedAsNew) => WorkflowStatus::ContinuedAsNew,
            Ok(WorkflowExecutionStatus::TimedOut) => WorkflowStatus::TimedOut,
            Ok(WorkflowExecutionStatus::Paused) => WorkflowStatus::Paused,
            Ok(WorkflowExecutionStatus::Unspecified) | Err(_) => WorkflowStatus::Unknown(status),
        }
    }

    /// Whether the run has closed (it will not change any more).
    pub fn is_closed(self) -> bool {
        !matches!(
            self,
            WorkflowStatus::Running | WorkflowStatus::Paused | WorkflowStatus::Unknown(_)
        )
    }
}

/// Where a pending activity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivityState {
    /// Waiting for a worker to pick it up (possibly for its next attempt).
    Scheduled,
    /// A worker is running it.
    Started,
    /// The workflow asked for it to be canceled.
    CancelRequested,
    /// Paused by an operator.
    Paused,
    /// Will pause when the running attempt ends.
    PauseRequested,
    /// A state this SDK does not know, by number.
    Unknown(i32),
}

impl ActivityState {
    /// Reads the protobuf enum number.
    pub fn from_proto(state: i32) -> Self {
        match PendingActivityState::try_from(state) {
            Ok(PendingActivityState::Scheduled) => ActivityState::Scheduled,
            Ok(PendingActivityState::Started) => ActivityState::Started,
            Ok(PendingActivityState::CancelRequested) => ActivityState::CancelRequested,
            Ok(PendingActivityState::Paused) => ActivityState::Paused,
            Ok(PendingActivityState::PauseRequested) => ActivityState::PauseRequested,
            Ok(PendingActivityState::Unspecified) | Err(_) => ActivityState::Unknown(state),
        }
    }
}

/// An activity the workflow is waiting for.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingActivity {
    /// The activity id (Chronicle and the other SDKs number them "1", "2", ... per run).
    pub activity_id: String,
    /// The activity type name.
    pub activity_type: String,
    /// Where it is.
    pub state: ActivityState,
    /// The current attempt, from 1.
    pub attempt: u32,
    /// The most attempts the retry policy allows (0: unlimited).
    pub maximum_attempts: u32,
    /// Why the previous attempt failed, if one did.
    pub last_failure: Option<Failure>,
    /// When it was scheduled.
    pub scheduled_time: Option<SystemTime>,
    /// When the current or last attempt started.
    pub last_started_time: Option<SystemTime>,
    /// When it last heartbeated.
    pub last_heartbeat_time: Option<SystemTime>,
    /// The details of its last heartbeat.
    pub heartbeat_details: Vec<Payload>,
    /// The identity of the worker that ran the last attempt.
    pub last_worker_identity: String,
}

impl PendingActivity {
    fn from_proto(info: &PendingActivityInfo) -> Self {
        Self {
            activity_id: info.activity_id.clone(),
            activity_type: info
                .activity_type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            state: ActivityState::from_proto(info.state),
            attempt: u32::try_from(info.attempt).unwrap_or(0),
            maximum_attempts: u32::try_from(info.maximum_attempts).unwrap_or(0),
            last_failure: info.last_failure.clone().map(Failure::from),
            scheduled_time: info.scheduled_time.as_ref().map(system_time),
            last_started_time: info.last_started_time.as_ref().map(system_time),
            last_heartbeat_time: info.last_heartbeat_time.as_ref().map(system_time),
            heartbeat_details: payload::from_payloads(info.heartbeat_details.clone()),
            last_worker_identity: info.last_worker_identity.clone(),
        }
    }
}

/// A workflow run as `DescribeWorkflowExecution` reports it.
///
/// The common fields are decoded; everything else is in [`raw`](Self::raw).
///
/// ```no_run
/// # async fn f(client: chronicle::Client) -> Result<(), chronicle::client::ClientError> {
/// use chronicle::client::WorkflowStatus;
/// let description = client.untyped_handle("invoice-42").describe().await?;
/// if description.status == WorkflowStatus::Running {
///     for activity in &description.pending_activities {
///         println!("{} attempt {}", activity.activity_type, activity.attempt);
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WorkflowDescription {
    /// The workflow id.
    pub workflow_id: String,
    /// The run described.
    pub run_id: String,
    /// The workflow type name.
    pub workflow_type: String,
    /// Where the run is.
    pub status: WorkflowStatus,
    /// The task queue the workflow runs on.
    pub task_queue: String,
    /// When the run started.
    pub start_time: Option<SystemTime>,
    /// When the run closed, if it has.
    pub close_time: Option<SystemTime>,
    /// How many events its history has.
    pub history_length: u64,
    /// The activities it is waiting for.
    pub pending_activities: Vec<PendingActivity>,
    raw: DescribeWorkflowExecutionResponse,
}

impl WorkflowDescription {
    /// Decodes the response; fails when it lacks the execution info every server sends.
    pub fn from_proto(raw: DescribeWorkflowExecutionResponse) -> Result<Self, &'static str> {
        let info = raw
            .workflow_execution_info
            .as_ref()
            .ok_or("the response has no workflow_execution_info")?;
        let execution = info.execution.clone().unwrap_or_default();
        Ok(Self {
            workflow_id: execution.workflow_id,
            run_id: execution.run_id,
            workflow_type: info
                .r#type
                .as_ref()
                .map(|t| t.name.clone())
                .unwrap_or_default(),
            status: WorkflowStatus::from_proto(info.status),
            task_queue: info.task_queue.clone(),
            start_time: info.start_time.as_ref().map(system_time),
            close_time: info.close_time.as_ref().map(system_time),
            history_length: u64::try_from(info.history_length).unwrap_or(0),
            pending_activities: raw
                .pending_activities
                .iter()
                .map(PendingActivity::from_proto)
                .collect(),
            raw,
        })
    }

    /// A memo field, decoded as `T`.
    pub fn memo<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Option<Result<T, chronicle_core::PayloadError>> {
        let info = self.raw.workflow_execution_info.as_ref()?;
        let value = info.memo.as_ref()?.fields.get(key)?;
        Some(chronicle_core::payload::decode(
            value,
            &format!("memo field {key:?}"),
        ))
    }

    /// A search attribute's current value.
    pub fn search_attribute(
        &self,
        name: &str,
    ) -> Option<chronicle_core::search_attributes::SearchAttribute> {
        let info = self.raw.workflow_execution_info.as_ref()?;
        let value = info.search_attributes.as_ref()?.indexed_fields.get(name)?;
        chronicle_core::search_attributes::SearchAttribute::from_payload(value)
    }

    /// The full response, for what this struct does not decode (pending children,
    /// versioning...).
    pub fn raw(&self) -> &DescribeWorkflowExecutionResponse {
        &self.raw
    }

    /// Takes the full response out.
    pub fn into_raw(self) -> DescribeWorkflowExecutionResponse {
        self.raw
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronicle_core::proto::common::{ActivityType, WorkflowExecution, WorkflowType};
    use chronicle_core::proto::workflow::WorkflowExecutionInfo;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn describe_response_is_decoded() {
        let failure = Failure::application("card declined", "PaymentError");
        let mut activity = PendingActivityInfo {
            activity_id: "1".into(),
            activity_type: Some(ActivityType {
                name: "charge".into(),
            }),
            attempt: 3,
            maximum_attempts: 5,
            last_failure: Some(failure.clone().into_proto()),
            ..Default::default()
        };
        activity.set_state(PendingActivityState::Scheduled);
        let mut info = WorkflowExecutionInfo {
            execution: Some(WorkflowExecution {
                workflow_id: "invoice-42".into(),
                run_id: "run-1".into(),
            }),
            r#type: Some(WorkflowType {
                name: "InvoiceWorkflow".into(),
            }),
            task_queue: "billing".into(),
            history_length: 11,
            start_time: Some(Default::default()),
            ..Default::default()
        };
        info.set_status(WorkflowExecutionStatus::Running);
        if let Some(t) = info.start_time.as_mut() {
            t.seconds = 1_700_000_000;
            t.nanos = 5;
        }
        let raw = DescribeWorkflowExecutionResponse {
            workflow_execution_info: Some(info),
            pending_activities: vec![activity],
            ..Default::default()
        };
        let d = WorkflowDescription::from_proto(raw.clone()).unwrap();
        assert_eq!(d.workflow_id, "invoice-42");
        assert_eq!(d.run_id, "run-1");
        assert_eq!(d.workflow_type, "InvoiceWorkflow");
        assert_eq!(d.status, WorkflowStatus::Running);
        assert!(!d.status.is_closed());
        assert_eq!(d.task_queue, "billing");
        assert_eq!(d.history_length, 11);
        assert_eq!(
            d.start_time,
            Some(UNIX_EPOCH + Duration::new(1_700_000_000, 5))
        );
        assert_eq!(d.close_time, None);
        let a = &d.pending_activities[0];
        assert_eq!(
            (a.activity_id.as_str(), a.activity_type.as_str()),
            ("1", "charge")
        );
        assert_eq!((a.attempt, a.maximum_attempts), (3, 5));
        assert_eq!(a.state, ActivityState::Scheduled);
        assert_eq!(a.last_failure.as_ref(), Some(&failure));
        assert_eq!(d.raw(), &raw);

        assert!(WorkflowDescription::from_proto(Default::default()).is_err());
    }

    #[test]
    fn unknown_enum_numbers_are_kept() {
        assert_eq!(WorkflowStatus::from_proto(99), WorkflowStatus::Unknown(99));
        assert_eq!(WorkflowStatus::from_proto(7), WorkflowStatus::TimedOut);
        assert!(WorkflowStatus::Completed.is_closed());
        assert_eq!(ActivityState::from_proto(42), ActivityState::Unknown(42));
    }
}
