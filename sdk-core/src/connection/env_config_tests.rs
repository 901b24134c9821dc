//! Parsing and precedence of the environment configuration, with variables passed in (the
//! process environment is never touched, so these run in parallel).

use super::*;
use crate::connection::DEFAULT_ADDRESS;
use std::io::Write;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(text.as_bytes()).expect("write temp file");
    file
}

fn load_with(
    config: &tempfile::NamedTempFile,
    vars: &[(&str, &str)],
) -> Result<ConnectionOptions, ConfigError> {
    let path = config.path().to_string_lossy().to_string();
    ConnectionOptions::try_from_vars(
        vars.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain([(CONFIG_FILE_ENV.to_string(), path)]),
    )
}

fn tls_options(options: &ConnectionOptions) -> &TlsOptions {
    match &options.tls {
        Tls::Enabled(tls) => tls,
        other => panic!("expected TLS on, got {other:?}"),
    }
}

const PROFILES: &str = r#"
[profile.default]
address = "file-host:7233"
namespace = "file-ns"
api_key = "file-key"

[profile.default.grpc_meta]
X_Team = "from-file"
removed-by-env = "x"

[profile.mtls]
address = "mtls-host:7233"
[profile.mtls.tls]
client_cert_path = "client.pem"
client_key_path = "client.key"
server_ca_cert_path = "ca.pem"
server_name = "temporal.internal"
disable_host_verification = true

[profile.Plain]
address = "plain:7233"
api_key = "k"
tls = false
future_key = "ignored"
"#;

#[test]
fn no_file_and_no_variables_give_the_defaults() {
    let options = ConnectionOptions::try_from_vars([(CONFIG_FILE_ENV, "/nonexistent/t.toml")])
        .expect("a missing file is no error");
    assert_eq!(options.address, DEFAULT_ADDRESS);
    assert_eq!(options.namespace, "default");
    assert!(options.api_key.is_none());
    assert!(matches!(options.tls, Tls::Auto));
    assert!(options.headers.is_empty());
}

#[test]
fn the_default_profile_is_read_from_the_file() {
    let config = file(PROFILES);
    let options = load_with(&config, &[]).expect("valid config");
    assert_eq!(options.address, "file-host:7233");
    assert_eq!(options.namespace, "file-ns");
    assert_eq!(
        options.api_key.as_ref().map(ApiKey::secret),
        Some("file-key")
    );
    // An API key without TLS settings: TLS is decided (on) at connect time.
    assert!(matches!(options.tls, Tls::Auto));
    assert_eq!(options.headers["x-team"], "from-file");
}

#[test]
fn environment_variables_win_over_the_file() {
    let config = file(PROFILES);
    let options = load_with(
        &config,
        &[
            ("TEMPORAL_ADDRESS", "env-host:7233"),
            ("TEMPORAL_NAMESPACE", "env-ns"),
            ("TEMPORAL_API_KEY", "env-key"),
            ("TEMPORAL_GRPC_META_X_TEAM", "from-env"),
            ("TEMPORAL_GRPC_META_REMOVED_BY_ENV", ""),
            ("TEMPORAL_GRPC_META_EXTRA", "e"),
            // Empty values leave the file's value.
            ("TEMPORAL_TLS_SERVER_NAME", ""),
        ],
    )
    .expect("valid config");
    assert_eq!(options.address, "env-host:7233");
    assert_eq!(options.namespace, "env-ns");
    assert_eq!(
        options.api_key.as_ref().map(ApiKey::secret),
        Some("env-key")
    );
    assert_eq!(options.headers["x-team"], "from-env");
    assert_eq!(options.headers["extra"], "e");
    assert!(!options.headers.contains_key("removed-by-env"));
    assert!(matches!(options.tls, Tls::Auto));
}

#[test]
fn a_profile_is_chosen_by_name_case_insensitively() {
    let config = file(PROFILES);
    let mtls = load_with(&config, &[("TEMPORAL_PROFILE", "mtls")]).expect("valid config");
    assert_eq!(mtls.address, "mtls-host:7233");
    let tls = tls_options(&mtls);
    assert!(matches!(&tls.server_ca_cert, Some(PemSource::File(p)) if p.ends_with("ca.pem")));
    assert_eq!(tls.server_name.as_deref(), Some("temporal.internal"));
    assert!(tls.disable_host_verification);
    let client = tls.client_cert.as_ref().expect("client certificate");
    assert!(matches!(&client.cert, PemSource::File(p) if p.ends_with("client.pem")));
    assert!(matches!(&client.key, PemSource::File(p) if p.ends_with("client.key")));

    let plain = load_with(&config, &[("TEMPORAL_PROFILE", "plain")]).expect("valid config");
    assert_eq!(plain.address, "plain:7233");
    assert!(
        matches!(plain.tls, Tls::Disabled),
        "tls = false wins over the API key"
    );
}

#[test]
fn tls_variables_override_the_profile_and_turn_tls_on() {
    let config = file(PROFILES);
    let options = load_with(
        &config,
        &[
            ("TEMPORAL_PROFILE", "mtls"),
            ("TEMPORAL_TLS_SERVER_NAME", "env.internal"),
            ("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "false"),
            ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "env-ca.pem"),
        ],
    )
    .expect("valid config");
    let tls = tls_options(&options);
    assert_eq!(tls.server_name.as_deref(), Some("env.internal"));
    assert!(!tls.disable_host_verification);
    assert!(matches!(&tls.server_ca_cert, Some(PemSource::File(p)) if p.ends_with("env-ca.pem")));

    let on = ConnectionOptions::try_from_vars([
        (CONFIG_FILE_ENV, "/nonexistent/t.toml"),
        ("TEMPORAL_TLS", "true"),
    ])
    .expect("valid config");
    assert!(tls_options(&on).server_ca_cert.is_none());
    let off = load_with(&config, &[("TEMPORAL_TLS", "0")]).expect("valid config");
    assert!(matches!(off.tls, Tls::Disabled));
}

#[test]
fn client_certificate_and_ca_can_be_given_as_pem_text() {
    let options = ConnectionOptions::try_from_vars([
        (CONFIG_FILE_ENV, "/nonexistent/t.toml"),
        (
            "TEMPORAL_TLS_CLIENT_CERT_DATA",
            "-----BEGIN CERTIFICATE-----",
        ),
        (
            "TEMPORAL_TLS_CLIENT_KEY_DATA",
            "-----BEGIN PRIVATE KEY-----",
        ),
        (
            "TEMPORAL_TLS_SERVER_CA_CERT_DATA",
            "-----BEGIN CERTIFICATE-----",
        ),
    ])
    .expect("valid config");
    let tls = tls_options(&options);
    assert!(matches!(&tls.server_ca_cert, Some(PemSource::Pem(_))));
    assert!(matches!(
        tls.client_cert.as_ref().map(|c| &c.key),
        Some(PemSource::Pem(_))
    ));
}

#[test]
fn invalid_configurations_are_errors() {
    let missing_profile = file(PROFILES);
    assert!(matches!(
        load_with(&missing_profile, &[("TEMPORAL_PROFILE", "nope")]),
        Err(ConfigError::ProfileNotFound { .. })
    ));
    assert!(matches!(
        ConnectionOptions::try_from_vars([
            (CONFIG_FILE_ENV, "/nonexistent/t.toml"),
            ("TEMPORAL_PROFILE", "prod"),
        ]),
        Err(ConfigError::ProfileNotFound { .. })
    ));
    let broken = file("[profile.default\naddress = 1");
    let error = load_with(&broken, &[]).err();
    assert!(
        matches!(error, Some(ConfigError::Parse { .. })),
        "{error:?}"
    );
    let wrong_type = file("[profile.default]\naddress = 7233\n");
    assert!(matches!(
        load_with(&wrong_type, &[]),
        Err(ConfigError::Parse { .. })
    ));
    let half = file("[profile.default.tls]\nclient_cert_path = \"c.pem\"\n");
    assert!(matches!(
        load_with(&half, &[]),
        Err(ConfigError::IncompleteClientCertificate { .. })
    ));
    let both =
        file("[profile.default.tls]\nserver_ca_cert_path = \"a\"\nserver_ca_cert_data = \"b\"\n");
    assert!(matches!(
        load_with(&both, &[]),
        Err(ConfigError::Conflict { .. })
    ));
    let empty = file("");
    let error = load_with(&empty, &[("TEMPORAL_TLS", "yes")])
        .err()
        .map(|e| e.to_string());
    assert!(
        error
            .as_deref()
            .is_some_and(|e| e.contains("TEMPORAL_TLS=\"yes\"")),
        "{error:?}"
    );
}

#[test]
fn the_default_file_is_in_the_user_config_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config_dir = dir.path().join("temporalio");
    std::fs::create_dir_all(&config_dir).expect("create dir");
    std::fs::write(
        config_dir.join("temporal.toml"),
        "[profile.default]\naddress = \"from-default-file:7233\"\n",
    )
    .expect("write config");
    let home = dir.path().to_string_lossy().to_string();
    let vars = if cfg!(windows) {
        vec![("APPDATA", home)]
    } else if cfg!(target_os = "macos") {
        return; // ~/Library/Application Support: not worth faking here.
    } else {
        vec![("XDG_CONFIG_HOME", home)]
    };
    let options = ConnectionOptions::try_from_vars(vars).expect("valid config");
    assert_eq!(options.address, "from-default-file:7233");
}
