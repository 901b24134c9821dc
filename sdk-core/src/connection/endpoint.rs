//! From [`ConnectionOptions`] to a tonic [`Endpoint`]: the scheme, the timeouts and TLS.

use super::tls::TlsError;
use super::{ConnectionError, ConnectionOptions};
use std::time::Duration;
use tonic::transport::Endpoint;

/// The endpoint `options` describe: `https` with its TLS settings when TLS is in force
/// (see [`Tls`](super::Tls)), `http` otherwise.
pub(super) fn endpoint(options: &ConnectionOptions) -> Result<Endpoint, ConnectionError> {
    if let Some(error) = &options.config_error {
        return Err(ConnectionError::Config(error.clone()));
    }
    let address = options.address.trim();
    let (https, authority) = if let Some(rest) = address.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = address.strip_prefix("http://") {
        (false, rest)
    } else {
        (false, address)
    };
    let tls = options.tls.effective(https, options.api_key.is_some());
    let scheme = if tls.is_some() { "https" } else { "http" };
    let endpoint = Endpoint::from_shared(format!("{scheme}://{authority}"))
        .map_err(|source| ConnectionError::InvalidAddress {
            address: options.address.clone(),
            source,
        })?
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    let Some(tls) = tls else {
        return Ok(endpoint);
    };
    let (config, verifier) = tls.client_config()?;
    Ok(endpoint
        .tls_config_with_verifier(config, verifier)
        .map_err(|source| TlsError::Setup { source })?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::TlsOptions;

    fn scheme(options: &ConnectionOptions) -> Option<String> {
        endpoint(options)
            .ok()
            .and_then(|e| e.uri().scheme_str().map(str::to_string))
    }

    #[test]
    fn scheme_follows_the_tls_setting() {
        let plain = ConnectionOptions::default().address("127.0.0.1:7233");
        assert_eq!(scheme(&plain).as_deref(), Some("http"));
        assert_eq!(
            scheme(&plain.clone().api_key("k")).as_deref(),
            Some("https")
        );
        assert_eq!(
            scheme(&plain.clone().api_key("k").without_tls()).as_deref(),
            Some("http")
        );
        assert_eq!(
            scheme(&plain.clone().tls(TlsOptions::new())).as_deref(),
            Some("https")
        );
        assert_eq!(
            scheme(&plain.address("https://temporal.internal:7233")).as_deref(),
            Some("https")
        );
    }

    #[test]
    fn a_kept_configuration_error_is_returned() {
        let options = ConnectionOptions {
            config_error: Some(crate::connection::ConfigError::InvalidBool {
                name: "TEMPORAL_TLS".to_string(),
                value: "maybe".to_string(),
            }),
            ..ConnectionOptions::default()
        };
        let error = endpoint(&options).err().map(|e| e.to_string());
        assert!(
            error.as_deref().is_some_and(|e| e.contains("TEMPORAL_TLS")),
            "{error:?}"
        );
    }
}
