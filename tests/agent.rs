//! `schedguard agent` as a real process against a real HTTPS endpoint (a
//! stub collector started by the test on loopback): delivery, outages,
//! SIGKILL with reports spooled, spool limits, 4xx versus 5xx, the service
//! manager's notifications through a real datagram socket, and /metrics
//! read by Prometheus' own text-format parser.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::collector::{Answer, StubCollector};
use support::*;

struct Agent {
    process: Running,
    log: PathBuf,
    metrics_port: u16,
}

impl Agent {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn metrics(&self) -> String {
        http_get(self.metrics_port, "/metrics")
    }

    /// The value of one sample in /metrics (0 when absent).
    fn sample(&self, name: &str) -> f64 {
        self.metrics()
            .lines()
            .find(|l| {
                l.split([' ', '{']).next() == Some(name.split('{').next().unwrap())
                    && l.starts_with(name)
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    fn signal(&self, name: &str) {
        Command::new("kill")
            .args([&format!("-{name}"), &self.process.pid().to_string()])
            .status()
            .unwrap();
    }
}

/// A plain HTTP GET to the agent's loopback endpoint.
fn http_get(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default()
}

/// Writes a config (and a 0600 token) into `dir` and starts the agent.
fn start_agent(dir: &Path, collector_port: u16, extra: &str, env: &[(&str, &str)]) -> Agent {
    let token = dir.join("token");
    write(&token, "node-token-1\n", 0o600);
    let metrics_port = free_port();
    let config = dir.join("agent.yaml");
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-ca.crt");
    let base = format!(
        "interval: 1s\nno_network: true\nreport_url: https://127.0.0.1:{collector_port}/v1/reports\n\
         token_file: {}\nca_file: {}\nspool_dir: {}\nlisten: 127.0.0.1:{metrics_port}\nnode_name: test-node\n",
        token.display(),
        ca.display(),
        dir.join("spool").display()
    );
    // `extra` lines replace the base lines with the same key.
    let key = |line: &str| line.split(':').next().unwrap_or_default().to_string();
    let overridden: Vec<String> = extra.lines().map(key).collect();
    let mut text: String = base
        .lines()
        .filter(|l| !overridden.contains(&key(l)))
        .map(|l| format!("{l}\n"))
        .collect();
    text.push_str(extra);
    write(&config, &text, 0o600);
    let log = dir.join(format!("agent-{}.log", free_port()));
    let mut command = schedguard();
    command
        .args(["agent", "--config"])
        .arg(&config)
        .env_remove("NOTIFY_SOCKET")
        .env("SCHEDGUARD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for (k, v) in env {
        command.env(k, v);
    }
    let process = Running {
        child: spawn(&mut command),
    };
    let agent = Agent {
        process,
        log,
        metrics_port,
    };
    wait_until(Duration::from_secs(30), "the agent's endpoint", || {
        !http_get(metrics_port, "/healthz").is_empty()
    });
    agent
}

fn spooled(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("spool"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".report"))
                .count()
        })
        .unwrap_or(0)
}

fn assert_in_order_once(stored: &[support::collector::Received]) {
    let mut ids: Vec<&str> = stored.iter().map(|r| r.report_id.as_str()).collect();
    let created: Vec<&str> = stored.iter().map(|r| r.created_at.as_str()).collect();
    let mut sorted = created.clone();
    sorted.sort();
    assert_eq!(created, sorted, "reports arrived out of order");
    let before = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), before, "a report was stored twice");
}

#[test]
fn reports_are_delivered_with_the_token() {
    let collector = StubCollector::start(0, Answer::Store);
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), collector.port, "", &[]);
    wait_until(Duration::from_secs(60), "three reports", || {
        collector.stored().len() >= 3
    });

    let stored = collector.stored();
    assert_eq!(stored[0].authorization, "Bearer node-token-1");
    assert_in_order_once(&stored);
    wait_until(Duration::from_secs(30), "the delivered counter", || {
        agent.sample("schedguard_reports_delivered_total") >= 3.0
    });
    assert!(agent.sample("schedguard_last_upload_success_timestamp_seconds") > 0.0);
}

#[test]
fn endpoint_down_then_up_every_report_arrives_once_in_order() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), port, "", &[]);
    wait_until(Duration::from_secs(60), "three spooled reports", || {
        spooled(dir.path()) >= 3
    });
    assert!(agent.sample("schedguard_spool_reports") >= 1.0);
    assert!(agent.sample("schedguard_upload_failures_total{reason=\"network\"}") >= 1.0);

    let collector = StubCollector::start(port, Answer::Store);
    wait_until(Duration::from_secs(60), "the spool to drain", || {
        spooled(dir.path()) == 0 && collector.stored().len() >= 3
    });
    assert_in_order_once(&collector.stored());
}

#[test]
fn sigkill_with_reports_spooled_loses_nothing() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let first = start_agent(dir.path(), port, "", &[]);
    wait_until(Duration::from_secs(60), "three spooled reports", || {
        spooled(dir.path()) >= 3
    });
    first.signal("KILL");
    drop(first);
    let spooled_ids: Vec<String> = std::fs::read_dir(dir.path().join("spool"))
        .unwrap()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".report")
                .and_then(|s| s.split_once('-'))
                .map(|(_, id)| id.to_string())
        })
        .collect();

    let collector = StubCollector::start(port, Answer::Store);
    let _second = start_agent(dir.path(), port, "", &[]);
    wait_until(Duration::from_secs(60), "the spooled reports", || {
        let stored: Vec<String> = collector
            .stored()
            .into_iter()
            .map(|r| r.report_id)
            .collect();
        spooled_ids.iter().all(|id| stored.contains(id))
    });
    assert_in_order_once(&collector.stored());
}

#[test]
fn full_spool_drops_the_oldest_and_counts_them() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), port, "spool_max_reports: 2\n", &[]);
    wait_until(Duration::from_secs(60), "reports dropped", || {
        agent.sample("schedguard_reports_dropped_total{reason=\"spool_full\"}") >= 2.0
    });
    assert!(spooled(dir.path()) <= 2);
    assert!(
        agent
            .log()
            .contains("spool full: dropped the oldest report"),
        "{}",
        agent.log()
    );
}

#[test]
fn bad_token_keeps_reports_and_says_so_while_5xx_retries() {
    let refusing = StubCollector::start(0, Answer::Unauthorized);
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), refusing.port, "", &[]);
    wait_until(Duration::from_secs(60), "an unauthorized answer", || {
        agent.sample("schedguard_upload_failures_total{reason=\"unauthorized\"}") >= 1.0
    });
    assert!(
        agent.log().contains(
            "refused the agent's credentials (401 invalid bearer token); check the token"
        ),
        "{}",
        agent.log()
    );
    assert!(spooled(dir.path()) >= 1, "reports stay spooled");

    let unavailable = StubCollector::start(0, Answer::Unavailable);
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), unavailable.port, "", &[]);
    wait_until(Duration::from_secs(60), "a 503 answer", || {
        agent.sample("schedguard_upload_failures_total{reason=\"server_error\"}") >= 1.0
    });
    assert!(
        agent
            .log()
            .contains("(503 down for maintenance); retrying in"),
        "{}",
        agent.log()
    );
    unavailable.answer(Answer::Store);
    wait_until(Duration::from_secs(90), "delivery after the 503s", || {
        !unavailable.stored().is_empty()
    });
}

#[test]
fn service_manager_sees_ready_status_watchdog_reload_and_stopping() {
    let collector = StubCollector::start(0, Answer::Store);
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let agent = start_agent(
        dir.path(),
        collector.port,
        "interval: 1h\n",
        &[
            ("NOTIFY_SOCKET", socket_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let mut seen = Vec::new();
    let receive_until = |what: &str, seen: &mut Vec<String>| {
        let mut buffer = [0u8; 4096];
        let started = Instant::now();
        while !seen.iter().any(|m| m.contains(what)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no {what} in {seen:?}"
            );
            if let Ok(n) = socket.recv(&mut buffer) {
                seen.push(String::from_utf8_lossy(&buffer[..n]).into_owned());
            }
        }
    };
    receive_until("READY=1", &mut seen);
    let ready = seen.iter().find(|m| m.contains("READY=1")).unwrap();
    assert!(ready.contains("STATUS=audit:"), "{ready}");
    receive_until("WATCHDOG=1", &mut seen);

    agent.signal("HUP");
    receive_until("RELOADING=1", &mut seen);
    wait_until(Duration::from_secs(30), "the reload log line", || {
        agent.log().contains("configuration reloaded")
    });

    let stopping = Instant::now();
    agent.signal("TERM");
    receive_until("STOPPING=1", &mut seen);
    let pid = agent.process.pid();
    wait_until(Duration::from_secs(10), "the agent to exit", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(stopping.elapsed() < Duration::from_secs(10));
}

/// SIGTERM while an audit waits on a listener that never answers: the
/// audit is abandoned and the agent stops within moments.
#[test]
fn sigterm_cancels_a_running_audit() {
    use support::server::{inherit, listen, serve, Behaviour, Spec};
    let dir = tempfile::tempdir().unwrap();
    let silent = listen(Spec::new("127.0.0.1:0"));
    let _server = serve(&silent, Behaviour::Silent);
    let mut command = Command::new(install_fake(dir.path()));
    inherit(&mut command, &[&silent]);
    let _target = start(command, "kube-scheduler");

    let collector = StubCollector::start(0, Answer::Store);
    let agent = start_agent(
        dir.path(),
        collector.port,
        "no_network: false\nprobe_timeout: 20s\n",
        &[],
    );
    std::thread::sleep(Duration::from_millis(300)); // inside the first audit's probes
    let stopping = Instant::now();
    agent.signal("TERM");
    let pid = agent.process.pid();
    wait_until(Duration::from_secs(15), "the agent to exit", || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "took {:?}",
        stopping.elapsed()
    );
}

#[test]
fn invalid_configuration_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("agent.yaml");
    write(&config, "intervall: 5m\n", 0o600);
    let output = run(
        &["agent", "--config", config.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown field `intervall`"));

    let token = dir.path().join("token");
    write(&token, "t\n", 0o644);
    write(
        &config,
        &format!(
            "report_url: https://127.0.0.1:1/\ntoken_file: {}\n",
            token.display()
        ),
        0o600,
    );
    let output = run(
        &["agent", "--config", config.to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("chmod 600"));
}

/// /metrics read by the Prometheus project's own Python parser.
#[test]
fn metrics_parse_with_prometheus_client() {
    if !support::prometheus::available() {
        return;
    }
    let collector = StubCollector::start(0, Answer::Store);
    let dir = tempfile::tempdir().unwrap();
    let agent = start_agent(dir.path(), collector.port, "", &[]);
    wait_until(Duration::from_secs(60), "a delivered report", || {
        !collector.stored().is_empty()
    });

    let text = agent.metrics();
    let families = support::prometheus::parse(
        &text,
        "assert families['schedguard_reports_delivered'].type == 'counter', families['schedguard_reports_delivered'].type\n\
         assert families['schedguard_spool_bytes'].type == 'gauge'",
    );
    assert!(families >= 10);
    let _ = std::fs::Permissions::from_mode(0o600);
}

/// Cluster mode set in the configuration file: every audit carries the
/// cluster findings (here the API server's port refuses connections, so
/// they are errors, with no target process).
#[test]
fn cluster_mode_from_the_file_adds_cluster_findings() {
    let collector = StubCollector::start(0, Answer::Store);
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.crt");
    write(&ca, include_str!("support/test-ca.crt"), 0o644);
    let kubeconfig = dir.path().join("kubeconfig");
    write(
        &kubeconfig,
        &format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: \
             https://127.0.0.1:{}\n    certificate-authority: {}\ncontexts:\n- name: c\n  \
             context: {{cluster: c, user: u}}\ncurrent-context: c\nusers:\n- name: u\n  user:\n    \
             token: not-a-secret\n",
            free_port(),
            ca.display()
        ),
        0o600,
    );
    let extra = format!(
        "cluster: true\nkubeconfig: {}\nknown_schedulers: [batch]\n",
        kubeconfig.display()
    );
    let agent = start_agent(dir.path(), collector.port, &extra, &[]);
    wait_until(
        Duration::from_secs(60),
        "cluster findings in /metrics",
        || agent.metrics().contains("check=\"SG-704\""),
    );
    let metrics = agent.metrics();
    for line in [
        r#"schedguard_check_status{check="SG-703",severity="high",status="error",target_pid="0",target_kind="none"} 1"#,
        r#"schedguard_check_status{check="SG-704",severity="medium",status="error",target_pid="0",target_kind="none"} 1"#,
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
    wait_until(Duration::from_secs(60), "a delivered report", || {
        !collector.stored().is_empty()
    });
}
