//! The events each command and input writes, compared with the real server's (study §3), and
//! the subtle rules: buffering, transient workflow tasks, deferred ActivityTaskStarted,
//! silent activity retries, stale tokens, id conflicts.

mod common;

use chronicle_history_service::proto::command::{command::Attributes as A, *};
use chronicle_history_service::proto::common::{ActivityType, RetryPolicy, WorkflowExecution};
use chronicle_history_service::proto::enums::{EventType as E, WorkflowTaskFailedCause};
use chronicle_history_service::proto::history::history_event::Attributes;
use chronicle_history_service::proto::wfs::*;
use chronicle_history_service::proto::{duration, failure::Failure};
use common::{complete_workflow, harness, types, QUEUE};
use tonic::Code;

fn schedule_activity(retry: Option<RetryPolicy>) -> A {
    A::ScheduleActivityTaskCommandAttributes(ScheduleActivityTaskCommandAttributes {
        activity_id: "1".into(),
        activity_type: Some(ActivityType { name: "act".into() }),
        task_queue: Some(chronicle_history_service::proto::taskqueue::TaskQueue {
            name: QUEUE.into(),
            ..Default::default()
        }),
        start_to_close_timeout: Some(duration(10_000)),
        retry_policy: retry,
        ..Default::default()
    })
}

#[tokio::test]
async fn start_task_and_complete_write_the_servers_events() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let task = h.poll().await;
    assert_eq!(task.started_event_id, 3);
    assert_eq!(task.attempt, 1);
    assert_eq!(
        types(&task.history.unwrap().events),
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted
        ]
    );
    h.complete(task.task_token.clone(), vec![complete_workflow()])
        .await
        .unwrap();
    assert_eq!(
        h.types("wf").await,
        [
            E::WorkflowExecutionStarted,
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted
        ]
    );
    // The same token again is stale.
    let again = h.complete(task.task_token, vec![complete_workflow()]).await;
    assert_eq!(again.unwrap_err().code(), Code::NotFound);
}

#[tokio::test]
async fn activity_started_is_written_only_when_it_closes_and_retries_write_nothing() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let task = h.poll().await;
    let retry = RetryPolicy {
        initial_interval: Some(duration(1)),
        ..Default::default()
    };
    h.complete(task.task_token, vec![schedule_activity(Some(retry))])
        .await
        .unwrap();
    let first = h.poll_activity().await;
    assert_eq!(first.attempt, 1);
    let before = h.types("wf").await;
    assert_eq!(
        before.last(),
        Some(&E::ActivityTaskScheduled),
        "the poll wrote nothing"
    );
    h.client
        .respond_activity_task_failed(RespondActivityTaskFailedRequest {
            namespace: "default".into(),
            task_token: first.task_token.clone(),
            failure: Some(Failure {
                message: "boom".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        h.types("wf").await,
        before,
        "a retried failure writes nothing"
    );
    let second = h.poll_activity().await;
    assert_eq!(second.attempt, 2);
    // The first attempt's token is stale now.
    let stale = h
        .client
        .record_activity_task_heartbeat(RecordActivityTaskHeartbeatRequest {
            namespace: "default".into(),
            task_token: first.task_token,
            ..Default::default()
        })
        .await;
    assert_eq!(stale.unwrap_err().code(), Code::NotFound);
    h.client
        .respond_activity_task_completed(RespondActivityTaskCompletedRequest {
            namespace: "default".into(),
            task_token: second.task_token,
            ..Default::default()
        })
        .await
        .unwrap();
    let events = h.history("wf").await;
    assert_eq!(
        types(&events)[4..],
        [
            E::ActivityTaskScheduled,
            E::ActivityTaskStarted,
            E::ActivityTaskCompleted,
            E::WorkflowTaskScheduled
        ]
    );
    match (&events[5].attributes, &events[6].attributes) {
        (
            Some(Attributes::ActivityTaskStartedEventAttributes(started)),
            Some(Attributes::ActivityTaskCompletedEventAttributes(completed)),
        ) => {
            assert_eq!(started.attempt, 2);
            assert_eq!(
                started.last_failure.as_ref().map(|f| f.message.as_str()),
                Some("boom")
            );
            assert_eq!(completed.started_event_id, events[5].event_id);
            assert_eq!(completed.scheduled_event_id, events[4].event_id);
        }
        other => panic!("unexpected attributes {other:?}"),
    }
}

#[tokio::test]
async fn a_signal_during_a_started_task_is_buffered_and_a_close_command_is_unhandled() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let task = h.poll().await;
    h.client
        .signal_workflow_execution(SignalWorkflowExecutionRequest {
            namespace: "default".into(),
            workflow_execution: Some(WorkflowExecution {
                workflow_id: "wf".into(),
                run_id: String::new(),
            }),
            signal_name: "s".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        h.types("wf").await.len(),
        3,
        "the signal waits in the buffer"
    );
    let rejected = h.complete(task.task_token, vec![complete_workflow()]).await;
    assert_eq!(rejected.unwrap_err().code(), Code::InvalidArgument);
    let events = h.history("wf").await;
    assert_eq!(
        types(&events)[3..],
        [
            E::WorkflowTaskFailed,
            E::WorkflowExecutionSignaled,
            E::WorkflowTaskScheduled
        ]
    );
    match &events[3].attributes {
        Some(Attributes::WorkflowTaskFailedEventAttributes(failed)) => {
            assert_eq!(
                failed.cause,
                WorkflowTaskFailedCause::UnhandledCommand as i32
            )
        }
        other => panic!("unexpected {other:?}"),
    }
    // The next task sees the signal and may complete.
    let task = h.poll().await;
    assert_eq!(
        task.attempt, 1,
        "unhandled commands do not count as failed attempts"
    );
    h.complete(task.task_token, vec![complete_workflow()])
        .await
        .unwrap();
    assert_eq!(
        h.types("wf").await.last(),
        Some(&E::WorkflowExecutionCompleted)
    );
}

#[tokio::test]
async fn failed_tasks_from_attempt_two_are_transient() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let fail = |token: Vec<u8>| RespondWorkflowTaskFailedRequest {
        namespace: "default".into(),
        task_token: token,
        cause: WorkflowTaskFailedCause::WorkflowWorkerUnhandledFailure as i32,
        ..Default::default()
    };
    let first = h.poll().await;
    h.client
        .respond_workflow_task_failed(fail(first.task_token))
        .await
        .unwrap();
    let written = h.types("wf").await;
    assert_eq!(written.last(), Some(&E::WorkflowTaskFailed));
    let second = h.poll().await;
    assert_eq!(second.attempt, 2);
    let handed = types(&second.history.unwrap().events);
    assert_eq!(
        handed[written.len()..],
        [E::WorkflowTaskScheduled, E::WorkflowTaskStarted]
    );
    assert_eq!(
        h.types("wf").await,
        written,
        "a transient task writes nothing"
    );
    h.client
        .respond_workflow_task_failed(fail(second.task_token))
        .await
        .unwrap();
    assert_eq!(h.types("wf").await, written, "nor does its failure");
    let third = h.poll().await;
    assert_eq!(third.attempt, 3);
    h.complete(third.task_token, vec![complete_workflow()])
        .await
        .unwrap();
    let events = h.types("wf").await;
    assert_eq!(
        events[written.len()..],
        [
            E::WorkflowTaskScheduled,
            E::WorkflowTaskStarted,
            E::WorkflowTaskCompleted,
            E::WorkflowExecutionCompleted
        ]
    );
}

#[tokio::test]
async fn a_running_id_conflicts_and_a_repeated_request_id_returns_the_same_run() {
    let mut h = harness(false).await;
    let first = h.start_with("wf", "r1").await.unwrap();
    let repeat = h.start_with("wf", "r1").await.unwrap();
    assert_eq!(repeat.run_id, first.run_id);
    assert!(!repeat.started);
    let conflict = h.start_with("wf", "r2").await.unwrap_err();
    assert_eq!(conflict.code(), Code::AlreadyExists);
    let details = temporalio_protos::google::rpc::Status::decode(conflict.details()).unwrap();
    assert!(details.details[0]
        .type_url
        .ends_with("WorkflowExecutionAlreadyStartedFailure"));
}

#[tokio::test]
async fn a_query_on_an_idle_workflow_goes_out_as_a_direct_query_task() {
    let mut h = harness(false).await;
    h.start("wf").await;
    let task = h.poll().await;
    h.complete(task.task_token, vec![]).await.unwrap();
    let mut client = h.client.clone();
    let query = tokio::spawn(async move {
        client
            .query_workflow(QueryWorkflowRequest {
                namespace: "default".into(),
                execution: Some(WorkflowExecution {
                    workflow_id: "wf".into(),
                    run_id: String::new(),
                }),
                query: Some(chronicle_history_service::proto::query::WorkflowQuery {
                    query_type: "status".into(),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
    });
    let task = h.poll().await;
    assert_eq!(
        task.query.as_ref().map(|q| q.query_type.as_str()),
        Some("status")
    );
    let answer = chronicle_history_service::proto::common::Payloads {
        payloads: vec![chronicle_history_service::proto::common::Payload {
            data: b"\"ok\"".to_vec(),
            ..Default::default()
        }],
    };
    h.client
        .respond_query_task_completed(RespondQueryTaskCompletedRequest {
            namespace: "default".into(),
            task_token: task.task_token,
            completed_type: chronicle_history_service::proto::enums::QueryResultType::Answered
                as i32,
            query_result: Some(answer.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let response = query.await.unwrap().unwrap().into_inner();
    assert_eq!(response.query_result, Some(answer));
    assert_eq!(h.types("wf").await.len(), 4, "a query writes no events");
}

use prost::Message;
