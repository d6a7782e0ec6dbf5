//! End to end: the real `schedguard agent` delivering to the real collector
//! while the collector is killed with SIGKILL again and again (mid-delivery
//! of the agent's backlog) and restarted on the same port and database.
//! Every report the agent made is stored exactly once, or still waits in its
//! spool; none is lost. On SQLite and on PostgreSQL. Also: client
//! certificates, and a report too large for the collector.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::fleet::{Collector, Tokens};
use support::free_port;
use support::postgres::Postgres;
use support::{schedguard, spawn, wait_until, write, Running};

const NODE: &str = "cp-e2e";

struct Agent {
    process: Running,
    log: std::path::PathBuf,
    spool: std::path::PathBuf,
}

impl Agent {
    /// Starts the agent; `extra` lines are added to its configuration.
    fn start(dir: &Path, collector: &Collector, tokens: &Tokens, extra: &str) -> Agent {
        let token = dir.join("agent.token");
        write(&token, &format!("{}\n", tokens.write(NODE)), 0o600);
        let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-ca.crt");
        let spool = dir.join("spool");
        let config = dir.join("agent.yaml");
        write(
            &config,
            &format!(
                "interval: 1s\nno_network: true\nreport_url: https://127.0.0.1:{}/v1/reports\n\
                 token_file: {}\nca_file: {}\nspool_dir: {}\nlisten: 127.0.0.1:{}\nnode_name: {NODE}\n{extra}",
                collector.port,
                token.display(),
                ca.display(),
                spool.display(),
                free_port()
            ),
            0o600,
        );
        let log = dir.join("agent.log");
        let mut command = schedguard();
        command
            .args(["agent", "--config"])
            .arg(&config)
            .env_remove("NOTIFY_SOCKET")
            .env("SCHEDGUARD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        Agent {
            process: Running {
                child: spawn(&mut command),
            },
            log,
            spool,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Report ids waiting in the spool (`<sequence>-<id>.report`).
    fn spooled(&self) -> Vec<String> {
        std::fs::read_dir(&self.spool)
            .map(|d| {
                d.flatten()
                    .filter_map(|e| {
                        let name = e.file_name().to_string_lossy().into_owned();
                        let stem = name.strip_suffix(".report")?;
                        Some(stem.split_once('-')?.1.to_string())
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Reports made: the agent logs one line per audit, after spooling it.
    fn made(&self) -> usize {
        self.log()
            .lines()
            .filter(|l| l.contains(" audit: ") && l.contains("target(s)"))
            .count()
    }

    /// SIGTERM, and waits for the exit.
    fn stop(&mut self) {
        let pid = self.process.pid().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let child = &mut self.process.child;
        wait_until(Duration::from_secs(30), "the agent to stop", || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
    }
}

fn delivers_through_sigkills(database: &str, dir: &Path) {
    let tokens = Tokens::create(dir, &[NODE]);
    let mut collector = Collector::start(dir, &tokens, database, &[]);
    let mut agent = Agent::start(dir, &collector, &tokens, "");
    let stored = |c: &Collector| c.report_ids(&tokens, NODE).len();
    wait_until(Duration::from_secs(60), "the first reports", || {
        stored(&collector) >= 2
    });

    for cycle in 0..3 {
        collector.kill();
        wait_until(
            Duration::from_secs(60),
            "reports to pile up in the spool",
            || agent.spooled().len() >= 2,
        );
        collector.restart();
        let before = stored(&collector);
        // Kill again as soon as the backlog starts to flow.
        wait_until(Duration::from_secs(120), "the backlog to flow", || {
            stored(&collector) > before
        });
        eprintln!("cycle {cycle}: {} stored", stored(&collector));
    }
    collector.kill();
    std::thread::sleep(Duration::from_millis(300));
    collector.restart();
    wait_until(Duration::from_secs(120), "the spool to drain", || {
        agent.spooled().is_empty() && stored(&collector) >= agent.made().saturating_sub(1)
    });
    agent.stop();

    let ids = collector.report_ids(&tokens, NODE);
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "a report was stored twice");
    let waiting = agent.spooled();
    let all: HashSet<&String> = ids.iter().chain(waiting.iter()).collect();
    let made = agent.made();
    assert_eq!(
        all.len(),
        made,
        "{made} reports made, {} stored, {} still spooled: some were lost\n{}",
        ids.len(),
        waiting.len(),
        agent.log()
    );
    assert!(!agent.log().contains("rejected"), "{}", agent.log());
    assert!(made >= 8, "only {made} reports made");
}

#[test]
fn the_real_agent_loses_nothing_while_a_collector_on_sqlite_is_killed_and_restarted() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("collector.db").display());
    delivers_through_sigkills(&database, dir.path());
}

#[test]
fn the_real_agent_loses_nothing_while_a_collector_on_postgres_is_killed_and_restarted() {
    let Some(pg) = Postgres::start() else { return };
    let dir = tempfile::tempdir().unwrap();
    delivers_through_sigkills(&pg.url(), dir.path());
}

#[test]
fn a_collector_requiring_client_certificates_takes_the_agents_and_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
    let ca = support.join("test-ca.crt");
    let tokens = Tokens::create(dir.path(), &[NODE]);
    let database = format!("sqlite:{}", dir.path().join("collector.db").display());
    let collector = Collector::start(
        dir.path(),
        &tokens,
        &database,
        &["--client-ca", ca.to_str().unwrap()],
    );
    let anonymous =
        support::http::Client::https(collector.port).request("GET", "/healthz", &[], b"");
    assert!(
        !matches!(&anonymous, Ok(r) if r.status == 200),
        "a client without a certificate got in: {anonymous:?}"
    );

    let key = dir.path().join("client.key");
    write(
        &key,
        &std::fs::read_to_string(support.join("test-client.key")).unwrap(),
        0o600,
    );
    let extra = format!(
        "client_cert: {}\nclient_key: {}\n",
        support.join("test-client.crt").display(),
        key.display()
    );
    let mut agent = Agent::start(dir.path(), &collector, &tokens, &extra);
    wait_until(
        Duration::from_secs(60),
        "a report through mutual TLS",
        || !collector.report_ids(&tokens, NODE).is_empty(),
    );
    agent.stop();
}

/// A report over --max-body gets 413, which the agent acts on: dropped,
/// not retried forever.
#[test]
fn the_real_agent_drops_a_report_the_collector_finds_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Tokens::create(dir.path(), &[NODE]);
    let database = format!("sqlite:{}", dir.path().join("collector.db").display());
    let collector = Collector::start(dir.path(), &tokens, &database, &["--max-body", "1024"]);
    // A scheduler to audit, so that the report has findings (some KB).
    let _scheduler = support::start(
        Command::new(support::install_fake(dir.path())),
        "kube-scheduler",
    );
    let mut agent = Agent::start(dir.path(), &collector, &tokens, "");
    wait_until(
        Duration::from_secs(60),
        "the agent to drop a report",
        || agent.log().contains("rejected report"),
    );
    assert!(
        agent.log().contains("(413 {\"error\":\"the body is"),
        "{}",
        agent.log()
    );
    agent.stop();
    assert!(collector.report_ids(&tokens, NODE).is_empty());
}
