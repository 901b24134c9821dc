//! TLS and mutual TLS for the connection: [`Tls`], [`TlsOptions`], [`ClientCertificate`].
//!
//! Everything here is configuration: the handshake itself is rustls, driven by tonic. The one
//! piece of custom verification ([`TlsOptions::disable_host_verification`]) wraps rustls's own
//! WebPKI verifier and forgives nothing but a name mismatch.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tonic::transport::{ClientTlsConfig, Identity};

/// How long the TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether the connection uses TLS.
///
/// ```no_run
/// use chronicle_core::connection::{Tls, TlsOptions};
/// use chronicle_core::ConnectionOptions;
/// let options = ConnectionOptions::default()
///     .address("temporal.internal:7233")
///     .tls(TlsOptions::new().server_ca_cert_file("/etc/temporal/ca.pem"));
/// assert!(matches!(options.tls, Tls::Enabled(_)));
/// ```
#[derive(Debug, Clone, Default)]
pub enum Tls {
    /// TLS with default [`TlsOptions`] (the system's and Mozilla's root certificates) when an
    /// API key is set or the address starts with `https://`; plaintext otherwise. Temporal's
    /// other SDKs and CLI decide the same way.
    #[default]
    Auto,
    /// Plaintext, even with an API key (for example behind a local proxy that adds TLS).
    Disabled,
    /// TLS with these options.
    Enabled(TlsOptions),
}

impl Tls {
    /// The TLS options in force, or `None` for plaintext (see [`Tls::Auto`]).
    pub fn effective(&self, https_address: bool, has_api_key: bool) -> Option<TlsOptions> {
        match self {
            Tls::Auto if https_address || has_api_key => Some(TlsOptions::default()),
            Tls::Auto | Tls::Disabled => None,
            Tls::Enabled(options) => Some(options.clone()),
        }
    }
}

/// A PEM certificate or key: a file read when connecting, or the PEM text itself.
#[derive(Clone)]
pub enum PemSource {
    /// A file holding PEM; relative paths are relative to the working directory.
    File(PathBuf),
    /// The PEM text.
    Pem(Vec<u8>),
}

impl std::fmt::Debug for PemSource {
    // Never print PEM: it may be a private key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PemSource::File(path) => f.debug_tuple("File").field(path).finish(),
            PemSource::Pem(pem) => write!(f, "Pem(<{} bytes>)", pem.len()),
        }
    }
}

impl PemSource {
    /// The PEM bytes (reading the file, if it is one).
    pub fn read(&self) -> Result<Vec<u8>, TlsError> {
        match self {
            PemSource::Pem(pem) => Ok(pem.clone()),
            PemSource::File(path) => std::fs::read(path).map_err(|source| TlsError::ReadFile {
                path: path.clone(),
                source,
            }),
        }
    }
}

/// A client certificate and its private key, for mutual TLS.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// The certificate chain (PEM), leaf first.
    pub cert: PemSource,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PemSource,
}

/// TLS settings: which server to trust, which name to check, and an optional client certificate.
///
/// ```no_run
/// use chronicle_core::connection::TlsOptions;
/// use chronicle_core::ConnectionOptions;
/// // Mutual TLS, as Temporal Cloud's certificate authentication expects.
/// let options = ConnectionOptions::default()
///     .address("my-ns.a1b2c.tmprl.cloud:7233")
///     .namespace("my-ns.a1b2c")
///     .tls(TlsOptions::new().client_cert_files("client.pem", "client.key"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct TlsOptions {
    /// The CA that signed the server's certificate. When set it is the only one trusted;
    /// otherwise the system's root certificates and Mozilla's (`webpki-roots`) are.
    pub server_ca_cert: Option<PemSource>,
    /// The name the server's certificate must be valid for, also sent as SNI (defaults to the
    /// address's host).
    pub server_name: Option<String>,
    /// Accept a server certificate issued for another name. The certificate must still chain
    /// to a trusted CA and be in its validity period: only the name check is skipped.
    pub disable_host_verification: bool,
    /// The client certificate for mutual TLS.
    pub client_cert: Option<ClientCertificate>,
}

impl TlsOptions {
    /// Defaults: trust the system's and Mozilla's roots, check the address's host name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Trusts only the CA certificate(s) in this PEM file.
    pub fn server_ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.server_ca_cert = Some(PemSource::File(path.into()));
        self
    }

    /// Trusts only the CA certificate(s) in this PEM text.
    pub fn server_ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.server_ca_cert = Some(PemSource::Pem(pem.into()));
        self
    }

    /// Checks the server's certificate against this name (and sends it as SNI).
    pub fn server_name(mut self, name: impl Into<String>) -> Self {
        self.server_name = Some(name.into());
        self
    }

    /// Skips the host name check (see [`TlsOptions::disable_host_verification`]).
    pub fn disable_host_verification(mut self, disable: bool) -> Self {
        self.disable_host_verification = disable;
        self
    }

    /// Presents this client certificate and key (PEM files) for mutual TLS.
    pub fn client_cert_files(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_cert = Some(ClientCertificate {
            cert: PemSource::File(cert.into()),
            key: PemSource::File(key.into()),
        });
        self
    }

    /// Presents this client certificate and key (PEM text) for mutual TLS.
    pub fn client_cert_pem(mut self, cert: impl Into<Vec<u8>>, key: impl Into<Vec<u8>>) -> Self {
        self.client_cert = Some(ClientCertificate {
            cert: PemSource::Pem(cert.into()),
            key: PemSource::Pem(key.into()),
        });
        self
    }

    /// Reads and checks the certificates and keys, and builds tonic's TLS settings with the
    /// verifier to use.
    pub(super) fn client_config(
        &self,
    ) -> Result<(ClientTlsConfig, Arc<dyn ServerCertVerifier>), TlsError> {
        let mut config = ClientTlsConfig::new().timeout(HANDSHAKE_TIMEOUT);
        if let Some(name) = &self.server_name {
            ServerName::try_from(name.as_str())
                .map_err(|_| TlsError::InvalidServerName { name: name.clone() })?;
            config = config.domain_name(name.clone());
        }
        if let Some(client) = &self.client_cert {
            let cert = client.cert.read()?;
            let key = client.key.read()?;
            let chain = parse_certificates(&cert, "client certificate")?;
            if chain.is_empty() {
                return Err(TlsError::NoCertificate {
                    what: "client certificate",
                });
            }
            PrivateKeyDer::from_pem_slice(&key).map_err(|error| TlsError::InvalidKey {
                reason: error.to_string(),
            })?;
            config = config.identity(Identity::from_pem(cert, key));
        }
        let roots = self.roots()?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|error| TlsError::Verifier {
                reason: error.to_string(),
            })?;
        let verifier: Arc<dyn ServerCertVerifier> = if self.disable_host_verification {
            Arc::new(AnyNameVerifier { inner: webpki })
        } else {
            webpki
        };
        Ok((config, verifier))
    }

    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if let Some(ca) = &self.server_ca_cert {
            let certs = parse_certificates(&ca.read()?, "server CA certificate")?;
            let (added, _) = roots.add_parsable_certificates(certs);
            if added == 0 {
                return Err(TlsError::NoCertificate {
                    what: "server CA certificate",
                });
            }
            return Ok(roots);
        }
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        // The system's store adds private CAs an administrator installed; a machine without one
        // (a slim container) still has Mozilla's roots above.
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
        Ok(roots)
    }
}

fn parse_certificates(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsError::InvalidCertificate {
            what,
            reason: error.to_string(),
        })
}

/// rustls's WebPKI verifier, except that a certificate valid for another name is accepted.
///
/// Sound because the WebPKI verifier checks the name last, after the chain, validity period
/// and revocation: `NotValidForName` means everything else passed.
#[derive(Debug)]
struct AnyNameVerifier {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for AnyNameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The TLS settings could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read.
    #[error("could not read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A certificate is not valid PEM.
    #[error("invalid {what} (expected PEM): {reason}")]
    InvalidCertificate {
        /// Which certificate.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The PEM holds no certificate.
    #[error("the {what} PEM holds no certificate")]
    NoCertificate {
        /// Which certificate.
        what: &'static str,
    },
    /// The client key is not a PEM private key.
    #[error("invalid client key (expected a PEM private key): {reason}")]
    InvalidKey {
        /// What is wrong.
        reason: String,
    },
    /// The server name is not a DNS name or IP address.
    #[error("invalid TLS server name {name:?}")]
    InvalidServerName {
        /// The name given.
        name: String,
    },
    /// The certificate verifier could not be built.
    #[error("could not set up TLS verification: {reason}")]
    Verifier {
        /// What is wrong.
        reason: String,
    },
    /// tonic refused the TLS settings (for example a key that does not match the certificate).
    #[error("invalid TLS settings: {source}")]
    Setup {
        /// tonic's error.
        #[source]
        source: tonic::transport::Error,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_turns_tls_on_for_an_api_key_or_https() {
        assert!(Tls::Auto.effective(false, false).is_none());
        assert!(Tls::Auto.effective(false, true).is_some());
        assert!(Tls::Auto.effective(true, false).is_some());
        assert!(Tls::Disabled.effective(true, true).is_none());
        let on = Tls::Enabled(TlsOptions::new().server_name("x"));
        assert_eq!(
            on.effective(false, false).and_then(|o| o.server_name),
            Some("x".to_string())
        );
    }

    #[test]
    fn pem_text_is_never_printed() {
        let key = PemSource::Pem(b"-----BEGIN PRIVATE KEY-----secret".to_vec());
        let printed = format!("{key:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }

    #[test]
    fn unreadable_and_invalid_material_is_reported() {
        let missing = TlsOptions::new().server_ca_cert_file("/nonexistent/ca.pem");
        let error = missing.client_config().err().map(|e| e.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|e| e.contains("/nonexistent/ca.pem")),
            "{error:?}"
        );
        let empty = TlsOptions::new().server_ca_cert_pem("not pem");
        assert!(matches!(
            empty.client_config().err(),
            Some(TlsError::NoCertificate { .. })
        ));
        let bad_name = TlsOptions::new().server_name("not a name!");
        assert!(matches!(
            bad_name.client_config().err(),
            Some(TlsError::InvalidServerName { .. })
        ));
    }

    #[test]
    fn default_roots_are_not_empty() {
        let roots = TlsOptions::new().roots().map(|r| r.len()).unwrap_or(0);
        assert!(roots > 100, "{roots} roots");
    }
}
