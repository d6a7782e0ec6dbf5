//! The text report (`--format text`): findings grouped per target, the most
//! urgent first, with colour only on a terminal.

use crate::checks::{Finding, Status};
use crate::facts::{Cluster, Observed, Target, VersionSource};
use crate::report::{Audit, Summary};
use std::fmt::Write;

/// Whether to colour the output.
#[derive(Clone, Copy)]
pub struct Style {
    pub colour: bool,
}

impl Style {
    fn paint(&self, status: Status, text: &str) -> String {
        if !self.colour {
            return text.to_string();
        }
        let code = match status {
            Status::Pass => "32",
            Status::Fail => "1;31",
            Status::Warn => "33",
            Status::Error => "35",
            Status::Skip => "2",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    fn bold(&self, text: &str) -> String {
        if self.colour {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// The order findings are shown in: what needs action first.
fn rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Warn => 2,
        Status::Pass => 3,
        Status::Skip => 4,
    }
}

fn heading(t: &Target) -> String {
    let version = match (t.version.detected, t.version.source) {
        (Some(v), VersionSource::BuildInfo) => format!("{v} (build info)"),
        (Some(v), _) => format!("{v} (image tag)"),
        (None, _) => format!("version unknown, {} defaults assumed", t.version.assumed()),
    };
    let mut line = format!("{} pid {}  {version}", t.kind.as_str(), t.pid);
    if let Some(process) = t.process.ok() {
        if let Some(exe) = &process.exe {
            let _ = write!(line, "  {exe}");
        }
        if let Some(c) = &process.container {
            let _ = write!(line, "  container {}", &c.id[..c.id.len().min(12)]);
        }
    }
    if let Some(pod) = &t.static_pod {
        let _ = write!(line, "  static pod {}", pod.manifest);
    }
    line
}

/// The heading of cluster-mode findings: which API server, as whom.
fn cluster_heading(cluster: &Cluster) -> String {
    match &cluster.connection {
        Observed::Ok(c) => {
            let version = c
                .server_version
                .ok()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            format!(
                "cluster {}{version}  as {}  kubeconfig {} context {}",
                c.server, c.credentials, c.kubeconfig.path, c.context
            )
        }
        Observed::Error(_) => "cluster (no usable kubeconfig)".to_string(),
    }
}

fn finding(out: &mut String, f: &Finding, style: Style) {
    let label = style.paint(
        f.status,
        &format!("{:<5}", f.status.as_str().to_uppercase()),
    );
    let _ = writeln!(out, "  {label} {} [{}] {}", f.check, f.severity, f.title);
    if matches!(f.status, Status::Pass | Status::Skip) {
        let _ = writeln!(out, "        {}", f.message);
        return;
    }
    let _ = writeln!(out, "        {}", f.message);
    for e in &f.evidence {
        let _ = writeln!(out, "        evidence ({}): {}", e.source, e.detail);
    }
    if f.status != Status::Error {
        let _ = writeln!(out, "        fix: {}", f.remediation);
    }
}

fn group(out: &mut String, title: &str, findings: &[&Finding], style: Style) {
    let _ = writeln!(out, "{}", style.bold(title));
    let mut sorted = findings.to_vec();
    sorted.sort_by(|a, b| {
        rank(a.status)
            .cmp(&rank(b.status))
            .then(a.check.cmp(&b.check))
    });
    for f in sorted {
        finding(out, f, style);
    }
    out.push('\n');
}

pub fn render(audit: &Audit, style: Style) -> String {
    let mut out = String::new();
    let host = audit.facts.host.hostname.as_deref().unwrap_or("this host");
    let _ = writeln!(
        out,
        "schedguard {} audit of {host}\n",
        env!("CARGO_PKG_VERSION")
    );

    for problem in &audit.facts.problems {
        let _ = writeln!(
            out,
            "{} {problem}\n",
            style.paint(Status::Error, "problem:")
        );
    }
    if audit.facts.targets.is_empty() {
        let _ = writeln!(out, "No kube-scheduler process runs on this host.\n");
    }
    for t in &audit.facts.targets {
        let of_target: Vec<&Finding> = audit
            .findings
            .iter()
            .filter(|f| {
                f.target
                    .as_ref()
                    .is_some_and(|r| r.pid == t.pid && r.kind != "kube-apiserver")
            })
            .collect();
        group(&mut out, &heading(t), &of_target, style);
        if t.version.detected.is_none() {
            if let Some(note) = &t.version.note {
                let _ = writeln!(out, "  note: {note}\n");
            }
        }
    }
    for a in &audit.facts.apiservers {
        let of_apiserver: Vec<&Finding> = audit
            .findings
            .iter()
            .filter(|f| {
                f.target
                    .as_ref()
                    .is_some_and(|r| r.pid == a.pid && r.kind == "kube-apiserver")
            })
            .collect();
        group(
            &mut out,
            &format!("kube-apiserver pid {}", a.pid),
            &of_apiserver,
            style,
        );
    }

    if let Some(cluster) = &audit.facts.cluster {
        let of_cluster: Vec<&Finding> = audit
            .findings
            .iter()
            .filter(|f| f.target.is_none())
            .collect();
        group(&mut out, &cluster_heading(cluster), &of_cluster, style);
    }

    let s = Summary::of(audit.findings);
    let targets = audit.facts.targets.len();
    let _ = writeln!(
        out,
        "{targets} target{}, {} findings: {} pass, {} fail, {} warn, {} error, {} skip",
        if targets == 1 { "" } else { "s" },
        s.total,
        style.paint(Status::Pass, &s.pass.to_string()),
        style.paint(Status::Fail, &s.fail.to_string()),
        style.paint(Status::Warn, &s.warn.to_string()),
        style.paint(Status::Error, &s.error.to_string()),
        s.skip
    );
    out
}
