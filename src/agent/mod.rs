//! `schedguard agent`: audits on a schedule (and once at start), keeps its
//! state on a local /metrics endpoint, and delivers every report upstream,
//! through a durable spool, across outages and restarts. Talks to the
//! service manager (READY, STATUS, WATCHDOG, STOPPING); SIGHUP reloads the
//! configuration, SIGTERM stops it within moments.

pub mod config;
mod memory;
pub mod metrics;
pub mod notify;
pub mod server;
pub mod spool;
pub mod upload;

use crate::checks::{self, Finding, Status};
use crate::facts::Facts;
use crate::report::{self, Audit};
use config::{AgentArgs, Config};
use metrics::State;
use notify::Notifier;
use spool::Spool;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;
use tokio::time::Instant;
use upload::{Outcome, Sender, Uploader};

/// The longest wait between delivery attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Runs the agent until SIGTERM or SIGINT. A configuration that cannot be
/// used is refused before anything starts.
pub fn run(args: AgentArgs) -> Result<(), String> {
    let config = config::load(&args)?;
    memory::limit_arenas();
    let uploader = match &config.upstream {
        Some(upstream) => Some(Arc::new(Uploader::new(upstream)?)),
        None => None,
    };
    let spool = Spool::open(
        &config.spool_dir,
        config.spool_max_reports,
        config.spool_max_bytes,
    )
    .map_err(|e| format!("cannot open the spool {}: {e}", config.spool_dir.display()))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(4)
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    let result = runtime.block_on(serve(args, config, uploader, spool));
    // An audit still running in a blocking thread is abandoned, not awaited.
    runtime.shutdown_timeout(Duration::from_millis(500));
    result
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A duration scattered by up to ±`percent`% so that a fleet does not pulse.
fn jittered(base: Duration, percent: u64) -> Duration {
    let mut bytes = [0u8; 8];
    let _ = rustix::rand::getrandom(&mut bytes, rustix::rand::GetRandomFlags::empty());
    let spread = u64::from_le_bytes(bytes) % (2 * percent + 1);
    base.mul_f64((100 + spread - percent) as f64 / 100.0)
}

struct Shared {
    state: Arc<Mutex<State>>,
    spool: Arc<Mutex<Spool>>,
    uploader: Arc<RwLock<Option<Arc<Uploader>>>>,
    wake: Arc<Notify>,
    /// Set with a wake that must not wait for a pending backoff (a reload
    /// that may have fixed the credentials).
    urgent: Arc<AtomicBool>,
}

async fn serve(
    args: AgentArgs,
    mut config: Config,
    uploader: Option<Arc<Uploader>>,
    spool: Spool,
) -> Result<(), String> {
    let notifier = Notifier::from_env();
    let shared = Shared {
        state: Arc::new(Mutex::new(State::default())),
        spool: Arc::new(Mutex::new(spool)),
        uploader: Arc::new(RwLock::new(uploader)),
        wake: Arc::new(Notify::new()),
        urgent: Arc::new(AtomicBool::new(false)),
    };

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let app = server::router(shared.state.clone());
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("the local endpoint stopped: {e}");
        }
    });
    notify::spawn_watchdog();
    tokio::spawn(deliver(
        shared.spool.clone(),
        shared.uploader.clone(),
        shared.state.clone(),
        shared.wake.clone(),
        shared.urgent.clone(),
    ));
    refresh_spool_gauges(&shared);
    shared.wake.notify_one(); // deliver what an earlier run left spooled

    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    tracing::info!(
        "agent started: every {:?}, local endpoint http://{}, reports {}",
        config.interval,
        config.listen,
        config
            .upstream
            .as_ref()
            .map_or("kept local".to_string(), |u| format!("to {}", u.url))
    );

    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next) => {
                let options = config.audit.clone();
                let job = tokio::task::spawn_blocking(move || {
                    let started = std::time::Instant::now();
                    let facts = crate::host::gather(&options);
                    let findings = checks::judge(&facts);
                    (facts, findings, started.elapsed())
                });
                let finished = tokio::select! {
                    result = job => result,
                    _ = terminate.recv() => { tracing::info!("SIGTERM during an audit: cancelled"); break }
                    _ = interrupt.recv() => { tracing::info!("SIGINT during an audit: cancelled"); break }
                };
                match finished {
                    Ok((facts, findings, took)) => {
                        after_audit(&shared, &config, &notifier, facts, findings, took).await;
                        memory::release();
                    }
                    Err(e) => {
                        tracing::error!("the audit failed: {e}");
                        if let Ok(mut s) = shared.state.lock() {
                            s.audit_errors_total += 1;
                        }
                    }
                }
                next = Instant::now() + jittered(config.interval, 10);
            }
            _ = hangup.recv() => {
                notifier.send("RELOADING=1");
                config = reload(&args, config, &shared);
                notifier.send("READY=1");
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }
    notifier.send("STOPPING=1");
    tracing::info!("agent stopping");
    Ok(())
}

/// Re-reads the configuration; a configuration that cannot be used is
/// logged and the running one kept.
fn reload(args: &AgentArgs, current: Config, shared: &Shared) -> Config {
    let fresh = match config::load(args) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("reload refused, keeping the running configuration: {e}");
            return current;
        }
    };
    let uploader = match &fresh.upstream {
        Some(upstream) => match Uploader::new(upstream) {
            Ok(u) => Some(Arc::new(u)),
            Err(e) => {
                tracing::error!("reload refused, keeping the running configuration: {e}");
                return current;
            }
        },
        None => None,
    };
    if fresh.listen != current.listen {
        tracing::warn!(
            "listen changed to {}; it takes effect at the next restart",
            fresh.listen
        );
    }
    if fresh.spool_dir != current.spool_dir {
        tracing::warn!("spool_dir changed; it takes effect at the next restart");
    }
    if let Ok(mut spool) = shared.spool.lock() {
        spool.set_limits(fresh.spool_max_reports, fresh.spool_max_bytes);
    }
    if let Ok(mut slot) = shared.uploader.write() {
        *slot = uploader;
    }
    shared.urgent.store(true, Ordering::SeqCst);
    shared.wake.notify_one();
    tracing::info!("configuration reloaded");
    Config {
        listen: current.listen,
        spool_dir: current.spool_dir,
        ..fresh
    }
}

fn count(findings: &[Finding], status: Status) -> usize {
    findings.iter().filter(|f| f.status == status).count()
}

async fn after_audit(
    shared: &Shared,
    config: &Config,
    notifier: &Notifier,
    facts: Facts,
    findings: Vec<Finding>,
    took: Duration,
) {
    let (failed, errors) = (
        count(&findings, Status::Fail),
        count(&findings, Status::Error),
    );
    let summary = format!(
        "audit: {} target(s), {failed} check(s) failed, {errors} error(s), {:.2}s",
        facts.targets.len(),
        took.as_secs_f64()
    );

    if config.upstream.is_some() {
        let report = report::json::build(&Audit {
            facts: &facts,
            findings: &findings,
        });
        let report_id = upload::new_report_id();
        let sender = Sender {
            node: upload::node_name(config.node_name.as_deref(), &facts.host),
            hostname: facts.host.hostname.as_deref(),
            machine_id: facts.host.machine_id.as_deref(),
            boot_id: facts.host.boot_id.as_deref(),
            agent_version: env!("CARGO_PKG_VERSION"),
        };
        match upload::pack(&report_id, sender, &report) {
            Ok(body) => {
                let spool = shared.spool.clone();
                let id = report_id.clone();
                let pushed = tokio::task::spawn_blocking(move || {
                    spool
                        .lock()
                        .map_err(|e| e.to_string())?
                        .push(&id, &body)
                        .map_err(|e| e.to_string())
                })
                .await;
                match pushed {
                    Ok(Ok(dropped)) => {
                        for d in &dropped {
                            tracing::warn!("spool full: dropped the oldest report {}", d.report_id);
                        }
                        if let Ok(mut s) = shared.state.lock() {
                            *s.reports_dropped_total.entry("spool_full").or_default() +=
                                dropped.len() as u64;
                        }
                        shared.wake.notify_one();
                    }
                    Ok(Err(e)) => tracing::error!("cannot spool report {report_id}: {e}"),
                    Err(e) => tracing::error!("cannot spool report {report_id}: {e}"),
                }
            }
            Err(e) => tracing::error!("cannot pack report {report_id}: {e}"),
        }
    }

    {
        let Ok(mut state) = shared.state.lock() else {
            return;
        };
        state.targets = facts.targets.len();
        state.findings = findings;
        state.audits_total += 1;
        state.last_audit_duration_seconds = took.as_secs_f64();
        state.last_audit_success_timestamp = Some(now_seconds());
        if !state.ready {
            state.ready = true;
            notifier.send(&format!("READY=1\n{}", notify::status(&summary)));
        } else {
            notifier.send(&notify::status(&summary));
        }
    }
    refresh_spool_gauges(shared);
    tracing::info!("{summary}");
}

fn refresh_spool_gauges(shared: &Shared) {
    let usage = shared.spool.lock().ok().and_then(|s| s.usage().ok());
    if let (Some((reports, bytes)), Ok(mut state)) = (usage, shared.state.lock()) {
        state.spool_reports = reports;
        state.spool_bytes = bytes;
    }
}

/// Delivers spooled reports oldest first, whenever woken or when a retry is
/// due. A report that cannot be delivered now stops the round, so order is
/// kept; exponential backoff with jitter between failed rounds.
async fn deliver(
    spool: Arc<Mutex<Spool>>,
    uploader: Arc<RwLock<Option<Arc<Uploader>>>>,
    state: Arc<Mutex<State>>,
    wake: Arc<Notify>,
    urgent: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_secs(1);
    let mut retry_at: Option<Instant> = None;
    loop {
        // New reports wake the loop, but during a backoff they wait for it
        // (they are spooled); only an urgent wake cuts it short.
        match retry_at {
            Some(at) => tokio::select! {
                _ = wake.notified() => {
                    if !urgent.swap(false, Ordering::SeqCst) {
                        continue;
                    }
                }
                _ = tokio::time::sleep_until(at) => {}
            },
            None => {
                wake.notified().await;
                urgent.store(false, Ordering::SeqCst);
            }
        }
        retry_at = None;
        let Some(client) = uploader.read().ok().and_then(|u| u.clone()) else {
            continue;
        };

        loop {
            let spool_for_list = spool.clone();
            let next = tokio::task::spawn_blocking(
                move || -> Result<Option<(spool::Entry, Vec<u8>)>, String> {
                    let spool = spool_for_list.lock().map_err(|e| e.to_string())?;
                    let Some(entry) = spool
                        .pending()
                        .map_err(|e| e.to_string())?
                        .into_iter()
                        .next()
                    else {
                        return Ok(None);
                    };
                    let body = spool.read(&entry).map_err(|e| e.to_string())?;
                    Ok(Some((entry, body)))
                },
            )
            .await;
            let (entry, body) = match next {
                Ok(Ok(Some(next))) => next,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::error!("cannot read the spool: {e}");
                    retry_at = Some(Instant::now() + MAX_BACKOFF);
                    break;
                }
                Err(e) => {
                    tracing::error!("cannot read the spool: {e}");
                    break;
                }
            };

            let outcome = client.send(&entry.report_id, body).await;
            let remove = matches!(outcome, Outcome::Delivered | Outcome::Rejected { .. });
            if remove {
                let spool = spool.clone();
                let removed = entry.clone();
                let removal = tokio::task::spawn_blocking(move || match spool.lock() {
                    Ok(s) => s.remove(&removed).map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                })
                .await;
                if let Ok(Err(e)) = removal {
                    // Sent, but still spooled: it will be sent again later,
                    // and the report id makes that harmless.
                    tracing::error!(
                        "cannot remove delivered report {} from the spool: {e}",
                        entry.report_id
                    );
                    retry_at = Some(Instant::now() + MAX_BACKOFF);
                }
            }
            let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
            match outcome {
                Outcome::Delivered => {
                    tracing::debug!("delivered report {}", entry.report_id);
                    s.reports_delivered_total += 1;
                    s.last_upload_success_timestamp = Some(now_seconds());
                    backoff = Duration::from_secs(1);
                }
                Outcome::Rejected { reason } => {
                    tracing::error!(
                        "the collector rejected report {} for good ({reason}); dropped",
                        entry.report_id
                    );
                    *s.upload_failures_total.entry("rejected").or_default() += 1;
                    *s.reports_dropped_total.entry("rejected").or_default() += 1;
                }
                Outcome::Unauthorized { reason } => {
                    tracing::error!(
                        "the collector refused the agent's credentials ({reason}); check the token; reports stay spooled"
                    );
                    *s.upload_failures_total.entry("unauthorized").or_default() += 1;
                    backoff = MAX_BACKOFF.min(backoff.max(Duration::from_secs(60)));
                    retry_at = Some(Instant::now() + jittered(backoff, 20));
                }
                Outcome::Retry { reason, after } => {
                    let kind = if reason.starts_with(|c: char| c.is_ascii_digit()) {
                        "server_error"
                    } else {
                        "network"
                    };
                    *s.upload_failures_total.entry(kind).or_default() += 1;
                    let wait = after
                        .unwrap_or_else(|| jittered(backoff, 20))
                        .min(MAX_BACKOFF);
                    tracing::warn!(
                        "cannot deliver report {} ({reason}); retrying in {:.1}s",
                        entry.report_id,
                        wait.as_secs_f64()
                    );
                    retry_at = Some(Instant::now() + wait);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
            drop(s);
            if retry_at.is_some() {
                break;
            }
        }
        let usage = spool.lock().ok().and_then(|s| s.usage().ok());
        if let (Some((reports, bytes)), Ok(mut s)) = (usage, state.lock()) {
            s.spool_reports = reports;
            s.spool_bytes = bytes;
        }
    }
}
