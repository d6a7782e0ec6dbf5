//! Rendering: one file per output format. Reports are built from the facts
//! and the findings; nothing here reads the host.

pub mod json;
pub mod junit;
pub mod location;
pub mod output;
pub mod policyreport;
pub mod prometheus;
pub mod sarif;
pub mod text;
mod xml;
mod yaml;

use crate::checks::{Finding, Status, TargetRef};
use crate::facts::Facts;
use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Counts of findings by status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    pub skip: usize,
    pub total: usize,
}

impl Summary {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Summary {
        Summary::of_statuses(findings.into_iter().map(|f| f.status))
    }

    /// Counts statuses however they were read.
    pub fn of_statuses(statuses: impl Iterator<Item = Status>) -> Summary {
        let mut summary = Summary::default();
        for status in statuses {
            summary.total += 1;
            match status {
                Status::Pass => summary.pass += 1,
                Status::Fail => summary.fail += 1,
                Status::Warn => summary.warn += 1,
                Status::Error => summary.error += 1,
                Status::Skip => summary.skip += 1,
            }
        }
        summary
    }
}

/// What an audit produced: the input of every renderer.
pub struct Audit<'a> {
    pub facts: &'a Facts,
    pub findings: &'a [Finding],
}

/// The formats `schedguard audit --format` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings per target, for people.
    Text,
    /// The `schedguard.report/v1` JSON report.
    Json,
    /// SARIF 2.1.0, for GitHub code scanning, DefectDojo and other SARIF readers.
    Sarif,
    /// A wgpolicyk8s.io/v1alpha2 ClusterPolicyReport (or PolicyReport) scoped
    /// to this Node, as YAML.
    Policyreport,
    /// JUnit XML: one test case per check and target.
    Junit,
    /// Prometheus text format, for node_exporter's textfile collector.
    Prometheus,
}

/// Settings that only some formats use.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Colour in the text report.
    pub colour: bool,
    /// Write a namespaced PolicyReport in this namespace instead of a
    /// ClusterPolicyReport.
    pub policyreport_namespace: Option<String>,
}

/// Renders an audit in a format.
pub fn render(format: Format, audit: &Audit, options: &Options) -> String {
    match format {
        Format::Text => text::render(
            audit,
            text::Style {
                colour: options.colour,
            },
        ),
        Format::Json => json::render(audit),
        Format::Sarif => sarif::render(audit, now()),
        Format::Policyreport => {
            policyreport::render(audit, options.policyreport_namespace.as_deref(), now())
        }
        Format::Junit => junit::render(audit, now()),
        Format::Prometheus => prometheus::render(audit, now()),
    }
}

/// Seconds and nanoseconds since the Unix epoch, the time a report carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp {
    pub seconds: u64,
    pub nanos: u32,
}

impl Timestamp {
    /// `2026-12-03T21:20:31Z`.
    pub fn rfc3339(self) -> String {
        crate::time::rfc3339(self.seconds)
    }
}

fn now() -> Timestamp {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        seconds: now.as_secs(),
        nanos: now.subsec_nanos(),
    }
}

/// How reports name what a finding is about: `kube-scheduler pid 4242`, or
/// `cluster` for a finding without a process.
pub fn target_label(target: Option<&TargetRef>) -> String {
    match target {
        Some(t) => format!("{} pid {}", t.kind, t.pid),
        None => "cluster".to_string(),
    }
}

/// The concern a check belongs to, from the hundreds of its ID (the
/// sections of the catalogue).
pub fn category(check: &str) -> &'static str {
    match check.strip_prefix("SG-").and_then(|n| n.chars().next()) {
        Some('1') => "Authentication and authorization",
        Some('2') => "Profiling",
        Some('3') => "Serving",
        Some('4') => "TLS",
        Some('5') => "Live endpoints",
        Some('6') => "Scheduling configuration",
        Some('7') => "Node isolation",
        Some('8') => "Static pod",
        _ => "Other",
    }
}

/// The host's name as reports show it, or `unknown-host`.
fn hostname(facts: &Facts) -> &str {
    facts.host.hostname.as_deref().unwrap_or("unknown-host")
}

/// A target (or none: the cluster) and its findings.
type Group<'a> = (Option<&'a TargetRef>, Vec<&'a Finding>);

/// Findings grouped by what they are about, in the order each target first
/// appears (the order the checks ran).
fn by_target(findings: &[Finding]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group> = Vec::new();
    for f in findings {
        match groups.iter_mut().find(|(t, _)| *t == f.target.as_ref()) {
            Some((_, group)) => group.push(f),
            None => groups.push((f.target.as_ref(), vec![f])),
        }
    }
    groups
}

#[cfg(test)]
pub(crate) mod testing {
    //! A small audit with every status, shared by the format tests.

    use crate::checks::{Evidence, Finding, Severity, Status, TargetRef};
    use crate::facts::*;

    pub fn finding(check: &str, status: Status, severity: Severity, pid: u32) -> Finding {
        Finding {
            check: check.into(),
            title: format!("title of {check}"),
            status,
            severity,
            target: Some(TargetRef {
                pid,
                kind: "kube-scheduler".into(),
            }),
            message: format!("{check} is {status}"),
            evidence: Vec::new(),
            remediation: format!("fix {check}"),
            references: vec!["Kubernetes Hardening Guide - Scheduler Configuration".into()],
        }
    }

    pub fn with_evidence(mut f: Finding, source: &str, detail: &str) -> Finding {
        f.evidence.push(Evidence {
            source: source.into(),
            detail: detail.into(),
        });
        f
    }

    pub fn target(pid: u32) -> Target {
        let mut t = crate::checks::testing::target("--kubeconfig=/etc/kubernetes/scheduler.conf");
        t.pid = pid;
        t.config = Some(ConfigFile {
            path: "/etc/kubernetes/sched.yaml".into(),
            parsed: Observed::Error("not parsed in this test".into()),
        });
        t.files.push(FileUse {
            role: "--kubeconfig".into(),
            path: "/etc/kubernetes/scheduler.conf".into(),
            stat: crate::checks::testing::file(0o644, 0, 0),
        });
        t.static_pod = Some(StaticPod {
            manifest: "/etc/kubernetes/manifests/kube-scheduler.yaml".into(),
            name: Some("kube-scheduler".into()),
            image: None,
        });
        t
    }

    pub fn facts(targets: Vec<Target>) -> Facts {
        Facts {
            schema: FACTS_SCHEMA.into(),
            schedguard_version: "0.0.0".into(),
            gathered_at: "2026-12-03T21:20:31Z".into(),
            host: Host {
                hostname: Some("CP-1".into()),
                machine_id: Some("0123456789abcdef0123456789abcdef".into()),
                boot_id: None,
                kernel: Some("6.18.0".into()),
                root: "/".into(),
            },
            targets,
            apiservers: Vec::new(),
            live_inspection: false,
            problems: Vec::new(),
            cluster: None,
        }
    }

    /// One finding of each status for pid 4242, plus a cluster finding.
    pub fn findings() -> Vec<Finding> {
        let mut cluster = finding("SG-703", Status::Fail, Severity::High, 0);
        cluster.target = None;
        vec![
            finding("SG-101", Status::Pass, Severity::High, 4242),
            with_evidence(
                finding("SG-102", Status::Fail, Severity::High, 4242),
                "file",
                "/etc/kubernetes/scheduler.conf (--kubeconfig): regular file 0644 root:root",
            ),
            with_evidence(
                finding("SG-203", Status::Warn, Severity::Low, 4242),
                "argv",
                "argv[3]: --profiling=false",
            ),
            finding("SG-302", Status::Skip, Severity::High, 4242),
            finding("SG-605", Status::Error, Severity::High, 4242),
            cluster,
        ]
    }

    pub const NOW: super::Timestamp = super::Timestamp {
        seconds: 1_796_332_831,
        nanos: 42,
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_follow_the_hundreds_of_the_id() {
        assert_eq!(category("SG-102"), "Authentication and authorization");
        assert_eq!(category("SG-403"), "TLS");
        assert_eq!(category("SG-801"), "Static pod");
        assert_eq!(category("X-1"), "Other");
    }

    #[test]
    fn findings_are_grouped_by_target_in_order_of_appearance() {
        let findings = testing::findings();
        let groups = by_target(&findings);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].0.map(|t| t.pid), Some(4242));
        assert_eq!(groups[0].1.len(), 5);
        assert!(groups[1].0.is_none());
    }

    #[test]
    fn a_finding_without_a_process_is_about_the_cluster() {
        assert_eq!(target_label(None), "cluster");
        let t = TargetRef {
            pid: 7,
            kind: "kube-apiserver".into(),
        };
        assert_eq!(target_label(Some(&t)), "kube-apiserver pid 7");
    }
}
