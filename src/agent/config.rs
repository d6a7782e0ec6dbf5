//! The agent's configuration: a YAML file (`/etc/schedguard/agent.yaml`),
//! overridden by environment variables (`SCHEDGUARD_*`), overridden by
//! flags. Invalid configuration is refused with a message naming the
//! setting; SIGHUP re-reads the file.

use crate::cluster::args::ClusterArgs;
use crate::host::{self, LiveOptions};
use crate::time::parse_duration;
use serde::Deserialize;
use std::net::SocketAddr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_CONFIG: &str = "/etc/schedguard/agent.yaml";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9259";

/// `schedguard agent` flags. Each may also come from the environment
/// variable named beside it; both override the file.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct AgentArgs {
    /// The configuration file [default: /etc/schedguard/agent.yaml, if present].
    #[arg(long, env = "SCHEDGUARD_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Time between audits, e.g. 5m (jittered by up to 10%).
    #[arg(long, env = "SCHEDGUARD_INTERVAL", value_name = "DURATION")]
    pub interval: Option<String>,
    /// Where reports are POSTed (https://...); without it reports stay local.
    #[arg(long, env = "SCHEDGUARD_REPORT_URL", value_name = "URL")]
    pub report_url: Option<String>,
    /// File holding the bearer token (mode 0600 or stricter)
    /// [default: $CREDENTIALS_DIRECTORY/token when set].
    #[arg(long, env = "SCHEDGUARD_TOKEN_FILE", value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// CA certificates (PEM) that the report URL's certificate must chain to,
    /// instead of the system roots.
    #[arg(long, env = "SCHEDGUARD_CA_FILE", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(
        long,
        env = "SCHEDGUARD_CLIENT_CERT",
        value_name = "FILE",
        requires = "client_key"
    )]
    pub client_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(
        long,
        env = "SCHEDGUARD_CLIENT_KEY",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub client_key: Option<PathBuf>,
    /// Where undelivered reports wait [default: $STATE_DIRECTORY/spool or
    /// /var/lib/schedguard/spool].
    #[arg(long, env = "SCHEDGUARD_SPOOL_DIR", value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
    /// At most this many reports wait in the spool [default: 1000].
    #[arg(long, env = "SCHEDGUARD_SPOOL_MAX_REPORTS", value_name = "N")]
    pub spool_max_reports: Option<usize>,
    /// At most this many bytes wait in the spool [default: 64 MiB].
    #[arg(long, env = "SCHEDGUARD_SPOOL_MAX_BYTES", value_name = "BYTES")]
    pub spool_max_bytes: Option<u64>,
    /// Address of the local /metrics and /healthz endpoint [default: 127.0.0.1:9259].
    #[arg(long, env = "SCHEDGUARD_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// The host's root directory (see `audit --host-root`).
    #[arg(long, env = "SCHEDGUARD_HOST_ROOT", value_name = "DIR")]
    pub host_root: Option<PathBuf>,
    /// Skip live inspection.
    #[arg(long, env = "SCHEDGUARD_NO_NETWORK")]
    pub no_network: bool,
    /// Time limit of each probe [default: 2s].
    #[arg(long, env = "SCHEDGUARD_PROBE_TIMEOUT", value_name = "DURATION")]
    pub probe_timeout: Option<String>,
    /// The node name reported upstream [default: the hostname].
    #[arg(long, env = "SCHEDGUARD_NODE_NAME", value_name = "NAME")]
    pub node_name: Option<String>,
    /// Cluster mode, as in `schedguard audit`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// The configuration file's fields (all optional; unknown keys are refused).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    interval: Option<String>,
    report_url: Option<String>,
    token_file: Option<PathBuf>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    spool_dir: Option<PathBuf>,
    spool_max_reports: Option<usize>,
    spool_max_bytes: Option<u64>,
    listen: Option<String>,
    host_root: Option<PathBuf>,
    no_network: Option<bool>,
    probe_timeout: Option<String>,
    node_name: Option<String>,
    // Cluster mode (see `schedguard audit --help`).
    cluster: Option<bool>,
    kubeconfig: Option<String>,
    context: Option<String>,
    known_schedulers: Option<Vec<String>>,
    allow_node_writers: Option<Vec<String>>,
    cluster_timeout: Option<String>,
}

/// Where reports go and how the agent proves who it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Upstream {
    pub url: String,
    pub token_file: PathBuf,
    pub ca_file: Option<PathBuf>,
    pub client_identity: Option<(PathBuf, PathBuf)>,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub interval: Duration,
    pub upstream: Option<Upstream>,
    pub spool_dir: PathBuf,
    pub spool_max_reports: usize,
    pub spool_max_bytes: u64,
    pub listen: SocketAddr,
    pub audit: host::Options,
    pub node_name: Option<String>,
    /// The file read, if any.
    pub source: Option<PathBuf>,
}

/// Loads and validates the configuration: flags and environment (already
/// merged by clap) over the file over defaults.
pub fn load(args: &AgentArgs) -> Result<Config, String> {
    let (file, source) = match &args.config {
        Some(path) => (read_file(path)?, Some(path.clone())),
        None if Path::new(DEFAULT_CONFIG).exists() => (
            read_file(Path::new(DEFAULT_CONFIG))?,
            Some(PathBuf::from(DEFAULT_CONFIG)),
        ),
        None => (FileConfig::default(), None),
    };
    let cluster = cluster_options(&args.cluster, &file)?;

    let interval = match args.interval.clone().or(file.interval) {
        Some(text) => parse_duration(&text).map_err(|e| format!("interval: {e}"))?,
        None => Duration::from_secs(300),
    };
    if interval < Duration::from_secs(1) {
        return Err("interval: must be at least 1s".into());
    }

    let credentials_token = std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|d| PathBuf::from(d).join("token"))
        .filter(|p| p.exists());
    let upstream = match args.report_url.clone().or(file.report_url) {
        None => None,
        Some(url) => {
            if !url.starts_with("https://") {
                return Err(format!("report_url: {url:?} must be an https:// URL"));
            }
            let token_file = args
                .token_file
                .clone()
                .or(file.token_file)
                .or(credentials_token)
                .ok_or("report_url is set but no token_file (nor $CREDENTIALS_DIRECTORY/token)")?;
            let cert = args.client_cert.clone().or(file.client_cert);
            let key = args.client_key.clone().or(file.client_key);
            let client_identity = match (cert, key) {
                (Some(c), Some(k)) => Some((c, k)),
                (None, None) => None,
                _ => return Err("client_cert and client_key must be set together".into()),
            };
            Some(Upstream {
                url,
                token_file,
                ca_file: args.ca_file.clone().or(file.ca_file),
                client_identity,
            })
        }
    };

    let spool_dir = args
        .spool_dir
        .clone()
        .or(file.spool_dir)
        .unwrap_or_else(|| {
            let state = std::env::var_os("STATE_DIRECTORY").map(PathBuf::from);
            state
                .unwrap_or_else(|| PathBuf::from("/var/lib/schedguard"))
                .join("spool")
        });
    let listen_text = args
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen: SocketAddr = listen_text
        .parse()
        .map_err(|_| format!("listen: {listen_text:?} is not an address such as 127.0.0.1:9259"))?;
    let probe_timeout = match args.probe_timeout.clone().or(file.probe_timeout) {
        Some(text) => parse_duration(&text).map_err(|e| format!("probe_timeout: {e}"))?,
        None => LiveOptions::default().per_probe,
    };
    let no_network = args.no_network || file.no_network.unwrap_or(false);

    Ok(Config {
        interval,
        upstream,
        spool_dir,
        spool_max_reports: args
            .spool_max_reports
            .or(file.spool_max_reports)
            .unwrap_or(1000)
            .max(1),
        spool_max_bytes: args
            .spool_max_bytes
            .or(file.spool_max_bytes)
            .unwrap_or(64 << 20),
        listen,
        audit: host::Options {
            host_root: args
                .host_root
                .clone()
                .or(file.host_root)
                .unwrap_or_else(|| PathBuf::from("/")),
            live: (!no_network).then_some(LiveOptions {
                per_probe: probe_timeout,
                ..LiveOptions::default()
            }),
            cluster,
            ..host::Options::default()
        },
        node_name: args.node_name.clone().or(file.node_name),
        source,
    })
}

/// Cluster mode's options: flags and environment over the file. Lists
/// given on the command line replace the file's.
fn cluster_options(
    args: &ClusterArgs,
    file: &FileConfig,
) -> Result<Option<crate::cluster::Options>, String> {
    let or_file = |flag: &Vec<String>, file: &Option<Vec<String>>| {
        if flag.is_empty() {
            file.clone().unwrap_or_default()
        } else {
            flag.clone()
        }
    };
    let timeout = match (&args.cluster_timeout, &file.cluster_timeout) {
        (Some(t), _) => Some(*t),
        (None, Some(text)) => {
            Some(parse_duration(text).map_err(|e| format!("cluster_timeout: {e}"))?)
        }
        (None, None) => None,
    };
    let merged = ClusterArgs {
        cluster: args.cluster || file.cluster.unwrap_or(false),
        kubeconfig: args.kubeconfig.clone().or(file.kubeconfig.clone()),
        context: args.context.clone().or(file.context.clone()),
        known_schedulers: or_file(&args.known_schedulers, &file.known_schedulers),
        allow_node_writers: ClusterArgs::canonical_subjects(&or_file(
            &args.allow_node_writers,
            &file.allow_node_writers,
        ))
        .map_err(|e| format!("allow_node_writers: {e}"))?,
        cluster_timeout: timeout,
        cluster_page_size: args.cluster_page_size,
    };
    merged.options().map_err(|e| {
        e.replace("--kubeconfig", "kubeconfig")
            .replace("--context", "context")
            .replace("add --cluster", "set cluster: true")
    })
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let metadata =
        std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if !metadata.is_file() || metadata.len() > 1 << 20 {
        return Err(format!(
            "{} is not a regular file of at most 1 MiB",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    serde_saphyr::from_str(&text).map_err(|e| {
        format!(
            "{}: {}",
            path.display(),
            e.to_string().lines().next().unwrap_or_default()
        )
    })
}

/// Reads the bearer token, refusing a file that group or others may read
/// or write.
pub fn read_token(path: &Path) -> Result<String, String> {
    let metadata = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    if metadata.mode() & 0o077 != 0 {
        return Err(format!(
            "the token file {} has mode {:04o}; it must not be readable or writable by group or others (chmod 600)",
            path.display(),
            metadata.mode() & 0o7777
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the token file {}: {e}", path.display()))?;
    let token = text.trim().to_string();
    if token.is_empty() || token.contains(char::is_whitespace) || token.len() > 4096 {
        return Err(format!(
            "the token file {} holds no usable token",
            path.display()
        ));
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn args_with_file(yaml: &str) -> (tempfile::TempDir, AgentArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("agent.yaml");
        std::fs::write(&path, yaml).unwrap();
        (
            dir,
            AgentArgs {
                config: Some(path),
                ..AgentArgs::default()
            },
        )
    }

    #[test]
    fn flags_override_the_file() {
        let (_dir, mut args) = args_with_file("interval: 10m\nlisten: 127.0.0.1:9999\n");
        args.interval = Some("30s".into());
        let config = load(&args).unwrap();
        assert_eq!(config.interval, Duration::from_secs(30));
        assert_eq!(config.listen.port(), 9999);
    }

    #[test]
    fn unknown_keys_and_plain_http_are_refused() {
        let (_dir, args) = args_with_file("intervall: 5m\n");
        assert!(load(&args).unwrap_err().contains("intervall"));
        let (_dir, args) = args_with_file("report_url: http://collector/\ntoken_file: /t\n");
        assert!(load(&args).unwrap_err().contains("https"));
        let (_dir, args) = args_with_file("report_url: https://collector/\n");
        assert!(load(&args).unwrap_err().contains("token_file"));
        let (_dir, args) = args_with_file("interval: 100ms\n");
        assert!(load(&args).unwrap_err().contains("at least 1s"));
    }

    #[test]
    fn cluster_mode_comes_from_the_file_and_flags_override_it() {
        let (_dir, args) = args_with_file(
            "cluster: true\nkubeconfig: /etc/kubernetes/admin.conf\nknown_schedulers: [batch]\n\
             allow_node_writers: ['User:system:serviceaccount:kube-system:ccm']\ncluster_timeout: 20s\n",
        );
        let cluster = load(&args).unwrap().audit.cluster.unwrap();
        assert_eq!(
            cluster.kubeconfig.as_deref(),
            Some("/etc/kubernetes/admin.conf")
        );
        assert_eq!(cluster.known_schedulers, vec!["batch"]);
        assert_eq!(
            cluster.allowed_node_writers,
            vec!["ServiceAccount:kube-system/ccm"]
        );
        assert_eq!(cluster.total_timeout, Duration::from_secs(20));

        let (_dir, mut args) = args_with_file("cluster: true\nknown_schedulers: [batch]\n");
        args.cluster.known_schedulers = vec!["other".into()];
        let cluster = load(&args).unwrap().audit.cluster.unwrap();
        assert_eq!(cluster.known_schedulers, vec!["other"]);
    }

    #[test]
    fn cluster_settings_without_cluster_mode_are_refused() {
        let (_dir, args) = args_with_file("kubeconfig: /etc/kubernetes/admin.conf\n");
        assert!(load(&args).unwrap_err().contains("set cluster: true"));
        let (_dir, args) = args_with_file("cluster: true\nallow_node_writers: [bob]\n");
        assert!(load(&args).unwrap_err().contains("allow_node_writers"));
        let (_dir, args) = args_with_file("");
        assert!(load(&args).unwrap().audit.cluster.is_none());
    }

    #[test]
    fn token_files_readable_by_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(read_token(&path).unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(read_token(&path).unwrap(), "s3cret");
    }
}
