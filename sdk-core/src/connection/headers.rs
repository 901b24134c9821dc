//! gRPC metadata sent with every call: the API key, the namespace, and the user's headers.

use super::env_config::ConfigError;
use super::ConnectionOptions;
use crate::proto::WorkflowServiceClient;
use tonic::metadata::{AsciiMetadataKey, AsciiMetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;

/// The generated client as a [`Connection`](super::Connection) holds it: every request passes
/// through [`RequestHeaders`].
pub type WorkflowService = WorkflowServiceClient<InterceptedService<Channel, RequestHeaders>>;

/// The header carrying the API key, as `Bearer <key>` (what Temporal Cloud expects).
pub const AUTHORIZATION_HEADER: &str = "authorization";
/// The header naming the namespace of the call, which Temporal Cloud routes by; Temporal's
/// core SDK sends it too.
pub const NAMESPACE_HEADER: &str = "temporal-namespace";

/// Adds the connection's headers to each request (a header the request already has wins).
#[derive(Clone)]
pub struct RequestHeaders {
    headers: std::sync::Arc<[(AsciiMetadataKey, AsciiMetadataValue)]>,
}

impl std::fmt::Debug for RequestHeaders {
    // Names only: values may be credentials.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.headers.iter().map(|(key, _)| key.as_str()))
            .finish()
    }
}

impl RequestHeaders {
    /// The headers for `options`: its `headers`, then `temporal-namespace` (unless given),
    /// then `authorization: Bearer <api key>` when an API key is set (it replaces a given one).
    pub fn new(options: &ConnectionOptions) -> Result<Self, ConfigError> {
        let mut headers: Vec<(AsciiMetadataKey, AsciiMetadataValue)> = Vec::new();
        let mut put = |name: &str, value: &str, sensitive: bool| -> Result<(), ConfigError> {
            let key = AsciiMetadataKey::from_bytes(name.as_bytes()).map_err(|_| {
                ConfigError::InvalidHeader {
                    name: name.to_string(),
                    reason:
                        "not a valid ASCII header name (binary `-bin` headers are not supported)"
                            .to_string(),
                }
            })?;
            let mut value =
                AsciiMetadataValue::try_from(value).map_err(|_| ConfigError::InvalidHeader {
                    name: name.to_string(),
                    reason: "the value is not printable ASCII".to_string(),
                })?;
            value.set_sensitive(sensitive);
            headers.retain(|(existing, _)| *existing != key);
            headers.push((key, value));
            Ok(())
        };
        for (name, value) in &options.headers {
            put(&normalize_header_name(name), value, false)?;
        }
        if !options
            .headers
            .keys()
            .any(|name| normalize_header_name(name) == NAMESPACE_HEADER)
        {
            put(NAMESPACE_HEADER, &options.namespace, false)?;
        }
        if let Some(key) = &options.api_key {
            put(
                AUTHORIZATION_HEADER,
                &format!("Bearer {}", key.secret()),
                true,
            )?;
        }
        Ok(Self {
            headers: headers.into(),
        })
    }

    /// The header names, in the order they are added.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.headers.iter().map(|(key, _)| key.as_str())
    }
}

impl Interceptor for RequestHeaders {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        let metadata = request.metadata_mut();
        for (key, value) in self.headers.iter() {
            if !metadata.contains_key(key) {
                metadata.insert(key.clone(), value.clone());
            }
        }
        Ok(request)
    }
}

/// A header name as gRPC sends it: lowercase, `_` as `-` (so `TEMPORAL_GRPC_META_MY_HEADER`
/// and `grpc_meta.my_header` both mean `my-header`), as Temporal's other SDKs do.
pub fn normalize_header_name(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::ApiKey;

    fn sent(options: &ConnectionOptions) -> tonic::metadata::MetadataMap {
        let mut headers = RequestHeaders::new(options).expect("valid headers");
        let mut request = tonic::Request::new(());
        request
            .metadata_mut()
            .insert("x-per-call", AsciiMetadataValue::from_static("mine"));
        headers
            .call(request)
            .expect("interceptor accepts")
            .metadata()
            .clone()
    }

    #[test]
    fn api_key_namespace_and_user_headers_are_sent() {
        let options = ConnectionOptions::default()
            .namespace("billing")
            .api_key("k-123")
            .header("X_Team", "payments")
            .header("x-per-call", "from options");
        let metadata = sent(&options);
        let get = |name: &str| metadata.get(name).and_then(|v| v.to_str().ok());
        assert_eq!(get("authorization"), Some("Bearer k-123"));
        assert_eq!(get("temporal-namespace"), Some("billing"));
        assert_eq!(get("x-team"), Some("payments"));
        // A header set on the request itself is not overwritten.
        assert_eq!(get("x-per-call"), Some("mine"));
    }

    #[test]
    fn no_api_key_no_authorization_and_a_given_namespace_header_wins() {
        let options = ConnectionOptions::default().header("temporal-namespace", "routed");
        let metadata = sent(&options);
        assert!(metadata.get("authorization").is_none());
        assert_eq!(
            metadata
                .get("temporal-namespace")
                .and_then(|v| v.to_str().ok()),
            Some("routed")
        );
    }

    #[test]
    fn invalid_headers_are_rejected_with_their_name() {
        let bad_value = ConnectionOptions::default().header("x-ok", "line\nbreak");
        let error = RequestHeaders::new(&bad_value).err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("x-ok")),
            "{error:?}"
        );
        let bad_name = ConnectionOptions::default().header("bad name", "v");
        assert!(RequestHeaders::new(&bad_name).is_err());
        let key = ConnectionOptions {
            api_key: Some(ApiKey::new("pasted\nwith a newline")),
            ..ConnectionOptions::default()
        };
        assert!(RequestHeaders::new(&key).is_err());
    }

    #[test]
    fn debug_shows_names_only() {
        let headers = RequestHeaders::new(&ConnectionOptions::default().api_key("secret"))
            .expect("valid headers");
        let printed = format!("{headers:?}");
        assert!(printed.contains("authorization") && !printed.contains("secret"));
    }
}
