//! `schedguard collector --database postgres://...` against a real
//! PostgreSQL server that each test starts privately on loopback (see
//! tests/support/postgres.rs): ingest, redelivery, queries and retention;
//! two collectors sharing one database; TLS to the database, verified; and
//! the database going away and coming back. Set SCHEDGUARD_SKIP_POSTGRES=1
//! to skip them where PostgreSQL cannot be installed.

mod support;

use schedguard::checks::Status;
use std::time::Duration;
use support::fleet::{Collector, Tokens};
use support::postgres::Postgres;
use support::{reports, wait_until};

#[test]
fn a_collector_on_postgres_stores_reports_once_and_answers_queries() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-a", "cp-b"]);
    let collector = Collector::start(dir.path(), &tokens, &pg.url(), &["--keep-reports", "3"]);
    assert!(
        collector.log().contains("migrated to schema version 1"),
        "{}",
        collector.log()
    );
    assert!(
        collector
            .log()
            .contains("database postgres://fleet:***@127.0.0.1"),
        "the password stays out of the log: {}",
        collector.log()
    );

    let (id, body) = reports::with(
        "cp-a",
        &[("SG-501", Status::Fail), ("SG-101", Status::Pass)],
    );
    assert_eq!(collector.post(&tokens, "cp-a", &body).status, 201);
    assert_eq!(
        collector.post(&tokens, "cp-a", &body).status,
        200,
        "redelivery"
    );
    assert_eq!(
        collector.report_ids(&tokens, "cp-a"),
        std::slice::from_ref(&id)
    );

    for i in 0..10 {
        let status = if i % 2 == 0 {
            Status::Pass
        } else {
            Status::Fail
        };
        let (_, body) = reports::with("cp-b", &[("SG-501", status)]);
        assert_eq!(collector.post(&tokens, "cp-b", &body).status, 201);
    }
    let kept = collector.report_ids(&tokens, "cp-b").len();
    assert!((3..=4).contains(&kept), "{kept} kept");
    let changes = collector.query(&tokens, "/v1/nodes/cp-b/changes?since=1h");
    assert_eq!(changes["changes"].as_array().unwrap().len(), 10);

    let failing = collector.query(&tokens, "/v1/findings?check=SG-501&status=fail");
    assert_eq!(
        support::fleet::column(&failing["findings"], "node"),
        ["cp-a", "cp-b"]
    );
    let node = collector.query(&tokens, &format!("/v1/nodes/cp-a/reports/{id}"));
    assert_eq!(node["sender"]["node"], "cp-a");
    assert_eq!(collector.client().get("/readyz", None).status, 200);
}

#[test]
fn two_collectors_share_one_postgres_database() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-1", "cp-2"]);
    let (one, two) = std::thread::scope(|s| {
        // Both start (and migrate) at the same time.
        let a = s.spawn(|| Collector::start(dir.path(), &tokens, &pg.url(), &[]));
        let b = s.spawn(|| Collector::start(dir.path(), &tokens, &pg.url(), &[]));
        (a.join().unwrap(), b.join().unwrap())
    });

    let (id, body) = reports::with("cp-1", &[("SG-501", Status::Fail)]);
    assert_eq!(one.post(&tokens, "cp-1", &body).status, 201);
    let again = two.post(&tokens, "cp-1", &body);
    assert_eq!(
        again.status,
        200,
        "the other collector knows it: {}",
        again.text()
    );

    // Concurrent writes for both nodes through both collectors.
    std::thread::scope(|s| {
        for collector in [&one, &two] {
            for node in ["cp-1", "cp-2"] {
                let tokens = &tokens;
                s.spawn(move || {
                    for _ in 0..10 {
                        let (_, body) = reports::with(node, &[("SG-501", Status::Pass)]);
                        let r = collector.post(tokens, node, &body);
                        assert_eq!(r.status, 201, "{}\n{}", r.text(), collector.log());
                    }
                });
            }
        }
    });
    for collector in [&one, &two] {
        let ids = collector.report_ids(&tokens, "cp-1");
        assert_eq!(ids.len(), 21);
        assert!(ids.contains(&id));
        assert_eq!(collector.report_ids(&tokens, "cp-2").len(), 20);
        let changes = collector.query(&tokens, "/v1/nodes/cp-1/changes");
        assert_eq!(
            support::fleet::column(&changes["changes"], "to"),
            ["pass", "fail"],
            "one change, however the writes interleaved"
        );
    }
}

#[test]
fn tls_to_postgres_is_verified_against_the_given_ca() {
    let Some(pg) = Postgres::start_with_tls() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-1"]);
    let ca = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-ca.crt");
    let url = format!("{}?sslmode=require", pg.url());
    let collector = Collector::start(
        dir.path(),
        &tokens,
        &url,
        &["--database-ca-file", ca.to_str().unwrap()],
    );
    let (_, body) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);

    // Without the test CA, the system's roots do not vouch for the server.
    let output = support::run(
        &[
            "collector",
            "--insecure-http",
            "--listen",
            "127.0.0.1:0",
            "--tokens",
            tokens.path.to_str().unwrap(),
            "--database",
            &url,
        ],
        Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot open the database postgres://fleet:***@"),
        "{stderr}"
    );
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
}

#[test]
fn while_postgres_is_down_uploads_get_503_and_afterwards_they_are_stored() {
    let Some(mut pg) = Postgres::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &["cp-1"]);
    let collector = Collector::start(dir.path(), &tokens, &pg.url(), &[]);
    let (_, first) = reports::with("cp-1", &[("SG-501", Status::Pass)]);
    assert_eq!(collector.post(&tokens, "cp-1", &first).status, 201);

    pg.stop();
    let client = collector.client();
    wait_until(Duration::from_secs(30), "/readyz to fail", || {
        client.get("/readyz", None).status == 503
    });
    let (id, body) = reports::with("cp-1", &[("SG-501", Status::Fail)]);
    let refused = collector.post(&tokens, "cp-1", &body);
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert!(refused.header("retry-after").is_some());
    let metrics = client.get("/metrics", Some(&tokens.read)).text();
    assert!(
        metrics.contains("schedguard_collector_database_up 0"),
        "{metrics}"
    );

    pg.resume();
    wait_until(Duration::from_secs(60), "/readyz to recover", || {
        client.get("/readyz", None).status == 200
    });
    assert_eq!(collector.post(&tokens, "cp-1", &body).status, 201);
    assert!(collector.report_ids(&tokens, "cp-1").contains(&id));
}
