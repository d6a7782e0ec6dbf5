//! The built binary against the REAL upstream kube-scheduler (v1.20.2, built
//! from Debian's source package by ../shared/real-scheduler/real-scheduler.sh
//! into /var/cache/realk8s/bin). The real scheduler is the referee: these
//! tests check schedguard's verdicts against what the real process does.
//!
//! Without the binary the tests print a notice and pass, unless
//! SCHEDGUARD_REQUIRE_REAL=1 (as in CI), which makes its absence a failure.
//! Every scheduler runs inside a network namespace of its own (needs root),
//! where only that namespace's loopback exists: 0.0.0.0 reaches nothing else
//! and ports never collide with a scheduler on the host.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::*;

fn real_binary() -> Option<PathBuf> {
    let path = std::env::var_os("SCHEDGUARD_REAL_SCHEDULER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/cache/realk8s/bin/kube-scheduler"));
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("SCHEDGUARD_REQUIRE_REAL").is_some_and(|v| v == "1") {
        panic!(
            "{} is missing and SCHEDGUARD_REQUIRE_REAL=1",
            path.display()
        );
    }
    eprintln!(
        "NOTICE: skipping: the real kube-scheduler is not at {} (build it with \
         ../shared/real-scheduler/real-scheduler.sh build, or set SCHEDGUARD_REAL_SCHEDULER)",
        path.display()
    );
    None
}

/// True when `pid`'s network namespace has a TCP listener on `port`.
fn listening(pid: u32, port: u16) -> bool {
    let wanted = format!(":{port:04X}");
    ["tcp", "tcp6"].iter().any(|table| {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            return false;
        };
        text.lines().skip(1).any(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            fields.len() > 3 && fields[1].ends_with(&wanted) && fields[3] == "0A"
        })
    })
}

/// Starts the real scheduler with `args` in a private network namespace and
/// waits until its secure port listens (proof that it accepted its flags).
fn real(binary: &Path, args: &[String]) -> Running {
    let mut command = Command::new("unshare");
    command
        .args([
            "--net",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(binary)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let scheduler = start(command, "kube-scheduler");
    let pid = scheduler.pid();
    wait_until(
        Duration::from_secs(60),
        "the real scheduler's secure port",
        || {
            assert!(
                Path::new(&format!("/proc/{pid}")).exists(),
                "the real scheduler exited: check its flags"
            );
            listening(pid, 10259)
        },
    );
    scheduler
}

struct Fixture {
    dir: tempfile::TempDir,
    kubeconfig: String,
}

/// A folder with a 0600 kubeconfig that points at nothing.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("scheduler.conf");
    write(&kubeconfig, KUBECONFIG, 0o600);
    Fixture {
        kubeconfig: kubeconfig.display().to_string(),
        dir,
    }
}

/// Writes a v1beta1 config (0600) with `extra` fields and returns `--config=`.
fn config(f: &Fixture, name: &str, extra: &str) -> String {
    let path = f.dir.path().join(name);
    let text = format!(
        "apiVersion: kubescheduler.config.k8s.io/v1beta1\nkind: KubeSchedulerConfiguration\n\
         clientConnection:\n  kubeconfig: {}\nleaderElection:\n  leaderElect: false\n{extra}",
        f.kubeconfig
    );
    write(&path, &text, 0o600);
    format!("--config={}", path.display())
}

fn assert_statuses(report: &serde_json::Value, pid: u32, expected: &[(&str, &str)]) {
    for (check, status_wanted) in expected {
        let found = finding(report, pid, check);
        assert_eq!(found["status"], *status_wanted, "{check}: {found:#}");
    }
}

const LOOPBACK_INSECURE: &str =
    "healthzBindAddress: 127.0.0.1:10251\nmetricsBindAddress: 127.0.0.1:10251\n";

#[test]
fn kubeadm_flag_set_of_1_20_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let k = &f.kubeconfig;
    let args: Vec<String> = vec![
        format!("--authentication-kubeconfig={k}"),
        format!("--authorization-kubeconfig={k}"),
        "--bind-address=127.0.0.1".into(),
        format!("--kubeconfig={k}"),
        "--leader-elect=true".into(),
        "--port=0".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();
    assert!(
        !listening(pid, 10251),
        "--port=0 turns the insecure port off"
    );

    let (report, _) = audit_json(&[]);
    let target = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap()
        .clone();
    assert_eq!(target["version"]["value"], "v1.20.2");
    assert_eq!(target["version"]["source"], "build-info");
    assert_statuses(
        &report,
        pid,
        &[
            ("SG-101", "pass"),
            ("SG-102", "pass"),
            ("SG-103", "fail"),
            ("SG-104", "pass"),
            ("SG-105", "pass"),
            ("SG-201", "fail"),
            ("SG-202", "fail"),
            ("SG-203", "pass"),
            ("SG-301", "pass"),
            ("SG-303", "pass"),
            ("SG-401", "fail"),
            ("SG-601", "pass"),
            ("SG-603", "pass"),
        ],
    );
}

#[test]
fn config_file_with_profiling_off_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let config = config(
        &f,
        "noprof.yaml",
        &format!("enableProfiling: false\n{LOOPBACK_INSECURE}"),
    );
    let scheduler = real(&binary, &[config, "--bind-address=127.0.0.1".into()]);
    let pid = scheduler.pid();
    wait_until(Duration::from_secs(30), "the insecure port", || {
        listening(pid, 10251)
    });

    let (report, _) = audit_json(&[]);
    assert_statuses(
        &report,
        pid,
        &[
            ("SG-102", "pass"),
            ("SG-201", "pass"),
            ("SG-202", "pass"),
            ("SG-203", "pass"),
            ("SG-303", "fail"),
            ("SG-605", "pass"),
        ],
    );
}

#[test]
fn profiling_flag_with_a_config_that_leaves_profiling_on_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let config = config(&f, "prof.yaml", LOOPBACK_INSECURE);
    let scheduler = real(&binary, &["--profiling=false".into(), config]);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    assert_eq!(status(&report, pid, "SG-201"), "fail");
    let ignored = finding(&report, pid, "SG-203");
    assert_eq!(ignored["status"], "warn");
    assert!(ignored["message"]
        .as_str()
        .unwrap()
        .contains("enableProfiling"));
}

/// The real 1.20 scheduler ignores --port=0 when --config is given and
/// serves plain HTTP on the file's (defaulted) 0.0.0.0:10251.
#[test]
fn port_zero_ignored_with_config_serves_insecurely_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let scheduler = real(&binary, &[config(&f, "legacy.yaml", ""), "--port=0".into()]);
    let pid = scheduler.pid();
    wait_until(Duration::from_secs(30), "the insecure port", || {
        listening(pid, 10251)
    });

    let (report, _) = audit_json(&[]);
    let verdict = finding(&report, pid, "SG-303");
    assert_eq!(verdict["status"], "fail", "{verdict:#}");
    assert!(
        verdict["evidence"].to_string().contains("0.0.0.0:10251"),
        "{verdict:#}"
    );
    assert_eq!(status(&report, pid, "SG-301"), "fail");
}

/// An empty healthzBindAddress does not turn insecure serving off either:
/// the real 1.20 scheduler still serves on 0.0.0.0:10251.
#[test]
fn empty_legacy_bind_addresses_still_serve_insecurely_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let empty = "healthzBindAddress: \"\"\nmetricsBindAddress: \"\"\n";
    let scheduler = real(&binary, &[config(&f, "empty.yaml", empty)]);
    let pid = scheduler.pid();
    wait_until(Duration::from_secs(30), "the insecure port", || {
        listening(pid, 10251)
    });

    let (report, _) = audit_json(&[]);
    let verdict = finding(&report, pid, "SG-303");
    assert_eq!(verdict["status"], "fail", "{verdict:#}");
    assert!(
        verdict["evidence"]
            .to_string()
            .contains("is empty, so the default 0.0.0.0:10251 applies"),
        "{verdict:#}"
    );
}

/// Upstream defaults of 1.20: plain HTTP on *:10251 (with pprof) and HTTPS
/// on *:10259, all in the scheduler's own network namespace.
#[test]
fn upstream_defaults_serve_pprof_on_the_insecure_port_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let scheduler = real(&binary, &[format!("--kubeconfig={}", f.kubeconfig)]);
    let pid = scheduler.pid();
    wait_until(Duration::from_secs(30), "the insecure port", || {
        listening(pid, 10251)
    });

    let (report, _) = audit_json(&[]);
    let insecure = finding(&report, pid, "SG-303");
    assert_eq!(
        (insecure["status"].as_str(), insecure["severity"].as_str()),
        (Some("fail"), Some("critical"))
    );
    assert!(
        insecure["message"].as_str().unwrap().contains("10251"),
        "{insecure:#}"
    );
    let pprof = finding(&report, pid, "SG-501");
    assert_eq!(pprof["status"], "fail", "{pprof:#}");
    assert!(
        pprof["message"]
            .as_str()
            .unwrap()
            .contains(":10251/debug/pprof/ answered 200"),
        "{pprof:#}"
    );
    assert_eq!(status(&report, pid, "SG-302"), "fail");
}

/// kubeadm's flags with a real API server behind the delegated
/// authentication and authorization: only 127.0.0.1:10259 listens, and it
/// refuses anonymous callers. (Without an API server the scheduler answers
/// 500 instead: it cannot ask whether the caller may; SG-501 then says error.)
#[test]
fn kubeadm_flags_pass_the_live_checks_with_a_real_api_server_needs_root() {
    let Some(cluster) = support::realk8s::RealCluster::start("kubeadm", "kubeadm", "") else {
        return;
    };
    let pid = cluster.scheduler_pid();
    wait_until(
        Duration::from_secs(60),
        "the real scheduler's secure port",
        || listening(pid, 10259),
    );

    let (report, _) = audit_json(&[]);
    assert_statuses(
        &report,
        pid,
        &[
            ("SG-302", "pass"),
            ("SG-501", "pass"),
            ("SG-502", "pass"),
            ("SG-305", "pass"),
        ],
    );
    let listeners = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap()["listeners"]
        .clone();
    assert_eq!(listeners.as_array().unwrap().len(), 1, "{listeners:#}");
    assert_eq!(listeners[0]["tls"], true);
    // The API server of the same host is judged too (SG-701/702).
    let apiserver = cluster.apiserver_pid();
    assert_eq!(status(&report, apiserver, "SG-702"), "pass");
}

/// Without an API server, kubeadm's delegated authorization cannot decide:
/// the scheduler answers 500, which is not a refusal.
#[test]
fn undecided_authorization_is_an_error_not_a_pass_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let k = &f.kubeconfig;
    let args: Vec<String> = vec![
        format!("--authentication-kubeconfig={k}"),
        format!("--authorization-kubeconfig={k}"),
        "--bind-address=127.0.0.1".into(),
        format!("--kubeconfig={k}"),
        "--port=0".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    assert_eq!(status(&report, pid, "SG-302"), "pass");
    let pprof = finding(&report, pid, "SG-501");
    assert_eq!(pprof["status"], "error", "{pprof:#}");
    assert!(
        pprof["message"].as_str().unwrap().contains("500"),
        "{pprof:#}"
    );
}

/// --permit-port-sharing sets SO_REUSEPORT on the secure port: read live.
#[test]
fn permit_port_sharing_is_seen_on_the_socket_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let args: Vec<String> = vec![
        format!("--kubeconfig={}", f.kubeconfig),
        "--bind-address=127.0.0.1".into(),
        "--port=0".into(),
        "--permit-port-sharing".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    let verdict = finding(&report, pid, "SG-305");
    assert_eq!(verdict["status"], "fail", "{verdict:#}");
    let listeners = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == pid)
        .unwrap()["listeners"]
        .clone();
    assert_eq!(listeners[0]["reuse_port"], true, "{listeners:#}");
}

/// /debug/* in the always-allow paths opens pprof on the secure port to
/// anonymous callers.
#[test]
fn debug_paths_always_allowed_expose_pprof_over_https_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let args: Vec<String> = vec![
        format!("--kubeconfig={}", f.kubeconfig),
        "--bind-address=127.0.0.1".into(),
        "--port=0".into(),
        "--authorization-always-allow-paths=/healthz,/debug/*".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    assert_eq!(status(&report, pid, "SG-105"), "fail");
    let pprof = finding(&report, pid, "SG-501");
    assert_eq!(pprof["status"], "fail", "{pprof:#}");
    assert!(
        pprof["message"]
            .as_str()
            .unwrap()
            .contains("https://127.0.0.1:10259/debug/pprof/ answered 200"),
        "{pprof:#}"
    );
}

/// The handshake offers of the live TLS scan against Go 1.19's TLS stack:
/// TLS 1.0 allowed by flag, and Go's default suites (3DES and RSA key
/// exchange still accepted by that Go release).
#[test]
fn legacy_tls_offers_are_seen_on_the_secure_port_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let args: Vec<String> = vec![
        format!("--kubeconfig={}", f.kubeconfig),
        "--bind-address=127.0.0.1".into(),
        "--port=0".into(),
        "--tls-min-version=VersionTLS10".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    let versions = finding(&report, pid, "SG-403");
    assert_eq!(versions["status"], "fail", "{versions:#}");
    assert!(
        versions["message"].as_str().unwrap().contains("TLS1.0"),
        "{versions:#}"
    );
    let suites = finding(&report, pid, "SG-402");
    assert_eq!(suites["status"], "fail", "{suites:#}");
    assert!(
        suites["message"]
            .as_str()
            .unwrap()
            .contains("TLS_RSA_WITH_3DES_EDE_CBC_SHA"),
        "{suites:#}"
    );
}

/// A hardened TLS configuration refuses every legacy offer.
#[test]
fn explicit_modern_suites_refuse_every_legacy_offer_needs_root() {
    let Some(binary) = real_binary() else { return };
    let f = fixture();
    let args: Vec<String> = vec![
        format!("--kubeconfig={}", f.kubeconfig),
        "--bind-address=127.0.0.1".into(),
        "--port=0".into(),
        "--tls-cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
    ];
    let scheduler = real(&binary, &args);
    let pid = scheduler.pid();

    let (report, _) = audit_json(&[]);
    assert_statuses(
        &report,
        pid,
        &[("SG-401", "pass"), ("SG-402", "pass"), ("SG-403", "pass")],
    );
    let evidence = finding(&report, pid, "SG-402")["evidence"].to_string();
    assert!(
        evidence.contains("offered TLS_RSA_WITH_3DES_EDE_CBC_SHA -> alert"),
        "{evidence}"
    );
}
