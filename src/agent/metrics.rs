//! The agent's state as Prometheus text (exposition format 0.0.4), served on
//! the local endpoint. Names follow Prometheus conventions: `_total` for
//! counters, base units (`_seconds`, `_bytes`).

use crate::checks::Finding;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Everything /metrics shows.
#[derive(Debug, Default)]
pub struct State {
    /// The last audit's findings.
    pub findings: Vec<Finding>,
    pub targets: usize,
    pub audits_total: u64,
    pub audit_errors_total: u64,
    pub last_audit_duration_seconds: f64,
    pub last_audit_success_timestamp: Option<f64>,
    pub last_upload_success_timestamp: Option<f64>,
    pub spool_reports: usize,
    pub spool_bytes: u64,
    pub reports_delivered_total: u64,
    /// By reason: network, server_error, unauthorized, rejected.
    pub upload_failures_total: BTreeMap<&'static str, u64>,
    /// By reason: spool_full, rejected.
    pub reports_dropped_total: BTreeMap<&'static str, u64>,
    /// True once the first audit finished.
    pub ready: bool,
}

/// A label value with backslashes, quotes and newlines escaped.
pub(crate) fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The HELP and TYPE lines of a metric family.
pub(crate) fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

impl State {
    pub fn render(&self) -> String {
        let mut out = String::new();

        family(
            &mut out,
            "schedguard_build_info",
            "gauge",
            "The agent's version.",
        );
        let _ = writeln!(
            out,
            "schedguard_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        family(
            &mut out,
            "schedguard_check_status",
            "gauge",
            "1 for the status each check had for each target in the last audit.",
        );
        for f in &self.findings {
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

        family(
            &mut out,
            "schedguard_targets",
            "gauge",
            "kube-scheduler processes found by the last audit.",
        );
        let _ = writeln!(out, "schedguard_targets {}", self.targets);
        family(
            &mut out,
            "schedguard_audits_total",
            "counter",
            "Audits run.",
        );
        let _ = writeln!(out, "schedguard_audits_total {}", self.audits_total);
        family(
            &mut out,
            "schedguard_audit_errors_total",
            "counter",
            "Audits that could not run.",
        );
        let _ = writeln!(
            out,
            "schedguard_audit_errors_total {}",
            self.audit_errors_total
        );
        family(
            &mut out,
            "schedguard_audit_duration_seconds",
            "gauge",
            "Duration of the last audit.",
        );
        let _ = writeln!(
            out,
            "schedguard_audit_duration_seconds {}",
            self.last_audit_duration_seconds
        );
        if let Some(ts) = self.last_audit_success_timestamp {
            family(
                &mut out,
                "schedguard_last_audit_success_timestamp_seconds",
                "gauge",
                "Unix time of the last audit that completed.",
            );
            let _ = writeln!(out, "schedguard_last_audit_success_timestamp_seconds {ts}");
        }
        if let Some(ts) = self.last_upload_success_timestamp {
            family(
                &mut out,
                "schedguard_last_upload_success_timestamp_seconds",
                "gauge",
                "Unix time of the last report delivered upstream.",
            );
            let _ = writeln!(out, "schedguard_last_upload_success_timestamp_seconds {ts}");
        }
        family(
            &mut out,
            "schedguard_spool_reports",
            "gauge",
            "Reports waiting for delivery.",
        );
        let _ = writeln!(out, "schedguard_spool_reports {}", self.spool_reports);
        family(
            &mut out,
            "schedguard_spool_bytes",
            "gauge",
            "Bytes of reports waiting for delivery.",
        );
        let _ = writeln!(out, "schedguard_spool_bytes {}", self.spool_bytes);
        family(
            &mut out,
            "schedguard_reports_delivered_total",
            "counter",
            "Reports delivered upstream.",
        );
        let _ = writeln!(
            out,
            "schedguard_reports_delivered_total {}",
            self.reports_delivered_total
        );

        family(
            &mut out,
            "schedguard_upload_failures_total",
            "counter",
            "Failed upload attempts, by reason.",
        );
        for reason in ["network", "server_error", "unauthorized", "rejected"] {
            let n = self.upload_failures_total.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "schedguard_upload_failures_total{{reason=\"{reason}\"}} {n}"
            );
        }
        family(
            &mut out,
            "schedguard_reports_dropped_total",
            "counter",
            "Reports dropped without delivery, by reason.",
        );
        for reason in ["spool_full", "rejected"] {
            let n = self.reports_dropped_total.get(reason).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "schedguard_reports_dropped_total{{reason=\"{reason}\"}} {n}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_has_help_and_type_and_counters_end_in_total() {
        let text = State::default().render();
        for line in text.lines().filter(|l| l.starts_with("# TYPE")) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            if parts[3] == "counter" {
                assert!(parts[2].ends_with("_total"), "{line}");
            }
            assert!(text.contains(&format!("# HELP {} ", parts[2])));
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
