//! Logging for the long-running commands, the agent and the collector.

use std::io::IsTerminal;

/// Logs for operators on stderr: plain lines without colour or time stamps
/// under systemd (journald adds them). `SCHEDGUARD_LOG` or `RUST_LOG`
/// chooses the levels (`info` by default; `debug`, `schedguard=debug,warn`);
/// a value that does not parse is reported and `info` is used.
pub fn init() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let setting = std::env::var("SCHEDGUARD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let (filter, refused) = match setting.as_deref().map(str::parse::<Targets>) {
        Some(Ok(filter)) => (filter, None),
        Some(Err(e)) => (Targets::new().with_default(tracing::Level::INFO), Some(e)),
        None => (Targets::new().with_default(tracing::Level::INFO), None),
    };
    let journal = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(!journal && std::io::stderr().is_terminal());
    if journal {
        builder.without_time().finish().with(filter).init();
    } else {
        builder.finish().with(filter).init();
    }
    if let (Some(e), Some(text)) = (refused, setting) {
        tracing::warn!("ignoring the log setting {text:?} ({e}); logging at info");
    }
}
