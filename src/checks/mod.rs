//! Judging: pure functions from a facts snapshot to findings. Nothing here
//! touches the host.

pub mod apiserver;
pub mod authn;
pub mod catalogue;
pub mod effective;
pub mod endpoints;
pub mod files;
pub mod node_writers;
pub mod plugins;
pub mod profiling;
pub mod scheduler_names;
pub mod serving;
pub mod tls;

use crate::facts::{ApiServer, Cluster, Facts, Target};
use effective::{Effective, Origin};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Warn,
    Error,
    Skip,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pass,
        Status::Fail,
        Status::Warn,
        Status::Error,
        Status::Skip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::Skip => "skip",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severities, lowest first, so that `>=` compares urgency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of evidence: what was read, and from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `argv`, `config`, `default`, `file`, `process`, `socket`, `probe`.
    pub source: String,
    pub detail: String,
}

/// What a finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRef {
    pub pid: u32,
    /// `kube-scheduler`, `hyperkube`, `k3s-embedded` or `kube-apiserver`.
    pub kind: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub title: String,
    pub status: Status,
    pub severity: Severity,
    /// The process judged; `None` for cluster-mode findings (SG-703, SG-704),
    /// which are about the cluster as a whole.
    pub target: Option<TargetRef>,
    pub message: String,
    pub evidence: Vec<Evidence>,
    pub remediation: String,
    pub references: Vec<String>,
}

/// A check's verdict before the catalogue fills in ID, title and defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub status: Status,
    pub message: String,
    pub evidence: Vec<Evidence>,
    /// Overrides the catalogue severity (SG-106 without allowed names).
    pub severity: Option<Severity>,
}

impl Verdict {
    fn new(status: Status, message: impl Into<String>) -> Verdict {
        Verdict {
            status,
            message: message.into(),
            evidence: Vec::new(),
            severity: None,
        }
    }

    pub fn pass(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Pass, message)
    }

    pub fn fail(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Fail, message)
    }

    pub fn warn(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Warn, message)
    }

    pub fn error(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Error, message)
    }

    pub fn skip(message: impl Into<String>) -> Verdict {
        Verdict::new(Status::Skip, message)
    }

    /// Adds a piece of evidence.
    pub fn with(mut self, source: &str, detail: impl Into<String>) -> Verdict {
        self.evidence.push(Evidence {
            source: source.to_string(),
            detail: detail.into(),
        });
        self
    }

    /// Adds the origin of an effective value as evidence.
    pub fn from(self, origin: &Origin) -> Verdict {
        let source = origin.source();
        self.with(source, origin.to_string())
    }

    /// Keeps another verdict's evidence (the flags behind a live verdict).
    pub fn with_evidence_of(mut self, other: Verdict) -> Verdict {
        self.evidence.extend(other.evidence);
        self
    }

    pub fn severity(mut self, severity: Severity) -> Verdict {
        self.severity = Some(severity);
        self
    }

    /// The verdict of a check whose facts could not be read.
    pub fn from_result(result: Result<Verdict, String>) -> Verdict {
        result.unwrap_or_else(Verdict::error)
    }
}

/// How a check is evaluated.
pub enum Run {
    /// Once per kube-scheduler target.
    Scheduler(fn(&Effective) -> Vec<Verdict>),
    /// Once per kube-apiserver on the host.
    ApiServer(fn(&ApiServer) -> Verdict),
    /// Once per audit in cluster mode, from what the API server answered
    /// (and the host's schedulers); not evaluated when cluster mode is off.
    Cluster(fn(&Facts, &Cluster) -> Verdict),
}

/// Judges a snapshot: every catalogue check against every target.
pub fn judge(facts: &Facts) -> Vec<Finding> {
    let mut findings = Vec::new();
    for target in &facts.targets {
        let effective = Effective::new(target);
        for check in catalogue::CATALOGUE {
            let Run::Scheduler(run) = check.run else {
                continue;
            };
            let verdicts = if target.argv.is_empty() {
                vec![unreadable_target(target)]
            } else if check.live && target.live.is_none() {
                vec![Verdict::skip(
                    "live network inspection did not run for this target",
                )]
            } else {
                run(&effective)
            };
            let kind = target.kind.as_str();
            findings.extend(
                verdicts
                    .into_iter()
                    .map(|v| finding(check, target.pid, kind, v)),
            );
        }
    }
    for apiserver in &facts.apiservers {
        for check in catalogue::CATALOGUE {
            let Run::ApiServer(run) = check.run else {
                continue;
            };
            let verdict = if apiserver.args.flags.is_empty() && !apiserver.errors.is_empty() {
                Verdict::error(apiserver.errors.join("; "))
            } else {
                run(apiserver)
            };
            findings.push(finding(check, apiserver.pid, "kube-apiserver", verdict));
        }
    }
    if let Some(cluster) = &facts.cluster {
        for check in catalogue::CATALOGUE {
            if let Run::Cluster(run) = check.run {
                findings.push(cluster_finding(check, run(facts, cluster)));
            }
        }
    }
    findings
}

fn unreadable_target(target: &Target) -> Verdict {
    let reason = if target.errors.is_empty() {
        "its command line is empty".to_string()
    } else {
        target.errors.join("; ")
    };
    Verdict::error(format!(
        "cannot evaluate kube-scheduler pid {}: {reason}",
        target.pid
    ))
}

fn finding(check: &catalogue::Check, pid: u32, kind: &str, verdict: Verdict) -> Finding {
    Finding {
        target: Some(TargetRef {
            pid,
            kind: kind.to_string(),
        }),
        ..cluster_finding(check, verdict)
    }
}

/// A finding about the cluster as a whole: it has no target process.
fn cluster_finding(check: &catalogue::Check, verdict: Verdict) -> Finding {
    Finding {
        check: check.id.to_string(),
        title: check.title.to_string(),
        status: verdict.status,
        severity: verdict.severity.unwrap_or(check.severity),
        target: None,
        message: verdict.message,
        evidence: verdict.evidence,
        remediation: check.remediation.to_string(),
        references: check.references.iter().map(|r| r.to_string()).collect(),
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Builders for targets, so each check test reads as one scenario.

    use crate::facts::*;
    use crate::k8s::argv;
    use crate::k8s::config;
    use crate::k8s::flags::KUBE_SCHEDULER;
    use crate::k8s::version::Version;

    pub fn target(line: &str) -> Target {
        let argv: Vec<String> = std::iter::once("kube-scheduler")
            .chain(line.split_whitespace())
            .map(String::from)
            .collect();
        Target {
            pid: 4242,
            kind: TargetKind::KubeScheduler,
            process: Observed::Ok(Process {
                uid: 0,
                gid: 0,
                exe: Some("/usr/local/bin/kube-scheduler".into()),
                namespaces: Namespaces::default(),
                container: None,
            }),
            version: VersionInfo {
                detected: Some(Version::new(1, 30, 2)),
                source: VersionSource::BuildInfo,
                raw: Some("v1.30.2".into()),
                go_version: Some("go1.22.4".into()),
                note: None,
            },
            args: argv::parse(&argv, 1, KUBE_SCHEDULER),
            argv,
            config: None,
            files: Vec::new(),
            static_pod: None,
            errors: Vec::new(),
            live: None,
        }
    }

    /// A snapshot of these targets, gathered at 2026-12-04T12:00:00Z.
    pub fn facts(targets: Vec<Target>) -> Facts {
        Facts {
            schema: FACTS_SCHEMA.into(),
            schedguard_version: "test".into(),
            gathered_at: "2026-12-04T12:00:00Z".into(),
            host: Host::default(),
            targets,
            apiservers: Vec::new(),
            live_inspection: false,
            problems: Vec::new(),
            cluster: None,
        }
    }

    pub fn release(mut target: Target, minor: u16) -> Target {
        target.version.detected = Some(Version::new(1, minor, 0));
        target
    }

    pub fn unknown_release(mut target: Target) -> Target {
        target.version = VersionInfo::unknown("test");
        target
    }

    /// Gives the target a `--config` file with this YAML.
    pub fn with_config(mut target: Target, yaml: &str) -> Target {
        let parsed = match config::parse(yaml.as_bytes()) {
            Ok(c) => Observed::Ok(c),
            Err(e) => Observed::Error(e.to_string()),
        };
        target.config = Some(ConfigFile {
            path: "/etc/kubernetes/sched.yaml".into(),
            parsed,
        });
        target
    }

    pub fn with_unreadable_config(mut target: Target) -> Target {
        target.config = Some(ConfigFile {
            path: "/etc/kubernetes/sched.yaml".into(),
            parsed: Observed::Error("permission denied".into()),
        });
        target
    }

    pub fn file(mode: u32, uid: u32, gid: u32) -> Observed<FileStat> {
        Observed::Ok(FileStat {
            kind: FileKind::Regular,
            mode,
            uid,
            gid,
            owner: None,
            group: None,
            size: 100,
            parents: vec![DirStat {
                path: "/etc/kubernetes".into(),
                mode: 0o755,
                uid: 0,
                gid: 0,
            }],
        })
    }

    pub fn with_file(
        mut target: Target,
        role: &str,
        path: &str,
        stat: Observed<FileStat>,
    ) -> Target {
        target.files.push(FileUse {
            role: role.into(),
            path: path.into(),
            stat,
        });
        target
    }

    pub const V1: &str =
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n";
    pub const V1BETA1: &str =
        "apiVersion: kubescheduler.config.k8s.io/v1beta1\nkind: KubeSchedulerConfiguration\n";
}
