//! The engine: all runs behind one lock; every change is a transaction on one run
//! (load, change, store) followed by its effects (task pushes, timers, calls on other runs).
//!
//! One lock for the whole service keeps cross-run operations (children, external signals,
//! continue-as-new) atomic and simple; nothing awaits while holding it. Waiting (polls, long
//! polls, queries, sleeps) happens outside it, on `Notify`s and channels.

mod effects;
mod history;
mod pump;
mod query;
mod start;
mod tasks;
mod visibility;

pub use query::QueryOutcome;

use crate::clock::Clock;
use crate::error::{Result, ServiceError};
use crate::ids::RunKey;
use crate::matching::Matching;
use crate::state::{Effect, MutableState, Txn};
use crate::store::Store;
use crate::timers::TimerQueue;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{oneshot, watch, Notify};

/// How long a task poll waits before answering empty.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a history long poll waits before answering an empty page.
pub const HISTORY_LONG_POLL: Duration = Duration::from_secs(20);
/// Events per history page when the client asks for no size.
pub const DEFAULT_PAGE_SIZE: usize = 256;

/// Settings of an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Whether time skipping is enabled.
    pub time_skipping: bool,
    /// Initial TestService lock count.
    pub initial_locks: u32,
    /// Namespaces served.
    pub namespaces: Vec<String>,
}

pub(crate) struct Inner {
    pub clock: Clock,
    pub store: Box<dyn Store>,
    pub timers: TimerQueue,
    pub matching: Matching,
    pub queries: query::Queries,
    pub sleepers: HashMap<u64, (oneshot::Sender<()>, bool)>,
    pub busy: HashSet<RunKey>,
    pub next_id: u64,
    pending: VecDeque<(RunKey, Effect)>,
    draining: bool,
    history_changed: bool,
}

/// The history service's engine.
pub struct Engine {
    inner: Mutex<Inner>,
    config: EngineConfig,
    pump: Notify,
    history: Notify,
    shutdown: watch::Sender<bool>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .finish()
    }
}

impl Engine {
    /// A new engine over `store`.
    pub fn new(config: EngineConfig, store: Box<dyn Store>) -> Arc<Engine> {
        let (shutdown, _) = watch::channel(false);
        Arc::new(Engine {
            inner: Mutex::new(Inner {
                clock: Clock::new(config.time_skipping, config.initial_locks),
                store,
                timers: TimerQueue::default(),
                matching: Matching::default(),
                queries: query::Queries::default(),
                sleepers: HashMap::new(),
                busy: HashSet::new(),
                next_id: 1,
                pending: VecDeque::new(),
                draining: false,
                history_changed: false,
            }),
            config,
            pump: Notify::new(),
            history: Notify::new(),
            shutdown,
        })
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves state that is still consistent per run (a
        // transaction is stored whole or not at all), so keep serving.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Current virtual time (ms since the epoch).
    pub fn now_ms(&self) -> i64 {
        self.lock().clock.now_ms()
    }

    /// Stops pollers and the timer pump.
    pub fn shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// A receiver that turns true at shutdown.
    pub fn shutdown_receiver(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Fails with NamespaceNotFound unless `namespace` is served.
    pub fn check_namespace(&self, namespace: &str) -> Result<()> {
        if self.config.namespaces.iter().any(|n| n == namespace) {
            Ok(())
        } else {
            Err(ServiceError::NamespaceNotFound(namespace.to_string()))
        }
    }

    /// The run named by `run_id`, or the workflow's current run when it is empty.
    pub(crate) fn resolve(
        inner: &Inner,
        namespace: &str,
        workflow_id: &str,
        run_id: &str,
    ) -> Result<RunKey> {
        let run_id = if run_id.is_empty() {
            inner
                .store
                .current_run(namespace, workflow_id)
                .ok_or_else(|| {
                    ServiceError::NotFound(format!("workflow not found for ID: {workflow_id}"))
                })?
        } else {
            run_id.to_string()
        };
        let key = RunKey {
            namespace: namespace.to_string(),
            workflow_id: workflow_id.to_string(),
            run_id,
        };
        if inner.store.load(&key).is_none() {
            return Err(ServiceError::NotFound(format!(
                "workflow execution not found: {workflow_id}"
            )));
        }
        Ok(key)
    }

    /// Runs `change` as one transaction of the run `key`, then applies its effects.
    pub(crate) fn transact<T>(
        &self,
        inner: &mut Inner,
        key: &RunKey,
        change: impl FnOnce(&mut Txn) -> Result<T>,
    ) -> Result<T> {
        let state = inner.store.load(key).ok_or_else(|| {
            ServiceError::NotFound(format!("workflow execution not found: {key}"))
        })?;
        self.transact_state(inner, state, false, change)
    }

    /// Like [`Engine::transact`] for a state not stored yet (a new run), which becomes current.
    pub(crate) fn transact_state<T>(
        &self,
        inner: &mut Inner,
        state: MutableState,
        make_current: bool,
        change: impl FnOnce(&mut Txn) -> Result<T>,
    ) -> Result<T> {
        let mut txn = Txn::new(inner.clock.now_ms(), state);
        let value = change(&mut txn)?;
        let Txn {
            state,
            events,
            effects,
            ..
        } = txn;
        inner.store.save(&state, &events, make_current)?;
        if state.is_busy() {
            inner.busy.insert(state.key.clone());
        } else {
            inner.busy.remove(&state.key);
        }
        inner.history_changed |= !events.is_empty();
        inner.pending.extend(
            effects
                .into_iter()
                .map(|effect| (state.key.clone(), effect)),
        );
        if !inner.draining {
            inner.draining = true;
            while let Some((key, effect)) = inner.pending.pop_front() {
                self.apply_effect(inner, &key, effect);
            }
            inner.draining = false;
        }
        if std::mem::take(&mut inner.history_changed) {
            self.history.notify_waiters();
        }
        self.pump.notify_one();
        Ok(value)
    }

    /// A fresh id for queries and sleepers.
    pub(crate) fn next_id(inner: &mut Inner) -> u64 {
        let id = inner.next_id;
        inner.next_id += 1;
        id
    }
}
