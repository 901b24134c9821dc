//! Handlers that run as tasks of their own (update handlers, async signal handlers): which are
//! running, the futures waiting to join the executor, and what updates leave for the task's
//! response.

use crate::failure::Failure;
use crate::proto::protocol::Message;
use crate::proto::update::Request;
use crate::workflow::definition::HandlerKind;
use futures::future::LocalBoxFuture;
use std::collections::{HashMap, HashSet};

/// A handler's future, polled by the executor next to the workflow function.
pub(crate) type HandlerTask = LocalBoxFuture<'static, ()>;

/// One handler started and not finished.
#[derive(Debug, Clone)]
pub(crate) struct RunningHandler {
    /// Unique within the run, in start order.
    pub seq: u64,
    pub kind: HandlerKind,
    pub name: String,
    /// The update's id, for an update handler.
    pub update_id: Option<String>,
}

#[derive(Default)]
pub(crate) struct Handlers {
    /// Started and not finished, in start order.
    pub running: Vec<RunningHandler>,
    next_seq: u64,
    /// Futures started since the executor last looked; it polls them from its next round.
    pub spawned: Vec<HandlerTask>,
    /// Updates this run accepted (in history or in this task): a request seen twice is
    /// answered once.
    pub accepted_updates: HashSet<String>,
    /// Requests of updates admitted durably (`WorkflowExecutionUpdateAdmitted`), whose
    /// acceptance event may then omit the request.
    pub admitted: HashMap<String, Request>,
    /// Rejections to send with the response of the task being answered.
    pub rejections: Vec<Message>,
    /// An async signal handler's error, which fails the workflow.
    pub failure: Option<Failure>,
}

impl Handlers {
    /// Registers a handler as running; returns its sequence number.
    pub fn start(&mut self, kind: HandlerKind, name: &str, update_id: Option<String>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.running.push(RunningHandler {
            seq,
            kind,
            name: name.to_string(),
            update_id,
        });
        seq
    }

    /// The handler `seq` has returned.
    pub fn finish(&mut self, seq: u64) {
        self.running.retain(|h| h.seq != seq);
    }
}
