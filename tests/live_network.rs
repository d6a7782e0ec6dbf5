//! Live inspection against real sockets: listeners made by the test with
//! chosen options and handed to a stand-in `kube-scheduler`, answered by
//! test servers over HTTPS, plain HTTP or not at all, on loopback or inside
//! network namespaces the test creates (192.0.2.0/24). No traffic leaves
//! the machine.

mod support;

use serde_json::Value;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};
use support::server::{inherit, listen, serve, Behaviour, NetNs, Spec};
use support::*;

/// A stand-in scheduler holding these sockets.
fn holding(dir: &std::path::Path, sockets: &[&TcpListener]) -> Running {
    let mut command = Command::new(install_fake(dir));
    inherit(&mut command, sockets);
    start(command, "kube-scheduler")
}

fn audit() -> Value {
    audit_json(&["--probe-timeout", "1s"]).0
}

fn target(report: &Value, pid: u32) -> Value {
    report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["pid"] == pid)
        .cloned()
        .expect("the target is reported")
}

fn listener(report: &Value, pid: u32, port: u16) -> Value {
    let listeners = target(report, pid)["listeners"].clone();
    listeners
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["port"] == port)
        .cloned()
        .unwrap_or_else(|| panic!("no listener on {port}: {listeners:#}"))
}

fn port(socket: &TcpListener) -> u16 {
    socket.local_addr().unwrap().port()
}

#[test]
fn loopback_and_wildcard_listeners_ipv4_and_ipv6() {
    let dir = tempfile::tempdir().unwrap();
    let v4_loopback = listen(Spec::new("127.0.0.1:0"));
    let v6_loopback = listen(Spec::new("[::1]:0"));
    let v4_wildcard = listen(Spec::new("0.0.0.0:0"));
    let dual_stack = listen(Spec::new("[::]:0").v6only(false));
    let v6_only = listen(Spec::new("[::]:0").v6only(true));
    let _servers: Vec<_> = [
        &v4_loopback,
        &v6_loopback,
        &v4_wildcard,
        &dual_stack,
        &v6_only,
    ]
    .iter()
    .map(|s| serve(s, Behaviour::Https { open_pprof: false }))
    .collect();

    let private = holding(dir.path(), &[&v4_loopback, &v6_loopback]);
    let wide = holding(dir.path(), &[&v4_wildcard]);
    let dual = holding(dir.path(), &[&dual_stack]);
    let only6 = holding(dir.path(), &[&v6_only]);
    let report = audit();

    assert_eq!(status(&report, private.pid(), "SG-302"), "pass");
    let l = listener(&report, private.pid(), port(&v6_loopback));
    assert_eq!(
        (l["address"].as_str(), l["family"].as_str()),
        (Some("::1"), Some("tcp6"))
    );
    assert_eq!(
        (l["reuse_addr"].as_bool(), l["reuse_port"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(l["tls"], true);

    assert_eq!(status(&report, wide.pid(), "SG-302"), "fail");
    assert!(finding(&report, wide.pid(), "SG-302")["message"]
        .as_str()
        .unwrap()
        .contains("0.0.0.0"));
    assert_eq!(status(&report, dual.pid(), "SG-302"), "fail");
    assert_eq!(
        listener(&report, dual.pid(), port(&dual_stack))["v6only"],
        false
    );
    assert_eq!(
        listener(&report, only6.pid(), port(&v6_only))["v6only"],
        true
    );
    for pid in [private.pid(), wide.pid(), dual.pid(), only6.pid()] {
        assert_eq!(status(&report, pid, "SG-305"), "pass");
        assert_eq!(
            status(&report, pid, "SG-501"),
            "pass",
            "{:#}",
            finding(&report, pid, "SG-501")
        );
    }
}

#[test]
fn two_processes_sharing_a_port_with_reuseport() {
    let dir = tempfile::tempdir().unwrap();
    let first = listen(Spec::new("127.0.0.1:0").reuse_port());
    let second = listen(Spec::new(&format!("127.0.0.1:{}", port(&first))).reuse_port());
    let _a = serve(&first, Behaviour::Https { open_pprof: false });
    let _b = serve(&second, Behaviour::Https { open_pprof: false });

    let one = holding(dir.path(), &[&first]);
    let other = holding(dir.path(), &[&second]);
    let report = audit();

    for pid in [one.pid(), other.pid()] {
        let verdict = finding(&report, pid, "SG-305");
        assert_eq!(verdict["status"], "fail", "{verdict:#}");
        let evidence = verdict["evidence"].to_string();
        assert!(evidence.contains("SO_REUSEPORT=1"), "{evidence}");
        assert!(evidence.contains("SO_REUSEPORT group"), "{evidence}");
    }
}

#[test]
fn scheduler_like_https_server_refuses_anonymous_callers() {
    let dir = tempfile::tempdir().unwrap();
    let closed = listen(Spec::new("127.0.0.1:0"));
    let open = listen(Spec::new("127.0.0.1:0"));
    let _closed = serve(&closed, Behaviour::Https { open_pprof: false });
    let _open = serve(&open, Behaviour::Https { open_pprof: true });

    let hardened = holding(dir.path(), &[&closed]);
    let exposed = holding(dir.path(), &[&open]);
    let report = audit();

    for check in ["SG-501", "SG-502", "SG-503"] {
        assert_eq!(status(&report, hardened.pid(), check), "pass", "{check}");
    }
    let verdict = finding(&report, exposed.pid(), "SG-501");
    assert_eq!(verdict["status"], "fail");
    assert!(verdict["message"].as_str().unwrap().contains(&format!(
        "https://127.0.0.1:{}/debug/pprof/ answered 200",
        port(&open)
    )));
    assert_eq!(
        status(&report, exposed.pid(), "SG-303"),
        "pass",
        "an HTTPS listener is not the insecure port"
    );
}

#[test]
fn plain_http_listener_is_the_insecure_port() {
    let dir = tempfile::tempdir().unwrap();
    let plain = listen(Spec::new("127.0.0.1:0"));
    let _server = serve(&plain, Behaviour::Plain { open_pprof: true });
    let legacy = holding(dir.path(), &[&plain]);
    let report = audit();

    assert_eq!(listener(&report, legacy.pid(), port(&plain))["tls"], false);
    let insecure = finding(&report, legacy.pid(), "SG-303");
    assert_eq!(
        (insecure["status"].as_str(), insecure["severity"].as_str()),
        (Some("fail"), Some("critical"))
    );
    let pprof = finding(&report, legacy.pid(), "SG-501");
    assert_eq!(pprof["status"], "fail");
    assert!(pprof["message"]
        .as_str()
        .unwrap()
        .contains("http://127.0.0.1:"));
}

/// A listener that accepts TCP and never answers costs one probe timeout,
/// not one per path. The bound is generous: 2 s per probe, 9 paths.
#[test]
fn silent_listener_costs_one_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let silent = listen(Spec::new("127.0.0.1:0"));
    let _server = serve(&silent, Behaviour::Silent);
    let mute = holding(dir.path(), &[&silent]);

    let started = Instant::now();
    let (report, code) = audit_json(&["--probe-timeout", "2s"]);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(12), "the audit took {took:?}");
    assert_eq!(code, 2, "unanswered probes make the audit incomplete");
    let verdict = finding(&report, mute.pid(), "SG-501");
    assert_eq!(verdict["status"], "error", "{verdict:#}");
}

/// A target in its own network namespace, with an address from the
/// documentation range on a dummy interface: a wildcard bind is probed on
/// that address from inside the namespace, and a loopback bind refuses it.
#[test]
fn wildcard_bind_in_own_network_namespace_is_probed_off_loopback_needs_root() {
    let dir = tempfile::tempdir().unwrap();
    let wide_ns = NetNs::new("wide", "192.0.2.10");
    let narrow_ns = NetNs::new("narrow", "192.0.2.11");
    let wide_socket = wide_ns.listen(Spec::new("0.0.0.0:10259"));
    let narrow_socket = narrow_ns.listen(Spec::new("127.0.0.1:10259"));
    let _a = serve(&wide_socket, Behaviour::Https { open_pprof: false });
    let _b = serve(&narrow_socket, Behaviour::Https { open_pprof: false });

    let binary = install_fake(dir.path());
    let mut command = wide_ns.command(&binary);
    inherit(&mut command, &[&wide_socket]);
    let wide = start(command, "kube-scheduler");
    let mut command = narrow_ns.command(&binary);
    inherit(&mut command, &[&narrow_socket]);
    let narrow = start(command, "kube-scheduler");
    let report = audit();

    let off_host = finding(&report, wide.pid(), "SG-504");
    assert_eq!(off_host["status"], "fail", "{off_host:#}");
    assert!(off_host["message"]
        .as_str()
        .unwrap()
        .contains("192.0.2.10:10259"));
    assert_eq!(status(&report, wide.pid(), "SG-302"), "fail");
    let probes = finding(&report, wide.pid(), "SG-503")["evidence"].to_string();
    assert!(
        probes.contains("https://192.0.2.10:10259/metrics -> 403"),
        "{probes}"
    );

    assert_eq!(
        status(&report, narrow.pid(), "SG-504"),
        "pass",
        "{:#}",
        finding(&report, narrow.pid(), "SG-504")
    );
    assert_eq!(status(&report, narrow.pid(), "SG-302"), "pass");
}

#[test]
fn no_network_skips_live_checks() {
    let dir = tempfile::tempdir().unwrap();
    let socket = listen(Spec::new("0.0.0.0:0"));
    let target = holding(dir.path(), &[&socket]);
    let (report, _) = audit_json(&["--no-network"]);
    assert_eq!(status(&report, target.pid(), "SG-302"), "skip");
    assert_eq!(status(&report, target.pid(), "SG-501"), "skip");
}

/// Without privileges every live and file check says `error` with the
/// remedy; none passes on what it could not read.
#[test]
fn unprivileged_audit_reports_errors_with_remedies_needs_root() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sched.yaml");
    write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n",
        0o600,
    );
    let socket = listen(Spec::new("127.0.0.1:0"));
    let mut command = Command::new(install_fake(dir.path()));
    command.arg(format!("--config={}", config.display()));
    inherit(&mut command, &[&socket]);
    let target = start(command, "kube-scheduler");

    // A copy of schedguard that the unprivileged user can run wherever the
    // checkout lives.
    let public = tempfile::tempdir().unwrap();
    std::fs::set_permissions(public.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary = public.path().join("schedguard");
    // A hard link when possible: a copy being written while another test
    // forks could make its exec fail (ETXTBSY).
    if std::fs::hard_link(env!("CARGO_BIN_EXE_schedguard"), &binary).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_schedguard"), &binary).unwrap();
    }
    let output = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(["audit", "--format", "json", "--probe-timeout", "1s"])
        .output()
        .expect("setpriv runs");
    let report: Value = serde_json::from_slice(&output.stdout).expect("a JSON report");
    assert_eq!(output.status.code(), Some(2));

    let sockets = finding(&report, target.pid(), "SG-305");
    assert_eq!(sockets["status"], "error", "{sockets:#}");
    assert!(
        sockets["message"]
            .as_str()
            .unwrap()
            .contains("CAP_SYS_PTRACE"),
        "{sockets:#}"
    );
    let profiling = finding(&report, target.pid(), "SG-201");
    assert_eq!(profiling["status"], "error", "{profiling:#}");
    assert!(
        profiling["message"]
            .as_str()
            .unwrap()
            .contains("Permission denied"),
        "{profiling:#}"
    );
    for check in ["SG-302", "SG-501", "SG-504", "SG-605"] {
        assert_eq!(status(&report, target.pid(), check), "error", "{check}");
    }
}
