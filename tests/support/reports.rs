//! Reports built with schedguard's own types and packed exactly as the
//! agent packs them (the `schedguard.upload/v1` envelope, gzipped), for
//! seeding a collector in tests and the benchmark.

use schedguard::agent::upload::{self, Sender};
use schedguard::checks::{catalogue, Evidence, Finding, Status, TargetRef};
use schedguard::report::json::{Host, Report, TargetSummary, Version, REPORT_SCHEMA};
use schedguard::report::Summary;

/// A finding of a catalogue check, worded the way the checks word them.
pub fn finding(check: &str, status: Status) -> Finding {
    let c = catalogue::find(check).unwrap_or_else(|| panic!("{check} is not in the catalogue"));
    Finding {
        check: c.id.to_string(),
        title: c.title.to_string(),
        status,
        severity: c.severity,
        target: Some(TargetRef {
            pid: 4242,
            kind: "kube-scheduler".into(),
        }),
        message: format!(
            "{} ({status}): {}",
            c.title.to_lowercase(),
            c.rationale.chars().take(120).collect::<String>()
        ),
        evidence: vec![
            Evidence {
                source: "argv".into(),
                detail: "--bind-address=0.0.0.0 --secure-port=10259 --kubeconfig=/etc/kubernetes/scheduler.conf".into(),
            },
            Evidence {
                source: "config".into(),
                detail: "/etc/kubernetes/kube-scheduler.yaml: leaderElection.leaderElect: true".into(),
            },
        ],
        remediation: c.remediation.to_string(),
        references: c.references.iter().map(|r| r.to_string()).collect(),
    }
}

/// A report with these findings, for one kube-scheduler on `hostname`.
pub fn report(hostname: &str, findings: Vec<Finding>) -> Report {
    Report {
        schema: REPORT_SCHEMA.to_string(),
        schedguard_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: "2026-12-03T21:20:31Z".into(),
        host: Host {
            hostname: Some(hostname.to_string()),
            machine_id: Some("3d1219c7c4c5404aaa1f6d2a48adfda4".into()),
            boot_id: Some("4fee1ba1-0420-4d96-bbdf-733e27762226".into()),
            kernel: Some("6.1.0-28-amd64".into()),
        },
        targets: vec![TargetSummary {
            pid: 4242,
            kind: "kube-scheduler".into(),
            exe: Some("/usr/local/bin/kube-scheduler".into()),
            uid: Some(0),
            version: Version {
                value: Some("v1.30.4".into()),
                source: "build-info".into(),
                assumed: "1.30".into(),
                go: Some("go1.22.5".into()),
                note: None,
            },
            container: None,
            static_pod: None,
            config_file: Some("/etc/kubernetes/kube-scheduler.yaml".into()),
            listeners: None,
            errors: Vec::new(),
        }],
        apiservers: vec![4100],
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
        cluster: None,
    }
}

/// Every catalogue check, with a mix of statuses that `variant` shifts:
/// the size and shape of a real report.
pub fn realistic(hostname: &str, variant: u64) -> Report {
    let statuses = [
        Status::Pass,
        Status::Pass,
        Status::Fail,
        Status::Pass,
        Status::Warn,
        Status::Skip,
        Status::Pass,
        Status::Error,
    ];
    let findings = catalogue::CATALOGUE
        .iter()
        .enumerate()
        .map(|(i, c)| {
            finding(
                c.id,
                statuses[(i as u64 + variant) as usize % statuses.len()],
            )
        })
        .collect();
    report(hostname, findings)
}

/// The gzipped envelope of `report` from `node`, as the agent sends it.
pub fn envelope(node: &str, report_id: &str, report: &Report) -> Vec<u8> {
    let sender = Sender {
        node,
        hostname: report.host.hostname.as_deref(),
        machine_id: report.host.machine_id.as_deref(),
        boot_id: report.host.boot_id.as_deref(),
        agent_version: env!("CARGO_PKG_VERSION"),
    };
    upload::pack(report_id, sender, report).expect("a report packs")
}

/// A new report id, as the agent makes them.
pub fn new_id() -> String {
    upload::new_report_id()
}

/// The gzipped envelope of a report with these check statuses.
pub fn with(node: &str, statuses: &[(&str, Status)]) -> (String, Vec<u8>) {
    let id = new_id();
    let findings = statuses.iter().map(|(c, s)| finding(c, *s)).collect();
    let body = envelope(node, &id, &report(node, findings));
    (id, body)
}
