//! Applying a transaction's effects: queue pushes, timers and calls on other runs.

use super::{Engine, Inner};
use crate::ids::{new_id, QueueKey, QueueKind, RunKey};
use crate::matching::TaskRef;
use crate::proto::duration_ms;
use crate::proto::enums::{
    CancelExternalWorkflowExecutionFailedCause as CancelCause, ContinueAsNewInitiator,
    ParentClosePolicy, SignalExternalWorkflowExecutionFailedCause as SignalCause,
};
use crate::state::{Effect, MutableState, NewRun, Parent};

impl Engine {
    pub(super) fn apply_effect(&self, inner: &mut Inner, key: &RunKey, effect: Effect) {
        // Effects on other runs may fail (the target is gone); the source records that itself,
        // so errors here are logged, never propagated into a finished transaction.
        let result = match effect {
            Effect::WorkflowTask { queue, stamp } => {
                let queue = QueueKey {
                    namespace: key.namespace.clone(),
                    name: queue,
                    kind: QueueKind::Workflow,
                };
                inner.matching.push(
                    queue,
                    TaskRef::Workflow {
                        run: key.clone(),
                        stamp,
                    },
                );
                Ok(())
            }
            Effect::ActivityTask {
                queue,
                scheduled_event_id,
                attempt,
            } => {
                let queue = QueueKey {
                    namespace: key.namespace.clone(),
                    name: queue,
                    kind: QueueKind::Activity,
                };
                inner.matching.push(
                    queue,
                    TaskRef::Activity {
                        run: key.clone(),
                        scheduled_event_id,
                        attempt,
                    },
                );
                Ok(())
            }
            Effect::Timer { deadline_ms, kind } => {
                inner.timers.add(deadline_ms, kind);
                Ok(())
            }
            Effect::StartChild {
                initiated_event_id,
                attributes: a,
            } => {
                let running = inner
                    .store
                    .current_run(&a.namespace, &a.workflow_id)
                    .and_then(|run_id| {
                        inner.store.load(&RunKey {
                            namespace: a.namespace.clone(),
                            workflow_id: a.workflow_id.clone(),
                            run_id,
                        })
                    })
                    .is_some_and(|state| state.is_running());
                if running {
                    self.transact(inner, key, |txn| {
                        txn.child_start_failed(initiated_event_id);
                        Ok(())
                    })
                } else {
                    let child = RunKey {
                        namespace: a.namespace.clone(),
                        workflow_id: a.workflow_id.clone(),
                        run_id: new_id(),
                    };
                    let run = NewRun {
                        key: Some(child.clone()),
                        workflow_type: a.workflow_type.map(|t| t.name).unwrap_or_default(),
                        task_queue: a.task_queue.map(|q| q.name).unwrap_or_default(),
                        input: a.input,
                        header: a.header,
                        memo: a.memo,
                        search_attributes: a.search_attributes,
                        wft_timeout_ms: duration_ms(a.workflow_task_timeout.as_ref()).unwrap_or(0),
                        run_timeout_ms: duration_ms(a.workflow_run_timeout.as_ref()),
                        execution_timeout_ms: duration_ms(a.workflow_execution_timeout.as_ref()),
                        retry_policy: a.retry_policy,
                        request_id: new_id(),
                        parent: Some(Parent {
                            run: key.clone(),
                            initiated_event_id,
                        }),
                        ..Default::default()
                    };
                    let state = MutableState::new_run(child.clone(), &run, inner.clock.now_ms());
                    self.transact_state(inner, state, true, |txn| {
                        txn.record_start(&run, Some(key));
                        txn.schedule_workflow_task();
                        Ok(())
                    })
                    .and_then(|()| {
                        self.transact(inner, key, |txn| {
                            txn.child_started(initiated_event_id, child.execution());
                            Ok(())
                        })
                    })
                }
            }
            Effect::SignalExternal {
                initiated_event_id,
                namespace,
                execution,
                signal_name,
                input,
                header,
            } => {
                let target =
                    Engine::resolve(inner, &namespace, &execution.workflow_id, &execution.run_id)
                        .ok()
                        .filter(|target| inner.store.load(target).is_some_and(|s| s.is_running()));
                let failed = match target {
                    Some(target) => {
                        let source = key.execution();
                        let delivered = self.transact(inner, &target, |txn| {
                            txn.signal(
                                signal_name,
                                input,
                                header,
                                String::new(),
                                new_id(),
                                Some(source),
                            );
                            Ok(())
                        });
                        delivered
                            .err()
                            .map(|_| SignalCause::ExternalWorkflowExecutionNotFound)
                    }
                    None => Some(SignalCause::ExternalWorkflowExecutionNotFound),
                };
                self.transact(inner, key, |txn| {
                    txn.signal_external_done(initiated_event_id, namespace, execution, failed);
                    Ok(())
                })
            }
            Effect::CancelExternal {
                initiated_event_id,
                namespace,
                execution,
            } => {
                let target =
                    Engine::resolve(inner, &namespace, &execution.workflow_id, &execution.run_id)
                        .ok()
                        .filter(|target| inner.store.load(target).is_some_and(|s| s.is_running()));
                let failed = match target {
                    Some(target) => {
                        let source = key.execution();
                        self.transact(inner, &target, |txn| {
                            txn.request_cancel(
                                String::new(),
                                String::new(),
                                Some((initiated_event_id, source)),
                            );
                            Ok(())
                        })
                        .err()
                        .map(|_| CancelCause::ExternalWorkflowExecutionNotFound)
                    }
                    None => Some(CancelCause::ExternalWorkflowExecutionNotFound),
                };
                self.transact(inner, key, |txn| {
                    txn.cancel_external_done(initiated_event_id, namespace, execution, failed);
                    Ok(())
                })
            }
            Effect::NotifyParent {
                parent,
                initiated_event_id,
                child,
                outcome,
                ..
            } => self.transact(inner, &parent, |txn| {
                if txn.state.is_running() {
                    txn.child_closed(initiated_event_id, child, outcome);
                }
                Ok(())
            }),
            Effect::CloseChildren { children } => {
                for (namespace, workflow_id, run_id, policy) in children {
                    let child = RunKey {
                        namespace,
                        workflow_id,
                        run_id,
                    };
                    let _ = self.transact(inner, &child, |txn| {
                        if !txn.state.is_running() {
                            return Ok(());
                        }
                        // The parent is gone: the child must not report back to it.
                        if policy == ParentClosePolicy::Terminate {
                            txn.state.parent = None;
                            txn.terminate("by parent close policy".into(), None, String::new());
                        } else {
                            txn.request_cancel(
                                "by parent close policy".into(),
                                String::new(),
                                None,
                            );
                        }
                        Ok(())
                    });
                }
                Ok(())
            }
            Effect::ContinueAsNew {
                new_run_id,
                attributes: a,
            } => self.start_continued_run(inner, key, new_run_id, a),
            Effect::DispatchQueries { query_ids } => {
                self.dispatch_queries(inner, key, query_ids);
                Ok(())
            }
            Effect::FailQueries { query_ids, message } => {
                for id in query_ids {
                    inner.queries.fail(id, &message);
                }
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(%key, %error, "an effect on another run failed");
        }
    }

    fn start_continued_run(
        &self,
        inner: &mut Inner,
        previous: &RunKey,
        new_run_id: String,
        a: crate::proto::command::ContinueAsNewWorkflowExecutionCommandAttributes,
    ) -> crate::error::Result<()> {
        let old = inner.store.load(previous).ok_or_else(|| {
            crate::error::ServiceError::NotFound(format!("run {previous} vanished"))
        })?;
        let key = RunKey {
            run_id: new_run_id,
            ..previous.clone()
        };
        let run = NewRun {
            key: Some(key.clone()),
            first_execution_run_id: old.first_execution_run_id.clone(),
            workflow_type: a.workflow_type.map(|t| t.name).unwrap_or_default(),
            task_queue: a.task_queue.map(|q| q.name).unwrap_or_default(),
            input: a.input,
            header: a.header,
            memo: a.memo.or(old.memo.clone()),
            search_attributes: a.search_attributes.or(old.search_attributes.clone()),
            wft_timeout_ms: duration_ms(a.workflow_task_timeout.as_ref()).unwrap_or(0),
            run_timeout_ms: duration_ms(a.workflow_run_timeout.as_ref()),
            execution_timeout_ms: old.execution_timeout_ms,
            execution_deadline_ms: old.execution_deadline_ms,
            retry_policy: a.retry_policy,
            request_id: new_id(),
            parent: old.parent.clone(),
            continued_execution_run_id: previous.run_id.clone(),
            initiator: ContinueAsNewInitiator::try_from(a.initiator)
                .unwrap_or(ContinueAsNewInitiator::Workflow),
            continued_failure: a.failure,
            last_completion_result: a.last_completion_result,
            attempt: 1,
            ..Default::default()
        };
        let parent = old.parent.as_ref().map(|p| p.run.clone());
        let state = MutableState::new_run(key, &run, inner.clock.now_ms());
        self.transact_state(inner, state, true, |txn| {
            txn.record_start(&run, parent.as_ref());
            txn.schedule_workflow_task();
            Ok(())
        })
    }
}
