//! A raw gRPC client on a fresh service, and helpers to play a worker by hand.

#![allow(dead_code)]

use chronicle_history_service::proto::command::{command, Command};
use chronicle_history_service::proto::common::{WorkflowExecution, WorkflowType};
use chronicle_history_service::proto::enums::{CommandType, EventType};
use chronicle_history_service::proto::history::HistoryEvent;
use chronicle_history_service::proto::taskqueue::TaskQueue;
use chronicle_history_service::proto::wfs::*;
use chronicle_history_service::HistoryService;
use temporalio_protos::temporal::api::workflowservice::v1::workflow_service_client::WorkflowServiceClient;
use tonic::transport::Channel;

pub const QUEUE: &str = "q";

pub struct Harness {
    pub service: HistoryService,
    pub client: WorkflowServiceClient<Channel>,
}

pub async fn harness(time_skipping: bool) -> Harness {
    let service = HistoryService::builder()
        .time_skipping(time_skipping)
        .start()
        .await
        .expect("service starts");
    let client = WorkflowServiceClient::connect(format!("http://{}", service.target()))
        .await
        .expect("client connects");
    Harness { service, client }
}

impl Harness {
    pub async fn start(&mut self, workflow_id: &str) -> String {
        self.start_with(workflow_id, "request-1")
            .await
            .unwrap()
            .run_id
    }

    pub async fn start_with(
        &mut self,
        workflow_id: &str,
        request_id: &str,
    ) -> Result<StartWorkflowExecutionResponse, tonic::Status> {
        self.client
            .start_workflow_execution(StartWorkflowExecutionRequest {
                namespace: "default".into(),
                workflow_id: workflow_id.into(),
                workflow_type: Some(WorkflowType { name: "W".into() }),
                task_queue: Some(TaskQueue {
                    name: QUEUE.into(),
                    ..Default::default()
                }),
                request_id: request_id.into(),
                ..Default::default()
            })
            .await
            .map(|r| r.into_inner())
    }

    pub async fn poll(&mut self) -> PollWorkflowTaskQueueResponse {
        self.client
            .poll_workflow_task_queue(PollWorkflowTaskQueueRequest {
                namespace: "default".into(),
                task_queue: Some(TaskQueue {
                    name: QUEUE.into(),
                    ..Default::default()
                }),
                identity: "test-worker".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn poll_activity(&mut self) -> PollActivityTaskQueueResponse {
        self.client
            .poll_activity_task_queue(PollActivityTaskQueueRequest {
                namespace: "default".into(),
                task_queue: Some(TaskQueue {
                    name: QUEUE.into(),
                    ..Default::default()
                }),
                identity: "test-worker".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
    }

    pub async fn complete(
        &mut self,
        token: Vec<u8>,
        commands: Vec<command::Attributes>,
    ) -> Result<(), tonic::Status> {
        let commands = commands
            .into_iter()
            .map(|attributes| Command {
                command_type: command_type(&attributes) as i32,
                attributes: Some(attributes),
                ..Default::default()
            })
            .collect();
        self.client
            .respond_workflow_task_completed(RespondWorkflowTaskCompletedRequest {
                namespace: "default".into(),
                task_token: token,
                commands,
                identity: "test-worker".into(),
                ..Default::default()
            })
            .await
            .map(|_| ())
    }

    pub async fn history(&mut self, workflow_id: &str) -> Vec<HistoryEvent> {
        self.client
            .get_workflow_execution_history(GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: Some(WorkflowExecution {
                    workflow_id: workflow_id.into(),
                    run_id: String::new(),
                }),
                maximum_page_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .history
            .unwrap_or_default()
            .events
    }

    pub async fn types(&mut self, workflow_id: &str) -> Vec<EventType> {
        types(&self.history(workflow_id).await)
    }
}

pub fn types(events: &[HistoryEvent]) -> Vec<EventType> {
    events
        .iter()
        .map(|e| EventType::try_from(e.event_type).unwrap_or(EventType::Unspecified))
        .collect()
}

fn command_type(attributes: &command::Attributes) -> CommandType {
    use command::Attributes as A;
    match attributes {
        A::ScheduleActivityTaskCommandAttributes(_) => CommandType::ScheduleActivityTask,
        A::StartTimerCommandAttributes(_) => CommandType::StartTimer,
        A::CompleteWorkflowExecutionCommandAttributes(_) => CommandType::CompleteWorkflowExecution,
        A::FailWorkflowExecutionCommandAttributes(_) => CommandType::FailWorkflowExecution,
        A::CancelTimerCommandAttributes(_) => CommandType::CancelTimer,
        A::RequestCancelActivityTaskCommandAttributes(_) => CommandType::RequestCancelActivityTask,
        _ => CommandType::Unspecified,
    }
}

pub fn complete_workflow() -> command::Attributes {
    command::Attributes::CompleteWorkflowExecutionCommandAttributes(Default::default())
}
