//! WorkflowService: request mapping onto the engine.

use super::workflowservice::workflow_service_server::WorkflowService;
use crate::engine::Engine;
use crate::error::ServiceError;
use crate::proto::enums::NamespaceState;
use crate::proto::wfs::*;
use crate::proto::{duration, namespace};
use crate::state::ActivityResult;
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The WorkflowService served by the engine.
#[derive(Debug, Clone)]
pub struct WorkflowServiceImpl {
    engine: Arc<Engine>,
}

impl WorkflowServiceImpl {
    /// Serves `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        WorkflowServiceImpl { engine }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn reply<T>(result: Result<T, ServiceError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl WorkflowService for WorkflowServiceImpl {
    async fn get_system_info(
        &self,
        _: Request<GetSystemInfoRequest>,
    ) -> Reply<GetSystemInfoResponse> {
        Ok(Response::new(GetSystemInfoResponse {
            server_version: concat!("chronicle-history-service ", env!("CARGO_PKG_VERSION")).into(),
            capabilities: Some(get_system_info_response::Capabilities {
                signal_and_query_header: true,
                internal_error_differentiation: true,
                activity_failure_include_heartbeat: true,
                encoded_failure_attributes: true,
                upsert_memo: true,
                sdk_metadata: true,
                ..Default::default()
            }),
        }))
    }

    async fn describe_namespace(
        &self,
        request: Request<DescribeNamespaceRequest>,
    ) -> Reply<DescribeNamespaceResponse> {
        let name = request.into_inner().namespace;
        self.engine.check_namespace(&name)?;
        Ok(Response::new(DescribeNamespaceResponse {
            namespace_info: Some(namespace::NamespaceInfo {
                id: name.clone(),
                name,
                state: NamespaceState::Registered as i32,
                capabilities: Some(namespace::namespace_info::Capabilities::default()),
                ..Default::default()
            }),
            config: Some(namespace::NamespaceConfig {
                workflow_execution_retention_ttl: Some(duration(86_400_000)),
                ..Default::default()
            }),
            ..Default::default()
        }))
    }

    async fn start_workflow_execution(
        &self,
        request: Request<StartWorkflowExecutionRequest>,
    ) -> Reply<StartWorkflowExecutionResponse> {
        let started = self.engine.start_workflow(request.into_inner())?;
        Ok(Response::new(StartWorkflowExecutionResponse {
            run_id: started.run_id,
            started: started.started,
            ..Default::default()
        }))
    }

    async fn signal_with_start_workflow_execution(
        &self,
        request: Request<SignalWithStartWorkflowExecutionRequest>,
    ) -> Reply<SignalWithStartWorkflowExecutionResponse> {
        let started = self.engine.signal_with_start(request.into_inner())?;
        Ok(Response::new(SignalWithStartWorkflowExecutionResponse {
            run_id: started.run_id,
            started: started.started,
            ..Default::default()
        }))
    }

    async fn signal_workflow_execution(
        &self,
        request: Request<SignalWorkflowExecutionRequest>,
    ) -> Reply<SignalWorkflowExecutionResponse> {
        self.engine.signal(request.into_inner())?;
        Ok(Response::new(SignalWorkflowExecutionResponse::default()))
    }

    async fn request_cancel_workflow_execution(
        &self,
        request: Request<RequestCancelWorkflowExecutionRequest>,
    ) -> Reply<RequestCancelWorkflowExecutionResponse> {
        self.engine.request_cancel(request.into_inner())?;
        Ok(Response::new(
            RequestCancelWorkflowExecutionResponse::default(),
        ))
    }

    async fn terminate_workflow_execution(
        &self,
        request: Request<TerminateWorkflowExecutionRequest>,
    ) -> Reply<TerminateWorkflowExecutionResponse> {
        self.engine.terminate(request.into_inner())?;
        Ok(Response::new(TerminateWorkflowExecutionResponse::default()))
    }

    async fn poll_workflow_task_queue(
        &self,
        request: Request<PollWorkflowTaskQueueRequest>,
    ) -> Reply<PollWorkflowTaskQueueResponse> {
        reply(self.engine.poll_workflow_task(request.into_inner()).await)
    }

    async fn respond_workflow_task_completed(
        &self,
        request: Request<RespondWorkflowTaskCompletedRequest>,
    ) -> Reply<RespondWorkflowTaskCompletedResponse> {
        self.engine.complete_workflow_task(request.into_inner())?;
        Ok(Response::new(
            RespondWorkflowTaskCompletedResponse::default(),
        ))
    }

    async fn respond_workflow_task_failed(
        &self,
        request: Request<RespondWorkflowTaskFailedRequest>,
    ) -> Reply<RespondWorkflowTaskFailedResponse> {
        self.engine.fail_workflow_task(request.into_inner())?;
        Ok(Response::new(RespondWorkflowTaskFailedResponse::default()))
    }

    async fn poll_activity_task_queue(
        &self,
        request: Request<PollActivityTaskQueueRequest>,
    ) -> Reply<PollActivityTaskQueueResponse> {
        reply(self.engine.poll_activity_task(request.into_inner()).await)
    }

    async fn record_activity_task_heartbeat(
        &self,
        request: Request<RecordActivityTaskHeartbeatRequest>,
    ) -> Reply<RecordActivityTaskHeartbeatResponse> {
        let r = request.into_inner();
        let cancel_requested = self
            .engine
            .heartbeat(Some(&r.task_token), None, r.details)?;
        Ok(Response::new(RecordActivityTaskHeartbeatResponse {
            cancel_requested,
            ..Default::default()
        }))
    }

    async fn record_activity_task_heartbeat_by_id(
        &self,
        request: Request<RecordActivityTaskHeartbeatByIdRequest>,
    ) -> Reply<RecordActivityTaskHeartbeatByIdResponse> {
        let r = request.into_inner();
        let id = (
            r.namespace.as_str(),
            r.workflow_id.as_str(),
            r.run_id.as_str(),
            r.activity_id.as_str(),
        );
        let cancel_requested = self.engine.heartbeat(None, Some(id), r.details.clone())?;
        Ok(Response::new(RecordActivityTaskHeartbeatByIdResponse {
            cancel_requested,
            ..Default::default()
        }))
    }

    async fn respond_activity_task_completed(
        &self,
        request: Request<RespondActivityTaskCompletedRequest>,
    ) -> Reply<RespondActivityTaskCompletedResponse> {
        let r = request.into_inner();
        self.engine.respond_activity(
            Some(&r.task_token),
            None,
            &r.identity,
            ActivityResult::Completed(r.result),
        )?;
        Ok(Response::new(
            RespondActivityTaskCompletedResponse::default(),
        ))
    }

    async fn respond_activity_task_completed_by_id(
        &self,
        request: Request<RespondActivityTaskCompletedByIdRequest>,
    ) -> Reply<RespondActivityTaskCompletedByIdResponse> {
        let r = request.into_inner();
        let id = (
            r.namespace.as_str(),
            r.workflow_id.as_str(),
            r.run_id.as_str(),
            r.activity_id.as_str(),
        );
        self.engine.respond_activity(
            None,
            Some(id),
            &r.identity,
            ActivityResult::Completed(r.result.clone()),
        )?;
        Ok(Response::new(
            RespondActivityTaskCompletedByIdResponse::default(),
        ))
    }

    async fn respond_activity_task_failed(
        &self,
        request: Request<RespondActivityTaskFailedRequest>,
    ) -> Reply<RespondActivityTaskFailedResponse> {
        let r = request.into_inner();
        self.engine.respond_activity(
            Some(&r.task_token),
            None,
            &r.identity,
            ActivityResult::Failed(r.failure.map(Box::new), r.last_heartbeat_details),
        )?;
        Ok(Response::new(RespondActivityTaskFailedResponse::default()))
    }

    async fn respond_activity_task_failed_by_id(
        &self,
        request: Request<RespondActivityTaskFailedByIdRequest>,
    ) -> Reply<RespondActivityTaskFailedByIdResponse> {
        let r = request.into_inner();
        let id = (
            r.namespace.as_str(),
            r.workflow_id.as_str(),
            r.run_id.as_str(),
            r.activity_id.as_str(),
        );
        self.engine.respond_activity(
            None,
            Some(id),
            &r.identity,
            ActivityResult::Failed(
                r.failure.clone().map(Box::new),
                r.last_heartbeat_details.clone(),
            ),
        )?;
        Ok(Response::new(
            RespondActivityTaskFailedByIdResponse::default(),
        ))
    }

    async fn respond_activity_task_canceled(
        &self,
        request: Request<RespondActivityTaskCanceledRequest>,
    ) -> Reply<RespondActivityTaskCanceledResponse> {
        let r = request.into_inner();
        self.engine.respond_activity(
            Some(&r.task_token),
            None,
            &r.identity,
            ActivityResult::Canceled(r.details),
        )?;
        Ok(Response::new(RespondActivityTaskCanceledResponse::default()))
    }

    async fn respond_activity_task_canceled_by_id(
        &self,
        request: Request<RespondActivityTaskCanceledByIdRequest>,
    ) -> Reply<RespondActivityTaskCanceledByIdResponse> {
        let r = request.into_inner();
        let id = (
            r.namespace.as_str(),
            r.workflow_id.as_str(),
            r.run_id.as_str(),
            r.activity_id.as_str(),
        );
        self.engine.respond_activity(
            None,
            Some(id),
            &r.identity,
            ActivityResult::Canceled(r.details.clone()),
        )?;
        Ok(Response::new(
            RespondActivityTaskCanceledByIdResponse::default(),
        ))
    }

    async fn get_workflow_execution_history(
        &self,
        request: Request<GetWorkflowExecutionHistoryRequest>,
    ) -> Reply<GetWorkflowExecutionHistoryResponse> {
        reply(self.engine.history(request.into_inner()).await)
    }

    async fn query_workflow(
        &self,
        request: Request<QueryWorkflowRequest>,
    ) -> Reply<QueryWorkflowResponse> {
        reply(self.engine.query_workflow(request.into_inner()).await)
    }

    async fn respond_query_task_completed(
        &self,
        request: Request<RespondQueryTaskCompletedRequest>,
    ) -> Reply<RespondQueryTaskCompletedResponse> {
        self.engine.respond_query_task(request.into_inner())?;
        Ok(Response::new(RespondQueryTaskCompletedResponse::default()))
    }

    async fn describe_workflow_execution(
        &self,
        request: Request<DescribeWorkflowExecutionRequest>,
    ) -> Reply<DescribeWorkflowExecutionResponse> {
        reply(self.engine.describe(request.into_inner()))
    }

    async fn list_workflow_executions(
        &self,
        request: Request<ListWorkflowExecutionsRequest>,
    ) -> Reply<ListWorkflowExecutionsResponse> {
        reply(self.engine.list(request.into_inner()))
    }

    async fn count_workflow_executions(
        &self,
        request: Request<CountWorkflowExecutionsRequest>,
    ) -> Reply<CountWorkflowExecutionsResponse> {
        reply(self.engine.count(request.into_inner()))
    }

    async fn shutdown_worker(
        &self,
        _: Request<ShutdownWorkerRequest>,
    ) -> Reply<ShutdownWorkerResponse> {
        Ok(Response::new(ShutdownWorkerResponse::default()))
    }

    async fn reset_sticky_task_queue(
        &self,
        _: Request<ResetStickyTaskQueueRequest>,
    ) -> Reply<ResetStickyTaskQueueResponse> {
        Ok(Response::new(ResetStickyTaskQueueResponse::default()))
    }
}
