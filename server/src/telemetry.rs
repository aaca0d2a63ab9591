//! Logging: `tracing` lines on standard output, as text or JSON (`LOG_FORMAT`).
//!
//! Log lines carry what clients sent (paths, a provider's error text, request ids), so a
//! text line could be split or forged with a newline or painted with terminal escapes.
//! Every line therefore goes through [`Escaping`], which writes control characters as
//! `\n`, `\u{1b}` and so on (JSON lines are escaped by their format already).

use std::io::{self, Write};

use backend::config::LogFormat;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `RUST_LOG` overrides the default levels.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    // `try_init` so that tests, which may build several applications, don't panic.
    let _ = match format {
        LogFormat::Text => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    // No colour codes: they would be escaped like any other.
                    .with_ansi(false)
                    .with_writer(Escaping),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(tracing_subscriber::fmt::layer().json().flatten_event(true))
            .try_init(),
    };
}

/// Standard output, one event per write, with control characters escaped except the line's
/// own end.
#[derive(Clone, Copy, Debug)]
pub struct Escaping;

impl<'a> MakeWriter<'a> for Escaping {
    type Writer = EscapingWriter;

    fn make_writer(&'a self) -> Self::Writer {
        EscapingWriter
    }
}

/// See [`Escaping`].
#[derive(Debug)]
pub struct EscapingWriter;

/// `line` with every control character but a final newline written as an escape.
pub fn escape_controls(line: &str) -> String {
    let (body, end) = match line.strip_suffix('\n') {
        Some(body) => (body, "\n"),
        None => (line, ""),
    };
    let mut out = String::with_capacity(line.len());
    for c in body.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out.push_str(end);
    out
}

impl Write for EscapingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stdout().write_all(escape_controls(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

/// Paths whose last segments are credentials (mailed links: a reset token, a
/// verification key), logged with those segments replaced by `…`.
const SECRET_PATHS: &[&str] = &["/password-reset/confirm/", "/verify-email/"];

/// `path` as it may appear in a log line: a mailed link's token is a password until it is
/// spent, so it never reaches the log (`/verify-email/resend` is no link and stays).
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    for prefix in SECRET_PATHS {
        if let Some(rest) = path.strip_prefix(prefix) {
            if !rest.is_empty() && rest != "resend" {
                return format!("{prefix}…").into();
            }
        }
    }
    path.into()
}

#[cfg(test)]
mod tests {
    use super::{escape_controls, loggable_path};

    #[test]
    fn mailed_links_never_reach_the_log() {
        assert_eq!(
            loggable_path("/password-reset/confirm/1/abcDEF_-123/"),
            "/password-reset/confirm/…"
        );
        assert_eq!(
            loggable_path("/verify-email/abcDEF_-123"),
            "/verify-email/…"
        );
        assert_eq!(
            loggable_path("/verify-email/resend"),
            "/verify-email/resend"
        );
        assert_eq!(loggable_path("/password-reset"), "/password-reset");
        assert_eq!(loggable_path("/api/auth/user/"), "/api/auth/user/");
    }

    #[test]
    fn a_client_cannot_forge_or_paint_a_line() {
        assert_eq!(
            escape_controls("denied: x\n2026 INFO forged\u{1b}[31m\u{0}\n"),
            "denied: x\\n2026 INFO forged\\u{1b}[31m\\u{0}\n"
        );
        assert_eq!(escape_controls("plain"), "plain");
    }
}
