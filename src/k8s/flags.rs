//! The command-line flags of kube-scheduler (and the few kube-apiserver flags
//! the checks read): their types, defaults, the releases that have them, and
//! whether `--config` makes them ignored.

/// How pflag parses a flag's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagKind {
    /// A boolean: a bare `--flag` means true; `--flag value` does not consume
    /// `value`.
    Bool,
    /// One value (string, int, duration, ip); the last occurrence wins.
    Value,
    /// A pflag `strings` slice: comma-separated; the first occurrence replaces
    /// the default, later occurrences append.
    List,
    /// A pflag `stringArray`: every occurrence appends one element, with no
    /// comma splitting.
    Array,
}

/// What happens to a flag when the process is started with `--config`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WithConfig {
    /// Not part of KubeSchedulerConfiguration: always read from argv.
    Applies,
    /// Deprecated flag that `--config` makes ignored; the named config field
    /// rules instead.
    Ignored { field: &'static str },
    /// Applied on top of the config file (the leader-election flags).
    Overrides { field: &'static str },
}

/// One row of the flag table.
#[derive(Clone, Copy, Debug)]
pub struct FlagSpec {
    pub name: &'static str,
    pub kind: FlagKind,
    /// The built-in default as kube-scheduler prints it; `None` when empty.
    pub default: Option<&'static str>,
    /// First minor release (1.x) that has the flag; `None` when older than 1.19.
    pub since: Option<u16>,
    /// Last minor release that accepts the flag; `None` while it still exists.
    pub until: Option<u16>,
    pub with_config: WithConfig,
}

impl FlagSpec {
    /// True when release `1.minor` accepts this flag.
    pub fn exists_in(&self, minor: u16) -> bool {
        self.since.is_none_or(|s| minor >= s) && self.until.is_none_or(|u| minor <= u)
    }
}

const fn flag(name: &'static str, kind: FlagKind, default: Option<&'static str>) -> FlagSpec {
    FlagSpec {
        name,
        kind,
        default,
        since: None,
        until: None,
        with_config: WithConfig::Applies,
    }
}

const fn ignored(
    name: &'static str,
    kind: FlagKind,
    default: Option<&'static str>,
    field: &'static str,
) -> FlagSpec {
    FlagSpec {
        with_config: WithConfig::Ignored { field },
        ..flag(name, kind, default)
    }
}

const fn removed(spec: FlagSpec, until: u16) -> FlagSpec {
    FlagSpec {
        until: Some(until),
        ..spec
    }
}

const fn added(spec: FlagSpec, since: u16) -> FlagSpec {
    FlagSpec {
        since: Some(since),
        ..spec
    }
}

const fn leader(
    name: &'static str,
    kind: FlagKind,
    default: &'static str,
    field: &'static str,
) -> FlagSpec {
    FlagSpec {
        with_config: WithConfig::Overrides { field },
        ..flag(name, kind, Some(default))
    }
}

use FlagKind::{Array, Bool, List, Value};

/// kube-scheduler's flags, 1.19 to the newest known release.
pub const KUBE_SCHEDULER: &[FlagSpec] = &[
    flag("config", Value, None),
    flag("write-config-to", Value, None),
    flag("master", Value, None),
    // Secure serving.
    flag("bind-address", Value, Some("0.0.0.0")),
    flag("secure-port", Value, Some("10259")),
    flag("cert-dir", Value, None),
    flag("tls-cert-file", Value, None),
    flag("tls-private-key-file", Value, None),
    flag("tls-cipher-suites", List, None),
    flag("tls-min-version", Value, Some("VersionTLS12")),
    flag("tls-sni-cert-key", Value, None),
    flag("http2-max-streams-per-connection", Value, Some("0")),
    added(flag("disable-http2-serving", Bool, Some("false")), 31),
    added(flag("permit-address-sharing", Bool, Some("false")), 20),
    flag("permit-port-sharing", Bool, Some("false")),
    // Legacy insecure serving: on by default up to 1.22, only 0 accepted in
    // 1.23, gone from 1.24.
    removed(
        ignored(
            "port",
            Value,
            Some("10251"),
            "healthzBindAddress/metricsBindAddress",
        ),
        23,
    ),
    removed(
        ignored(
            "address",
            Value,
            Some("0.0.0.0"),
            "healthzBindAddress/metricsBindAddress",
        ),
        23,
    ),
    // Delegated authentication.
    flag("authentication-kubeconfig", Value, None),
    flag("authentication-skip-lookup", Bool, Some("false")),
    flag("authentication-token-webhook-cache-ttl", Value, Some("10s")),
    flag("authentication-tolerate-lookup-failure", Bool, Some("true")),
    flag("client-ca-file", Value, None),
    flag("requestheader-allowed-names", List, None),
    flag("requestheader-client-ca-file", Value, None),
    flag(
        "requestheader-extra-headers-prefix",
        List,
        Some("x-remote-extra-"),
    ),
    flag("requestheader-group-headers", List, Some("x-remote-group")),
    flag(
        "requestheader-username-headers",
        List,
        Some("x-remote-user"),
    ),
    added(flag("requestheader-uid-headers", List, None), 32),
    // Delegated authorization.
    flag(
        "authorization-always-allow-paths",
        List,
        Some("/healthz,/readyz,/livez"),
    ),
    flag("authorization-kubeconfig", Value, None),
    flag(
        "authorization-webhook-cache-authorized-ttl",
        Value,
        Some("10s"),
    ),
    flag(
        "authorization-webhook-cache-unauthorized-ttl",
        Value,
        Some("10s"),
    ),
    // Deprecated flags that --config overrides.
    ignored("profiling", Bool, Some("true"), "enableProfiling"),
    ignored(
        "contention-profiling",
        Bool,
        Some("true"),
        "enableContentionProfiling",
    ),
    ignored("kubeconfig", Value, None, "clientConnection.kubeconfig"),
    ignored("kube-api-qps", Value, Some("50"), "clientConnection.qps"),
    ignored(
        "kube-api-burst",
        Value,
        Some("100"),
        "clientConnection.burst",
    ),
    ignored(
        "kube-api-content-type",
        Value,
        Some("application/vnd.kubernetes.protobuf"),
        "clientConnection.contentType",
    ),
    removed(ignored("algorithm-provider", Value, None, "profiles"), 22),
    removed(ignored("policy-config-file", Value, None, "profiles"), 22),
    removed(ignored("policy-configmap", Value, None, "profiles"), 22),
    removed(
        ignored(
            "policy-configmap-namespace",
            Value,
            Some("kube-system"),
            "profiles",
        ),
        22,
    ),
    removed(
        ignored("use-legacy-policy-config", Bool, Some("false"), "profiles"),
        22,
    ),
    removed(
        ignored(
            "hard-pod-affinity-symmetric-weight",
            Value,
            Some("1"),
            "profiles[].pluginConfig",
        ),
        21,
    ),
    removed(
        ignored(
            "scheduler-name",
            Value,
            Some("default-scheduler"),
            "profiles[].schedulerName",
        ),
        21,
    ),
    flag(
        "pod-max-in-unschedulable-pods-duration",
        Value,
        Some("5m0s"),
    ),
    // Leader election: applied on top of the config file.
    leader("leader-elect", Bool, "true", "leaderElection.leaderElect"),
    leader(
        "leader-elect-lease-duration",
        Value,
        "15s",
        "leaderElection.leaseDuration",
    ),
    leader(
        "leader-elect-renew-deadline",
        Value,
        "10s",
        "leaderElection.renewDeadline",
    ),
    leader(
        "leader-elect-retry-period",
        Value,
        "2s",
        "leaderElection.retryPeriod",
    ),
    leader(
        "leader-elect-resource-lock",
        Value,
        "leases",
        "leaderElection.resourceLock",
    ),
    leader(
        "leader-elect-resource-name",
        Value,
        "kube-scheduler",
        "leaderElection.resourceName",
    ),
    leader(
        "leader-elect-resource-namespace",
        Value,
        "kube-system",
        "leaderElection.resourceNamespace",
    ),
    removed(
        leader(
            "lock-object-name",
            Value,
            "kube-scheduler",
            "leaderElection.resourceName",
        ),
        23,
    ),
    removed(
        leader(
            "lock-object-namespace",
            Value,
            "kube-system",
            "leaderElection.resourceNamespace",
        ),
        23,
    ),
    // Component-base: feature gates, metrics and logging.
    flag("feature-gates", Value, None),
    added(flag("emulated-version", List, None), 31),
    flag("show-hidden-metrics-for-version", Value, None),
    flag("allow-metric-labels", Value, None),
    flag("disabled-metrics", List, None),
    flag("logging-format", Value, Some("text")),
    flag("log-flush-frequency", Value, Some("5s")),
    flag("v", Value, Some("0")),
    flag("vmodule", Value, None),
    flag("add-dir-header", Bool, Some("false")),
    flag("alsologtostderr", Bool, Some("false")),
    flag("log-backtrace-at", Value, None),
    flag("log-dir", Value, None),
    flag("log-file", Value, None),
    flag("log-file-max-size", Value, Some("1800")),
    flag("logtostderr", Bool, Some("true")),
    flag("one-output", Bool, Some("false")),
    flag("skip-headers", Bool, Some("false")),
    flag("skip-log-headers", Bool, Some("false")),
    flag("stderrthreshold", Value, Some("2")),
    flag("experimental-logging-sanitization", Bool, Some("false")),
    flag("help", Bool, Some("false")),
    // `--version` takes an optional value (`--version=raw`); bare means true.
    flag("version", Bool, Some("false")),
];

/// The kube-apiserver flags that SG-701 and SG-702 read. Other flags of the
/// API server are parsed as unknown flags.
pub const KUBE_APISERVER: &[FlagSpec] = &[
    flag("enable-admission-plugins", List, None),
    flag("disable-admission-plugins", List, None),
    removed(flag("admission-control", List, None), 23),
    flag("authorization-mode", List, Some("AlwaysAllow")),
    flag("authorization-config", Value, None),
    flag("allow-privileged", Bool, Some("false")),
    flag("anonymous-auth", Bool, Some("true")),
    flag("profiling", Bool, Some("true")),
    flag("help", Bool, Some("false")),
    flag("version", Bool, Some("false")),
];

/// The `k3s server` flags that shape its embedded scheduler. k3s' repeatable
/// flags append one value per occurrence.
pub const K3S_SERVER: &[FlagSpec] = &[
    flag("kube-scheduler-arg", Array, None),
    flag("data-dir", Value, Some("/var/lib/rancher/k3s")),
    flag("d", Value, None),
    flag("config", Value, Some("/etc/rancher/k3s/config.yaml")),
    flag("c", Value, None),
    flag("cluster-init", Bool, Some("false")),
    flag("disable-scheduler", Bool, Some("false")),
    flag("debug", Bool, Some("false")),
];

/// Looks a flag up by name in a table.
pub fn lookup(table: &'static [FlagSpec], name: &str) -> Option<&'static FlagSpec> {
    table.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_flag_name_is_unique() {
        for table in [KUBE_SCHEDULER, KUBE_APISERVER] {
            let mut names: Vec<_> = table.iter().map(|f| f.name).collect();
            names.sort_unstable();
            let before = names.len();
            names.dedup();
            assert_eq!(before, names.len());
        }
    }

    #[test]
    fn legacy_port_exists_until_1_23_only() {
        let port = lookup(KUBE_SCHEDULER, "port").unwrap();
        assert!(port.exists_in(20));
        assert!(port.exists_in(23));
        assert!(!port.exists_in(24));
    }

    #[test]
    fn profiling_is_ignored_with_config() {
        let profiling = lookup(KUBE_SCHEDULER, "profiling").unwrap();
        assert_eq!(
            profiling.with_config,
            WithConfig::Ignored {
                field: "enableProfiling"
            }
        );
    }
}
