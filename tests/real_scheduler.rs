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
    assert!(verdict["message"]
        .as_str()
        .unwrap()
        .contains("0.0.0.0:10251"));
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
    assert!(verdict["message"]
        .as_str()
        .unwrap()
        .contains("0.0.0.0:10251"));
}
