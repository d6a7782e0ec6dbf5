//! The systemd units in systemd/: `systemd-analyze verify` accepts them,
//! the services' exposure scores stay at 2.0 or lower, and the privileges
//! the agent's unit grants (a non-root user, two ambient capabilities,
//! hidepid=invisible /proc, no new privileges) are enough for an audit as
//! complete as root's.

mod support;

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use support::server::{inherit, listen, serve, Behaviour, Spec};
use support::*;

fn units_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd")
}

/// Every unit file in systemd/.
fn units() -> Vec<PathBuf> {
    let mut units: Vec<PathBuf> = std::fs::read_dir(units_dir())
        .expect("systemd/ is readable")
        .map(|e| e.unwrap().path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("service" | "timer" | "socket")
            )
        })
        .collect();
    units.sort();
    assert!(units.len() >= 3, "the agent, audit and timer units exist");
    units
}

/// `systemd-analyze`, from Debian's systemd package (.ci/run installs it).
fn systemd_analyze() -> Command {
    Command::new("systemd-analyze")
}

/// The values of every `Key=` line of a unit file, in order.
fn settings(unit: &Path, key: &str) -> Vec<String> {
    let text = std::fs::read_to_string(unit).unwrap();
    let prefix = format!("{key}=");
    text.lines()
        .filter_map(|line| line.trim().strip_prefix(&prefix))
        .map(str::to_string)
        .collect()
}

#[test]
fn every_unit_passes_systemd_analyze_verify() {
    // verify wants ExecStart's binary to exist: point it at the one built.
    let dir = tempfile::tempdir().unwrap();
    let mut copies = Vec::new();
    for unit in units() {
        let text = std::fs::read_to_string(&unit).unwrap();
        let text = text.replace("/usr/bin/schedguard", env!("CARGO_BIN_EXE_schedguard"));
        let copy = dir.path().join(unit.file_name().unwrap());
        std::fs::write(&copy, text).unwrap();
        copies.push(copy);
    }

    // --man=no: the man page is checked where the package installs it.
    let output = systemd_analyze()
        .args(["verify", "--man=no"])
        .args(&copies)
        .output()
        .expect("systemd-analyze runs (package systemd)");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The overall exposure level that `systemd-analyze security` prints last.
fn exposure(unit: &Path) -> f64 {
    let output = systemd_analyze()
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(unit)
        .output()
        .expect("systemd-analyze runs (package systemd)");
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("no overall exposure in: {text}"));
    line.split(": ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|score| score.parse().ok())
        .unwrap_or_else(|| panic!("no score in {line:?}"))
}

#[test]
fn agent_and_audit_services_expose_at_most_2_0() {
    for name in ["schedguard-agent.service", "schedguard-audit.service"] {
        let score = exposure(&units_dir().join(name));
        assert!(score <= 2.0, "{name} scores {score}, above 2.0");
    }
}

#[test]
fn agent_unit_grants_only_ptrace_and_dac_read_search() {
    let unit = units_dir().join("schedguard-agent.service");
    for key in ["CapabilityBoundingSet", "AmbientCapabilities"] {
        assert_eq!(
            settings(&unit, key),
            ["CAP_SYS_PTRACE CAP_DAC_READ_SEARCH"],
            "{key}"
        );
    }
    assert_eq!(settings(&unit, "DynamicUser"), ["yes"]);
    assert_eq!(settings(&unit, "NoNewPrivileges"), ["yes"]);
    assert_eq!(settings(&unit, "ProtectProc"), ["invisible"]);
    assert_eq!(settings(&unit, "StateDirectory"), ["schedguard"]);
    assert_eq!(settings(&unit, "Type"), ["notify"]);
}

/// `setpriv` capability names ("+sys_ptrace,+dac_read_search") for a unit's
/// `AmbientCapabilities=`.
fn setpriv_caps(unit: &Path) -> String {
    settings(unit, "AmbientCapabilities")
        .iter()
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .map(|cap| format!("+{}", cap.trim_start_matches("CAP_").to_ascii_lowercase()))
        .collect::<Vec<_>>()
        .join(",")
}

/// A root-owned scheduler whose files only root may read (a 0700 folder,
/// 0600 files), serving HTTPS on loopback: what the agent meets on a
/// kubeadm host.
fn private_scheduler(dir: &Path) -> (Running, std::net::TcpListener, support::server::Server) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let kubeconfig = dir.join("scheduler.conf");
    write(&kubeconfig, KUBECONFIG, 0o600);
    let config = dir.join("scheduler.yaml");
    write(
        &config,
        &format!(
            "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\nclientConnection:\n  kubeconfig: {}\n",
            kubeconfig.display()
        ),
        0o600,
    );
    let socket = listen(Spec::new("127.0.0.1:0"));
    let server = serve(&socket, Behaviour::Https { open_pprof: false });
    let mut command = Command::new(install_fake(dir));
    command.arg(format!("--config={}", config.display()));
    command.arg(format!(
        "--authentication-kubeconfig={}",
        kubeconfig.display()
    ));
    command.arg(format!(
        "--authorization-kubeconfig={}",
        kubeconfig.display()
    ));
    command.arg("--bind-address=127.0.0.1");
    inherit(&mut command, &[&socket]);
    (start(command, "kube-scheduler"), socket, server)
}

/// The statuses of a target's findings, by check.
fn statuses(report: &Value, pid: u32) -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = findings(report, pid)
        .iter()
        .map(|f| {
            (
                f["check"].as_str().unwrap().to_string(),
                f["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    all.sort();
    all
}

#[test]
fn agent_units_privileges_audit_as_completely_as_root_needs_root() {
    let unit = units_dir().join("schedguard-agent.service");
    let caps = setpriv_caps(&unit);
    assert_eq!(caps, "+sys_ptrace,+dac_read_search");

    let dir = tempfile::tempdir().unwrap();
    let (scheduler, _socket, _server) = private_scheduler(dir.path());
    let (as_root, _) = audit_json(&["--probe-timeout", "1s"]);

    // A copy of schedguard that the unit's user may execute.
    let public = tempfile::tempdir().unwrap();
    std::fs::set_permissions(public.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = public.path().join("schedguard");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_schedguard"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_schedguard"), &binary).unwrap();
    }

    // As the unit runs it: a DynamicUser uid (61184-65519), the unit's
    // ambient capabilities and bounding set, no new privileges, and a /proc
    // mounted with hidepid=invisible (ProtectProc=invisible) in a private
    // mount namespace.
    let script = format!(
        "mount -t proc -o hidepid=invisible proc /proc && exec setpriv \
         --reuid=61999 --regid=61999 --clear-groups --no-new-privs \
         --inh-caps={caps} --ambient-caps={caps} --bounding-set=-all,{caps} \
         {} audit --format json --probe-timeout 1s",
        binary.display()
    );
    let mut command = Command::new("unshare");
    command.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
    let output = command.output().expect("unshare runs");
    let as_unit: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });

    let pid = scheduler.pid();
    let unit_statuses = statuses(&as_unit, pid);
    assert!(
        !unit_statuses.iter().any(|(_, s)| s == "error"),
        "errors with the unit's privileges: {:#}",
        Value::Array(
            findings(&as_unit, pid)
                .into_iter()
                .filter(|f| f["status"] == "error")
                .collect()
        )
    );
    assert_eq!(unit_statuses, statuses(&as_root, pid));
    for check in ["SG-102", "SG-201", "SG-302", "SG-305", "SG-501", "SG-605"] {
        assert_eq!(status(&as_unit, pid, check), "pass", "{check}");
    }
}

/// The real kube-scheduler and systemd-nspawn, or a notice and `None`
/// (a panic when CI requires them with SCHEDGUARD_REQUIRE_REAL=1).
fn container_tools() -> Option<PathBuf> {
    let scheduler = PathBuf::from("/var/cache/realk8s/bin/kube-scheduler");
    let nspawn = Path::new("/usr/bin/systemd-nspawn");
    if scheduler.exists() && nspawn.exists() {
        return Some(scheduler);
    }
    let why = format!(
        "{} (../shared/real-scheduler/real-scheduler.sh build) or {} (package systemd-container) is missing",
        scheduler.display(),
        nspawn.display()
    );
    if std::env::var_os("SCHEDGUARD_REQUIRE_REAL").is_some_and(|v| v == "1") {
        panic!("{why} and SCHEDGUARD_REQUIRE_REAL=1");
    }
    eprintln!("NOTICE: skipping: {why}");
    None
}

/// A token and its tokens-file line from `schedguard collector token ARGS`.
fn mint(args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_schedguard"))
        .args(["collector", "token"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let line = String::from_utf8_lossy(&output.stderr)
        .lines()
        .find(|l| l.contains(" sha256:"))
        .expect("the tokens-file line")
        .to_string();
    (
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        line,
    )
}

/// Polls inside the container, then writes what the test reads to /sgout
/// and powers the container off, whatever happened.
const CHECK_SCRIPT: &str = r#"#!/bin/sh
for i in $(seq 1 300); do
    curl -s http://127.0.0.1:9259/metrics > /sgout/metrics.txt
    grep -q 'check="SG-501",[^}]*status="pass",[^}]*target_kind="kube-scheduler"' /sgout/metrics.txt && break
    sleep 0.2
done
for i in $(seq 1 300); do
    curl -s --cacert /etc/schedguard/ca.crt -H "Authorization: Bearer $(cat /etc/schedguard/read.token)" \
        https://127.0.0.1:9260/v1/nodes/sg-node/reports > /sgout/reports.json
    grep -q '"report_id"' /sgout/reports.json && break
    sleep 0.2
done
readlink "/proc/$(systemctl show -p MainPID --value schedguard-collector.service)/exe" > /sgout/collector-exe.txt
systemctl start schedguard-audit.service
systemctl show -p Id -p ActiveState -p SubState -p Result \
    schedguard-agent.service schedguard-audit.service schedguard-collector.service > /sgout/show.txt
journalctl --no-pager -o cat -u schedguard-agent.service -u schedguard-audit.service \
    -u schedguard-collector.service > /sgout/journal.txt
systemd-analyze security schedguard-agent.service schedguard-audit.service \
    schedguard-collector.service > /sgout/security.txt 2>&1
exit 0
"#;

/// Boots this machine's own /usr in a container (systemd-nspawn
/// --volatile=yes: a fresh tmpfs root, no network but loopback) with the
/// real kube-scheduler 1.20 as a root service and schedguard's agent,
/// audit and collector units as shipped (only ExecStart points at the built
/// binaries; a drop-in gives the agent its token and orders it after the
/// collector, to which it reports). systemd applies everything the units
/// ask for: the dynamic users, the capabilities, the seccomp filters,
/// ProtectProc and the rest.
#[test]
fn agent_audit_and_collector_run_under_their_units_in_a_booted_container_needs_root() {
    let Some(scheduler) = container_tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = |name: &str| dir.path().join(name);
    for sub in ["units", "out", "bin", "kubernetes", "schedguard"] {
        std::fs::create_dir(path(sub)).unwrap();
        std::fs::set_permissions(path(sub), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for (built, name) in [
        (env!("CARGO_BIN_EXE_schedguard"), "bin/schedguard"),
        (
            env!("CARGO_BIN_EXE_schedguard-collector"),
            "bin/schedguard-collector",
        ),
    ] {
        if std::fs::hard_link(built, path(name)).is_err() {
            std::fs::copy(built, path(name)).unwrap();
        }
    }
    for name in [
        "schedguard-agent.service",
        "schedguard-audit.service",
        "schedguard-collector.service",
    ] {
        let text = std::fs::read_to_string(units_dir().join(name)).unwrap();
        std::fs::write(
            path("units").join(name),
            text.replace("/usr/bin/schedguard", "/sgbin/schedguard"),
        )
        .unwrap();
    }
    write(&path("kubernetes/scheduler.conf"), KUBECONFIG, 0o600);
    // The agent reports to the collector, both under their units: its
    // token as a credential, the collector's certificate, key and tokens
    // file where the collector unit looks for them.
    let (write_token, write_line) = mint(&["sg-node"]);
    let (read_token, read_line) = mint(&["--read", "sg-check"]);
    write(
        &path("schedguard/collector-tokens"),
        &format!("{write_line}\n{read_line}\n"),
        0o644,
    );
    write(&path("schedguard/agent.token"), &write_token, 0o600);
    write(&path("schedguard/read.token"), &read_token, 0o600);
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    for (from, to, mode) in [
        ("test-server.crt", "collector.crt", 0o644),
        ("test-server.key", "collector.key", 0o600),
        ("test-ca.crt", "ca.crt", 0o644),
    ] {
        let text = std::fs::read_to_string(support.join(from)).unwrap();
        write(&path("schedguard").join(to), &text, mode);
    }
    write(
        &path("schedguard/agent.yaml"),
        "interval: 1s\nprobe_timeout: 1s\nnode_name: sg-node\n\
         report_url: https://127.0.0.1:9260/v1/reports\nca_file: /etc/schedguard/ca.crt\n",
        0o644,
    );
    write(
        &path("units/schedguard-agent.service.d/upstream.conf"),
        "[Unit]\nAfter=schedguard-collector.service\n\
         [Service]\nLoadCredential=token:/etc/schedguard/agent.token\n",
        0o644,
    );
    write(&path("bin/check"), CHECK_SCRIPT, 0o755);
    let units = [
        (
            "kube-scheduler.service",
            "[Unit]\nDescription=the real kube-scheduler\n[Service]\n\
             ExecStart=/realk8s/kube-scheduler --kubeconfig=/etc/kubernetes/scheduler.conf \
             --bind-address=127.0.0.1 --port=0 --leader-elect=false --profiling=false\n",
        ),
        (
            "sgcheck.service",
            "[Unit]\nDescription=schedguard test\n\
             Wants=schedguard-agent.service schedguard-collector.service kube-scheduler.service\n\
             After=schedguard-agent.service schedguard-collector.service kube-scheduler.service\n\
             [Service]\nType=oneshot\nTimeoutStartSec=120\nExecStart=/sgbin/check\n\
             ExecStopPost=/bin/systemctl poweroff\n",
        ),
        (
            "sgtest.target",
            "[Unit]\nDescription=schedguard test\nRequires=sgcheck.service\nAfter=sgcheck.service\n\
             JobTimeoutSec=180\nJobTimeoutAction=poweroff-force\n",
        ),
    ];
    for (name, text) in units {
        std::fs::write(path("units").join(name), text).unwrap();
    }

    let bind = |flag: &str, from: &Path, to: &str| format!("--{flag}={}:{to}", from.display());
    let mut nspawn = Command::new("systemd-nspawn");
    nspawn
        .args(["--quiet", "--keep-unit", "--register=no", "--volatile=yes"])
        .args(["--directory=/", "--private-network", "--console=pipe"])
        // nspawn's own filter lacks pidfd_getfd; the unit allows it.
        .arg("--system-call-filter=pidfd_getfd")
        .arg(bind("bind-ro", &path("units"), "/etc/systemd/system"))
        .arg(bind("bind-ro", &path("bin"), "/sgbin"))
        .arg(bind("bind-ro", scheduler.parent().unwrap(), "/realk8s"))
        .arg(bind("bind-ro", &path("kubernetes"), "/etc/kubernetes"))
        .arg(bind("bind-ro", &path("schedguard"), "/etc/schedguard"))
        .arg(bind("bind", &path("out"), "/sgout"))
        .args([
            "--boot",
            "--",
            "systemd.unit=sgtest.target",
            "systemd.firstboot=off",
        ])
        .stdin(std::process::Stdio::null());
    let output = run_command(nspawn, std::time::Duration::from_secs(240));
    let read = |name: &str| {
        std::fs::read_to_string(path("out").join(name)).unwrap_or_else(|e| {
            panic!(
                "the container wrote no {name} ({e}); console:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
    };

    // Type=notify: "running" only after READY=1.
    let show = read("show.txt");
    assert!(
        show.contains("Id=schedguard-agent.service\nActiveState=active\nSubState=running"),
        "{show}"
    );
    assert!(
        show.contains(
            "Id=schedguard-audit.service\nActiveState=inactive\nSubState=dead\nResult=success"
        ) || show.contains("Result=success\nId=schedguard-audit.service\nActiveState=inactive"),
        "the one-shot audit ended as a success: {show}"
    );

    // The collector, started as `schedguard collector` by its unit, is the
    // schedguard-collector executable and holds the agent's reports.
    assert!(
        show.contains("Id=schedguard-collector.service\nActiveState=active\nSubState=running"),
        "{show}\n{}",
        read("journal.txt")
    );
    assert_eq!(
        read("collector-exe.txt").trim(),
        "/sgbin/schedguard-collector"
    );
    let reports = read("reports.json");
    assert!(
        reports.contains("\"report_id\""),
        "no report from the agent reached the collector: {reports}\n{}",
        read("journal.txt")
    );

    // The agent's verdicts on the real scheduler, from its /metrics.
    let metrics = read("metrics.txt");
    let verdict = |check: &str| {
        metrics
            .lines()
            .filter(|l| l.starts_with("schedguard_check_status{"))
            .filter(|l| l.contains(&format!("check=\"{check}\"")))
            .find(|l| l.contains("target_kind=\"kube-scheduler\""))
            .and_then(|l| l.split("status=\"").nth(1))
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("no {check} verdict in:\n{metrics}"))
            .to_string()
    };
    for check in [
        "SG-102", "SG-201", "SG-301", "SG-302", "SG-303", "SG-305", "SG-501", "SG-502", "SG-503",
        "SG-504",
    ] {
        assert_eq!(verdict(check), "pass", "{check}\n{}", read("journal.txt"));
    }
    assert!(
        !metrics.contains("status=\"error\""),
        "no check is left undecided under the unit:\n{metrics}\n{}",
        read("journal.txt")
    );

    // The one-shot audit's report is in the journal.
    let journal = read("journal.txt");
    assert!(journal.contains("kube-scheduler pid"), "{journal}");
    assert!(journal.contains("v1.20.2 (build info)"), "{journal}");

    // The scores systemd itself computes for the loaded units.
    let security = read("security.txt");
    let scores: Vec<f64> = security
        .lines()
        .filter(|l| l.contains("Overall exposure level"))
        .filter_map(|l| {
            l.split(": ")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect();
    assert_eq!(scores.len(), 3, "{security}");
    assert!(scores.iter().all(|s| *s <= 2.0), "{security}");
}
