//! TestService: the time-skipping controls the SDKs' test environments use.

use super::testservice::test_service_server::TestService;
use crate::engine::Engine;
use crate::proto::testservice::*;
use crate::proto::{duration_ms, timestamp, timestamp_ms};
use std::sync::Arc;
use tonic::{Request, Response, Status};

/// The TestService served by the engine.
#[derive(Debug, Clone)]
pub struct TestServiceImpl {
    engine: Arc<Engine>,
}

impl TestServiceImpl {
    /// Serves `engine`.
    pub fn new(engine: Arc<Engine>) -> Self {
        TestServiceImpl { engine }
    }
}

type Reply<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl TestService for TestServiceImpl {
    async fn lock_time_skipping(
        &self,
        _: Request<LockTimeSkippingRequest>,
    ) -> Reply<LockTimeSkippingResponse> {
        self.engine.lock_time_skipping();
        Ok(Response::new(LockTimeSkippingResponse {}))
    }

    async fn unlock_time_skipping(
        &self,
        _: Request<UnlockTimeSkippingRequest>,
    ) -> Reply<UnlockTimeSkippingResponse> {
        self.engine.unlock_time_skipping()?;
        Ok(Response::new(UnlockTimeSkippingResponse {}))
    }

    async fn sleep(&self, request: Request<SleepRequest>) -> Reply<SleepResponse> {
        let ms = duration_ms(request.into_inner().duration.as_ref()).unwrap_or(0);
        let deadline = self.engine.now_ms() + ms;
        self.engine.sleep_until(deadline, false).await?;
        Ok(Response::new(SleepResponse {}))
    }

    async fn sleep_until(&self, request: Request<SleepUntilRequest>) -> Reply<SleepResponse> {
        let deadline = request
            .into_inner()
            .timestamp
            .as_ref()
            .map(timestamp_ms)
            .unwrap_or_default();
        self.engine.sleep_until(deadline, false).await?;
        Ok(Response::new(SleepResponse {}))
    }

    async fn unlock_time_skipping_with_sleep(
        &self,
        request: Request<SleepRequest>,
    ) -> Reply<SleepResponse> {
        let ms = duration_ms(request.into_inner().duration.as_ref()).unwrap_or(0);
        let deadline = self.engine.now_ms() + ms;
        self.engine.sleep_until(deadline, true).await?;
        Ok(Response::new(SleepResponse {}))
    }

    async fn get_current_time(&self, _: Request<()>) -> Reply<GetCurrentTimeResponse> {
        Ok(Response::new(GetCurrentTimeResponse {
            time: Some(timestamp(self.engine.now_ms())),
        }))
    }
}
