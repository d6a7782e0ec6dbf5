//! The wg-policy PolicyReport (`--format policyreport`): a
//! `wgpolicyk8s.io/v1alpha2` ClusterPolicyReport scoped to this Node (a Node
//! is cluster-scoped), or a namespaced PolicyReport when a namespace is
//! given, as YAML for `kubectl apply`, Kyverno's Policy Reporter and the
//! dashboards that read policy reports.
//!
//! Each finding is one result: `policy` is the check ID, `rule` its title,
//! `result` the status (schedguard's statuses are the report's own set:
//! pass, fail, warn, error, skip) and `severity` the finding's severity
//! (critical, high, medium, low, info, the set of the current v1alpha2
//! CRD). A warning is not scored, as the API defines `warn`.
//!
//! Limitation: the Node is named after the hostname, lowercased; a node
//! registered under another name (kubelet `--hostname-override`) needs the
//! scope edited before the report is applied.

use crate::checks::{Finding, Status};
use crate::report::{self, location, yaml, Audit, Summary, Timestamp};
use serde_json::{json, Map, Value};

pub const API_VERSION: &str = "wgpolicyk8s.io/v1alpha2";

/// A Kubernetes object name (a DNS subdomain) made from `text`: lowercase
/// letters, digits, `-` and `.`, starting and ending alphanumeric, at most
/// 253 characters.
fn object_name(text: &str) -> String {
    let lowered: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut name: String = lowered
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(253)
        .collect();
    while name.ends_with(['-', '.']) {
        name.pop();
    }
    if name.is_empty() {
        name.push_str("unknown-host");
    }
    name
}

/// Checks a namespace name (an RFC 1123 label: at most 63 lowercase letters,
/// digits and `-`, starting and ending alphanumeric), for
/// `--policyreport-namespace`.
pub fn namespace(text: &str) -> Result<String, String> {
    let alphanumeric = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let valid = !text.is_empty()
        && text.len() <= 63
        && text.chars().all(|c| alphanumeric(c) || c == '-')
        && text.starts_with(alphanumeric)
        && text.ends_with(alphanumeric);
    if valid {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a namespace name: at most 63 lowercase letters, digits and '-', \
             starting and ending with a letter or digit"
        ))
    }
}

fn properties(f: &Finding, facts: &crate::facts::Facts) -> Map<String, Value> {
    let mut properties = Map::new();
    properties.insert(
        "target".into(),
        json!(report::target_label(f.target.as_ref())),
    );
    if let Some(t) = &f.target {
        properties.insert("targetKind".into(), json!(t.kind));
        properties.insert("pid".into(), json!(t.pid.to_string()));
    }
    let paths = location::paths(f, facts);
    if !paths.is_empty() {
        properties.insert("location".into(), json!(paths.join(", ")));
    }
    // One property per piece of evidence: values must be strings.
    for (i, e) in f.evidence.iter().enumerate() {
        properties.insert(
            format!("evidence.{}", i + 1),
            json!(format!("{}: {}", e.source, e.detail)),
        );
    }
    if f.status != Status::Error {
        properties.insert("remediation".into(), json!(f.remediation));
    }
    if !f.references.is_empty() {
        properties.insert("references".into(), json!(f.references.join("; ")));
    }
    properties
}

/// The report object, as a JSON value.
pub fn build(audit: &Audit, namespace: Option<&str>, now: Timestamp) -> Value {
    let facts = audit.facts;
    let node = object_name(report::hostname(facts));
    let results: Vec<Value> = audit
        .findings
        .iter()
        .map(|f| {
            json!({
                "source": "schedguard",
                "policy": f.check,
                "rule": f.title,
                "category": report::category(&f.check),
                "result": f.status,
                "severity": f.severity,
                "scored": f.status != Status::Warn,
                "message": f.message,
                "timestamp": {"seconds": now.seconds, "nanos": now.nanos},
                "properties": properties(f, facts),
            })
        })
        .collect();
    let s = Summary::of(audit.findings);

    let mut metadata = json!({
        "name": object_name(&format!("schedguard-{node}")),
        "labels": {
            "app.kubernetes.io/managed-by": "schedguard",
            "app.kubernetes.io/name": "schedguard",
            "app.kubernetes.io/version": env!("CARGO_PKG_VERSION"),
        },
    });
    let kind = match namespace {
        Some(ns) => {
            metadata["namespace"] = json!(ns);
            "PolicyReport"
        }
        None => "ClusterPolicyReport",
    };
    json!({
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": metadata,
        "scope": {"apiVersion": "v1", "kind": "Node", "name": node},
        "summary": {
            "pass": s.pass,
            "fail": s.fail,
            "warn": s.warn,
            "error": s.error,
            "skip": s.skip,
        },
        "results": results,
    })
}

/// The report as a YAML document.
pub fn render(audit: &Audit, namespace: Option<&str>, now: Timestamp) -> String {
    yaml::document(&build(audit, namespace, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::*;

    fn report(namespace: Option<&str>) -> Value {
        let facts = facts(vec![target(4242)]);
        let findings = findings();
        build(
            &Audit {
                facts: &facts,
                findings: &findings,
            },
            namespace,
            NOW,
        )
    }

    #[test]
    fn the_report_is_cluster_scoped_and_about_the_node() {
        let r = report(None);
        assert_eq!(r["kind"], "ClusterPolicyReport");
        assert!(r["metadata"].get("namespace").is_none());
        assert_eq!(r["metadata"]["name"], "schedguard-cp-1");
        assert_eq!(
            r["scope"],
            json!({"apiVersion": "v1", "kind": "Node", "name": "cp-1"})
        );
    }

    #[test]
    fn a_namespace_makes_it_a_policy_report() {
        let r = report(Some("schedguard"));
        assert_eq!(r["kind"], "PolicyReport");
        assert_eq!(r["metadata"]["namespace"], "schedguard");
    }

    #[test]
    fn every_status_is_a_result_and_counted() {
        let r = report(None);
        let results = r["results"].as_array().unwrap();
        assert_eq!(results.len(), 6);
        let statuses: Vec<&str> = results
            .iter()
            .map(|r| r["result"].as_str().unwrap())
            .collect();
        assert_eq!(statuses, ["pass", "fail", "warn", "skip", "error", "fail"]);
        assert_eq!(
            r["summary"],
            json!({"pass": 1, "fail": 2, "warn": 1, "error": 1, "skip": 1})
        );
        assert_eq!(results[2]["scored"], false);
        assert_eq!(
            results[1]["timestamp"],
            json!({"seconds": NOW.seconds, "nanos": 42})
        );
    }

    #[test]
    fn properties_are_strings_and_name_the_evidence_and_location() {
        let r = report(None);
        let fail = &r["results"][1]["properties"];
        assert!(fail.as_object().unwrap().values().all(Value::is_string));
        assert_eq!(fail["location"], "/etc/kubernetes/scheduler.conf");
        assert!(fail["evidence.1"].as_str().unwrap().starts_with("file: "));
        assert_eq!(fail["pid"], "4242");
    }

    #[test]
    fn namespaces_must_be_dns_labels() {
        assert_eq!(namespace("schedguard").unwrap(), "schedguard");
        assert!(namespace("Bad_NS").is_err());
        assert!(namespace("-x").is_err());
        assert!(namespace(&"a".repeat(64)).is_err());
    }

    #[test]
    fn odd_hostnames_become_valid_object_names() {
        assert_eq!(object_name("CP_1.Example.COM"), "cp-1.example.com");
        assert_eq!(object_name("--x--"), "x");
        assert_eq!(object_name("***"), "unknown-host");
        assert_eq!(object_name(&"a".repeat(300)).len(), 253);
    }
}
