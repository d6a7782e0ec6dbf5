//! The real collector as a process the test starts, stops, kills and
//! restarts on the same port and database; its tokens file made with the
//! library's own token functions, as `schedguard collector token` makes it.

use crate::support::http::{Client, Response};
use crate::support::{free_port, schedguard, spawn, wait_until, write, Running};
use schedguard::collector::tokens::{self, Role};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The tokens file and the tokens in it.
pub struct Tokens {
    pub path: PathBuf,
    pub read: String,
    writes: BTreeMap<String, String>,
    lines: Vec<String>,
}

impl Tokens {
    /// A write token for each node and one read token (named `ops`).
    pub fn create(dir: &Path, nodes: &[&str]) -> Tokens {
        let read = tokens::mint().unwrap();
        let mut t = Tokens {
            path: dir.join("collector-tokens"),
            lines: vec![tokens::line(&Role::Read { name: "ops".into() }, &read)],
            read,
            writes: BTreeMap::new(),
        };
        for node in nodes {
            t.insert(node);
        }
        t.save();
        t
    }

    fn insert(&mut self, node: &str) -> String {
        let token = tokens::mint().unwrap();
        self.lines
            .push(tokens::line(&Role::Write { node: node.into() }, &token));
        self.writes.insert(node.to_string(), token.clone());
        token
    }

    fn save(&self) {
        write(&self.path, &(self.lines.join("\n") + "\n"), 0o644);
    }

    /// Adds a write token for `node` and rewrites the file.
    pub fn add(&mut self, node: &str) -> String {
        let token = self.insert(node);
        self.save();
        token
    }

    pub fn write(&self, node: &str) -> &str {
        &self.writes[node]
    }
}

/// One field of every object in a JSON list, as text.
pub fn column(list: &serde_json::Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_string())
        .collect()
}

/// A running (or stopped) collector.
pub struct Collector {
    pub port: u16,
    pub dir: PathBuf,
    pub tls: bool,
    /// Started with --client-ca: its own requests present the test
    /// client certificate.
    client_certificate: bool,
    args: Vec<String>,
    process: Option<Running>,
    starts: usize,
}

impl Collector {
    /// Starts over HTTPS (the test certificate) with `database` and extra
    /// flags, on a free port.
    pub fn start(dir: &Path, tokens: &Tokens, database: &str, extra: &[&str]) -> Collector {
        Self::start_on(free_port(), dir, tokens, database, extra)
    }

    pub fn start_on(
        port: u16,
        dir: &Path,
        tokens: &Tokens,
        database: &str,
        extra: &[&str],
    ) -> Collector {
        let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
        let key = dir.join("tls.key");
        if !key.exists() {
            let text = std::fs::read_to_string(support.join("test-server.key")).unwrap();
            write(&key, &text, 0o600);
        }
        let tls = !extra.contains(&"--insecure-http");
        let client_certificate = extra.contains(&"--client-ca");
        let mut args: Vec<String> = vec![
            "collector".into(),
            "--listen".into(),
            format!("127.0.0.1:{port}"),
            "--tokens".into(),
            tokens.path.display().to_string(),
            "--database".into(),
            database.into(),
        ];
        if tls {
            args.extend([
                "--tls-cert".into(),
                support.join("test-server.crt").display().to_string(),
                "--tls-key".into(),
                key.display().to_string(),
            ]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut collector = Collector {
            port,
            dir: dir.to_path_buf(),
            tls,
            client_certificate,
            args,
            process: None,
            starts: 0,
        };
        collector.launch();
        collector
    }

    /// The log of the latest start.
    pub fn log_path(&self) -> PathBuf {
        self.dir
            .join(format!("collector-{}-{}.log", self.port, self.starts))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn launch(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).unwrap();
        let mut command = schedguard();
        command
            .args(&self.args)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("CREDENTIALS_DIRECTORY")
            .env_remove("STATE_DIRECTORY")
            .env("SCHEDGUARD_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut process = Running {
            child: spawn(&mut command),
        };
        let client = self.client();
        wait_until(Duration::from_secs(60), "the collector to answer", || {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!("the collector exited ({status}):\n{}", self.log());
            }
            client
                .request("GET", "/healthz", &[], b"")
                .is_ok_and(|r| r.status == 200)
        });
        self.process = Some(process);
    }

    pub fn client(&self) -> Client {
        if self.client_certificate {
            Client::https_with_certificate(self.port)
        } else if self.tls {
            Client::https(self.port)
        } else {
            Client::plain(self.port)
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").pid()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGKILL, and reaped.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns the exit code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut p = self.process.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &p.pid().to_string()])
            .status();
        let mut code = None;
        wait_until(
            Duration::from_secs(30),
            "the collector to stop",
            || match p.child.try_wait() {
                Ok(Some(status)) => {
                    code = status.code();
                    true
                }
                _ => false,
            },
        );
        code
    }

    /// Starts again on the same port, database and flags.
    pub fn restart(&mut self) {
        assert!(self.process.is_none(), "stop or kill it first");
        self.launch();
    }

    /// GET with the read token, expecting 200 JSON.
    pub fn query(&self, tokens: &Tokens, path: &str) -> serde_json::Value {
        let r = self.client().get(path, Some(&tokens.read));
        assert_eq!(r.status, 200, "GET {path}: {}", r.text());
        r.json()
    }

    /// POSTs a gzipped envelope with `node`'s write token.
    pub fn post(&self, tokens: &Tokens, node: &str, body: &[u8]) -> Response {
        self.client().post_report(tokens.write(node), body)
    }

    /// The report ids stored for `node`, newest first.
    pub fn report_ids(&self, tokens: &Tokens, node: &str) -> Vec<String> {
        let reports = self.query(tokens, &format!("/v1/nodes/{node}/reports?limit=10000"));
        column(&reports["reports"], "report_id")
    }
}
