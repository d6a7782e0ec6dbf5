//! The SARIF 2.1.0 report (`--format sarif`), for GitHub code scanning,
//! DefectDojo and other SARIF readers.
//!
//! One rule per catalogue check, with its rationale and remediation as help
//! and GitHub's `security-severity`. One result per finding that needs
//! attention: `fail` and `warn` are results of kind `fail`; `error` (the
//! check could not be evaluated) is a result of kind `open`, so that an
//! alert is never closed because a check could not run, and it is repeated
//! as a tool notification. Passed and skipped checks are not results (GitHub
//! ignores `kind` and would show them as alerts); they are listed in the
//! run's properties.

use crate::checks::catalogue::{self, CATALOGUE};
use crate::checks::{Finding, Severity, Status};
use crate::report::{self, location, Audit, Summary, Timestamp};
use serde_json::{json, Value};

/// The schema the output conforms to (the OASIS standard with errata 01).
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// The key of schedguard's fingerprint in `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "schedguardFinding/v1";

/// GitHub's scale: 9.0 and up is critical, 7.0 high, 4.0 medium, 0.1 low.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info => "0.0",
    }
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

/// `Delegated authentication is configured` -> `DelegatedAuthenticationIsConfigured`.
fn rule_name(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

fn rule(check: &catalogue::Check) -> Value {
    let mut help = format!("{}\n\nFix: {}", check.rationale, check.remediation);
    let mut markdown = format!(
        "**Why it matters.** {}\n\n**Fix.** {}",
        check.rationale, check.remediation
    );
    if !check.references.is_empty() {
        help.push_str(&format!("\n\nReferences: {}", check.references.join("; ")));
        markdown.push_str("\n\n**References**\n");
        for r in check.references {
            markdown.push_str(&format!("\n- {r}"));
        }
    }
    json!({
        "id": check.id,
        "name": rule_name(check.title),
        "shortDescription": {"text": check.title},
        "fullDescription": {"text": check.rationale},
        "help": {"text": help, "markdown": markdown},
        "defaultConfiguration": {"level": level(check.severity)},
        "properties": {
            "security-severity": security_severity(check.severity),
            "precision": "very-high",
            "tags": ["security", "kubernetes", report::category(check.id)],
        },
    })
}

/// FNV-1a, 64 bits: stable across runs, releases and machines (unlike the
/// standard library's hasher), which is all a fingerprint needs.
fn fnv1a(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// `/proc/4242/cmdline` -> `/proc/PID/cmdline`: a restarted scheduler is the
/// same finding.
fn without_pid(path: &str) -> String {
    match path
        .strip_prefix("/proc/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((pid, rest)) if pid.bytes().all(|b| b.is_ascii_digit()) => {
            format!("/proc/PID/{rest}")
        }
        _ => path.to_string(),
    }
}

fn message(f: &Finding) -> String {
    let mut text = match f.status {
        Status::Error => format!("Could not be evaluated: {}", f.message),
        _ => f.message.clone(),
    };
    if !f.evidence.is_empty() {
        let evidence: Vec<String> = f
            .evidence
            .iter()
            .map(|e| format!("{}: {}", e.source, e.detail))
            .collect();
        text.push_str(&format!("\nEvidence: {}", evidence.join("; ")));
    }
    if f.status != Status::Error {
        text.push_str(&format!("\nFix: {}", f.remediation));
    }
    text
}

fn physical(path: &str) -> Value {
    json!({"physicalLocation": {"artifactLocation": {"uri": location::file_uri(path)}}})
}

/// The SARIF log of an audit, as a JSON value.
pub fn build(audit: &Audit, now: Timestamp) -> Value {
    let facts = audit.facts;
    let host = report::hostname(facts);
    let host_id = facts.host.machine_id.as_deref().unwrap_or(host);
    let rule_index = |id: &str| CATALOGUE.iter().position(|c| c.id == id);

    let mut results = Vec::new();
    let mut notifications: Vec<Value> = facts
        .problems
        .iter()
        .map(|p| json!({"level": "error", "message": {"text": p}}))
        .collect();
    let mut not_findings = Vec::new();
    let mut seen: Vec<String> = Vec::new();

    for f in audit.findings {
        let target = report::target_label(f.target.as_ref());
        if matches!(f.status, Status::Pass | Status::Skip) {
            not_findings.push(json!({
                "ruleId": f.check,
                "status": f.status,
                "target": target,
                "message": f.message,
            }));
            continue;
        }

        let paths = location::paths(f, facts);
        let kind = f.target.as_ref().map_or("cluster", |t| t.kind.as_str());
        let primary = paths.first().map(|p| without_pid(p)).unwrap_or_default();
        // Several verdicts of one check on one file stay distinct.
        let key = format!("{}\0{kind}\0{primary}\0{host_id}", f.check);
        let occurrence = seen.iter().filter(|k| **k == key).count();
        seen.push(key.clone());

        let mut result = json!({
            "ruleId": f.check,
            "message": {"text": message(f)},
            "partialFingerprints": {FINGERPRINT_KEY: fnv1a(&format!("{key}\0{occurrence}"))},
            "properties": {
                "status": f.status,
                "severity": f.severity,
                "target": target,
                "evidence": f.evidence,
                "remediation": f.remediation,
            },
        });
        if f.status == Status::Error {
            // SARIF: a result that is not of kind `fail` has level `none`.
            result["kind"] = json!("open");
            result["level"] = json!("none");
        } else {
            let severity = match f.status {
                Status::Warn => f.severity.min(Severity::Medium),
                _ => f.severity,
            };
            result["kind"] = json!("fail");
            result["level"] = json!(level(severity));
        }
        if let Some(index) = rule_index(&f.check) {
            result["ruleIndex"] = json!(index);
        }

        let logical = json!([{"name": target, "kind": "resource"}]);
        let mut locations: Vec<Value> = paths.iter().map(|p| physical(p)).collect();
        match locations.first_mut() {
            Some(first) => first["logicalLocations"] = logical,
            None => locations.push(json!({"logicalLocations": logical})),
        }
        let related: Vec<Value> = locations.split_off(1);
        result["locations"] = json!(locations);
        if !related.is_empty() {
            let related: Vec<Value> = related
                .into_iter()
                .enumerate()
                .map(|(i, mut l)| {
                    l["id"] = json!(i + 1);
                    l
                })
                .collect();
            result["relatedLocations"] = json!(related);
        }

        if f.status == Status::Error {
            let mut notification = json!({
                "level": "error",
                "message": {"text": format!("{} {target}: {}", f.check, f.message)},
            });
            if let Some(index) = rule_index(&f.check) {
                notification["associatedRule"] = json!({"id": f.check, "index": index});
            }
            notifications.push(notification);
        }
        results.push(result);
    }

    let mut invocation = json!({
        "executionSuccessful": notifications.is_empty(),
        "endTimeUtc": now.rfc3339(),
        "machine": host,
    });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notifications);
    }

    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "schedguard",
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": CATALOGUE.iter().map(rule).collect::<Vec<_>>(),
            }},
            // One category per host, so that one host's upload never closes
            // another host's alerts.
            "automationDetails": {"id": format!("schedguard/{host}/")},
            "invocations": [invocation],
            "results": results,
            "properties": {
                "summary": Summary::of(audit.findings),
                "notFindings": not_findings,
            },
        }],
    })
}

/// The SARIF log as pretty-printed JSON.
pub fn render(audit: &Audit, now: Timestamp) -> String {
    let mut text =
        serde_json::to_string_pretty(&build(audit, now)).expect("a SARIF log always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::*;

    fn log() -> Value {
        let facts = facts(vec![target(4242)]);
        let findings = findings();
        build(
            &Audit {
                facts: &facts,
                findings: &findings,
            },
            NOW,
        )
    }

    fn result<'a>(log: &'a Value, rule: &str) -> &'a Value {
        log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["ruleId"] == rule)
            .unwrap_or_else(|| panic!("no result for {rule}"))
    }

    #[test]
    fn every_catalogue_check_is_a_rule_with_help_and_a_security_severity() {
        let log = log();
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), CATALOGUE.len());
        for rule in rules {
            assert!(!rule["help"]["text"].as_str().unwrap().is_empty());
            let score: f64 = rule["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.0..=10.0).contains(&score));
        }
        assert_eq!(rules[0]["name"], "DelegatedAuthenticationIsConfigured");
    }

    #[test]
    fn passed_and_skipped_checks_are_not_results() {
        let log = log();
        let results = log["runs"][0]["results"].as_array().unwrap();
        let rules: Vec<&str> = results
            .iter()
            .map(|r| r["ruleId"].as_str().unwrap())
            .collect();
        assert_eq!(rules, ["SG-102", "SG-203", "SG-605", "SG-703"]);
        assert_eq!(
            log["runs"][0]["properties"]["notFindings"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_check_that_could_not_run_stays_open_and_is_notified() {
        let log = log();
        let error = result(&log, "SG-605");
        assert_eq!(error["kind"], "open");
        assert_eq!(error["level"], "none");
        let invocation = &log["runs"][0]["invocations"][0];
        assert_eq!(invocation["executionSuccessful"], false);
        assert_eq!(
            invocation["toolExecutionNotifications"][0]["associatedRule"]["id"],
            "SG-605"
        );
    }

    #[test]
    fn a_failure_points_at_its_file_and_its_process() {
        let log = log();
        let fail = result(&log, "SG-102");
        assert_eq!(fail["level"], "error");
        let location = &fail["locations"][0];
        assert_eq!(
            location["physicalLocation"]["artifactLocation"]["uri"],
            "file:///etc/kubernetes/scheduler.conf"
        );
        assert_eq!(
            location["logicalLocations"][0]["name"],
            "kube-scheduler pid 4242"
        );
    }

    #[test]
    fn a_warning_is_at_most_a_sarif_warning() {
        let mut facts = facts(vec![target(4242)]);
        facts.host.machine_id = None;
        let findings = vec![finding("SG-105", Status::Warn, Severity::High, 4242)];
        let log = build(
            &Audit {
                facts: &facts,
                findings: &findings,
            },
            NOW,
        );
        assert_eq!(result(&log, "SG-105")["level"], "warning");
    }

    #[test]
    fn fingerprints_survive_a_scheduler_restart() {
        let facts_a = facts(vec![target(4242)]);
        let facts_b = facts(vec![target(5151)]);
        let a = vec![finding("SG-301", Status::Fail, Severity::High, 4242)];
        let b = vec![finding("SG-301", Status::Fail, Severity::High, 5151)];
        let print = |facts, findings| {
            build(&Audit { facts, findings }, NOW)["runs"][0]["results"][0]["partialFingerprints"]
                [FINGERPRINT_KEY]
                .clone()
        };
        assert_eq!(print(&facts_a, &a), print(&facts_b, &b));
    }

    #[test]
    fn two_verdicts_of_one_check_have_different_fingerprints() {
        let facts = facts(vec![target(4242)]);
        let findings = vec![
            finding("SG-602", Status::Warn, Severity::Medium, 4242),
            finding("SG-602", Status::Warn, Severity::Medium, 4242),
        ];
        let log = build(
            &Audit {
                facts: &facts,
                findings: &findings,
            },
            NOW,
        );
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_ne!(
            results[0]["partialFingerprints"],
            results[1]["partialFingerprints"]
        );
    }

    #[test]
    fn a_cluster_finding_without_a_file_has_a_logical_location_only() {
        let log = log();
        let cluster = result(&log, "SG-703");
        assert_eq!(
            cluster["locations"][0]["logicalLocations"][0]["name"],
            "cluster"
        );
        assert!(cluster["locations"][0].get("physicalLocation").is_none());
    }

    #[test]
    fn fnv1a_matches_the_published_test_vector() {
        assert_eq!(fnv1a("a"), "af63dc4c8601ec8c");
    }
}
