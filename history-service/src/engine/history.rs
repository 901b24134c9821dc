//! GetWorkflowExecutionHistory: pages of 256 events by default, the `wait_new_event` long
//! poll (about 20 s; a poll that times out answers an empty page *with* a token), and the
//! close-event filter clients use to wait for results.

use super::{Engine, DEFAULT_PAGE_SIZE, HISTORY_LONG_POLL};
use crate::error::{Result, ServiceError};
use crate::proto::enums::HistoryEventFilterType;
use crate::proto::history::{History, HistoryEvent};
use crate::proto::wfs::{GetWorkflowExecutionHistoryRequest, GetWorkflowExecutionHistoryResponse};
use crate::state::is_close_event;
use std::sync::Arc;

fn encode_token(next_event_id: i64) -> Vec<u8> {
    next_event_id.to_string().into_bytes()
}

fn decode_token(token: &[u8]) -> Result<i64> {
    if token.is_empty() {
        return Ok(1);
    }
    std::str::from_utf8(token)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| ServiceError::InvalidArgument("invalid history page token".into()))
}

impl Engine {
    /// GetWorkflowExecutionHistory.
    pub async fn history(
        self: &Arc<Self>,
        request: GetWorkflowExecutionHistoryRequest,
    ) -> Result<GetWorkflowExecutionHistoryResponse> {
        self.check_namespace(&request.namespace)?;
        let execution = request
            .execution
            .clone()
            .ok_or_else(|| ServiceError::InvalidArgument("Execution is not set".into()))?;
        let key = {
            let inner = self.lock();
            Engine::resolve(
                &inner,
                &request.namespace,
                &execution.workflow_id,
                &execution.run_id,
            )?
        };
        let close_only =
            request.history_event_filter_type == HistoryEventFilterType::CloseEvent as i32;
        let first = decode_token(&request.next_page_token)?;
        let page_size = match request.maximum_page_size {
            size if size <= 0 => DEFAULT_PAGE_SIZE,
            size => size as usize,
        };
        let deadline = tokio::time::Instant::now() + HISTORY_LONG_POLL;
        let mut shutdown = self.shutdown_signal();
        loop {
            let notified = self.history.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (events, running) = {
                let inner = self.lock();
                let state = inner
                    .store
                    .load(&key)
                    .ok_or_else(|| ServiceError::NotFound(key.to_string()))?;
                let events: Vec<HistoryEvent> = if close_only {
                    if state.is_running() {
                        Vec::new()
                    } else {
                        let all = inner.store.events(&key, 1, usize::MAX);
                        all.into_iter()
                            .rev()
                            .find(|e| {
                                crate::proto::enums::EventType::try_from(e.event_type)
                                    .is_ok_and(is_close_event)
                            })
                            .into_iter()
                            .collect()
                    }
                } else {
                    inner.store.events(&key, first, page_size + 1)
                };
                (events, state.is_running())
            };
            if close_only {
                if !events.is_empty() || !request.wait_new_event {
                    return Ok(page(events, Vec::new()));
                }
            } else if !events.is_empty() {
                let mut events = events;
                let more = events.len() > page_size;
                events.truncate(page_size);
                let next = events.last().map(|e| e.event_id + 1).unwrap_or(first);
                let token = if more || (running && request.wait_new_event) {
                    encode_token(next)
                } else {
                    Vec::new()
                };
                return Ok(page(events, token));
            } else if !running || !request.wait_new_event {
                return Ok(page(Vec::new(), Vec::new()));
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep_until(deadline) => {
                    let token = if close_only { Vec::new() } else { encode_token(first) };
                    return Ok(page(Vec::new(), token));
                }
                _ = super::tasks::wait_true(&mut shutdown) => {
                    return Err(ServiceError::DeadlineExceeded("the service is shutting down".into()));
                }
            }
        }
    }
}

fn page(
    events: Vec<HistoryEvent>,
    next_page_token: Vec<u8>,
) -> GetWorkflowExecutionHistoryResponse {
    GetWorkflowExecutionHistoryResponse {
        history: Some(History { events }),
        next_page_token,
        ..Default::default()
    }
}
