//! Client operations on runs: start (id reuse and conflict policies, request-id
//! deduplication), signal, signal-with-start, cancel, terminate (study rule 7).

use super::{Engine, Inner};
use crate::error::{Result, ServiceError};
use crate::ids::{new_id, RunKey};
use crate::proto::enums::{
    WorkflowExecutionStatus as Status, WorkflowIdConflictPolicy as Conflict,
    WorkflowIdReusePolicy as Reuse,
};
use crate::proto::wfs::{
    RequestCancelWorkflowExecutionRequest, SignalWithStartWorkflowExecutionRequest,
    SignalWorkflowExecutionRequest, StartWorkflowExecutionRequest,
    TerminateWorkflowExecutionRequest,
};
use crate::proto::{common, duration_ms};
use crate::state::{MutableState, NewRun};

/// What a start asked for, from either StartWorkflowExecution or SignalWithStart.
struct StartArgs {
    namespace: String,
    workflow_id: String,
    run: NewRun,
    reuse: Reuse,
    conflict: Conflict,
}

/// The outcome of a start: the run, and whether this request started it.
#[derive(Debug, Clone)]
pub struct Started {
    /// The run id.
    pub run_id: String,
    /// False when an existing run was returned (dedup or USE_EXISTING).
    pub started: bool,
}

fn require(value: &str, what: &str) -> Result<()> {
    if value.trim().is_empty() {
        Err(ServiceError::InvalidArgument(format!(
            "{what} is not set on request"
        )))
    } else {
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn new_run(
    workflow_type: Option<common::WorkflowType>,
    task_queue: Option<crate::proto::taskqueue::TaskQueue>,
    input: Option<common::Payloads>,
    header: Option<common::Header>,
    memo: Option<common::Memo>,
    search_attributes: Option<common::SearchAttributes>,
    timeouts: [Option<&prost_wkt_types::Duration>; 3],
    retry_policy: Option<common::RetryPolicy>,
    request_id: String,
    identity: String,
) -> Result<NewRun> {
    let workflow_type = workflow_type.map(|t| t.name).unwrap_or_default();
    require(&workflow_type, "WorkflowType")?;
    let task_queue = task_queue.map(|q| q.name).unwrap_or_default();
    require(&task_queue, "TaskQueue")?;
    let [execution, run, task] = timeouts;
    Ok(NewRun {
        workflow_type,
        task_queue,
        input,
        header,
        memo,
        search_attributes,
        wft_timeout_ms: duration_ms(task).unwrap_or(0),
        run_timeout_ms: duration_ms(run),
        execution_timeout_ms: duration_ms(execution),
        retry_policy,
        request_id: if request_id.is_empty() {
            new_id()
        } else {
            request_id
        },
        identity,
        attempt: 1,
        ..Default::default()
    })
}

impl Engine {
    /// The current run of a workflow id, if any.
    fn current_state(inner: &Inner, namespace: &str, workflow_id: &str) -> Option<MutableState> {
        let run_id = inner.store.current_run(namespace, workflow_id)?;
        inner.store.load(&RunKey {
            namespace: namespace.to_string(),
            workflow_id: workflow_id.to_string(),
            run_id,
        })
    }

    /// Applies reuse and conflict policies; `Ok(Some)` answers with an existing run.
    fn check_existing(
        inner: &mut Inner,
        args: &StartArgs,
        engine: &Engine,
    ) -> Result<Option<Started>> {
        let Some(current) = Self::current_state(inner, &args.namespace, &args.workflow_id) else {
            return Ok(None);
        };
        if current.request_ids.contains(&args.run.request_id) {
            return Ok(Some(Started {
                run_id: current.key.run_id,
                started: false,
            }));
        }
        let already = || ServiceError::AlreadyStarted {
            workflow_id: args.workflow_id.clone(),
            run_id: current.key.run_id.clone(),
            start_request_id: current.start_request_id.clone(),
        };
        if current.is_running() {
            let conflict = if args.reuse == Reuse::TerminateIfRunning {
                Conflict::TerminateExisting
            } else {
                args.conflict
            };
            return match conflict {
                Conflict::UseExisting => Ok(Some(Started {
                    run_id: current.key.run_id.clone(),
                    started: false,
                })),
                Conflict::TerminateExisting => {
                    engine.transact(inner, &current.key, |txn| {
                        txn.terminate(
                            "terminated by a new start (TERMINATE_EXISTING)".into(),
                            None,
                            String::new(),
                        );
                        Ok(())
                    })?;
                    Ok(None)
                }
                Conflict::Fail | Conflict::Unspecified => Err(already()),
            };
        }
        let allowed = match args.reuse {
            Reuse::RejectDuplicate => false,
            Reuse::AllowDuplicateFailedOnly => matches!(
                current.status,
                Status::Failed | Status::Canceled | Status::Terminated | Status::TimedOut
            ),
            _ => true,
        };
        if allowed {
            Ok(None)
        } else {
            Err(already())
        }
    }

    fn start_run(
        &self,
        inner: &mut Inner,
        args: StartArgs,
        signal: Option<(String, Option<common::Payloads>, Option<common::Header>)>,
    ) -> Result<Started> {
        let key = RunKey {
            namespace: args.namespace.clone(),
            workflow_id: args.workflow_id.clone(),
            run_id: new_id(),
        };
        let state = MutableState::new_run(key.clone(), &args.run, inner.clock.now_ms());
        let identity = args.run.identity.clone();
        let request_id = args.run.request_id.clone();
        self.transact_state(inner, state, true, |txn| {
            txn.record_start(&args.run, None);
            if let Some((name, input, header)) = signal {
                txn.signal(name, input, header, identity, request_id, None);
            }
            txn.schedule_workflow_task();
            Ok(())
        })?;
        Ok(Started {
            run_id: key.run_id,
            started: true,
        })
    }

    /// StartWorkflowExecution.
    pub fn start_workflow(&self, request: StartWorkflowExecutionRequest) -> Result<Started> {
        self.check_namespace(&request.namespace)?;
        require(&request.workflow_id, "WorkflowId")?;
        let run = new_run(
            request.workflow_type,
            request.task_queue,
            request.input,
            request.header,
            request.memo,
            request.search_attributes,
            [
                request.workflow_execution_timeout.as_ref(),
                request.workflow_run_timeout.as_ref(),
                request.workflow_task_timeout.as_ref(),
            ],
            request.retry_policy,
            request.request_id,
            request.identity,
        )?;
        let args = StartArgs {
            namespace: request.namespace,
            workflow_id: request.workflow_id,
            run,
            reuse: Reuse::try_from(request.workflow_id_reuse_policy).unwrap_or_default(),
            conflict: Conflict::try_from(request.workflow_id_conflict_policy).unwrap_or_default(),
        };
        let mut inner = self.lock();
        if let Some(existing) = Self::check_existing(&mut inner, &args, self)? {
            return Ok(existing);
        }
        self.start_run(&mut inner, args, None)
    }

    /// SignalWithStartWorkflowExecution: signals the running run, else starts one with the
    /// signal as its first event after Started.
    pub fn signal_with_start(
        &self,
        request: SignalWithStartWorkflowExecutionRequest,
    ) -> Result<Started> {
        self.check_namespace(&request.namespace)?;
        require(&request.workflow_id, "WorkflowId")?;
        require(&request.signal_name, "SignalName")?;
        let conflict =
            match Conflict::try_from(request.workflow_id_conflict_policy).unwrap_or_default() {
                Conflict::Unspecified => Conflict::UseExisting,
                Conflict::Fail => {
                    return Err(ServiceError::InvalidArgument(
                        "SignalWithStart does not accept the conflict policy FAIL".into(),
                    ))
                }
                other => other,
            };
        let run = new_run(
            request.workflow_type,
            request.task_queue,
            request.input,
            request.header.clone(),
            request.memo,
            request.search_attributes,
            [
                request.workflow_execution_timeout.as_ref(),
                request.workflow_run_timeout.as_ref(),
                request.workflow_task_timeout.as_ref(),
            ],
            request.retry_policy,
            request.request_id,
            request.identity.clone(),
        )?;
        let mut inner = self.lock();
        let current = Self::current_state(&inner, &request.namespace, &request.workflow_id)
            .filter(|state| state.is_running());
        if let (Some(current), Conflict::UseExisting) = (current, conflict) {
            let request_id = run.request_id.clone();
            self.transact(&mut inner, &current.key, |txn| {
                if txn.state.request_ids.insert(request_id.clone()) {
                    txn.signal(
                        request.signal_name,
                        request.signal_input,
                        request.header,
                        request.identity,
                        request_id,
                        None,
                    );
                }
                Ok(())
            })?;
            return Ok(Started {
                run_id: current.key.run_id,
                started: false,
            });
        }
        let args = StartArgs {
            namespace: request.namespace,
            workflow_id: request.workflow_id,
            run,
            reuse: Reuse::try_from(request.workflow_id_reuse_policy).unwrap_or_default(),
            conflict,
        };
        if let Some(existing) = Self::check_existing(&mut inner, &args, self)? {
            return Ok(existing);
        }
        self.start_run(
            &mut inner,
            args,
            Some((request.signal_name, request.signal_input, request.header)),
        )
    }

    /// Resolves a running run for a client operation; closed runs are NotFound.
    fn running_run(
        inner: &Inner,
        namespace: &str,
        execution: Option<&common::WorkflowExecution>,
    ) -> Result<RunKey> {
        let execution = execution
            .ok_or_else(|| ServiceError::InvalidArgument("WorkflowExecution is not set".into()))?;
        let key = Engine::resolve(inner, namespace, &execution.workflow_id, &execution.run_id)?;
        match inner.store.load(&key) {
            Some(state) if state.is_running() => Ok(key),
            _ => Err(ServiceError::NotFound(
                "workflow execution already completed".into(),
            )),
        }
    }

    /// SignalWorkflowExecution.
    pub fn signal(&self, request: SignalWorkflowExecutionRequest) -> Result<()> {
        self.check_namespace(&request.namespace)?;
        require(&request.signal_name, "SignalName")?;
        let mut inner = self.lock();
        let key = Self::running_run(
            &inner,
            &request.namespace,
            request.workflow_execution.as_ref(),
        )?;
        self.transact(&mut inner, &key, |txn| {
            let request_id = if request.request_id.is_empty() {
                new_id()
            } else {
                request.request_id
            };
            if txn.state.request_ids.insert(request_id.clone()) {
                txn.signal(
                    request.signal_name,
                    request.input,
                    request.header,
                    request.identity,
                    request_id,
                    None,
                );
            }
            Ok(())
        })
    }

    /// RequestCancelWorkflowExecution.
    pub fn request_cancel(&self, request: RequestCancelWorkflowExecutionRequest) -> Result<()> {
        self.check_namespace(&request.namespace)?;
        let mut inner = self.lock();
        let key = Self::running_run(
            &inner,
            &request.namespace,
            request.workflow_execution.as_ref(),
        )?;
        check_first_run(&inner, &key, &request.first_execution_run_id)?;
        self.transact(&mut inner, &key, |txn| {
            if request.request_id.is_empty() || txn.state.request_ids.insert(request.request_id) {
                txn.request_cancel(request.reason, request.identity, None);
            }
            Ok(())
        })
    }

    /// TerminateWorkflowExecution.
    pub fn terminate(&self, request: TerminateWorkflowExecutionRequest) -> Result<()> {
        self.check_namespace(&request.namespace)?;
        let mut inner = self.lock();
        let key = Self::running_run(
            &inner,
            &request.namespace,
            request.workflow_execution.as_ref(),
        )?;
        check_first_run(&inner, &key, &request.first_execution_run_id)?;
        self.transact(&mut inner, &key, |txn| {
            txn.terminate(request.reason, request.details, request.identity);
            Ok(())
        })
    }
}

fn check_first_run(inner: &Inner, key: &RunKey, first_execution_run_id: &str) -> Result<()> {
    if first_execution_run_id.is_empty() {
        return Ok(());
    }
    match inner.store.load(key) {
        Some(state) if state.first_execution_run_id == first_execution_run_id => Ok(()),
        _ => Err(ServiceError::NotFound(
            "workflow execution not found for the given first execution run id".into(),
        )),
    }
}
