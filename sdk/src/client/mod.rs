//! The client: start workflows, wait for their results, signal and query them, describe,
//! cancel and terminate them.
//!
//! ```no_run
//! use chronicle::client::{Client, ClientError};
//! use chronicle::ConnectionOptions;
//!
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(ConnectionOptions::from_env()).await?;
//! // Typed: `client.start(HelloWorkflow::run, "World".to_string(), "hello-1", "hello")`.
//! // By type name, for workflows written with other SDKs:
//! let handle = client
//!     .start_by_name(
//!         "GreetingWorkflow",
//!         vec![chronicle::payload::encode("World")?],
//!         "greeting-1",
//!         "hello",
//!     )
//!     .await?;
//! let greeting: String = handle.result().await?;
//! # Ok(()) }
//! ```

mod activity_completion;
mod describe;
mod error;
mod handle;
mod messages;
pub mod schedule;
mod start;
mod update;
mod update_with_start;

pub use activity_completion::{AsyncActivityHandle, AsyncActivityId};
pub use describe::{ActivityState, PendingActivity, WorkflowDescription, WorkflowStatus};
pub use error::{ClientError, WorkflowExecutionError};
pub use handle::{Untyped, WorkflowHandle};
pub use start::{IdConflictPolicy, IdReusePolicy, StartWorkflow};
pub use update::{UpdateError, UpdateHandle, UpdateOptions, UpdateStage};
pub use update_with_start::UpdateWithStart;

use crate::definition::{RunFn, WorkflowDefinition};
use chronicle_core::payload::Payload;
use chronicle_core::{Connection, ConnectionOptions};
use start::StartSpec;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

/// A client of one Temporal namespace. Cheap to clone; clones share the connection.
///
/// ```no_run
/// # async fn f() -> Result<(), chronicle::client::ClientError> {
/// use chronicle::{Client, ConnectionOptions};
/// let client = Client::connect(ConnectionOptions::default().namespace("billing")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    conn: Connection,
}

impl Client {
    /// Connects to the Temporal frontend `options` names.
    pub async fn connect(options: ConnectionOptions) -> Result<Client, ClientError> {
        Ok(Self::from_connection(Connection::connect(options).await?))
    }

    /// A client over an existing connection (one connection can serve clients and workers).
    pub fn from_connection(conn: Connection) -> Client {
        Client { conn }
    }

    /// The same client, whose calls give each attempt `timeout` instead of the connection's
    /// `rpc_timeout`; handles it makes inherit it. A query waits that long for a worker.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), chronicle::client::ClientError> {
    /// use std::time::Duration;
    /// let patient = client.with_rpc_timeout(Duration::from_secs(60));
    /// let status: String = patient.untyped_handle("order-7").query("status", ()).await?;
    /// # Ok(()) }
    /// ```
    pub fn with_rpc_timeout(&self, timeout: std::time::Duration) -> Client {
        Client {
            conn: self.conn.with_rpc_timeout(timeout),
        }
    }

    /// The same client, whose calls pass every payload through `converter` (codecs such as
    /// encryption, and the failure option); handles it makes, and workers made from it,
    /// inherit it. Search attributes and headers are left as they are.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client, encryption: impl chronicle::payload::PayloadCodec) {
    /// use chronicle::payload::DataConverter;
    /// let client = client.with_data_converter(
    ///     DataConverter::default().with_codec(encryption).encode_failure_attributes(true),
    /// );
    /// // `Worker::new(&client, "queue")` now encodes and decodes the same way.
    /// # }
    /// ```
    pub fn with_data_converter(&self, converter: chronicle_core::payload::DataConverter) -> Client {
        Client {
            conn: self.conn.with_data_converter(converter),
        }
    }

    /// The connection, for calls this client does not wrap (`connection().raw()`).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Starts a workflow, typed by its `#[run]` function: the input must be the run function's
    /// argument type, and the handle's `result()` returns its output type.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct HelloWorkflow;
    /// # #[workflow] impl HelloWorkflow { #[run] async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> { Ok(name) } }
    /// # async fn f(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let handle = client
    ///     .start(HelloWorkflow::run, "World".to_string(), "hello-1", "hello")
    ///     .execution_timeout(Duration::from_secs(60))
    ///     .await?;
    /// let greeting: String = handle.result().await?;
    /// # Ok(()) }
    /// ```
    pub fn start<W, Args, F>(
        &self,
        run: F,
        input: W::Input,
        workflow_id: impl Into<String>,
        task_queue: impl Into<String>,
    ) -> StartWorkflow<W>
    where
        W: WorkflowDefinition,
        F: RunFn<W, Args>,
    {
        let spec = typed_spec(run, input, workflow_id.into(), task_queue.into());
        StartWorkflow::new(self.conn.clone(), spec)
    }

    /// Starts a workflow by its type name, with already encoded arguments (one payload per
    /// argument); for workflows implemented with other SDKs.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use chronicle::payload::encode;
    /// let handle = client
    ///     .start_by_name("ParallelWorkflow", vec![encode(&3)?], "parallel-1", "holdout")
    ///     .await?;
    /// let sum: i64 = handle.result().await?;
    /// # Ok(()) }
    /// ```
    pub fn start_by_name(
        &self,
        workflow_type: impl Into<String>,
        args: Vec<Payload>,
        workflow_id: impl Into<String>,
        task_queue: impl Into<String>,
    ) -> StartWorkflow<Untyped> {
        let spec = StartSpec::new(
            workflow_type.into(),
            Ok(args),
            workflow_id.into(),
            task_queue.into(),
        );
        StartWorkflow::new(self.conn.clone(), spec)
    }

    /// A typed handle to the latest run of the workflow with this id.
    ///
    /// ```no_run
    /// # use chronicle::prelude::*;
    /// # #[derive(Default)] struct HelloWorkflow;
    /// # #[workflow] impl HelloWorkflow { #[run] async fn run(_ctx: WorkflowContext<Self>, name: String) -> WorkflowResult<String> { Ok(name) } }
    /// # async fn f(client: Client) -> Result<(), Box<dyn std::error::Error>> {
    /// let handle = client.handle::<HelloWorkflow>("hello-1");
    /// let greeting: String = handle.result().await?;
    /// # Ok(()) }
    /// ```
    pub fn handle<W: WorkflowDefinition>(
        &self,
        workflow_id: impl Into<String>,
    ) -> WorkflowHandle<W> {
        WorkflowHandle::new(self.conn.clone(), workflow_id.into(), None)
    }

    /// An untyped handle to the latest run of the workflow with this id.
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client) -> Result<(), Box<dyn std::error::Error>> {
    /// client.untyped_handle("greeting-1").terminate("no longer needed").await?;
    /// # Ok(()) }
    /// ```
    pub fn untyped_handle(&self, workflow_id: impl Into<String>) -> WorkflowHandle<Untyped> {
        WorkflowHandle::new(self.conn.clone(), workflow_id.into(), None)
    }

    /// A handle to complete, fail, cancel or heartbeat an activity that returned
    /// `ctx.will_complete_async()`, by task token (`Vec<u8>`) or [`AsyncActivityId::by_ids`].
    ///
    /// ```no_run
    /// # async fn f(client: chronicle::Client, token: Vec<u8>) -> Result<(), chronicle::client::ClientError> {
    /// client.async_activity(token).complete(&42).await?;
    /// # Ok(()) }
    /// ```
    pub fn async_activity(&self, activity: impl Into<AsyncActivityId>) -> AsyncActivityHandle {
        AsyncActivityHandle::new(self.conn.clone(), activity.into())
    }
}

/// The start of workflow `W`, whose `#[run]` function `run` only serves to name `W`.
fn typed_spec<W, Args, F>(
    _run: F,
    input: W::Input,
    workflow_id: String,
    task_queue: String,
) -> StartSpec
where
    W: WorkflowDefinition,
    F: RunFn<W, Args>,
{
    // The input is encoded now: `W::Input` need not be `Send`, the start future must be.
    StartSpec::new(
        W::NAME.to_string(),
        W::encode_input(&input),
        workflow_id,
        task_queue,
    )
}

/// A fresh request id for the server's deduplication of retried calls.
///
/// Formatted as a version-4 UUID. Its 122 bits mix the time, the process id, a process-wide
/// counter and the randomly keyed hasher the standard library seeds from the OS, so ids do not
/// repeat across calls, processes or machines.
pub(crate) fn request_id() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let mut halves = [0u64; 2];
    for (i, half) in halves.iter_mut().enumerate() {
        // Each RandomState has its own random keys.
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(nanos);
        hasher.write_u32(std::process::id());
        hasher.write_u64(count);
        hasher.write_usize(i);
        *half = hasher.finish();
    }
    let bits = (u128::from(halves[0]) << 64) | u128::from(halves[1]);
    // Version 4, variant 10xx.
    let bits = (bits & !(0xf << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chronicle_core::payload;
    use chronicle_core::proto::enums::{
        TaskQueueKind, WorkflowIdConflictPolicy, WorkflowIdReusePolicy,
    };
    use chronicle_core::retry_policy::RetryPolicy;
    use chronicle_core::PayloadError;
    use std::time::Duration;

    #[test]
    fn request_ids_are_unique_uuids() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| request_id()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids.iter().take(20) {
            assert_eq!(id.len(), 36);
            let parts: Vec<&str> = id.split('-').collect();
            assert_eq!(
                parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
                [8, 4, 4, 4, 12]
            );
            assert!(parts[2].starts_with('4'), "{id}");
            assert!(matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{id}");
        }
    }

    #[test]
    fn start_request_carries_every_option() {
        let input = vec![payload::encode("World").unwrap()];
        let mut spec = StartSpec::new(
            "HelloWorkflow".into(),
            Ok(input.clone()),
            "hello-1".into(),
            "hello".into(),
        );
        spec.id_reuse_policy = Some(IdReusePolicy::RejectDuplicate);
        spec.id_conflict_policy = Some(IdConflictPolicy::UseExisting);
        spec.execution_timeout = Some(Duration::from_secs(3600));
        spec.run_timeout = Some(Duration::from_millis(1500));
        spec.task_timeout = Some(Duration::from_secs(10));
        spec.retry_policy = Some(RetryPolicy::default().maximum_attempts(3));
        let request = spec
            .into_request("default", "123@host", "req-1".into())
            .unwrap();
        assert_eq!(request.namespace, "default");
        assert_eq!(request.workflow_id, "hello-1");
        assert_eq!(request.workflow_type.unwrap().name, "HelloWorkflow");
        let queue = request.task_queue.unwrap();
        assert_eq!(queue.name, "hello");
        assert_eq!(queue.kind, TaskQueueKind::Normal as i32);
        assert_eq!(request.input.unwrap().payloads, input);
        assert_eq!(request.identity, "123@host");
        assert_eq!(request.request_id, "req-1");
        assert_eq!(
            request.workflow_id_reuse_policy,
            WorkflowIdReusePolicy::RejectDuplicate as i32
        );
        assert_eq!(
            request.workflow_id_conflict_policy,
            WorkflowIdConflictPolicy::UseExisting as i32
        );
        let timeout = request.workflow_execution_timeout.unwrap();
        assert_eq!((timeout.seconds, timeout.nanos), (3600, 0));
        let timeout = request.workflow_run_timeout.unwrap();
        assert_eq!((timeout.seconds, timeout.nanos), (1, 500_000_000));
        assert_eq!(request.workflow_task_timeout.unwrap().seconds, 10);
        assert!(request.workflow_start_delay.is_none());
        assert_eq!(request.retry_policy.unwrap().maximum_attempts, 3);
    }

    #[test]
    fn signal_with_start_carries_the_same_options_as_a_start() {
        let spec = || {
            let mut spec = StartSpec::new(
                "HelloWorkflow".into(),
                Ok(vec![payload::encode("World").unwrap()]),
                "hello-1".into(),
                "hello".into(),
            );
            spec.id_reuse_policy = Some(IdReusePolicy::RejectDuplicate);
            spec.id_conflict_policy = Some(IdConflictPolicy::UseExisting);
            spec.execution_timeout = Some(Duration::from_secs(3600));
            spec.run_timeout = Some(Duration::from_millis(1500));
            spec.task_timeout = Some(Duration::from_secs(10));
            spec.start_delay = Some(Duration::from_secs(2));
            spec.retry_policy = Some(RetryPolicy::default().maximum_attempts(3));
            spec.memo
                .insert("note".into(), payload::encode("vip").unwrap());
            spec.search_attributes
                .insert("Customer".into(), payload::encode("acme").unwrap());
            spec
        };
        let start = spec().into_request("ns", "me", "r".into()).unwrap();
        let signal = payload::encode(&5).unwrap();
        let both = spec()
            .into_signal_with_start_request(
                "ns",
                "me",
                "r".into(),
                "pay".into(),
                vec![signal.clone()],
            )
            .unwrap();
        assert_eq!(both.signal_name, "pay");
        assert_eq!(both.signal_input.unwrap().payloads, vec![signal]);
        assert_eq!(
            (
                (
                    both.namespace,
                    both.workflow_id,
                    both.workflow_type,
                    both.task_queue,
                    both.input,
                    both.workflow_execution_timeout,
                    both.workflow_run_timeout,
                    both.workflow_task_timeout,
                    both.workflow_start_delay,
                    both.identity,
                ),
                (
                    both.request_id,
                    both.workflow_id_reuse_policy,
                    both.workflow_id_conflict_policy,
                    both.retry_policy,
                    both.memo,
                    both.search_attributes,
                )
            ),
            (
                (
                    start.namespace,
                    start.workflow_id,
                    start.workflow_type,
                    start.task_queue,
                    start.input,
                    start.workflow_execution_timeout,
                    start.workflow_run_timeout,
                    start.workflow_task_timeout,
                    start.workflow_start_delay,
                    start.identity,
                ),
                (
                    start.request_id,
                    start.workflow_id_reuse_policy,
                    start.workflow_id_conflict_policy,
                    start.retry_policy,
                    start.memo,
                    start.search_attributes,
                )
            )
        );
    }

    #[test]
    fn start_request_defaults_leave_the_server_defaults() {
        let spec = StartSpec::new("T".into(), Ok(vec![]), "id".into(), "q".into());
        let request = spec.into_request("ns", "me", "r".into()).unwrap();
        // No arguments: no `input` at all, as the other SDKs send it.
        assert!(request.input.is_none());
        assert_eq!(request.workflow_id_reuse_policy, 0);
        assert_eq!(request.workflow_id_conflict_policy, 0);
        assert!(request.workflow_execution_timeout.is_none());
        assert!(request.workflow_run_timeout.is_none());
        assert!(request.workflow_task_timeout.is_none());
        assert!(request.retry_policy.is_none());
    }

    #[test]
    fn input_encoding_errors_surface_when_sending() {
        let error = PayloadError::ArgumentCount {
            what: "HelloWorkflow".into(),
            expected: 1,
            received: 2,
        };
        let spec = StartSpec::new("T".into(), Err(error), "id".into(), "q".into());
        let err = spec.into_request("ns", "me", "r".into()).unwrap_err();
        assert!(matches!(err, ClientError::Encode(_)), "{err}");
    }

    #[derive(Default)]
    struct HelloWorkflow;

    impl HelloWorkflow {
        // What `#[workflow]` leaves in place: the user's `#[run]` function.
        async fn run(
            _ctx: crate::WorkflowContext<Self>,
            name: String,
        ) -> Result<String, crate::WorkflowError> {
            Ok(format!("Hello, {name}!"))
        }
    }

    // What `#[workflow]` generates.
    impl WorkflowDefinition for HelloWorkflow {
        type Input = String;
        type Output = String;
        const NAME: &'static str = "HelloWorkflow";
        fn encode_input(input: &String) -> Result<Vec<Payload>, PayloadError> {
            Ok(vec![payload::encode(input)?])
        }
        fn decode_input(payloads: Vec<Payload>) -> Result<String, PayloadError> {
            payload::decode_single(&payloads, "input")
        }
        fn run(
            ctx: crate::WorkflowContext<Self>,
            input: String,
        ) -> futures::future::LocalBoxFuture<'static, Result<String, crate::WorkflowError>>
        {
            Box::pin(HelloWorkflow::run(ctx, input))
        }
    }

    #[test]
    fn typed_start_infers_the_workflow_from_its_run_function() {
        let spec = typed_spec(
            HelloWorkflow::run,
            "World".to_string(),
            "hello-1".into(),
            "hello".into(),
        );
        let request = spec.into_request("default", "me", "r".into()).unwrap();
        assert_eq!(request.workflow_type.unwrap().name, "HelloWorkflow");
        let input = request.input.unwrap().payloads;
        assert_eq!(
            payload::decode_single::<String>(&input, "input").unwrap(),
            "World"
        );
    }

    #[test]
    fn handles_are_send_and_sync_whatever_the_workflow_type() {
        fn assert_send_sync<T: Send + Sync>() {}
        // A workflow type holding an `Rc` is neither; its handle must still be both.
        #[allow(dead_code)]
        struct NotSend(std::rc::Rc<()>);
        assert_send_sync::<WorkflowHandle<NotSend>>();
        assert_send_sync::<StartWorkflow<NotSend>>();
        assert_send_sync::<Client>();
        fn assert_send<T: Send>(_: &T) {}
        assert_send(&request_id());
    }
}
