//! Describe, list and count with the List Filter basics; history pages and the close-event
//! long poll.

mod common;

use chronicle_history_service::proto::common::WorkflowExecution;
use chronicle_history_service::proto::enums::{EventType as E, HistoryEventFilterType};
use chronicle_history_service::proto::wfs::*;
use common::{complete_workflow, harness, types};

fn execution(workflow_id: &str) -> Option<WorkflowExecution> {
    Some(WorkflowExecution {
        workflow_id: workflow_id.into(),
        run_id: String::new(),
    })
}

#[tokio::test]
async fn list_and_count_filter_by_status_id_prefix_and_type() {
    let mut h = harness(false).await;
    for id in ["alpha-1", "alpha-2", "beta-1"] {
        h.start_with(id, &format!("request-{id}")).await.unwrap();
    }
    let task = h.poll().await;
    let done = task.workflow_execution.clone().unwrap().workflow_id;
    h.complete(task.task_token, vec![complete_workflow()])
        .await
        .unwrap();
    let list = |query: &str| ListWorkflowExecutionsRequest {
        namespace: "default".into(),
        query: query.into(),
        ..Default::default()
    };
    let ids = |response: ListWorkflowExecutionsResponse| -> Vec<String> {
        response
            .executions
            .into_iter()
            .map(|e| e.execution.unwrap().workflow_id)
            .collect()
    };
    let running = h
        .client
        .list_workflow_executions(list("ExecutionStatus = 'Running'"))
        .await;
    let running = ids(running.unwrap().into_inner());
    assert_eq!(running.len(), 2);
    assert!(!running.contains(&done));
    let all = ids(h
        .client
        .list_workflow_executions(list(""))
        .await
        .unwrap()
        .into_inner());
    // CloseTime DESC NULLS FIRST: the open runs, then the closed one.
    assert_eq!(all.len(), 3);
    assert_eq!(all[2], done);
    let alphas = h
        .client
        .list_workflow_executions(list(
            "WorkflowId STARTS_WITH 'alpha' AND WorkflowType IN ('W', 'Other')",
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ids(alphas).len(), 2);
    let count = h
        .client
        .count_workflow_executions(CountWorkflowExecutionsRequest {
            namespace: "default".into(),
            query: "ExecutionStatus != 'Running' OR WorkflowId = 'beta-1'".into(),
        })
        .await
        .unwrap()
        .into_inner();
    let expected = if done == "beta-1" { 1 } else { 2 };
    assert_eq!(count.count, expected);
    let bad = h
        .client
        .list_workflow_executions(list("WorkflowId = "))
        .await;
    assert_eq!(bad.unwrap_err().code(), tonic::Code::InvalidArgument);
    let described = h
        .client
        .describe_workflow_execution(DescribeWorkflowExecutionRequest {
            namespace: "default".into(),
            execution: execution(&done),
        })
        .await
        .unwrap()
        .into_inner();
    let info = described.workflow_execution_info.unwrap();
    assert_eq!(info.history_length, 5);
    assert!(info.close_time.is_some());
}

#[tokio::test]
async fn history_pages_and_the_close_event_long_poll() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let task = h.poll().await;
    let mut client = h.client.clone();
    let waiter = tokio::spawn(async move {
        client
            .get_workflow_execution_history(GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution("wf"),
                wait_new_event: true,
                history_event_filter_type: HistoryEventFilterType::CloseEvent as i32,
                ..Default::default()
            })
            .await
    });
    h.complete(task.task_token, vec![complete_workflow()])
        .await
        .unwrap();
    let close = waiter.await.unwrap().unwrap().into_inner();
    assert_eq!(
        types(&close.history.unwrap().events),
        [E::WorkflowExecutionCompleted]
    );
    let mut token = Vec::new();
    let mut pages = Vec::new();
    loop {
        let page = h
            .client
            .get_workflow_execution_history(GetWorkflowExecutionHistoryRequest {
                namespace: "default".into(),
                execution: execution("wf"),
                maximum_page_size: 2,
                next_page_token: token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        pages.push(page.history.unwrap().events.len());
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(pages, [2, 2, 1]);
}
