//! `schedguard collector`: the fleet endpoint. Agents POST their reports
//! (`/v1/reports`, one write token per node); the collector stores them
//! (SQLite, or PostgreSQL shared by several collectors) and answers for the
//! fleet: a query API and /metrics behind read tokens, and a dashboard.
//! Talks to the service manager (READY, STATUS, WATCHDOG, RELOADING,
//! STOPPING); SIGHUP reloads the tokens file and the TLS certificate,
//! SIGTERM stops after the requests in flight.

pub mod auth;
pub mod config;
pub mod dashboard;
pub mod html;
pub mod ingest;
pub mod metrics;
pub mod query;
pub mod ratelimit;
pub mod reply;
pub mod routes;
pub mod server;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod writer;

use crate::agent::notify::{self, Notifier};
use config::{CollectorArgs, CollectorCommand, Config, TokenArgs, Transport};
use metrics::Metrics;
use ratelimit::Limiter;
pub use server::Peer;
use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use store::Store;
use tokens::{Role, Tokens};
use tokio::signal::unix::{signal, SignalKind};
use writer::Writer;

/// What every request handler shares.
pub struct App {
    pub config: Config,
    tokens: RwLock<Arc<Tokens>>,
    pub limiter: Limiter,
    pub writer: Writer,
    pub store: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
}

impl App {
    /// The tokens in force (a reload swaps them whole).
    pub fn tokens(&self) -> Arc<Tokens> {
        self.tokens
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn set_tokens(&self, tokens: Tokens) {
        *self
            .metrics
            .tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = tokens.counts();
        self.metrics
            .tokens_loaded_at
            .store(now_seconds(), Ordering::Relaxed);
        *self.tokens.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(tokens);
    }

    /// Nodes whose last report was received before this (ms) are stale.
    pub fn stale_before(&self, now_ms: i64) -> i64 {
        now_ms - self.config.stale_after().as_millis() as i64
    }
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs `schedguard collector` (serving until SIGTERM) or its subcommand.
pub fn run(args: CollectorArgs) -> Result<(), String> {
    match args.command {
        Some(CollectorCommand::Token(token)) => mint(&token),
        None => {
            let config = config::load(&args.serve)?;
            let tokens = Tokens::load(&config.tokens).map_err(|e| e.to_string())?;
            let tls = load_tls(&config)?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("collector")
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))?;
            let result = runtime.block_on(serve(config, tokens, tls));
            runtime.shutdown_timeout(Duration::from_secs(1));
            result
        }
    }
}

fn load_tls(config: &Config) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    match &config.transport {
        Transport::Tls {
            cert,
            key,
            client_ca,
        } => tls::server_config(cert, key, client_ca.as_deref()).map(Some),
        Transport::Plain => Ok(None),
    }
}

/// `schedguard collector token NAME [--read] [--append FILE]`.
fn mint(args: &TokenArgs) -> Result<(), String> {
    if !tokens::valid_node_name(&args.name) {
        return Err(format!(
            "{:?} is not a valid name (letters, digits, '.', '-', '_'; at most 253)",
            args.name
        ));
    }
    let token = tokens::mint().map_err(|e| format!("cannot make a random token: {e}"))?;
    let role = if args.read {
        Role::Read {
            name: args.name.clone(),
        }
    } else {
        Role::Write {
            node: args.name.clone(),
        }
    };
    let line = tokens::line(&role, &token);
    match &args.append {
        Some(path) => {
            let existing = match std::fs::read_to_string(path) {
                Ok(text) => text,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
            };
            Tokens::parse(&format!("{existing}\n{line}\n"), path)
                .map_err(|e| format!("not appending: {e}"))?;
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o644)
                .open(path)
                .map_err(|e| format!("cannot open {} to append: {e}", path.display()))?;
            let separator = if existing.is_empty() || existing.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            writeln!(file, "{separator}{line}")
                .and_then(|_| file.sync_all())
                .map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
            eprintln!(
                "added to {}: {line}\nreload the collector to use it (systemctl reload schedguard-collector)",
                path.display()
            );
        }
        None => eprintln!("add this line to the collector's tokens file, then reload it:\n{line}"),
    }
    println!("{token}");
    Ok(())
}

async fn serve(
    config: Config,
    tokens: Tokens,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> Result<(), String> {
    let notifier = Notifier::from_env();
    let store = store::open(&config.store)
        .await
        .map_err(|e| e.to_string())?;
    let metrics = Arc::new(Metrics::default());
    let (writer, writer_task) = Writer::start(
        store.clone(),
        config.max_batch,
        config.max_batch * 8,
        metrics.clone(),
    );
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;

    let (write_tokens, read_tokens) = tokens.counts();
    let app = Arc::new(App {
        limiter: Limiter::new(config.rate_per_second, config.burst),
        tokens: RwLock::new(Arc::new(Tokens::default())),
        writer,
        store,
        metrics: metrics.clone(),
        config,
    });
    app.set_tokens(tokens);
    let tls_slot = tls.map(|t| Arc::new(RwLock::new(t)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(server::serve(
        listener,
        tls_slot.clone(),
        routes::router(app.clone()),
        app.config.max_connections,
        metrics,
        stopped,
    ));
    notify::spawn_watchdog();

    let scheme = if tls_slot.is_some() { "https" } else { "http" };
    let summary = format!(
        "collector listening on {scheme}://{address}, database {}, {write_tokens} write and {read_tokens} read token(s)",
        app.config.store.target.describe()
    );
    tracing::info!("{summary}");
    if tls_slot.is_none() {
        tracing::warn!("serving plain HTTP (--insecure-http): only behind a TLS-terminating proxy");
    }
    notifier.send(&format!("READY=1\n{}", notify::status(&summary)));

    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                notifier.send("RELOADING=1");
                reload(&app, tls_slot.as_ref());
                notifier.send("READY=1");
            }
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
        }
    }

    notifier.send("STOPPING=1");
    tracing::info!("collector stopping: finishing the requests in flight");
    let _ = stop.send(true);
    let _ = server.await;
    // Every request is answered; the writer drains what is queued once the
    // last handle to it goes.
    drop(app);
    let _ = tokio::time::timeout(Duration::from_secs(10), writer_task).await;
    tracing::info!("collector stopped");
    Ok(())
}

/// SIGHUP: new tokens file and TLS files, or the old ones kept with the
/// reason logged.
fn reload(app: &App, tls_slot: Option<&server::TlsSlot>) {
    match Tokens::load(&app.config.tokens) {
        Ok(tokens) => {
            let (w, r) = tokens.counts();
            app.set_tokens(tokens);
            tracing::info!("tokens reloaded: {w} write and {r} read token(s)");
        }
        Err(e) => {
            app.metrics
                .token_reload_failures
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!("reload refused, keeping the tokens in use: {e}");
        }
    }
    if let Some(slot) = tls_slot {
        match load_tls(&app.config) {
            Ok(Some(config)) => {
                *slot.write().unwrap_or_else(|e| e.into_inner()) = config;
                tracing::info!("TLS certificate reloaded");
            }
            Ok(None) => {}
            Err(e) => tracing::error!("TLS reload refused, keeping the certificate in use: {e}"),
        }
    }
}
