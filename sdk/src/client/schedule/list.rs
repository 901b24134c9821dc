//! Listing schedules ([`Client::list_schedules`]).

use super::handle::ScheduleActionResult;
use super::ScheduleError;
use crate::client::{Client, ClientError};
use chronicle_core::payload::Payload;
use chronicle_core::proto::system_time;
use chronicle_core::proto::workflowservice::ListSchedulesRequest;
use std::collections::HashMap;
use std::time::SystemTime;

/// Schedules per page asked of the server.
const PAGE_SIZE: i32 = 100;

/// A schedule as a list shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScheduleSummary {
    /// The schedule's id.
    pub schedule_id: String,
    /// The type of workflow it starts.
    pub workflow_type: String,
    /// Whether it is paused.
    pub paused: bool,
    /// The note on its state.
    pub note: String,
    /// Its latest actions.
    pub recent_actions: Vec<ScheduleActionResult>,
    /// When it acts next.
    pub next_action_times: Vec<SystemTime>,
    /// The schedule's own memo.
    pub memo: HashMap<String, Payload>,
}

impl Client {
    /// Every schedule of the namespace, all pages. Visibility is eventually consistent: a
    /// schedule just created may take a moment to be listed.
    pub async fn list_schedules(&self) -> Result<Vec<ScheduleSummary>, ScheduleError> {
        self.list_schedules_matching("").await
    }

    /// The schedules matching a visibility query (e.g. `"TemporalSchedulePaused = true"`),
    /// all pages; an empty query lists every one.
    pub async fn list_schedules_matching(
        &self,
        query: &str,
    ) -> Result<Vec<ScheduleSummary>, ScheduleError> {
        const RPC: &str = "ListSchedules";
        let conn = self.connection();
        let mut summaries = Vec::new();
        let mut next_page_token = Vec::new();
        loop {
            let request = ListSchedulesRequest {
                namespace: conn.namespace().to_string(),
                maximum_page_size: PAGE_SIZE,
                next_page_token,
                query: query.to_string(),
            };
            let page = conn
                .unary(RPC, request, |mut svc, request| async move {
                    svc.list_schedules(request).await
                })
                .await
                .map_err(|status| ClientError::Rpc { rpc: RPC, status })?;
            summaries.extend(page.schedules.into_iter().map(|entry| {
                let info = entry.info.unwrap_or_default();
                ScheduleSummary {
                    schedule_id: entry.schedule_id,
                    workflow_type: info.workflow_type.map(|t| t.name).unwrap_or_default(),
                    paused: info.paused,
                    note: info.notes,
                    recent_actions: info
                        .recent_actions
                        .iter()
                        .map(ScheduleActionResult::from_proto)
                        .collect(),
                    next_action_times: info.future_action_times.iter().map(system_time).collect(),
                    memo: entry.memo.map(|m| m.fields).unwrap_or_default(),
                }
            }));
            if page.next_page_token.is_empty() {
                return Ok(summaries);
            }
            next_page_token = page.next_page_token;
        }
    }
}
