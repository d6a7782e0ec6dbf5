//! The flags of cluster mode, shared by `schedguard audit` and `schedguard
//! agent` (where the configuration file may set them too). Each may also
//! come from the environment variable named beside it.

use crate::cluster::Options;
use crate::k8s::rbac::Subject;
use crate::time::parse_duration;
use std::time::Duration;

/// The page size of list requests unless `--cluster-page-size` says.
pub const DEFAULT_PAGE_SIZE: u32 = 500;

/// Parses a `--allow-node-writer` value into its canonical spelling.
fn subject(text: &str) -> Result<String, String> {
    let s = Subject::parse(text)?;
    Ok(match s.kind.as_str() {
        "ServiceAccount" => format!("ServiceAccount:{}/{}", s.namespace, s.name),
        kind => format!("{kind}:{}", s.name),
    })
}

/// A relative `--kubeconfig` is taken from the current directory, as a
/// person typing it means; the result is then resolved inside the host root.
fn from_current_dir(path: &str) -> String {
    if path.starts_with('/') {
        return path.to_string();
    }
    match std::env::current_dir() {
        Ok(dir) => dir.join(path).display().to_string(),
        Err(_) => path.to_string(),
    }
}

fn page_size(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("{text:?} is not a page size from 1 to 10000")),
    }
}

/// Cluster mode's flags (`--cluster` and the settings it uses).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ClusterArgs {
    /// Cluster mode: also ask the API server who may change Node objects
    /// (SG-703) and which pods wait for a scheduler that does not exist
    /// (SG-704). Only get and list requests are made.
    #[arg(long, env = "SCHEDGUARD_CLUSTER")]
    pub cluster: bool,
    /// The kubeconfig of cluster mode, inside the host root (a relative path
    /// starts at the current directory) [default: the host's admin
    /// kubeconfig: /etc/kubernetes/admin.conf, or RKE2's, k3s' or MicroK8s'
    /// equivalent]. Exec plugins are refused.
    #[arg(long, env = "SCHEDGUARD_KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// The kubeconfig context [default: its current-context].
    #[arg(long, env = "SCHEDGUARD_KUBE_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    /// A scheduler name served by a scheduler that does not run on this
    /// host (repeatable; comma-separated in the environment).
    #[arg(
        long = "known-scheduler",
        env = "SCHEDGUARD_KNOWN_SCHEDULERS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub known_schedulers: Vec<String>,
    /// A subject allowed to change Node objects besides the built-in
    /// identities: User:NAME, Group:NAME or ServiceAccount:NAMESPACE/NAME
    /// (repeatable; comma-separated in the environment).
    #[arg(
        long = "allow-node-writer",
        env = "SCHEDGUARD_ALLOW_NODE_WRITERS",
        value_name = "SUBJECT",
        value_delimiter = ',',
        value_parser = subject
    )]
    pub allow_node_writers: Vec<String>,
    /// Time limit of all API requests of an audit together [default: 60s].
    #[arg(long, env = "SCHEDGUARD_CLUSTER_TIMEOUT", value_name = "DURATION", value_parser = parse_duration)]
    pub cluster_timeout: Option<Duration>,
    /// Objects per page of list requests [default: 500].
    #[arg(long, hide = true, value_name = "N", value_parser = page_size)]
    pub cluster_page_size: Option<u32>,
}

impl ClusterArgs {
    /// The options of cluster mode, or `None` when it is off. Cluster
    /// settings without `--cluster` are refused rather than ignored.
    pub fn options(&self) -> Result<Option<Options>, String> {
        if !self.cluster {
            if self.kubeconfig.is_some() || self.context.is_some() {
                return Err(
                    "--kubeconfig and --context are settings of cluster mode: add --cluster".into(),
                );
            }
            return Ok(None);
        }
        let defaults = Options::default();
        Ok(Some(Options {
            kubeconfig: self
                .kubeconfig
                .as_deref()
                .filter(|k| !k.is_empty())
                .map(from_current_dir),
            context: self.context.clone().filter(|c| !c.is_empty()),
            known_schedulers: self.known_schedulers.clone(),
            allowed_node_writers: self.allow_node_writers.clone(),
            total_timeout: self.cluster_timeout.unwrap_or(defaults.total_timeout),
            request_timeout: defaults
                .request_timeout
                .min(self.cluster_timeout.unwrap_or(defaults.total_timeout)),
            page_size: self.cluster_page_size.unwrap_or(DEFAULT_PAGE_SIZE),
        }))
    }

    /// The allowed writers given, checked and spelled canonically (for
    /// values that come from a file rather than the command line).
    pub fn canonical_subjects(values: &[String]) -> Result<Vec<String>, String> {
        values.iter().map(|v| subject(v)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_mode_is_off_unless_asked_for() {
        assert!(ClusterArgs::default().options().unwrap().is_none());
        let stray = ClusterArgs {
            kubeconfig: Some("/k".into()),
            ..ClusterArgs::default()
        };
        assert!(stray.options().unwrap_err().contains("add --cluster"));
    }

    #[test]
    fn defaults_and_short_timeouts() {
        let on = ClusterArgs {
            cluster: true,
            cluster_timeout: Some(Duration::from_secs(3)),
            ..ClusterArgs::default()
        };
        let o = on.options().unwrap().unwrap();
        assert_eq!(o.page_size, 500);
        assert_eq!(o.total_timeout, Duration::from_secs(3));
        assert_eq!(o.request_timeout, Duration::from_secs(3));
    }

    #[test]
    fn a_relative_kubeconfig_starts_at_the_current_directory() {
        let on = ClusterArgs {
            cluster: true,
            kubeconfig: Some("admin.conf".into()),
            ..ClusterArgs::default()
        };
        let path = on.options().unwrap().unwrap().kubeconfig.unwrap();
        let here = std::env::current_dir().unwrap().join("admin.conf");
        assert_eq!(path, here.display().to_string());
    }

    #[test]
    fn subjects_are_checked_and_canonical() {
        assert_eq!(
            subject("ServiceAccount:kube-system/ccm").unwrap(),
            "ServiceAccount:kube-system/ccm"
        );
        assert_eq!(
            subject("User:system:serviceaccount:kube-system:ccm").unwrap(),
            "ServiceAccount:kube-system/ccm"
        );
        assert!(subject("bob").is_err());
        assert!(page_size("0").is_err());
        assert_eq!(page_size("3"), Ok(3));
    }
}
