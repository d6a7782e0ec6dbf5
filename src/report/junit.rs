//! The JUnit XML report (`--format junit`), for CI systems: one test suite
//! per target, one test case per check and target.
//!
//! `pass` passes; `fail` is a failure; `warn` is a failure of type `warn`
//! (the requirement is not met, though it is not scored); `error` (the check
//! could not be evaluated) is an error, never a pass; `skip` is skipped.
//! Problems of the scan itself, and a host without a scheduler, are a suite
//! of their own.

use crate::checks::{Finding, Status};
use crate::report::xml::escape;
use crate::report::{self, Audit, Summary, Timestamp};
use std::fmt::Write;

/// The XML Schema dateTime form Ant and Jenkins write (no zone; UTC).
fn timestamp(now: Timestamp) -> String {
    now.rfc3339().trim_end_matches('Z').to_string()
}

fn details(f: &Finding) -> String {
    let mut text = f.message.clone();
    for e in &f.evidence {
        let _ = write!(text, "\nevidence ({}): {}", e.source, e.detail);
    }
    if f.status != Status::Error {
        let _ = write!(text, "\nfix: {}", f.remediation);
    }
    text
}

/// One `<testcase>`. `name` is unique within its suite.
fn case(out: &mut String, classname: &str, name: &str, f: &Finding) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\" time=\"0\"",
        escape(classname),
        escape(name)
    );
    let outcome = match f.status {
        Status::Pass => None,
        Status::Fail => Some(("failure", f.severity.as_str())),
        Status::Warn => Some(("failure", "warn")),
        Status::Error => Some(("error", "error")),
        Status::Skip => Some(("skipped", "")),
    };
    match outcome {
        None => out.push_str("/>\n"),
        Some(("skipped", _)) => {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>",
                escape(&f.message)
            );
            out.push_str("    </testcase>\n");
        }
        Some((element, kind)) => {
            let _ = writeln!(
                out,
                ">\n      <{element} message=\"{}\" type=\"{kind}\">{}</{element}>",
                escape(&f.message),
                escape(&details(f))
            );
            out.push_str("    </testcase>\n");
        }
    }
}

struct Suite<'a> {
    name: String,
    classname: String,
    findings: Vec<&'a Finding>,
}

/// The JUnit XML document of an audit.
pub fn render(audit: &Audit, now: Timestamp) -> String {
    let facts = audit.facts;
    let host = report::hostname(facts);
    let stamp = timestamp(now);

    let mut suites: Vec<Suite> = report::by_target(audit.findings)
        .into_iter()
        .map(|(target, findings)| Suite {
            name: format!("{} on {host}", report::target_label(target)),
            classname: format!(
                "schedguard.{}",
                target.map_or("cluster", |t| t.kind.as_str())
            ),
            findings,
        })
        .collect();

    // The scan's own outcome, as findings so they count like the rest.
    let mut scan = Vec::new();
    for problem in &facts.problems {
        scan.push(scan_case("scan completes", Status::Error, problem));
    }
    if facts.targets.is_empty() {
        scan.push(scan_case(
            "a kube-scheduler runs on this host",
            Status::Skip,
            "no kube-scheduler process runs on this host",
        ));
    }
    if !scan.is_empty() {
        suites.insert(
            0,
            Suite {
                name: format!("scan of {host}"),
                classname: "schedguard.scan".into(),
                findings: scan.iter().collect(),
            },
        );
    }

    let total = Summary::of(suites.iter().flat_map(|s| s.findings.iter().copied()));

    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"schedguard\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\" timestamp=\"{stamp}\">",
        total.total,
        total.fail + total.warn,
        total.error,
        total.skip
    );
    for (id, suite) in suites.iter().enumerate() {
        let s = Summary::of(suite.findings.iter().copied());
        let _ = writeln!(
            out,
            "  <testsuite id=\"{id}\" name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"0\" timestamp=\"{stamp}\" hostname=\"{}\">",
            escape(&suite.name),
            s.total,
            s.fail + s.warn,
            s.error,
            s.skip,
            escape(host)
        );
        let mut names: Vec<String> = Vec::new();
        for f in &suite.findings {
            let base = if f.check.is_empty() {
                f.title.clone()
            } else {
                format!("{} {}", f.check, f.title)
            };
            // A check may give several verdicts for one target.
            let repeats = names.iter().filter(|n| n.starts_with(&base)).count();
            let name = if repeats == 0 {
                base
            } else {
                format!("{base} ({})", repeats + 1)
            };
            case(&mut out, &suite.classname, &name, f);
            names.push(name);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// A test case for the scan itself (not a catalogue check).
fn scan_case(title: &str, status: Status, message: &str) -> Finding {
    Finding {
        check: String::new(),
        title: title.into(),
        status,
        severity: crate::checks::Severity::High,
        target: None,
        message: message.into(),
        evidence: Vec::new(),
        remediation: String::new(),
        references: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::Severity;
    use crate::report::testing::*;

    fn xml(findings: &[Finding], facts: &crate::facts::Facts) -> String {
        render(&Audit { facts, findings }, NOW)
    }

    #[test]
    fn statuses_become_passes_failures_errors_and_skips() {
        let text = xml(&findings(), &facts(vec![target(4242)]));
        assert!(text.contains(
            "<testsuites name=\"schedguard\" tests=\"6\" failures=\"3\" errors=\"1\" skipped=\"1\""
        ));
        assert!(text.contains("<failure message=\"SG-203 is warn\" type=\"warn\">"));
        assert!(text.contains("<error message=\"SG-605 is error\" type=\"error\">"));
        assert!(text.contains("<skipped message=\"SG-302 is skip\"/>"));
        assert!(text.contains("name=\"cluster on CP-1\""));
    }

    #[test]
    fn a_host_without_a_scheduler_is_a_skipped_case_and_problems_are_errors() {
        let mut facts = facts(Vec::new());
        facts
            .problems
            .push("cannot list /proc: permission denied".into());
        let text = xml(&[], &facts);
        assert!(text.contains(
            "name=\"scan of CP-1\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\""
        ));
        assert!(text.contains("cannot list /proc: permission denied"));
    }

    #[test]
    fn repeated_verdicts_get_distinct_case_names() {
        let findings = vec![
            finding("SG-602", Status::Warn, Severity::Medium, 4242),
            finding("SG-602", Status::Warn, Severity::Medium, 4242),
        ];
        let text = xml(&findings, &facts(vec![target(4242)]));
        assert!(text.contains("name=\"SG-602 title of SG-602\""));
        assert!(text.contains("name=\"SG-602 title of SG-602 (2)\""));
    }

    #[test]
    fn the_timestamp_has_no_zone_as_ant_writes_it() {
        assert!(!timestamp(NOW).ends_with('Z'));
    }
}
