//! The stderr subscriber a worker installs when the application installed none.
//!
//! Without any subscriber `tracing` drops every event, so a worker whose workflows fail
//! would say nothing at all. The fallback only ever fills that gap: it is installed as the
//! global default only if none was set, and never replaces one.

use super::TelemetryOptions;
use tracing_subscriber::EnvFilter;

/// The filter of the fallback subscriber when `RUST_LOG` is unset: warnings and errors from
/// everything, and Chronicle's own lifecycle lines (worker started / stopped) at info.
pub const DEFAULT_LOG_FILTER: &str = "warn,chronicle=info,chronicle_core=info";

/// The fallback subscriber's filter: `RUST_LOG` when it is set and valid, else
/// [`DEFAULT_LOG_FILTER`].
pub fn fallback_filter(rust_log: Option<&str>) -> EnvFilter {
    rust_log
        .filter(|directives| !directives.trim().is_empty())
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(DEFAULT_LOG_FILTER))
}

/// Installs a stderr `tracing` subscriber as the global default, unless the options turn it
/// off or the application already set a global subscriber. Returns whether it installed one.
///
/// Called by [`Worker::run`](crate::worker::Worker::run); safe to call any number of times.
pub fn install_fallback_logging(options: &TelemetryOptions) -> bool {
    if !options.fallback_logging || tracing::dispatcher::has_been_set() {
        return false;
    }
    let rust_log = std::env::var("RUST_LOG").ok();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(fallback_filter(rust_log.as_deref()))
        .with_writer(std::io::stderr)
        // Colour codes only for a terminal, not for log files and collectors.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .finish();
    // Losing a race with another thread setting one is fine: that one wins.
    tracing::subscriber::set_global_default(subscriber).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> String {
        EnvFilter::new(DEFAULT_LOG_FILTER).to_string()
    }

    #[test]
    fn default_filter_is_warn_with_chronicle_at_info() {
        let filter = fallback_filter(None).to_string();
        for directive in ["warn", "chronicle=info", "chronicle_core=info"] {
            assert!(filter.split(',').any(|d| d == directive), "{filter}");
        }
        assert_eq!(fallback_filter(Some("  ")).to_string(), default());
    }

    #[test]
    fn rust_log_wins_when_valid() {
        assert_eq!(fallback_filter(Some("debug")).to_string(), "debug");
        // An unparsable RUST_LOG must not silence the worker.
        assert_eq!(
            fallback_filter(Some("chronicle=notalevel")).to_string(),
            default()
        );
    }

    #[test]
    fn disabled_fallback_installs_nothing() {
        let options = TelemetryOptions::default().fallback_logging(false);
        assert!(!install_fallback_logging(&options));
    }
}
