//! Temporal's environment configuration, which the `temporal` CLI and the other SDKs share: a
//! TOML file of profiles, and `TEMPORAL_*` environment variables over it.
//!
//! The file (`temporalio/temporal.toml` in the user's config directory, or
//! `TEMPORAL_CONFIG_FILE`) looks like this; every key is optional and unknown keys are
//! ignored, so files written by newer tools still load:
//!
//! ```toml
//! [profile.default]
//! address = "my-ns.a1b2c.tmprl.cloud:7233"
//! namespace = "my-ns.a1b2c"
//! api_key = "..."              # sent as `authorization: Bearer ...`; turns TLS on
//!
//! [profile.default.tls]        # or `tls = true` / `tls = false`
//! client_cert_path = "client.pem"     # or client_cert_data = "-----BEGIN ..."
//! client_key_path = "client.key"      # or client_key_data
//! server_ca_cert_path = "ca.pem"      # or server_ca_cert_data
//! server_name = "temporal.internal"
//! disable_host_verification = false
//! disabled = false
//!
//! [profile.default.grpc_meta]
//! x-team = "payments"
//! ```
//!
//! Paths are relative to the working directory (not to the file), as in the other SDKs.
//! [`ConnectionOptions::from_env`](super::ConnectionOptions::from_env) is the entry point.

use super::headers::normalize_header_name;
use super::tls::{ClientCertificate, PemSource, Tls, TlsOptions};
use super::{ApiKey, ConnectionOptions};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The configuration file to read (default: `temporalio/temporal.toml` in the config directory).
pub const CONFIG_FILE_ENV: &str = "TEMPORAL_CONFIG_FILE";
/// The profile to use from the file (default: `default`).
pub const PROFILE_ENV: &str = "TEMPORAL_PROFILE";
/// The API key.
pub const API_KEY_ENV: &str = "TEMPORAL_API_KEY";
/// `true`/`1` turns TLS on, `false`/`0` off.
pub const TLS_ENV: &str = "TEMPORAL_TLS";
/// The client certificate file for mutual TLS.
pub const TLS_CLIENT_CERT_PATH_ENV: &str = "TEMPORAL_TLS_CLIENT_CERT_PATH";
/// The client certificate PEM for mutual TLS.
pub const TLS_CLIENT_CERT_DATA_ENV: &str = "TEMPORAL_TLS_CLIENT_CERT_DATA";
/// The client key file for mutual TLS.
pub const TLS_CLIENT_KEY_PATH_ENV: &str = "TEMPORAL_TLS_CLIENT_KEY_PATH";
/// The client key PEM for mutual TLS.
pub const TLS_CLIENT_KEY_DATA_ENV: &str = "TEMPORAL_TLS_CLIENT_KEY_DATA";
/// The server's CA certificate file.
pub const TLS_SERVER_CA_CERT_PATH_ENV: &str = "TEMPORAL_TLS_SERVER_CA_CERT_PATH";
/// The server's CA certificate PEM.
pub const TLS_SERVER_CA_CERT_DATA_ENV: &str = "TEMPORAL_TLS_SERVER_CA_CERT_DATA";
/// The name the server's certificate is checked against (and SNI).
pub const TLS_SERVER_NAME_ENV: &str = "TEMPORAL_TLS_SERVER_NAME";
/// `true`/`1` skips the server certificate's host name check.
pub const TLS_DISABLE_HOST_VERIFICATION_ENV: &str = "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION";
/// Prefix of the variables that each add one gRPC header (`TEMPORAL_GRPC_META_X_TEAM=a`
/// sends `x-team: a`).
pub const GRPC_META_ENV_PREFIX: &str = "TEMPORAL_GRPC_META_";
/// The profile used when none is named.
pub const DEFAULT_PROFILE: &str = "default";

/// The environment configuration is invalid.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConfigError {
    /// The configuration file exists but could not be read.
    #[error("could not read the Temporal configuration file {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The configuration file is not valid TOML or has a value of the wrong type.
    #[error("invalid Temporal configuration file {}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML error (with line and column).
        #[source]
        source: Arc<toml::de::Error>,
    },
    /// `TEMPORAL_PROFILE` names a profile the file does not have.
    #[error("profile {profile:?} not found in {}", path.display())]
    ProfileNotFound {
        /// The profile asked for.
        profile: String,
        /// The file searched.
        path: PathBuf,
    },
    /// A boolean variable has another value.
    #[error("{name}={value:?} is not a boolean (expected true, false, 1 or 0)")]
    InvalidBool {
        /// The variable.
        name: String,
        /// Its value.
        value: String,
    },
    /// Two settings that exclude each other are both set.
    #[error("{first} and {second} cannot both be set")]
    Conflict {
        /// One setting.
        first: &'static str,
        /// The other.
        second: &'static str,
    },
    /// A client certificate without a key, or a key without a certificate.
    #[error("a client certificate needs its key and a key its certificate: {given} is set, {missing} is not")]
    IncompleteClientCertificate {
        /// The half that is set.
        given: &'static str,
        /// The half that is missing.
        missing: &'static str,
    },
    /// A gRPC header name or value cannot be sent.
    #[error("invalid gRPC header {name:?}: {reason}")]
    InvalidHeader {
        /// The header name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// One profile, as the file gives it (all keys optional).
#[derive(Debug, Default, Deserialize)]
struct FileProfile {
    address: Option<String>,
    namespace: Option<String>,
    api_key: Option<String>,
    tls: Option<FileTls>,
    #[serde(default)]
    grpc_meta: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum FileTls {
    Switch(bool),
    Table(TlsSettings),
}

#[derive(Debug, Default, Deserialize)]
struct FileConfig {
    #[serde(default)]
    profile: BTreeMap<String, FileProfile>,
}

/// The TLS part of a profile.
#[derive(Debug, Default, Clone, Deserialize)]
struct TlsSettings {
    disabled: Option<bool>,
    client_cert_path: Option<String>,
    client_cert_data: Option<String>,
    client_key_path: Option<String>,
    client_key_data: Option<String>,
    server_ca_cert_path: Option<String>,
    server_ca_cert_data: Option<String>,
    server_name: Option<String>,
    disable_host_verification: Option<bool>,
}

/// A profile after the file and the environment were merged.
#[derive(Debug, Default)]
pub(super) struct Profile {
    address: Option<String>,
    namespace: Option<String>,
    api_key: Option<String>,
    /// `None`: neither the file nor the environment said anything about TLS.
    tls: Option<TlsSettings>,
    grpc_meta: BTreeMap<String, String>,
}

/// Reads the profile file named by `vars` and applies `vars` over it.
pub(super) fn load(vars: &BTreeMap<String, String>) -> Result<Profile, ConfigError> {
    let mut profile = load_file_profile(vars)?;
    profile.apply_env(vars)?;
    Ok(profile)
}

fn non_empty<'a>(vars: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    vars.get(name)
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
}

fn load_file_profile(vars: &BTreeMap<String, String>) -> Result<Profile, ConfigError> {
    let Some(path) = non_empty(vars, CONFIG_FILE_ENV)
        .map(PathBuf::from)
        .or_else(|| default_config_file(vars))
    else {
        return Ok(Profile::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        // As in the other SDKs: no file is an empty configuration, even a named one.
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return match non_empty(vars, PROFILE_ENV) {
                Some(profile) => Err(ConfigError::ProfileNotFound {
                    profile: profile.to_string(),
                    path,
                }),
                None => Ok(Profile::default()),
            };
        }
        Err(error) => {
            return Err(ConfigError::ReadFile {
                path,
                source: Arc::new(error),
            })
        }
    };
    let mut config: FileConfig = toml::from_str(&text).map_err(|error| ConfigError::Parse {
        path: path.clone(),
        source: Arc::new(error),
    })?;
    let named = non_empty(vars, PROFILE_ENV);
    let wanted = named.unwrap_or(DEFAULT_PROFILE);
    // Profile names are case-insensitive (environment variables name them too).
    let key = config
        .profile
        .keys()
        .find(|name| name.as_str() == wanted)
        .or_else(|| {
            config
                .profile
                .keys()
                .find(|name| name.eq_ignore_ascii_case(wanted))
        })
        .cloned();
    let Some(file) = key.and_then(|key| config.profile.remove(&key)) else {
        return match named {
            Some(profile) => Err(ConfigError::ProfileNotFound {
                profile: profile.to_string(),
                path,
            }),
            None => Ok(Profile::default()),
        };
    };
    Ok(Profile {
        address: file.address,
        namespace: file.namespace,
        api_key: file.api_key,
        tls: match file.tls {
            None => None,
            Some(FileTls::Switch(on)) => Some(TlsSettings {
                disabled: Some(!on),
                ..TlsSettings::default()
            }),
            Some(FileTls::Table(settings)) => Some(settings),
        },
        grpc_meta: file
            .grpc_meta
            .into_iter()
            .map(|(name, value)| (normalize_header_name(&name), value))
            .collect(),
    })
}

/// `<user config dir>/temporalio/temporal.toml`, the directory as Go's `os.UserConfigDir`
/// (which the CLI uses) finds it.
fn default_config_file(vars: &BTreeMap<String, String>) -> Option<PathBuf> {
    let dir = if cfg!(windows) {
        PathBuf::from(non_empty(vars, "APPDATA")?)
    } else if cfg!(target_os = "macos") {
        Path::new(non_empty(vars, "HOME")?).join("Library/Application Support")
    } else {
        match non_empty(vars, "XDG_CONFIG_HOME").filter(|dir| Path::new(dir).is_absolute()) {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(non_empty(vars, "HOME")?).join(".config"),
        }
    };
    Some(dir.join("temporalio").join("temporal.toml"))
}

/// Picks one text field of [`TlsSettings`].
type TlsField = fn(&mut TlsSettings) -> &mut Option<String>;

fn parse_bool(name: &str, value: &str) -> Result<bool, ConfigError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" => Ok(true),
        "0" | "false" => Ok(false),
        _ => Err(ConfigError::InvalidBool {
            name: name.to_string(),
            value: value.to_string(),
        }),
    }
}

impl Profile {
    /// Environment variables over the file: each one set and non-empty replaces its value.
    fn apply_env(&mut self, vars: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let text = |name: &str| non_empty(vars, name).map(str::to_string);
        if let Some(address) = text(super::ADDRESS_ENV) {
            self.address = Some(address);
        }
        if let Some(namespace) = text(super::NAMESPACE_ENV) {
            self.namespace = Some(namespace);
        }
        if let Some(key) = text(API_KEY_ENV) {
            self.api_key = Some(key);
        }
        if let Some(value) = non_empty(vars, TLS_ENV) {
            let on = parse_bool(TLS_ENV, value)?;
            self.tls.get_or_insert_with(TlsSettings::default).disabled = Some(!on);
        }
        let fields: [(&str, TlsField); 7] = [
            (TLS_CLIENT_CERT_PATH_ENV, |t| &mut t.client_cert_path),
            (TLS_CLIENT_CERT_DATA_ENV, |t| &mut t.client_cert_data),
            (TLS_CLIENT_KEY_PATH_ENV, |t| &mut t.client_key_path),
            (TLS_CLIENT_KEY_DATA_ENV, |t| &mut t.client_key_data),
            (TLS_SERVER_CA_CERT_PATH_ENV, |t| &mut t.server_ca_cert_path),
            (TLS_SERVER_CA_CERT_DATA_ENV, |t| &mut t.server_ca_cert_data),
            (TLS_SERVER_NAME_ENV, |t| &mut t.server_name),
        ];
        for (name, field) in fields {
            if let Some(value) = text(name) {
                *field(self.tls.get_or_insert_with(TlsSettings::default)) = Some(value);
            }
        }
        if let Some(value) = non_empty(vars, TLS_DISABLE_HOST_VERIFICATION_ENV) {
            let disable = parse_bool(TLS_DISABLE_HOST_VERIFICATION_ENV, value)?;
            self.tls
                .get_or_insert_with(TlsSettings::default)
                .disable_host_verification = Some(disable);
        }
        for (name, value) in vars {
            let Some(header) = name.strip_prefix(GRPC_META_ENV_PREFIX) else {
                continue;
            };
            let header = normalize_header_name(header);
            // Set but empty removes a header the file gives (as in the other SDKs).
            if value.is_empty() {
                self.grpc_meta.remove(&header);
            } else {
                self.grpc_meta.insert(header, value.clone());
            }
        }
        Ok(())
    }

    /// `options` with what this profile sets.
    pub(super) fn apply(
        self,
        mut options: ConnectionOptions,
    ) -> Result<ConnectionOptions, ConfigError> {
        let set = |value: Option<String>| value.filter(|v| !v.trim().is_empty());
        if let Some(address) = set(self.address) {
            options.address = address;
        }
        if let Some(namespace) = set(self.namespace) {
            options.namespace = namespace;
        }
        if let Some(key) = set(self.api_key) {
            options.api_key = Some(ApiKey::new(key));
        }
        if let Some(tls) = self.tls {
            options.tls = tls.into_tls()?;
        }
        options.headers.extend(self.grpc_meta);
        Ok(options)
    }
}

impl TlsSettings {
    /// Present settings mean TLS on (as in the other SDKs), unless `disabled`.
    fn into_tls(self) -> Result<Tls, ConfigError> {
        if self.disabled == Some(true) {
            return Ok(Tls::Disabled);
        }
        let source = |path: Option<String>,
                      data: Option<String>,
                      path_key: &'static str,
                      data_key: &'static str|
         -> Result<Option<PemSource>, ConfigError> {
            let path = path.filter(|p| !p.trim().is_empty());
            let data = data.filter(|d| !d.trim().is_empty());
            match (path, data) {
                (Some(_), Some(_)) => Err(ConfigError::Conflict {
                    first: path_key,
                    second: data_key,
                }),
                (Some(path), None) => Ok(Some(PemSource::File(path.into()))),
                (None, Some(data)) => Ok(Some(PemSource::Pem(data.into_bytes()))),
                (None, None) => Ok(None),
            }
        };
        let cert = source(
            self.client_cert_path,
            self.client_cert_data,
            "client_cert_path",
            "client_cert_data",
        )?;
        let key = source(
            self.client_key_path,
            self.client_key_data,
            "client_key_path",
            "client_key_data",
        )?;
        let client_cert = match (cert, key) {
            (Some(cert), Some(key)) => Some(ClientCertificate { cert, key }),
            (Some(_), None) => {
                return Err(ConfigError::IncompleteClientCertificate {
                    given: "client certificate",
                    missing: "client key",
                })
            }
            (None, Some(_)) => {
                return Err(ConfigError::IncompleteClientCertificate {
                    given: "client key",
                    missing: "client certificate",
                })
            }
            (None, None) => None,
        };
        Ok(Tls::Enabled(TlsOptions {
            server_ca_cert: source(
                self.server_ca_cert_path,
                self.server_ca_cert_data,
                "server_ca_cert_path",
                "server_ca_cert_data",
            )?,
            server_name: self.server_name.filter(|name| !name.trim().is_empty()),
            disable_host_verification: self.disable_host_verification.unwrap_or(false),
            client_cert,
        }))
    }
}

#[cfg(test)]
#[path = "env_config_tests.rs"]
mod tests;
