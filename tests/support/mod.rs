//! Shared helpers for the integration tests: the built binary, processes
//! that are killed by pid when the test ends (even on failure), and
//! polling with generous limits.

#![allow(dead_code)]

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The schedguard binary under test.
pub fn schedguard() -> Command {
    Command::new(env!("CARGO_BIN_EXE_schedguard"))
}

/// Runs schedguard with a time limit, killing it by pid if it hangs. Output
/// is read while it runs, so a large report cannot fill the pipe.
pub fn run(args: &[&str], limit: Duration) -> Output {
    let mut command = schedguard();
    command.args(args);
    run_command(command, limit)
}

/// Runs a command (such as schedguard inside a network namespace) the way
/// [`run`] runs schedguard.
pub fn run_command(mut command: Command, limit: Duration) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    wait_output(child, limit)
}

/// Waits for a child started with piped output; kills it by pid (and
/// fails) if it outlives `limit`.
pub fn wait_output(child: Child, limit: Duration) -> Output {
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    match finished.recv_timeout(limit) {
        Ok(output) => output.expect("output is read"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("pid {pid} did not finish within {limit:?}");
        }
    }
}

/// `schedguard audit --format json` (plus `extra`), parsed.
pub fn audit_json(extra: &[&str]) -> (Value, i32) {
    let mut args = vec!["audit", "--format", "json"];
    args.extend_from_slice(extra);
    let output = run(&args, Duration::from_secs(60));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "audit output is not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (report, output.status.code().unwrap_or(-1))
}

/// The findings of one target.
pub fn findings(report: &Value, pid: u32) -> Vec<Value> {
    report["findings"]
        .as_array()
        .expect("findings is a list")
        .iter()
        .filter(|f| f["target"]["pid"].as_u64() == Some(u64::from(pid)))
        .cloned()
        .collect()
}

/// The single finding of a check for a target.
pub fn finding(report: &Value, pid: u32, check: &str) -> Value {
    let all: Vec<Value> = findings(report, pid)
        .into_iter()
        .filter(|f| f["check"] == check)
        .collect();
    assert!(
        !all.is_empty(),
        "no {check} finding for pid {pid} in {report:#}"
    );
    all[0].clone()
}

pub fn status(report: &Value, pid: u32, check: &str) -> String {
    finding(report, pid, check)["status"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Polls `f` every 20 ms until it returns true or `limit` passes.
pub fn wait_until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let started = Instant::now();
    while !f() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A process the test started; killed by pid and reaped on drop.
pub struct Running {
    pub child: Child,
}

impl Running {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stand-in scheduler, compiled once per test binary from
/// tests/support/fake_kube_scheduler.rs with the same rustc that cargo uses.
/// Tests link to this file rather than copying it: a copy being written
/// while another thread forks would make that thread's exec fail (ETXTBSY).
fn shared_copy() -> &'static Path {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        // Compiled under a name of its own, then renamed into place, so that
        // no process ever runs a half-written file.
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
        let path = dir.join("kube-scheduler");
        let building = dir.join(format!("kube-scheduler.{}", std::process::id()));
        let source =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fake_kube_scheduler.rs");
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let status = Command::new(rustc)
            .args(["--edition", "2021", "-O", "-o"])
            .arg(&building)
            .arg(&source)
            .status()
            .expect("rustc runs");
        assert!(status.success(), "the stand-in compiles");
        std::fs::set_permissions(&building, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::rename(&building, &path).expect("move the stand-in into place");
        path
    })
}

/// Installs the stand-in in `dir` as `kube-scheduler` (a hard link, or a
/// copy across file systems) and returns its path.
pub fn install_fake(dir: &Path) -> PathBuf {
    install_fake_as(dir, "kube-scheduler")
}

/// Installs the stand-in in `dir` under another name (`k3s`, `kubelet`...).
pub fn install_fake_as(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    if !path.exists() && std::fs::hard_link(shared_copy(), &path).is_err() {
        std::fs::copy(shared_copy(), &path).expect("copy the stand-in");
    }
    path
}

/// Copies the shared libraries a binary needs (as `ldd` lists them) into
/// `rootfs`, so that it runs after `chroot rootfs`.
pub fn copy_libraries(binary: &Path, rootfs: &Path) {
    let output = Command::new("ldd").arg(binary).output().expect("ldd runs");
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Some(path) = line.split_whitespace().find(|w| w.starts_with('/')) else {
            continue;
        };
        let inside = rootfs.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::copy(path, &inside).expect("copy a library");
    }
}

/// Spawns a command, retrying while its executable is busy: a thread that
/// forked while the file was being written holds it open until it execs.
pub fn spawn(command: &mut Command) -> Child {
    let started = Instant::now();
    loop {
        match command.spawn() {
            Ok(child) => return child,
            Err(e)
                if e.kind() == std::io::ErrorKind::ExecutableFileBusy
                    && started.elapsed() < Duration::from_secs(10) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("cannot start {command:?}: {e}"),
        }
    }
}

/// Starts `program args...` and waits until /proc shows its argv (the exec
/// has happened).
pub fn start(mut command: Command, expect_argv0: &str) -> Running {
    let child = command
        .stdin(Stdio::null())
        .spawn()
        .expect("process starts");
    let pid = child.id();
    let running = Running { child };
    wait_until(Duration::from_secs(20), "the process to exec", || {
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .next()
                    .is_some_and(|a| a.ends_with(expect_argv0.as_bytes()))
            })
            .unwrap_or(false)
    });
    running
}

/// Writes a file with a mode.
pub fn write(path: &Path, text: &str, mode: u32) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A TCP port on loopback that nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The whole answer (status line, headers, body) to a GET on loopback, or ""
/// when nothing answers.
pub fn http_answer(port: u16, path: &str) -> String {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return String::new();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
}

/// A kubeconfig that points at nothing (no secrets; a token placeholder).
pub const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\n  name: none\ncontexts:\n- context:\n    cluster: none\n    user: none\n  name: none\ncurrent-context: none\nusers:\n- name: none\n  user:\n    token: not-a-secret\n";
pub mod collector;
pub mod fleet;
pub mod http;
pub mod kubeapi;
pub mod postgres;
pub mod prometheus;
pub mod realk8s;
pub mod reports;
pub mod server;
pub mod validate;
