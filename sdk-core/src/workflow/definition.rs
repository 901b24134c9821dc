//! The boundary between the engine and the workflows it runs: the type-erased factory the
//! `chronicle` crate implements for each workflow type, the instance it makes, and the
//! handlers that reach the instance's state from outside.

use super::handle::RunHandle;
use super::options::WorkflowExit;
use crate::failure::Failure;
use crate::payload::Payload;
use crate::text::list_or_none;
use futures::future::LocalBoxFuture;
use std::fmt;

/// A registered workflow type, type-erased: makes a run's instance from its input payloads.
///
/// The `chronicle` crate implements it for every `#[workflow]` type. The instance lives only on
/// the thread that processes the workflow task, so it need not be `Send`.
pub trait WorkflowFactory: Send + Sync + 'static {
    /// The workflow type name.
    fn name(&self) -> &str;
    /// Creates the run's state and its workflow function's future, without polling it. Input
    /// that does not decode should come back as the future's error, which fails the workflow
    /// with that message.
    fn instantiate(&self, run: RunHandle, input: Vec<Payload>) -> WorkflowInstance;
}

/// The workflow function's future, as a run drives it.
pub type WorkflowFuture = LocalBoxFuture<'static, WorkflowExit>;

/// One run of a workflow: the future of its workflow function, and the handlers that reach its
/// state from outside (signals and queries).
///
/// Handlers exist from the moment the run is instantiated: a signal that arrives before the
/// first workflow task reaches the state before the workflow function first runs.
pub struct WorkflowInstance {
    /// The workflow function, not yet polled.
    pub future: WorkflowFuture,
    /// Signal and query handlers.
    pub handlers: Box<dyn WorkflowHandlers>,
}

impl fmt::Debug for WorkflowInstance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkflowInstance").finish_non_exhaustive()
    }
}

impl WorkflowInstance {
    /// An instance whose workflow handles no signal and no query.
    pub fn new(future: WorkflowFuture) -> Self {
        Self {
            future,
            handlers: Box::new(NoHandlers),
        }
    }
}

/// Signal and query handlers of one run, type-erased.
///
/// Both are synchronous: a signal handler changes the state between two polls of the workflow
/// function, a query handler reads it and issues nothing.
pub trait WorkflowHandlers {
    /// Applies a signal to the state.
    fn signal(&self, name: &str, input: Vec<Payload>) -> Result<(), HandlerError>;
    /// Answers a query from the state.
    fn query(&self, name: &str, input: Vec<Payload>) -> Result<Vec<Payload>, HandlerError>;
    /// The names of the handlers of a kind (for the built-in metadata query).
    fn names(&self, kind: HandlerKind) -> Vec<String> {
        let _ = kind;
        Vec::new()
    }
    /// Starts the update handler `name`: decodes the arguments, runs the validator first when
    /// `validate` is set (a live request; never on replay, where the history already says the
    /// update was accepted), and returns the handler's future without polling it. `Err` is the
    /// failure that rejects the update (unknown name, undecodable arguments, the validator's
    /// error). The future's error is the update's failure, which the client gets; the workflow
    /// carries on.
    fn update(
        &self,
        name: &str,
        input: Vec<Payload>,
        validate: bool,
    ) -> Result<UpdateFuture, Failure> {
        let _ = (input, validate);
        Err(Failure::application(
            HandlerError::unknown(HandlerKind::Update, name, &[]).to_string(),
            UNKNOWN_UPDATE,
        ))
    }
}

/// An update handler's future: its encoded result, or the failure the client gets.
pub type UpdateFuture = LocalBoxFuture<'static, Result<Vec<Payload>, Failure>>;

/// The error type of the failure that rejects an update no handler of the workflow takes.
pub const UNKNOWN_UPDATE: &str = "UnknownUpdate";

/// Handlers of a workflow that declares none.
struct NoHandlers;

impl WorkflowHandlers for NoHandlers {
    fn signal(&self, name: &str, _input: Vec<Payload>) -> Result<(), HandlerError> {
        Err(HandlerError::unknown(HandlerKind::Signal, name, &[]))
    }
    fn query(&self, name: &str, _input: Vec<Payload>) -> Result<Vec<Payload>, HandlerError> {
        Err(HandlerError::unknown(HandlerKind::Query, name, &[]))
    }
}

/// Signal or query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    /// A signal handler.
    Signal,
    /// A query handler.
    Query,
    /// An update handler.
    Update,
}

impl fmt::Display for HandlerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HandlerKind::Signal => "signal",
            HandlerKind::Query => "query",
            HandlerKind::Update => "update",
        })
    }
}

/// A signal or query could not be handled. None of these fail the workflow: an unhandled
/// signal is logged and dropped, an unanswered query is an error for its caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandlerError {
    /// The workflow has no handler of that name.
    #[error("{kind} {name:?} is not handled by this workflow (known {kind} names: {})", list_or_none(.known))]
    Unknown {
        /// Signal or query.
        kind: HandlerKind,
        /// The name asked for.
        name: String,
        /// The names the workflow handles.
        known: Vec<String>,
    },
    /// The arguments did not decode, or the answer did not encode.
    #[error("{kind} {name:?}: {message}")]
    Payload {
        /// Signal or query.
        kind: HandlerKind,
        /// The handler's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// The handler panicked, or did something a handler may not do.
    #[error("{kind} handler {name:?} failed: {message}")]
    Failed {
        /// Signal or query.
        kind: HandlerKind,
        /// The handler's name.
        name: String,
        /// The panic message.
        message: String,
    },
}

impl HandlerError {
    /// An unknown handler name; `known` lists the workflow's names of that kind.
    pub fn unknown(kind: HandlerKind, name: &str, known: &[&str]) -> Self {
        HandlerError::Unknown {
            kind,
            name: name.to_string(),
            known: known.iter().map(|k| k.to_string()).collect(),
        }
    }
}
