//! A private PostgreSQL server for one test: `initdb` into a temporary
//! directory, then `postgres` on a free loopback port (and a socket in that
//! directory), with SCRAM passwords and optionally TLS with the test
//! certificate. PostgreSQL refuses to run as root, so under root it runs as
//! the `postgres` user (or `nobody`). Stopped by pid when dropped.
//!
//! The binaries come from `$SCHEDGUARD_POSTGRES_BIN`, the newest
//! /usr/lib/postgresql/*/bin (Debian's `postgresql` package), or `$PATH`.
//! Without them a test fails, unless `SCHEDGUARD_SKIP_POSTGRES=1` asks to
//! skip it.

use crate::support::{wait_until, write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Postgres {
    pub port: u16,
    pub password: String,
    dir: tempfile::TempDir,
    bin: PathBuf,
    owner: Option<(u32, u32)>,
    tls: bool,
    process: Option<Child>,
}

fn bindir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SCHEDGUARD_POSTGRES_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_string_lossy().parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|p| p.join("initdb").exists() && p.join("postgres").exists())
    })
}

/// The uid and gid of a user, from /etc/passwd.
fn account(name: &str) -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[0] == name).then(|| Some((f[2].parse().ok()?, f[3].parse().ok()?)))?
    })
}

impl Postgres {
    /// Starts a server; `None` only when SCHEDGUARD_SKIP_POSTGRES is set.
    pub fn start() -> Option<Postgres> {
        Self::start_with(false)
    }

    /// Starts a server that also offers TLS with the test certificate.
    pub fn start_with_tls() -> Option<Postgres> {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Option<Postgres> {
        let Some(bin) = bindir() else {
            if std::env::var_os("SCHEDGUARD_SKIP_POSTGRES").is_some() {
                eprintln!(
                    "NOTICE: skipping: no PostgreSQL binaries and SCHEDGUARD_SKIP_POSTGRES is set"
                );
                return None;
            }
            panic!("PostgreSQL is needed (apt-get install postgresql, or set SCHEDGUARD_POSTGRES_BIN); set SCHEDGUARD_SKIP_POSTGRES=1 to skip these tests");
        };
        let owner = if rustix::process::geteuid().is_root() {
            Some(
                account("postgres")
                    .or_else(|| account("nobody"))
                    .expect("a postgres or nobody user"),
            )
        } else {
            None
        };
        let dir = tempfile::Builder::new().prefix("sg-pg").tempdir().unwrap();
        let password = schedguard::collector::tokens::mint().unwrap();
        let mut pg = Postgres {
            port: crate::support::free_port(),
            password,
            dir,
            bin,
            owner,
            tls,
            process: None,
        };
        pg.own(pg.dir.path(), 0o700);
        let pwfile = pg.dir.path().join("password");
        write(&pwfile, &pg.password, 0o600);
        pg.own(&pwfile, 0o600);
        if tls {
            let support = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support");
            for (from, to) in [
                ("test-server.crt", "server.crt"),
                ("test-server.key", "server.key"),
            ] {
                let path = pg.dir.path().join(to);
                write(
                    &path,
                    &std::fs::read_to_string(support.join(from)).unwrap(),
                    0o600,
                );
                pg.own(&path, 0o600);
            }
        }

        let output = pg
            .command("initdb")
            .arg("-D")
            .arg(pg.data())
            .args([
                "-U",
                "fleet",
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .expect("initdb runs");
        assert!(
            output.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        pg.resume();
        Some(pg)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn own(&self, path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        if let Some((uid, gid)) = self.owner {
            std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin.join(program));
        if let Some((uid, gid)) = self.owner {
            command.uid(uid).gid(gid);
        }
        command.current_dir(self.dir.path()).stdin(Stdio::null());
        command
    }

    /// (Re)starts the server on the same port and data.
    pub fn resume(&mut self) {
        assert!(self.process.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("postgres.log"))
            .unwrap();
        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(self.data())
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "max_connections=40",
                "-c",
                "shared_buffers=64MB",
            ])
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if self.tls {
            // Relative paths would be read from the data directory.
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            command.args(["-c", "ssl=on", "-c"]);
            command.arg(format!("ssl_cert_file={}", file("server.crt")));
            command
                .arg("-c")
                .arg(format!("ssl_key_file={}", file("server.key")));
        }
        let mut child = command.spawn().expect("postgres starts");
        let isready = self.bin.join("pg_isready");
        let port = self.port.to_string();
        wait_until(
            Duration::from_secs(60),
            "PostgreSQL to accept connections",
            || {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("postgres exited ({status}): {}", self.log());
                }
                Command::new(&isready)
                    .args(["-q", "-h", "127.0.0.1", "-p", &port])
                    .status()
                    .is_ok_and(|s| s.success())
            },
        );
        self.process = Some(child);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }

    /// A URL with the password, for `--database`.
    pub fn url(&self) -> String {
        format!(
            "postgres://fleet:{}@127.0.0.1:{}/postgres",
            self.password, self.port
        )
    }

    /// Fast shutdown (SIGINT), SIGKILL if it lingers.
    pub fn stop(&mut self) {
        let Some(mut child) = self.process.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        for _ in 0..300 {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
