//! Workflow code reaching other workflows: starting children, signalling and cancelling
//! external workflows. The machines are in `machines::{child, external}`.

use super::RunHandle;
use crate::failure::Failure;
use crate::payload::Payload;
use crate::workflow::machines::child::ChildMachine;
use crate::workflow::machines::external::{ExternalAction, ExternalMachine};
use crate::workflow::machines::MachineId;
use crate::workflow::options::ChildWorkflowRequest;
use std::fmt;
use std::panic::Location;
use std::task::{Context, Poll};

impl RunHandle {
    /// Starts a child workflow; the command goes out with this workflow task.
    pub fn start_child_at(
        &self,
        request: ChildWorkflowRequest,
        location: &'static Location<'static>,
    ) -> ChildHandle {
        let workflow_id = match &request.workflow_id {
            Some(id) => id.clone(),
            // Unique per run (the random sequence is seeded by the run id), the same on replay.
            None => format!(
                "{}-child-{:016x}",
                self.info().workflow_id,
                self.random_u64()
            ),
        };
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("start a child workflow");
        let machine = ChildMachine::new(
            request,
            workflow_id,
            &state.info.task_queue,
            &state.info.namespace,
            location,
        );
        let index = state.issue_cancellable(machine);
        ChildHandle {
            run: self.clone(),
            index,
        }
    }

    /// Sends a signal to another workflow (`run_id` empty: its latest run).
    pub fn signal_external_at(
        &self,
        workflow_id: String,
        run_id: String,
        signal: String,
        input: Vec<Payload>,
        location: &'static Location<'static>,
    ) -> ExternalHandle {
        self.external(
            ExternalAction::Signal {
                name: signal,
                input,
            },
            workflow_id,
            run_id,
            location,
        )
    }

    /// Asks another workflow to cancel (`run_id` empty: its latest run).
    pub fn cancel_external_at(
        &self,
        workflow_id: String,
        run_id: String,
        location: &'static Location<'static>,
    ) -> ExternalHandle {
        self.external(ExternalAction::Cancel, workflow_id, run_id, location)
    }

    fn external(
        &self,
        action: ExternalAction,
        workflow_id: String,
        run_id: String,
        location: &'static Location<'static>,
    ) -> ExternalHandle {
        let mut state = self.0.borrow_mut();
        state.refuse_in_query("signal or cancel another workflow");
        let index = state.commands.issue(ExternalMachine::new(
            action,
            workflow_id,
            run_id,
            false,
            location,
        ));
        ExternalHandle {
            run: self.clone(),
            index,
        }
    }
}

/// A child workflow started by the run: poll for its start and for its result, cancel it.
#[derive(Clone, Debug)]
pub struct ChildHandle {
    run: RunHandle,
    index: usize,
}

impl ChildHandle {
    /// The run that started the child.
    pub fn run_handle(&self) -> RunHandle {
        self.run.clone()
    }

    /// The child's workflow id.
    pub fn workflow_id(&self) -> String {
        self.run.0.borrow().commands.machines.children[self.index]
            .workflow_id
            .clone()
    }

    /// The child's run id, once it has started.
    pub fn run_id(&self) -> Option<String> {
        self.run.0.borrow().commands.machines.children[self.index]
            .run_id
            .clone()
    }

    /// Ready with the child's run id once it started, or why it could not start.
    pub fn poll_start(&self, cx: &mut Context<'_>) -> Poll<Result<String, Failure>> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.children[self.index]
            .started
            .poll_cloned(cx)
    }

    /// Ready with the child's result once it closed.
    pub fn poll_result(&self, cx: &mut Context<'_>) -> Poll<Result<Vec<Payload>, Failure>> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.children[self.index]
            .result
            .poll_cloned(cx)
    }

    /// Asks the child to cancel (withdraws its start if it was not sent yet). Its result then
    /// says how it ended.
    pub fn cancel(&self) {
        self.run
            .0
            .borrow_mut()
            .commands
            .cancel::<ChildMachine>(self.index);
    }
}

/// A signal or cancel request sent to another workflow.
pub struct ExternalHandle {
    run: RunHandle,
    index: usize,
}

impl ExternalHandle {
    /// Ready once the server delivered it, or could not.
    pub fn poll_done(&self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        let mut state = self.run.0.borrow_mut();
        state.commands.machines.externals[self.index]
            .result
            .poll_cloned(cx)
    }
}

impl fmt::Debug for ExternalHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ExternalHandle")
            .field(&MachineId::External(self.index))
            .finish()
    }
}
