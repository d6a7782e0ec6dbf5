//! The JSON report (`--format json`), schema `schedguard.report/v1`.
//!
//! Stable fields: `schema`, `schedguard_version`, `generated_at`, `host`,
//! `targets[]`, `apiservers[]`, `findings[]`, `summary`, `problems`, and in
//! cluster mode `cluster`. New fields may be added within v1; a field never
//! changes meaning. Cluster-mode findings have no `target`.

use crate::checks::Finding;
use crate::facts::{Cluster, Container, Listener, Observed, StaticPod, Target};
use crate::report::{Audit, Summary};
use serde::{Deserialize, Serialize};

pub const REPORT_SCHEMA: &str = "schedguard.report/v1";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub schedguard_version: String,
    pub generated_at: String,
    pub host: Host,
    pub targets: Vec<TargetSummary>,
    pub apiservers: Vec<u32>,
    pub findings: Vec<Finding>,
    pub summary: Summary,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// Which API server cluster mode asked, and as whom; absent when
    /// cluster mode is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterSummary>,
}

/// The API server cluster mode asked (never credentials).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterSummary {
    pub server: Option<String>,
    pub server_version: Option<String>,
    pub kubeconfig: Option<String>,
    pub context: Option<String>,
    /// How schedguard authenticated, such as `client certificate CN=...`.
    pub credentials: Option<String>,
    /// What the server's certificate was verified against.
    pub trust: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_schedulers: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_node_writers: Vec<String>,
    /// Why no kubeconfig could be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ClusterSummary {
    fn of(cluster: &Cluster) -> ClusterSummary {
        let connection = cluster.connection.ok();
        ClusterSummary {
            server: connection.map(|c| c.server.clone()),
            server_version: connection.and_then(|c| c.server_version.ok().cloned()),
            kubeconfig: connection.map(|c| c.kubeconfig.path.clone()),
            context: connection.map(|c| c.context.clone()),
            credentials: connection.map(|c| c.credentials.clone()),
            trust: connection.map(|c| c.trust.clone()),
            known_schedulers: cluster.known_schedulers.clone(),
            allowed_node_writers: cluster.allowed_node_writers.clone(),
            error: match &cluster.connection {
                Observed::Error(e) => Some(e.clone()),
                Observed::Ok(_) => None,
            },
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Host {
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub boot_id: Option<String>,
    pub kernel: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Version {
    /// `v1.20.2`, or null when unknown.
    pub value: Option<String>,
    /// `build-info`, `manifest-image` or `unknown`.
    pub source: String,
    /// The release whose defaults were applied.
    pub assumed: String,
    pub go: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetSummary {
    pub pid: u32,
    pub kind: String,
    pub exe: Option<String>,
    pub uid: Option<u32>,
    pub version: Version,
    pub container: Option<Container>,
    pub static_pod: Option<StaticPod>,
    pub config_file: Option<String>,
    /// Listening sockets, when live inspection ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listeners: Option<Vec<Listener>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

impl TargetSummary {
    fn of(t: &Target) -> TargetSummary {
        let process = t.process.ok();
        TargetSummary {
            pid: t.pid,
            kind: t.kind.as_str().to_string(),
            exe: process.and_then(|p| p.exe.clone()),
            uid: process.map(|p| p.uid),
            version: Version {
                value: t.version.detected.map(|v| v.to_string()),
                source: serde_json::to_value(t.version.source)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                assumed: t.version.assumed().to_string(),
                go: t.version.go_version.clone(),
                note: t.version.note.clone(),
            },
            container: process.and_then(|p| p.container.clone()),
            static_pod: t.static_pod.clone(),
            config_file: t.config.as_ref().map(|c| c.path.clone()),
            listeners: t.live.as_ref().map(|l| l.listeners.clone()),
            errors: t.errors.clone(),
        }
    }
}

pub fn build(audit: &Audit) -> Report {
    let facts = audit.facts;
    Report {
        schema: REPORT_SCHEMA.to_string(),
        schedguard_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: crate::time::now_rfc3339(),
        host: Host {
            hostname: facts.host.hostname.clone(),
            machine_id: facts.host.machine_id.clone(),
            boot_id: facts.host.boot_id.clone(),
            kernel: facts.host.kernel.clone(),
        },
        targets: facts.targets.iter().map(TargetSummary::of).collect(),
        apiservers: facts.apiservers.iter().map(|a| a.pid).collect(),
        findings: audit.findings.to_vec(),
        summary: Summary::of(audit.findings),
        problems: facts.problems.clone(),
        cluster: facts.cluster.as_ref().map(ClusterSummary::of),
    }
}

/// The report as pretty-printed JSON.
pub fn render(audit: &Audit) -> String {
    let mut text = serde_json::to_string_pretty(&build(audit)).expect("a report always serialises");
    text.push('\n');
    text
}
