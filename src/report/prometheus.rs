//! The Prometheus report (`--format prometheus`): text exposition format
//! 0.0.4 for node_exporter's textfile collector. Write it with
//! `--output DIR/schedguard.prom`, which replaces the file atomically.
//!
//! `schedguard_check_status` has the same name and labels as on the agent's
//! /metrics, so one set of alerts serves both. The textfile collector forbids
//! sample timestamps, so the audit time is a metric of its own.

use crate::checks::{Finding, Status};
use crate::report::{self, Audit, Summary, Timestamp};
use std::fmt::Write;

/// Escapes a label value: backslash, double quote and line feed.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes the HELP and TYPE lines of a metric family.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The `schedguard_check_status` family: one sample of value 1 per finding,
/// labelled with its check, severity, status and target. Shared with the
/// agent's /metrics.
pub fn check_status(out: &mut String, findings: &[Finding]) {
    family(
        out,
        "schedguard_check_status",
        "gauge",
        "1 for the status each check had for each target in the last audit.",
    );
    for f in findings {
        let (pid, kind) = f
            .target
            .as_ref()
            .map_or((0, "none"), |t| (t.pid, t.kind.as_str()));
        let _ = writeln!(
            out,
            "schedguard_check_status{{check=\"{}\",severity=\"{}\",status=\"{}\",target_pid=\"{pid}\",target_kind=\"{}\"}} 1",
            escape(&f.check),
            f.severity,
            f.status,
            escape(kind)
        );
    }
}

/// The textfile of an audit.
pub fn render(audit: &Audit, now: Timestamp) -> String {
    let facts = audit.facts;
    let mut out = String::new();

    family(
        &mut out,
        "schedguard_build_info",
        "gauge",
        "The version of schedguard that wrote this file.",
    );
    let _ = writeln!(
        out,
        "schedguard_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );

    check_status(&mut out, audit.findings);

    family(
        &mut out,
        "schedguard_findings",
        "gauge",
        "Findings of the audit, by status.",
    );
    let s = Summary::of(audit.findings);
    for (status, n) in [
        (Status::Pass, s.pass),
        (Status::Fail, s.fail),
        (Status::Warn, s.warn),
        (Status::Error, s.error),
        (Status::Skip, s.skip),
    ] {
        let _ = writeln!(out, "schedguard_findings{{status=\"{status}\"}} {n}");
    }

    family(
        &mut out,
        "schedguard_targets",
        "gauge",
        "kube-scheduler processes found by the audit.",
    );
    let _ = writeln!(out, "schedguard_targets {}", facts.targets.len());

    family(
        &mut out,
        "schedguard_audit_problems",
        "gauge",
        "Problems that kept the audit from completing (0 when it completed).",
    );
    let _ = writeln!(out, "schedguard_audit_problems {}", facts.problems.len());

    family(
        &mut out,
        "schedguard_audit_timestamp_seconds",
        "gauge",
        "Unix time the audit's report was written.",
    );
    let _ = writeln!(
        out,
        "schedguard_audit_timestamp_seconds{{host=\"{}\"}} {}",
        escape(report::hostname(facts)),
        now.seconds
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::*;

    fn text() -> String {
        let facts = facts(vec![target(4242)]);
        let findings = findings();
        render(
            &Audit {
                facts: &facts,
                findings: &findings,
            },
            NOW,
        )
    }

    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let text = text();
        let mut declared: Vec<&str> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared.push(rest.split_whitespace().next().unwrap());
            } else if !line.starts_with('#') {
                let name = line.split(['{', ' ']).next().unwrap();
                assert!(declared.contains(&name), "{name} has no TYPE before it");
            }
        }
        assert_eq!(text.matches("# HELP").count(), declared.len());
    }

    #[test]
    fn each_check_and_target_has_its_status() {
        let text = text();
        assert!(text.contains(
            "schedguard_check_status{check=\"SG-102\",severity=\"high\",status=\"fail\",target_pid=\"4242\",target_kind=\"kube-scheduler\"} 1"
        ));
        assert!(
            text.contains("target_kind=\"none\"} 1"),
            "the cluster finding"
        );
        assert!(text.contains("schedguard_findings{status=\"error\"} 1"));
        assert!(text.contains(&format!(
            "{} {}",
            "schedguard_audit_timestamp_seconds{host=\"CP-1\"}", NOW.seconds
        )));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
