//! `schedguard collector` as a real process over real HTTPS with a real
//! SQLite file: who may write and read, what bodies are refused and how,
//! redeliveries, rate limits, reloading tokens, the query API, retention,
//! restarts, /metrics, health, plain HTTP only when asked, and the systemd
//! unit.

mod support;

use schedguard::checks::Status;
use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Duration;
use support::fleet::{Collector, Tokens};
use support::http::Response;
use support::{reports, wait_until};

fn sqlite(dir: &Path) -> String {
    format!("sqlite:{}", dir.join("collector.db").display())
}

fn start(dir: &Path, nodes: &[&str], extra: &[&str]) -> (Collector, Tokens) {
    let tokens = Tokens::create(dir, nodes);
    let collector = Collector::start(dir, &tokens, &sqlite(dir), extra);
    (collector, tokens)
}

fn error(r: &Response) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_string()
}

fn rows(dir: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join("collector.db")).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_report_is_stored_once_and_a_redelivery_is_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(dir.path(), &["cp-1"], &[]);
    let (id, body) = reports::with(
        "cp-1",
        &[("SG-501", Status::Fail), ("SG-101", Status::Pass)],
    );

    let first = collector.post(&tokens, "cp-1", &body);
    assert_eq!(first.status, 201, "{}", first.text());
    assert_eq!(first.json()["result"], "stored");
    let again = collector.post(&tokens, "cp-1", &body);
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["result"], "duplicate");

    // In the SQLite file itself: one report, WAL mode.
    assert_eq!(
        rows(
            dir.path(),
            &format!("SELECT COUNT(*) FROM reports WHERE report_id = '{id}'")
        ),
        1
    );
    let conn = rusqlite::Connection::open(dir.path().join("collector.db")).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let nodes = collector.query(&tokens, "/v1/nodes");
    let node = &nodes["nodes"][0];
    assert_eq!(node["node"], "cp-1");
    assert_eq!(node["last_report_id"], id.as_str());
    assert_eq!(node["stale"], false);
    assert_eq!(node["summary"]["fail"], 1);
    assert_eq!(node["summary"]["pass"], 1);
}

#[test]
fn tokens_decide_who_may_write_which_node_and_who_may_read() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(dir.path(), &["cp-1", "cp-2"], &[]);
    let client = collector.client();
    let (_, body) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    let post = |auth: Option<&str>| {
        let mut headers = vec![
            ("Content-Encoding", "gzip"),
            ("Content-Type", "application/json"),
        ];
        let value = auth.map(|a| format!("Bearer {a}"));
        if let Some(v) = &value {
            headers.push(("Authorization", v));
        }
        client
            .request("POST", "/v1/reports", &headers, &body)
            .unwrap()
    };

    let none = post(None);
    assert_eq!(none.status, 401);
    assert!(none
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer"));
    assert!(error(&none).contains("no bearer token"), "{}", none.text());

    let wrong = post(Some(
        "sg_0000000000000000000000000000000000000000000000000000000000000000",
    ));
    assert_eq!(wrong.status, 401);
    assert!(error(&wrong).contains("not in the collector's tokens file"));

    let foreign = post(Some(tokens.write("cp-2")));
    assert_eq!(foreign.status, 403);
    assert!(
        error(&foreign).contains("node cp-2 cannot write reports of node cp-1"),
        "{}",
        foreign.text()
    );

    let reader = post(Some(&tokens.read));
    assert_eq!(reader.status, 403);
    assert!(error(&reader).contains("read token ops cannot write"));

    let writer_reading = client.get("/v1/nodes", Some(tokens.write("cp-1")));
    assert_eq!(writer_reading.status, 403);
    assert_eq!(client.get("/v1/nodes", None).status, 401);
    assert_eq!(client.get("/", None).status, 401);
    assert!(client
        .get("/", None)
        .header("www-authenticate")
        .unwrap()
        .starts_with("Basic"));

    assert_eq!(post(Some(tokens.write("cp-1"))).status, 201);
    assert_eq!(rows(dir.path(), "SELECT COUNT(*) FROM reports"), 1);
}

#[test]
fn bodies_too_large_malformed_of_another_schema_or_badly_encoded_are_refused_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(
        dir.path(),
        &["cp-1"],
        &["--max-body", "65536", "--max-report", "262144"],
    );
    let client = collector.client();
    let auth = format!("Bearer {}", tokens.write("cp-1"));
    let send = |encoding: &str, body: &[u8]| {
        let mut headers = vec![
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        if !encoding.is_empty() {
            headers.push(("Content-Encoding", encoding));
        }
        client
            .request("POST", "/v1/reports", &headers, body)
            .unwrap()
    };
    let gzip = |bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    };

    let oversized = send("", &vec![b' '; 70_000]);
    assert_eq!(oversized.status, 413);
    assert!(
        error(&oversized).contains("--max-body"),
        "{}",
        oversized.text()
    );

    // 16 MiB of spaces gzip to about 16 KiB: a bomb under the body limit.
    let bomb = gzip(&vec![b' '; 16 << 20]);
    assert!(bomb.len() < 65_536);
    let exploded = send("gzip", &bomb);
    assert_eq!(exploded.status, 413);
    assert!(error(&exploded).contains("decompresses to more than 262144 bytes"));

    let malformed = send(
        "gzip",
        &gzip(b"{\"schema\": \"schedguard.upload/v1\", \"report_id\": "),
    );
    assert_eq!(malformed.status, 400);
    assert!(
        error(&malformed).starts_with("malformed JSON: EOF while parsing a value at line 1 column"),
        "{}",
        malformed.text()
    );

    let incomplete = send("", br#"{"schema":"schedguard.upload/v1","report_id":"x"}"#);
    assert_eq!(incomplete.status, 400);
    assert!(
        error(&incomplete).contains("missing field"),
        "{}",
        incomplete.text()
    );

    let (_, good) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    let mut json = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&good[..]), &mut json).unwrap();
    let future = String::from_utf8(json.clone())
        .unwrap()
        .replace("schedguard.upload/v1", "schedguard.upload/v2");
    let unknown = send("gzip", &gzip(future.as_bytes()));
    assert_eq!(unknown.status, 422);
    assert!(error(&unknown).contains("\"schedguard.upload/v2\" is not supported"));

    let not_gzip = send("gzip", b"plain text, not gzip");
    assert_eq!(not_gzip.status, 400);
    assert!(error(&not_gzip).contains("not valid gzip"));

    let brotli = send("br", &good);
    assert_eq!(brotli.status, 415);
    assert!(error(&brotli).contains("send gzip or no encoding"));

    assert_eq!(send("gzip", &good).status, 201, "gzip is accepted");
    let (_, other) = reports::with("cp-1", &[("SG-501", Status::Fail)]);
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&other[..]), &mut plain).unwrap();
    assert_eq!(send("", &plain).status, 201, "so is plain JSON");

    let metrics = collector
        .client()
        .get("/metrics", Some(&tokens.read))
        .text();
    for (reason, count) in [
        ("too_large", 2),
        ("malformed", 1),
        ("invalid", 1),
        ("unsupported_schema", 1),
        ("bad_gzip", 1),
        ("unsupported_media_type", 1),
    ] {
        let line =
            format!("schedguard_collector_ingest_errors_total{{reason=\"{reason}\"}} {count}\n");
        assert!(metrics.contains(&line), "no {line:?} in\n{metrics}");
    }
    assert!(metrics.contains("schedguard_collector_reports_total{result=\"stored\"} 2\n"));
}

#[test]
fn a_node_over_its_rate_is_told_when_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(
        dir.path(),
        &["cp-1", "cp-2"],
        &["--rate", "2", "--burst", "2"],
    );
    for _ in 0..2 {
        let (_, body) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
        assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);
    }
    let (_, body) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    let limited = collector.post(&tokens, "cp-1", &body);
    assert_eq!(limited.status, 429, "{}", limited.text());
    let wait: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "Retry-After {wait}");
    assert!(error(&limited).contains("node cp-1 sent more than its rate"));

    let (_, other) = reports::with("cp-2", &[("SG-501", Status::Pass)]);
    assert_eq!(
        collector.post(&tokens, "cp-2", &other).status,
        201,
        "another node has its own budget"
    );
}

#[test]
fn sighup_reloads_the_tokens_file_and_keeps_the_old_one_when_the_new_is_broken() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, mut tokens) = start(dir.path(), &["cp-1"], &[]);
    let token = tokens.add("cp-9");
    let (_, body) = reports::with("cp-9", &[("SG-501", Status::Pass)]);
    assert_eq!(
        collector.client().post_report(&token, &body).status,
        401,
        "not loaded yet"
    );

    collector.signal("HUP");
    wait_until(Duration::from_secs(30), "the reload", || {
        collector
            .log()
            .contains("tokens reloaded: 2 write and 1 read token(s)")
    });
    assert_eq!(collector.client().post_report(&token, &body).status, 201);

    std::fs::write(&tokens.path, "write cp-1 md5:nonsense\n").unwrap();
    collector.signal("HUP");
    wait_until(Duration::from_secs(30), "the refused reload", || {
        collector
            .log()
            .contains("reload refused, keeping the tokens in use")
    });
    assert!(
        collector.log().contains("line 1: the hash must be sha256:"),
        "{}",
        collector.log()
    );
    let (_, again) = reports::with("cp-9", &[("SG-501", Status::Fail)]);
    assert_eq!(collector.client().post_report(&token, &again).status, 201);
}

#[test]
fn queries_answer_which_nodes_fail_a_check_and_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(
        dir.path(),
        &["cp-a", "cp-b", "cp-c"],
        &["--interval", "1s", "--stale-after", "2"],
    );
    let send = |node: &str, statuses: &[(&str, Status)]| {
        let (_, body) = reports::with(node, statuses);
        let r = collector.post(&tokens, node, &body);
        assert_eq!(r.status, 201, "{}", r.text());
    };
    send("cp-c", &[("SG-501", Status::Pass)]);
    send(
        "cp-a",
        &[("SG-501", Status::Fail), ("SG-301", Status::Pass)],
    );
    send(
        "cp-b",
        &[("SG-501", Status::Pass), ("SG-301", Status::Pass)],
    );
    send(
        "cp-b",
        &[("SG-501", Status::Fail), ("SG-301", Status::Pass)],
    );

    let failing = collector.query(&tokens, "/v1/findings?check=SG-501&status=fail");
    assert_eq!(
        support::fleet::column(&failing["findings"], "node"),
        ["cp-a", "cp-b"]
    );
    assert_eq!(failing["findings"][0]["severity"], "critical");

    let changes = collector.query(&tokens, "/v1/nodes/cp-b/changes?since=1h");
    let transitions: Vec<(String, String, String)> = changes["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].to_string(),
                c["from"].to_string(),
                c["to"].to_string(),
            )
        })
        .collect();
    assert_eq!(
        transitions[0],
        ("\"SG-501\"".into(), "\"pass\"".into(), "\"fail\"".into()),
        "{transitions:?}"
    );
    assert_eq!(
        transitions.len(),
        3,
        "first report's two checks, then one change"
    );

    let node = collector.query(&tokens, "/v1/nodes/cp-b");
    assert_eq!(
        node["latest_report"]["report"]["findings"][0]["check"],
        "SG-501"
    );
    assert_eq!(node["findings"].as_array().unwrap().len(), 2);
    let missing = collector
        .client()
        .get("/v1/nodes/nobody", Some(&tokens.read));
    assert_eq!(missing.status, 404);
    let bad = collector
        .client()
        .get("/v1/findings?status=failed", Some(&tokens.read));
    assert_eq!(bad.status, 400);
    assert!(error(&bad).contains("\"failed\" is not one of"));

    // cp-c reported first and never again: stale after 2 intervals of 1s.
    wait_until(Duration::from_secs(30), "cp-c to go stale", || {
        let nodes = collector.query(&tokens, "/v1/nodes");
        nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["node"] == "cp-c" && n["stale"] == true)
    });
}

#[test]
fn retention_keeps_the_last_reports_of_a_node_and_every_status_change() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(dir.path(), &["cp-1"], &["--keep-reports", "3"]);
    for i in 0..12 {
        let status = if i % 2 == 0 {
            Status::Fail
        } else {
            Status::Pass
        };
        let (_, body) = reports::with("cp-1", &[("SG-501", status)]);
        assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);
    }
    let kept = collector.report_ids(&tokens, "cp-1").len();
    assert!((3..=4).contains(&kept), "{kept} reports kept");
    let changes = collector.query(&tokens, "/v1/nodes/cp-1/changes");
    assert_eq!(
        changes["changes"].as_array().unwrap().len(),
        12,
        "every change is kept"
    );
}

#[test]
fn a_restart_keeps_everything_in_the_sqlite_file_without_migrating_again() {
    let dir = tempfile::tempdir().unwrap();
    let (mut collector, tokens) = start(dir.path(), &["cp-1"], &[]);
    assert!(collector.log().contains("migrated to schema version 1"));
    let (id, body) = reports::with("cp-1", &[("SG-501", Status::Fail)]);
    assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);
    assert_eq!(collector.stop(), Some(0), "{}", collector.log());
    assert!(collector.log().contains("collector stopped"));

    collector.restart();
    assert!(!collector.log().contains("migrated"), "{}", collector.log());
    assert_eq!(collector.report_ids(&tokens, "cp-1"), [id]);
    assert_eq!(
        collector.post(&tokens, "cp-1", &body).status,
        200,
        "still a duplicate"
    );
}

#[test]
fn metrics_show_the_fleet_and_health_endpoints_answer() {
    let dir = tempfile::tempdir().unwrap();
    let (collector, tokens) = start(dir.path(), &["cp-1", "cp-2"], &[]);
    let (_, a) = reports::with(
        "cp-1",
        &[("SG-501", Status::Fail), ("SG-303", Status::Fail)],
    );
    let (_, b) = reports::with(
        "cp-2",
        &[("SG-501", Status::Fail), ("SG-303", Status::Pass)],
    );
    assert_eq!(collector.post(&tokens, "cp-1", &a).status, 201);
    assert_eq!(collector.post(&tokens, "cp-2", &b).status, 201);
    let client = collector.client();

    assert_eq!(client.get("/healthz", None).status, 200);
    assert_eq!(client.get("/readyz", None).text(), "ready\n");
    assert_eq!(
        client.get("/metrics", None).status,
        401,
        "a read token is needed"
    );
    let text = client.get("/metrics", Some(&tokens.read)).text();
    for line in [
        "schedguard_collector_nodes 2\n",
        "schedguard_collector_nodes_stale 0\n",
        "schedguard_collector_nodes_failing{check=\"SG-501\",severity=\"critical\"} 2\n",
        "schedguard_collector_nodes_failing{check=\"SG-303\",severity=\"critical\"} 1\n",
        "schedguard_collector_database_up 1\n",
        "schedguard_collector_tokens{kind=\"write\"} 2\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }

    // Prometheus' own parser, when it is installed (.ci/run installs it).
    if support::prometheus::available() {
        support::prometheus::parse(
            &text,
            "assert families['schedguard_collector_reports'].type == 'counter'\n\
             assert families['schedguard_collector_ingest_duration_seconds'].type == 'histogram'\n\
             assert families['schedguard_collector_nodes_failing'].type == 'gauge'",
        );
    }
}

#[test]
fn plain_http_is_served_only_when_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-1"]);
    let output = support::run(
        &[
            "collector",
            "--tokens",
            tokens.path.to_str().unwrap(),
            "--database",
            &sqlite(dir.path()),
        ],
        Duration::from_secs(30),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("give --tls-cert and --tls-key (or --insecure-http"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let collector = Collector::start(
        dir.path(),
        &tokens,
        &sqlite(dir.path()),
        &["--insecure-http"],
    );
    assert!(collector
        .log()
        .contains("serving plain HTTP (--insecure-http)"));
    let (_, body) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);
}

#[test]
fn a_world_readable_key_or_a_group_writable_tokens_file_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-1"]);
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let key = dir.path().join("open.key");
    support::write(
        &key,
        &std::fs::read_to_string(support.join("test-server.key")).unwrap(),
        0o644,
    );
    let cert = support.join("test-server.crt");
    let args = |key: &Path| {
        vec![
            "collector".to_string(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--tokens".into(),
            tokens.path.display().to_string(),
            "--database".into(),
            sqlite(dir.path()),
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ]
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = support::run(&args, Duration::from_secs(30));
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stderr) = run(args(&key));
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("is readable by every user (chmod o-r, or 600)"),
        "{stderr}"
    );

    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&tokens.path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (code, stderr) = run(args(&key));
    assert_eq!(code, Some(2));
    assert!(stderr.contains("writable by group or others"), "{stderr}");
}

#[test]
fn the_token_helper_prints_a_token_and_appends_the_line_that_admits_it() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &[]);
    let file = tokens.path.to_str().unwrap();
    let output = support::run(
        &["collector", "token", "cp-7", "--append", file],
        Duration::from_secs(30),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("sg_") && token.len() == 67, "{token}");
    let text = std::fs::read_to_string(&tokens.path).unwrap();
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("write cp-7 sha256:"),
        "{text}"
    );
    assert!(!text.contains(&token), "the token itself is never stored");

    let refused = support::run(&["collector", "token", "cp 7"], Duration::from_secs(30));
    assert_eq!(refused.status.code(), Some(2));

    let collector = Collector::start(dir.path(), &tokens, &sqlite(dir.path()), &[]);
    let (_, body) = reports::with("cp-7", &[("SG-501", Status::Pass)]);
    assert_eq!(collector.client().post_report(&token, &body).status, 201);
}

/// The shipped unit, with ExecStart pointing at the built binary (verify
/// wants the binary to exist), passes `systemd-analyze verify` and keeps a
/// low exposure score.
#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("SCHEDGUARD_REQUIRE_SYSTEMD").is_none(),
            "systemd-analyze is missing and SCHEDGUARD_REQUIRE_SYSTEMD is set"
        );
        eprintln!("NOTICE: skipping: systemd-analyze is not installed");
        return;
    }
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/schedguard-collector.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(text.contains("ExecStart=/usr/bin/schedguard collector"));
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("schedguard-collector.service");
    std::fs::write(
        &copy,
        text.replace("/usr/bin/schedguard", env!("CARGO_BIN_EXE_schedguard")),
    )
    .unwrap();
    let output = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let complaints: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("schedguard-collector.service"))
        .collect();
    assert!(complaints.is_empty(), "{stderr}");

    // Hardening: systemd's own exposure score stays "OK" (2.0 or less).
    let security = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20"])
        .arg(&copy)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "{report}");
    assert!(report.contains("Overall exposure level"), "{report}");
}

#[test]
fn schedguard_collector_runs_the_collector_executable_beside_it_or_says_it_is_missing() {
    // Beside it (as installed, and in target/): the same process, so
    // systemd's Type=notify sees the pid it started.
    let dir = tempfile::tempdir().unwrap();
    let (collector, _tokens) = start(dir.path(), &["cp-1"], &[]);
    let exe = std::fs::read_link(format!("/proc/{}/exe", collector.pid())).unwrap();
    assert_eq!(
        exe.file_name().unwrap(),
        "schedguard-collector",
        "{}",
        exe.display()
    );
    drop(collector);
    let minted = Command::new(env!("CARGO_BIN_EXE_schedguard"))
        .args(["collector", "token", "cp-1"])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    assert!(String::from_utf8_lossy(&minted.stdout).starts_with("sg_"));
    assert!(String::from_utf8_lossy(&minted.stderr).contains("write cp-1 sha256:"));

    // A schedguard copied alone: a clear error, exit code 2.
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("schedguard");
    std::fs::copy(env!("CARGO_BIN_EXE_schedguard"), &alone).unwrap();
    let output = Command::new(&alone)
        .args(["collector", "token", "cp-1"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "cannot run {}",
            dir.path().join("schedguard-collector").display()
        )) && stderr.contains("installed beside schedguard"),
        "{stderr}"
    );
}
