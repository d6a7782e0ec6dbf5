//! `schedguard collector` flags (each also an environment variable) and the
//! validated configuration they make. A configuration that cannot work is
//! refused at start with a message naming the flag.

use crate::collector::store::{self, Target};
use crate::time::parse_duration;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_TOKENS: &str = "/etc/schedguard/collector-tokens";
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9260";

/// `schedguard collector`: serves, or with a subcommand, helps set it up.
#[derive(clap::Args, Clone, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CollectorArgs {
    #[command(subcommand)]
    pub command: Option<CollectorCommand>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(clap::Subcommand, Clone, Debug)]
pub enum CollectorCommand {
    /// Mint a bearer token: the token goes to stdout (for the agent's
    /// token_file), the tokens-file line that admits it to stderr or, with
    /// --append, into the tokens file.
    Token(TokenArgs),
}

#[derive(clap::Args, Clone, Debug)]
pub struct TokenArgs {
    /// The node the token writes for (its agent's node_name), or with
    /// --read, a name for the reader (e.g. dashboard, prometheus).
    pub name: String,
    /// Mint a read token (query API, /metrics, dashboard) instead.
    #[arg(long)]
    pub read: bool,
    /// Append the line to this tokens file (then reload the collector).
    #[arg(long, value_name = "FILE")]
    pub append: Option<PathBuf>,
}

/// The flags of the running collector.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 0.0.0.0:9260].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// Server certificate chain (PEM) [default: $CREDENTIALS_DIRECTORY/tls.crt when set].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_TLS_CERT", value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// Server private key (PEM) [default: $CREDENTIALS_DIRECTORY/tls.key when set].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_TLS_KEY", value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Also require client certificates that chain to these CAs (PEM).
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_CLIENT_CA", value_name = "FILE")]
    pub client_ca: Option<PathBuf>,
    /// Serve plain HTTP, for use behind a TLS-terminating proxy only.
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// The tokens file [default: /etc/schedguard/collector-tokens].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_TOKENS", value_name = "FILE")]
    pub tokens: Option<PathBuf>,
    /// sqlite:PATH or postgres://USER@HOST/DB
    /// [default: sqlite:$STATE_DIRECTORY/collector.db or /var/lib/schedguard-collector/collector.db].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_DATABASE", value_name = "URL")]
    pub database: Option<String>,
    /// File holding the PostgreSQL password (instead of putting it in the URL)
    /// [default: $CREDENTIALS_DIRECTORY/database-password when set].
    #[arg(
        long,
        env = "SCHEDGUARD_COLLECTOR_DATABASE_PASSWORD_FILE",
        value_name = "FILE"
    )]
    pub database_password_file: Option<PathBuf>,
    /// CA certificates (PEM) for PostgreSQL over TLS (implies TLS).
    #[arg(
        long,
        env = "SCHEDGUARD_COLLECTOR_DATABASE_CA_FILE",
        value_name = "FILE"
    )]
    pub database_ca_file: Option<PathBuf>,
    /// Reports kept per node; older ones are deleted, status changes are
    /// kept forever [default: 100].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_KEEP_REPORTS", value_name = "N")]
    pub keep_reports: Option<usize>,
    /// How often agents report (their `interval`) [default: 5m].
    // Limitation: one interval for the whole fleet; agents configured with
    // a longer interval look stale early.
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,
    /// A node is stale after this many intervals without a report [default: 3].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_STALE_AFTER", value_name = "N")]
    pub stale_after: Option<f64>,
    /// Largest request body, as sent (gzipped) [default: 1048576].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_MAX_BODY", value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Largest report once decompressed [default: 8388608].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_MAX_REPORT", value_name = "BYTES")]
    pub max_report: Option<usize>,
    /// Reports each node may send per minute, on average [default: 60].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_RATE", value_name = "PER_MINUTE")]
    pub rate: Option<f64>,
    /// Reports a node may send at once beyond its rate (an agent emptying
    /// its spool) [default: 120].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_BURST", value_name = "N")]
    pub burst: Option<f64>,
    /// Serve /metrics without a read token.
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_PUBLIC_METRICS")]
    pub public_metrics: bool,
    /// Most connections open at once [default: 4096].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Most reports written in one transaction [default: 512].
    #[arg(long, env = "SCHEDGUARD_COLLECTOR_MAX_BATCH", value_name = "N")]
    pub max_batch: Option<usize>,
}

/// How the collector serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    Tls {
        cert: PathBuf,
        key: PathBuf,
        client_ca: Option<PathBuf>,
    },
    /// Plain HTTP, asked for with --insecure-http.
    Plain,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub transport: Transport,
    pub tokens: PathBuf,
    pub store: store::Options,
    pub interval: Duration,
    pub stale_after: f64,
    pub max_body: usize,
    pub max_report: usize,
    pub rate_per_second: f64,
    pub burst: f64,
    pub public_metrics: bool,
    pub max_connections: usize,
    pub max_batch: usize,
}

impl Config {
    /// A node is stale when its last report is older than this.
    pub fn stale_after(&self) -> Duration {
        self.interval.mul_f64(self.stale_after)
    }
}

fn credential(name: &str) -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|d| PathBuf::from(d).join(name))
        .filter(|p| p.exists())
}

/// Validates the flags.
pub fn load(args: &ServeArgs) -> Result<Config, String> {
    let listen_text = args.listen.as_deref().unwrap_or(DEFAULT_LISTEN);
    let listen: SocketAddr = listen_text
        .parse()
        .map_err(|_| format!("--listen {listen_text:?} is not an address such as 0.0.0.0:9260"))?;

    let cert = args.tls_cert.clone().or_else(|| credential("tls.crt"));
    let key = args.tls_key.clone().or_else(|| credential("tls.key"));
    let transport = match (args.insecure_http, cert, key) {
        (true, None, None) => Transport::Plain,
        (true, _, _) => {
            return Err("--insecure-http and --tls-cert/--tls-key exclude each other".into())
        }
        (false, Some(cert), Some(key)) => Transport::Tls {
            cert,
            key,
            client_ca: args.client_ca.clone(),
        },
        (false, None, None) => {
            return Err("the collector serves HTTPS: give --tls-cert and --tls-key (or --insecure-http behind a TLS-terminating proxy)".into())
        }
        (false, _, _) => return Err("--tls-cert and --tls-key go together".into()),
    };
    if transport == Transport::Plain && args.client_ca.is_some() {
        return Err("--client-ca needs HTTPS, not --insecure-http".into());
    }

    let database = match &args.database {
        Some(url) => url.clone(),
        None => {
            let dir = std::env::var_os("STATE_DIRECTORY")
                .map(|d| {
                    // systemd may list several directories, separated by ':'.
                    let d = d.to_string_lossy().into_owned();
                    PathBuf::from(d.split(':').next().unwrap_or_default())
                })
                .unwrap_or_else(|| PathBuf::from("/var/lib/schedguard-collector"));
            format!("sqlite:{}", dir.join("collector.db").display())
        }
    };
    let target = Target::parse(&database).map_err(|e| format!("--database: {e}"))?;
    let password_file = args
        .database_password_file
        .clone()
        .or_else(|| credential("database-password"));
    let password = match &password_file {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                format!(
                    "cannot read --database-password-file {}: {e}",
                    path.display()
                )
            })?;
            Some(text.trim_end_matches(['\n', '\r']).to_string())
        }
        None => None,
    };
    if matches!(target, Target::Sqlite(_))
        && (password.is_some() || args.database_ca_file.is_some())
    {
        return Err(
            "--database-password-file and --database-ca-file are for PostgreSQL only".into(),
        );
    }
    let keep_reports = args.keep_reports.unwrap_or(100);
    if keep_reports == 0 {
        return Err("--keep-reports must be at least 1".into());
    }

    let interval = match &args.interval {
        Some(text) => parse_duration(text).map_err(|e| format!("--interval: {e}"))?,
        None => Duration::from_secs(300),
    };
    let stale_after = args.stale_after.unwrap_or(3.0);
    if !(1.0..=1000.0).contains(&stale_after) {
        return Err("--stale-after must be between 1 and 1000 intervals".into());
    }
    let max_body = args.max_body.unwrap_or(1 << 20);
    let max_report = args.max_report.unwrap_or(8 << 20);
    if max_body < 1024 || max_report < max_body {
        return Err("--max-body must be at least 1024 and --max-report at least --max-body".into());
    }
    let rate = args.rate.unwrap_or(60.0);
    let burst = args.burst.unwrap_or(120.0);
    if !(rate > 0.0 && rate.is_finite() && burst >= 1.0 && burst.is_finite()) {
        return Err("--rate must be above 0 and --burst at least 1".into());
    }
    let max_connections = args.max_connections.unwrap_or(4096);
    let max_batch = args.max_batch.unwrap_or(512);
    if max_connections == 0 || max_batch == 0 {
        return Err("--max-connections and --max-batch must be at least 1".into());
    }

    Ok(Config {
        listen,
        transport,
        tokens: args
            .tokens
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_TOKENS)),
        store: store::Options {
            target,
            keep_reports,
            password,
            ca_file: args.database_ca_file.clone(),
        },
        interval,
        stale_after,
        max_body,
        max_report,
        rate_per_second: rate / 60.0,
        burst,
        public_metrics: args.public_metrics,
        max_connections,
        max_batch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> ServeArgs {
        ServeArgs {
            insecure_http: true,
            database: Some("sqlite:/tmp/x.db".into()),
            ..Default::default()
        }
    }

    #[test]
    fn https_is_the_default_and_plain_http_must_be_asked_for() {
        let error = load(&ServeArgs::default()).unwrap_err();
        assert!(error.contains("--tls-cert and --tls-key"), "{error}");
        let config = load(&plain()).unwrap();
        assert_eq!(config.transport, Transport::Plain);
        assert_eq!(config.stale_after(), Duration::from_secs(900));
    }

    #[test]
    fn bad_values_name_their_flag() {
        let mut args = plain();
        args.listen = Some("localhost".into());
        assert!(load(&args).unwrap_err().starts_with("--listen"));
        let mut args = plain();
        args.database = Some("mysql://db".into());
        assert!(load(&args).unwrap_err().starts_with("--database"));
        let mut args = plain();
        args.keep_reports = Some(0);
        assert!(load(&args).unwrap_err().starts_with("--keep-reports"));
    }
}
