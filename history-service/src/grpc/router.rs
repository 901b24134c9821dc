//! Routes gRPC requests to the WorkflowService or the TestService by path.
//!
//! tonic's own router needs its `router` feature (and axum); two services need only a path
//! prefix test, so this is that.

use super::testservice::test_service_server::TestServiceServer;
use super::workflowservice::workflow_service_server::WorkflowServiceServer;
use super::{TestServiceImpl, WorkflowServiceImpl};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tonic::body::Body;
use tonic::codegen::{http, Service};

const TEST_SERVICE_PREFIX: &str = "/temporal.api.testservice.v1.TestService/";

/// Both services behind one tower service.
#[derive(Debug, Clone)]
pub struct Router {
    workflow: WorkflowServiceServer<WorkflowServiceImpl>,
    test: TestServiceServer<TestServiceImpl>,
}

impl Router {
    /// A router over the two services.
    pub fn new(
        workflow: WorkflowServiceServer<WorkflowServiceImpl>,
        test: TestServiceServer<TestServiceImpl>,
    ) -> Router {
        Router { workflow, test }
    }
}

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send + 'static>>;

impl Service<http::Request<Body>> for Router {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        // Both generated servers are always ready.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path().starts_with(TEST_SERVICE_PREFIX) {
            Box::pin(self.test.call(request))
        } else {
            // Everything else, including unknown services, gets the WorkflowService's answer
            // (UNIMPLEMENTED for methods it does not serve).
            Box::pin(self.workflow.call(request))
        }
    }
}
