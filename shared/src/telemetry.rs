//! Logging set-up and the conventions every run follows.
//!
//! Logs are `tracing` events. In Lambda they are JSON lines (CloudWatch and Logs Insights
//! parse them) without ANSI colours or a timestamp (CloudWatch stamps each line); locally they
//! are human-readable on stderr. Run-scoped work enters a span carrying `run_id` (and
//! `tenant`, `object`, `page` where they apply), and the JSON formatter copies the fields of
//! every enclosing span onto each line, so any line can be traced back to its run.
//!
//! Secrets are never logged: they are held in [`crate::secret::Secret`], whose `Debug` and
//! `Display` are masked.

use std::sync::Once;
use tracing_subscriber::{fmt, EnvFilter};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the fields of the current spans flattened in.
    Json,
    /// Human-readable, for terminals.
    Pretty,
}

static INIT: Once = Once::new();

/// Install the global subscriber once. The level comes from `RUST_LOG` (default `info`, with
/// the AWS SDK and hyper turned down to `warn`).
pub fn init(format: LogFormat) {
    init_with_default(
        format,
        "info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn,h2=warn,rustls=warn",
    );
}

/// [`init`] with another default filter for when `RUST_LOG` is unset (a command whose own
/// output is a progress display wants only warnings from the libraries).
pub fn init_with_default(format: LogFormat, default_filter: &str) {
    INIT.call_once(|| {
        let filter =
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
        let result = match format {
            LogFormat::Json => fmt()
                .json()
                .flatten_event(true)
                .with_current_span(false)
                .with_span_list(true)
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .try_init(),
            LogFormat::Pretty => fmt()
                .with_env_filter(filter)
                .with_writer(std::io::stderr)
                .compact()
                .try_init(),
        };
        // A subscriber installed by someone else (a test harness) is fine.
        let _ = result;
    });
}

/// Appended after the user's `RUST_LOG` in Lambda: the runtime logs every raw event at trace
/// level (the `Authorization` header, cookies, the `/login` body), so its own crates never go
/// below info, whatever `RUST_LOG` says. A later directive for the same target wins.
pub const LAMBDA_RUNTIME_CAP: &[&str] = &[
    "lambda_runtime=info",
    "lambda_http=info",
    "lambda_runtime_api_client=info",
];

/// The filter of a Lambda function: `rust_log` (the value of `RUST_LOG`, if set and valid) or
/// the default, then [`LAMBDA_RUNTIME_CAP`].
pub fn lambda_filter(rust_log: Option<&str>) -> EnvFilter {
    let mut filter = rust_log
        .and_then(|s| EnvFilter::try_new(s).ok())
        .unwrap_or_else(|| {
            EnvFilter::new("info,aws_smithy_runtime=warn,aws_config=warn,hyper=warn,rustls=warn")
        });
    for d in LAMBDA_RUNTIME_CAP {
        if let Ok(d) = d.parse() {
            filter = filter.add_directive(d);
        }
    }
    filter
}

/// JSON logs for Lambda: no colours, no timestamp of our own (CloudWatch adds it).
pub fn init_for_lambda() {
    INIT.call_once(|| {
        let filter = lambda_filter(std::env::var("RUST_LOG").ok().as_deref());
        let _ = fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_env_filter(filter)
            .with_ansi(false)
            .without_time()
            .try_init();
    });
}
