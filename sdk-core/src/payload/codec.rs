//! Payload codecs: byte-to-byte transformations (encryption, compression) applied to every
//! payload a client or worker sends, and undone on every payload it receives.
//!
//! A [`DataConverter`] holds a chain of [`PayloadCodec`]s and the failure option
//! ([`encode_failure_attributes`](DataConverter::encode_failure_attributes)). It is set on the
//! [`Connection`](crate::Connection) (`with_data_converter`), whose RPC methods apply it to
//! each request and response: that is the one place payloads cross the wire, so every kind is
//! covered (workflow and activity inputs and results, signals, queries and their answers, memo,
//! heartbeat details, failure details, continue-as-new, children, update messages inside
//! `Any`), while search attributes and headers are left as they are, as the other SDKs leave
//! them (the server must read search attributes; headers are codec-free by default in Python).

use super::Payload;
use futures::future::BoxFuture;
use std::fmt;
use std::sync::Arc;

/// A transformation of payloads, such as encryption or compression.
///
/// Async, as in the Python and TypeScript SDKs, so a codec may call a key service. It is called
/// once per RPC with all the payloads of the message, so such a service is asked once per task,
/// not once per field. It must return as many payloads as it is given, in the same order;
/// `decode` must leave alone payloads it does not recognise (by their `encoding` metadata),
/// because a history mixes payloads written with and without it.
///
/// ```no_run
/// use chronicle_core::payload::{CodecError, Payload, PayloadCodec};
/// use futures::future::BoxFuture;
///
/// /// Reverses the bytes: a toy, but it shows the shape.
/// struct Reverse;
///
/// impl PayloadCodec for Reverse {
///     fn encode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
///         Box::pin(async move {
///             Ok(payloads.into_iter().map(|mut p| { p.data.reverse(); p }).collect())
///         })
///     }
///     fn decode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>> {
///         self.encode(payloads)
///     }
/// }
/// ```
pub trait PayloadCodec: Send + Sync + 'static {
    /// Transforms payloads on their way to the server.
    fn encode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>>;
    /// Undoes [`encode`](Self::encode) on payloads coming from the server.
    fn decode(&self, payloads: Vec<Payload>) -> BoxFuture<'_, Result<Vec<Payload>, CodecError>>;
}

/// A codec failed, or a message could not be walked for its payloads.
#[derive(Debug, thiserror::Error)]
#[error("payload codec: {message}")]
pub struct CodecError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CodecError {
    /// An error with a message.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// An error with a message and the error that caused it.
    pub fn with_source(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// What a client or worker does to payloads on the wire: a chain of codecs and the failure
/// option. The default does nothing (and costs nothing).
///
/// ```no_run
/// # use chronicle_core::payload::{DataConverter, PayloadCodec};
/// # fn f(compression: impl PayloadCodec, encryption: impl PayloadCodec) {
/// // Compress, then encrypt (encrypted bytes do not compress); decoding goes the other way.
/// let converter = DataConverter::default()
///     .with_codec(compression)
///     .with_codec(encryption)
///     .encode_failure_attributes(true);
/// # }
/// ```
#[derive(Clone, Default)]
pub struct DataConverter {
    codecs: Vec<Arc<dyn PayloadCodec>>,
    encode_failure_attributes: bool,
}

impl fmt::Debug for DataConverter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataConverter")
            .field("codecs", &self.codecs.len())
            .field("encode_failure_attributes", &self.encode_failure_attributes)
            .finish()
    }
}

impl DataConverter {
    /// Adds a codec at the end of the chain: it encodes after the codecs before it, and
    /// decodes before them.
    pub fn with_codec(mut self, codec: impl PayloadCodec) -> Self {
        self.codecs.push(Arc::new(codec));
        self
    }

    /// Adds a shared codec at the end of the chain.
    pub fn with_shared_codec(mut self, codec: Arc<dyn PayloadCodec>) -> Self {
        self.codecs.push(codec);
        self
    }

    /// Moves the message and stack trace of every failure sent into its `encoded_attributes`
    /// (a `json/plain` payload `{"message": .., "stack_trace": ..}`, which the codecs then
    /// encode), leaving the message "Encoded failure", as the Python SDK's
    /// `DefaultFailureConverter(encode_common_attributes=True)` does. Failures received are
    /// read back from their `encoded_attributes` whether this is set or not.
    pub fn encode_failure_attributes(mut self, on: bool) -> Self {
        self.encode_failure_attributes = on;
        self
    }

    /// Whether failures sent are encoded.
    pub fn encodes_failure_attributes(&self) -> bool {
        self.encode_failure_attributes
    }

    /// Whether this converter leaves messages as they are.
    pub fn is_noop(&self) -> bool {
        self.codecs.is_empty() && !self.encode_failure_attributes
    }

    /// Runs the chain's `encode` over `payloads`.
    pub async fn encode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        for codec in &self.codecs {
            payloads = checked(payloads.len(), codec.encode(payloads).await?)?;
        }
        Ok(payloads)
    }

    /// Runs the chain's `decode` over `payloads`, last codec first.
    pub async fn decode(&self, mut payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
        for codec in self.codecs.iter().rev() {
            payloads = checked(payloads.len(), codec.decode(payloads).await?)?;
        }
        Ok(payloads)
    }

    /// Encodes every payload of an API message (a request) in place, and its failures when
    /// [`encode_failure_attributes`](Self::encode_failure_attributes) is set.
    pub async fn encode_message<M>(&self, message: &mut M) -> Result<(), CodecError>
    where
        M: prost::Message + prost::Name + Default,
    {
        if self.is_noop() {
            return Ok(());
        }
        let mut dynamic = super::visit::to_dynamic(message)?;
        let found = super::visit::take_payloads(&mut dynamic, self.encode_failure_attributes)?;
        if !found.changed {
            return Ok(());
        }
        let encoded = self.encode(found.payloads).await?;
        super::visit::put_payloads(&mut dynamic, encoded)?;
        *message = super::visit::from_dynamic(&dynamic)?;
        Ok(())
    }

    /// Decodes every payload of an API message (a response) in place.
    pub async fn decode_message<M>(&self, message: &mut M) -> Result<(), CodecError>
    where
        M: prost::Message + prost::Name + Default,
    {
        if self.codecs.is_empty() {
            return Ok(());
        }
        let mut dynamic = super::visit::to_dynamic(message)?;
        let found = super::visit::take_payloads(&mut dynamic, false)?;
        if !found.changed {
            return Ok(());
        }
        let decoded = self.decode(found.payloads).await?;
        super::visit::put_payloads(&mut dynamic, decoded)?;
        *message = super::visit::from_dynamic(&dynamic)?;
        Ok(())
    }
}

fn checked(expected: usize, payloads: Vec<Payload>) -> Result<Vec<Payload>, CodecError> {
    if payloads.len() != expected {
        return Err(CodecError::new(format!(
            "a codec returned {} payload(s) for {expected}; codecs must keep the count",
            payloads.len()
        )));
    }
    Ok(payloads)
}
