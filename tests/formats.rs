//! Every report format of `audit --format`, checked by its consumers' own
//! tools on an audit of real processes: SARIF against the OASIS SARIF 2.1.0
//! JSON schema, the PolicyReport against the wgpolicyk8s.io CRD schema (read
//! with PyYAML; the real kube-apiserver checks it in tests/kubernetes.rs),
//! JUnit with junitparser, and the Prometheus textfile with
//! prometheus_client's parser. Each is compared with the JSON report of the
//! same facts.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::validate::{support_file, validate, validators_available};
use support::*;

/// The scheduler's `--config`, naming its kubeconfig (KUBECONFIG_PATH).
const CONFIG: &str = "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\nclientConnection:\n  kubeconfig: KUBECONFIG_PATH\n";

/// Two stand-in schedulers with one finding of every status between them,
/// audited once; every format is then rendered from the saved facts.
struct Audited {
    dir: tempfile::TempDir,
    /// A loose kubeconfig (SG-102 fails), `--profiling=false` beside
    /// `--config` (SG-203 warns), no live inspection (SG-302 skips).
    loose: Running,
    /// A `--config` that does not exist: the checks that need it say error.
    broken: Running,
    facts: PathBuf,
    json: Value,
}

impl Audited {
    fn new() -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("scheduler.conf");
        let config = dir.path().join("sched.yaml");
        write(&kubeconfig, KUBECONFIG, 0o644);
        let text = CONFIG.replace("KUBECONFIG_PATH", &kubeconfig.display().to_string());
        write(&config, &text, 0o600);
        let binary = install_fake(dir.path());

        let mut command = Command::new(&binary);
        command.args([
            format!("--config={}", config.display()),
            "--profiling=false".into(),
        ]);
        let loose = start(command, "kube-scheduler");
        let mut command = Command::new(&binary);
        command.arg(format!(
            "--config={}",
            dir.path().join("missing.yaml").display()
        ));
        let broken = start(command, "kube-scheduler");

        let facts = dir.path().join("facts.json");
        let (json, _) = audit_json(&["--no-network", "--save-facts", facts.to_str().unwrap()]);
        Audited {
            dir,
            loose,
            broken,
            facts,
            json,
        }
    }

    /// Renders the saved facts in `format` into a file, and returns its path.
    fn render(&self, format: &str, extra: &[&str]) -> PathBuf {
        let path = self.dir.path().join(format!("report.{format}"));
        let mut args = vec![
            "audit",
            "--from-facts",
            self.facts.to_str().unwrap(),
            "--format",
            format,
            "--output",
            path.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = run(&args, Duration::from_secs(60));
        assert!(
            matches!(output.status.code(), Some(1 | 2)),
            "the audit has failures and errors: {output:?}"
        );
        assert!(output.stdout.is_empty(), "--output leaves stdout empty");
        path
    }

    /// `(check, status)` of a target in the JSON report, in report order.
    fn statuses(&self, pid: u32) -> Vec<(String, String)> {
        findings(&self.json, pid)
            .iter()
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }
}

fn has(statuses: &[(String, String)], check: &str, status: &str) -> bool {
    statuses.iter().any(|(c, s)| c == check && s == status)
}

#[test]
fn the_fixture_has_a_finding_of_every_status() {
    let audited = Audited::new();
    let loose = audited.statuses(audited.loose.pid());
    let broken = audited.statuses(audited.broken.pid());
    assert!(has(&loose, "SG-102", "fail"), "{loose:?}");
    assert!(has(&loose, "SG-203", "warn"), "{loose:?}");
    assert!(has(&loose, "SG-201", "pass"), "{loose:?}");
    assert!(has(&loose, "SG-302", "skip"), "{loose:?}");
    assert!(has(&broken, "SG-201", "error"), "{broken:?}");
}

#[test]
fn sarif_is_valid_against_the_oasis_schema_and_points_at_the_loose_kubeconfig() {
    if !validators_available() {
        return;
    }
    let audited = Audited::new();
    let path = audited.render("sarif", &[]);
    let read = validate("sarif", &[&path]);

    assert!(read["schema"]
        .as_str()
        .unwrap()
        .ends_with("sarif-schema-2.1.0.json"));
    let rules: Vec<&str> = read["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let catalogue = run(&["checks", "--format", "json"], Duration::from_secs(30));
    let catalogue: Value = serde_json::from_slice(&catalogue.stdout).unwrap();
    assert_eq!(rules.len(), catalogue.as_array().unwrap().len());

    let target = format!("kube-scheduler pid {}", audited.loose.pid());
    let results = read["results"].as_array().unwrap();
    let kubeconfig = results
        .iter()
        .find(|r| r["rule"] == "SG-102" && r["target"] == target.as_str())
        .expect("SG-102 is a result");
    let loose = audited.dir.path().join("scheduler.conf");
    assert_eq!(
        kubeconfig["uri"],
        format!("file://{}", loose.display()).as_str()
    );
    assert_eq!(kubeconfig["level"], "error");

    let broken = format!("kube-scheduler pid {}", audited.broken.pid());
    let unevaluated = results
        .iter()
        .find(|r| r["rule"] == "SG-201" && r["target"] == broken.as_str())
        .expect("an unevaluated check is a result, never a silent pass");
    assert_eq!(unevaluated["kind"], "open");

    let passed = read["notFindings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["ruleId"] == "SG-201" && n["target"] == target.as_str());
    assert!(passed, "passes are listed outside the results");
}

#[test]
fn sarif_fingerprints_survive_a_scheduler_restart() {
    if !validators_available() {
        return;
    }
    let mut audited = Audited::new();
    let first = validate("sarif", &[&audited.render("sarif", &[])]);
    let old_pid = audited.loose.pid();

    // The same scheduler, restarted: same files and flags, another pid.
    let argv: Vec<String> = std::fs::read(format!("/proc/{old_pid}/cmdline"))
        .unwrap()
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    audited.loose = {
        let mut command = Command::new(&argv[0]);
        command.args(&argv[1..]);
        start(command, "kube-scheduler")
    };
    let (json, _) = audit_json(&[
        "--no-network",
        "--save-facts",
        audited.facts.to_str().unwrap(),
    ]);
    audited.json = json;
    let second = validate("sarif", &[&audited.render("sarif", &[])]);

    let print = |read: &Value, pid: u32| {
        let target = format!("kube-scheduler pid {pid}");
        read["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rule"] == "SG-102" && r["target"] == target.as_str())
            .map(|r| r["fingerprint"].clone())
            .expect("SG-102 is a result")
    };
    assert_ne!(old_pid, audited.loose.pid());
    assert_eq!(print(&first, old_pid), print(&second, audited.loose.pid()));
}

#[test]
fn policy_report_matches_the_crd_schema_and_counts_each_status() {
    if !validators_available() {
        return;
    }
    let audited = Audited::new();
    let crds = support_file("wgpolicyk8s-v1alpha2-crds.yaml");
    let report = validate(
        "policyreport",
        &[&audited.render("policyreport", &[]), &crds],
    );

    assert_eq!(report["apiVersion"], "wgpolicyk8s.io/v1alpha2");
    assert_eq!(report["kind"], "ClusterPolicyReport");
    assert_eq!(report["scope"]["kind"], "Node");
    let results = report["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        audited.json["findings"].as_array().unwrap().len()
    );
    for status in ["pass", "fail", "warn", "error", "skip"] {
        let counted = results.iter().filter(|r| r["result"] == status).count();
        assert_eq!(report["summary"][status], counted, "{status}");
        assert_eq!(audited.json["summary"][status], counted, "{status}");
    }

    let pid = audited.loose.pid().to_string();
    let kubeconfig = results
        .iter()
        .find(|r| r["policy"] == "SG-102" && r["properties"]["pid"] == pid.as_str())
        .unwrap();
    assert_eq!(kubeconfig["result"], "fail");
    assert_eq!(kubeconfig["severity"], "high");
    assert!(kubeconfig["properties"]["remediation"]
        .as_str()
        .unwrap()
        .contains("chmod 600"));

    let namespaced = validate(
        "policyreport",
        &[
            &audited.render("policyreport", &["--policyreport-namespace", "schedguard"]),
            &crds,
        ],
    );
    assert_eq!(namespaced["kind"], "PolicyReport");
    assert_eq!(namespaced["metadata"]["namespace"], "schedguard");
}

#[test]
fn junit_parses_with_junitparser_with_one_case_per_check_and_target() {
    if !validators_available() {
        return;
    }
    let audited = Audited::new();
    let suites = validate("junit", &[&audited.render("junit", &[])]);

    for running in [&audited.loose, &audited.broken] {
        let pid = running.pid();
        let name = format!("kube-scheduler pid {pid} on ");
        let suite = suites
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str().unwrap().starts_with(&name))
            .unwrap_or_else(|| panic!("a suite for pid {pid}"));
        let cases = suite["cases"].as_array().unwrap();
        let statuses = audited.statuses(pid);
        assert_eq!(cases.len(), statuses.len());
        for (case, (check, status)) in cases.iter().zip(&statuses) {
            assert!(case["name"].as_str().unwrap().starts_with(check.as_str()));
            let expected = match status.as_str() {
                "pass" => "passed",
                "fail" | "warn" => "failure",
                "error" => "error",
                "skip" => "skipped",
                other => panic!("status {other}"),
            };
            assert_eq!(case["outcome"], expected, "{check} {status}");
            if status == "warn" {
                assert_eq!(case["type"], "warn");
            }
        }
    }
}

#[test]
fn prometheus_textfile_parses_with_prometheus_client_and_has_each_check_status() {
    if !validators_available() {
        return;
    }
    let audited = Audited::new();
    let path = audited.render("prometheus", &[]);
    let mode = std::fs::metadata(&path).unwrap().permissions();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.mode() & 0o777, 0o644, "node_exporter can read it");
    let families = validate("prometheus", &[&path]);

    let status = &families["schedguard_check_status"];
    assert_eq!(status["type"], "gauge");
    for running in [&audited.loose, &audited.broken] {
        let pid = running.pid().to_string();
        for (check, expected) in audited.statuses(running.pid()) {
            let sample = status["samples"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| {
                    s["labels"]["check"] == check.as_str()
                        && s["labels"]["target_pid"] == pid.as_str()
                })
                .unwrap_or_else(|| panic!("{check} of pid {pid} has a sample"));
            assert_eq!(sample["labels"]["status"], expected.as_str());
            assert_eq!(sample["value"], 1.0);
        }
    }
    let findings = &families["schedguard_findings"]["samples"];
    let fails = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["labels"]["status"] == "fail")
        .unwrap();
    assert_eq!(
        fails["value"],
        audited.json["summary"]["fail"].as_f64().unwrap()
    );
    assert!(
        families["schedguard_audit_timestamp_seconds"]["samples"][0]["value"]
            .as_f64()
            .is_some_and(|t| t > 1.7e9)
    );
}

/// A reader polling the file while audits keep replacing it never sees a
/// partial file, and no temporary file is left behind.
#[test]
fn output_file_is_replaced_whole_while_a_reader_polls() {
    let audited = Audited::new();
    let path = audited.dir.path().join("textfile/schedguard.prom");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let writes = 15;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && reads < 200_000 {
                if let Ok(text) = std::fs::read_to_string(&path) {
                    assert!(
                        text.starts_with("# HELP")
                            && text.ends_with('\n')
                            && text.contains("schedguard_audit_timestamp_seconds{"),
                        "a partial file was read: {text:?}"
                    );
                    reads += 1;
                }
            }
            reads
        })
    };
    for _ in 0..writes {
        let output = run(
            &[
                "audit",
                "--from-facts",
                audited.facts.to_str().unwrap(),
                "--format",
                "prometheus",
                "--output",
                path.to_str().unwrap(),
            ],
            Duration::from_secs(60),
        );
        assert!(output.status.code().is_some_and(|c| c != 64), "{output:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads = reader.join().expect("the reader saw only whole files");
    assert!(reads > 0);
    let left: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["schedguard.prom"], "no temporary file is left");
}

#[test]
fn output_into_a_missing_directory_is_a_clear_error() {
    let audited = Audited::new();
    let path = audited.dir.path().join("absent/report.sarif");
    let output = run(
        &[
            "audit",
            "--from-facts",
            audited.facts.to_str().unwrap(),
            "--format",
            "sarif",
            "--output",
            path.to_str().unwrap(),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot write") && stderr.contains("absent"),
        "{stderr}"
    );
    assert!(!Path::new(&path).exists());
}
