//! The real upstream control plane (etcd, kube-apiserver, kube-scheduler
//! v1.20.2) started by ../shared/real-scheduler/real-scheduler.sh in full
//! mode, inside a network namespace of its own, with its own run folder.
//! Stopped (by the pids the script recorded) when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The script, where this workspace keeps it (or SCHEDGUARD_REAL_SCRIPT).
pub fn script() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SCHEDGUARD_REAL_SCRIPT").map(PathBuf::from),
        Some(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../shared/real-scheduler/real-scheduler.sh"),
        ),
        Some(PathBuf::from(
            "/work/shared/real-scheduler/real-scheduler.sh",
        )),
    ];
    candidates.into_iter().flatten().find(|p| p.exists())
}

/// True when the tests that need the real control plane must run.
fn required() -> bool {
    std::env::var_os("SCHEDGUARD_REQUIRE_REAL").is_some_and(|v| v == "1")
}

pub struct RealCluster {
    script: PathBuf,
    run: tempfile::TempDir,
    netns: String,
}

impl RealCluster {
    /// Starts etcd, kube-apiserver and kube-scheduler with the script's
    /// `base` flag set (`minimal`, `delegated`, `kubeadm`) plus `extra`
    /// scheduler flags. `None` (with a notice) when the script or the binaries
    /// are missing and SCHEDGUARD_REQUIRE_REAL is not 1.
    pub fn start(tag: &str, base: &str, extra: &str) -> Option<RealCluster> {
        RealCluster::start_with(tag, base, extra, |_| {})
    }

    /// Like [`RealCluster::start`], after `prepare` has written files into
    /// the run folder (a scheduler `--config=@RUN@/...`, for example).
    pub fn start_with(
        tag: &str,
        base: &str,
        extra: &str,
        prepare: impl FnOnce(&Path),
    ) -> Option<RealCluster> {
        let binaries = Path::new("/var/cache/realk8s/bin");
        let script = match script() {
            Some(s)
                if binaries.join("kube-apiserver").exists()
                    && binaries.join("kube-scheduler").exists() =>
            {
                s
            }
            _ if required() => {
                panic!("the real control plane is missing and SCHEDGUARD_REQUIRE_REAL=1")
            }
            _ => {
                eprintln!("NOTICE: skipping: real-scheduler.sh or /var/cache/realk8s/bin/{{kube-apiserver,kube-scheduler}} is missing");
                return None;
            }
        };
        let cluster = RealCluster {
            script,
            run: tempfile::tempdir().unwrap(),
            netns: format!("sg-{tag}-{}", std::process::id()),
        };
        prepare(cluster.run.path());
        let output = cluster
            .command("start")
            .env("REALK8S_BASE", base)
            .arg(extra)
            .output()
            .expect("the script runs");
        assert!(
            output.status.success(),
            "real-scheduler.sh start failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(cluster)
    }

    fn command(&self, verb: &str) -> Command {
        let mut command = Command::new(&self.script);
        command
            .arg(verb)
            .env("REALK8S_RUN", self.run.path())
            .env("REALK8S_NETNS", &self.netns)
            .env("REALK8S_MODE", "full");
        command
    }

    fn pid(&self, name: &str) -> u32 {
        let path = self.run.path().join("pids").join(format!("{name}.pid"));
        std::fs::read_to_string(&path)
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }

    pub fn scheduler_pid(&self) -> u32 {
        self.pid("kube-scheduler")
    }

    pub fn apiserver_pid(&self) -> u32 {
        self.pid("kube-apiserver")
    }

    /// The admin kubeconfig the script wrote (system:masters).
    pub fn admin_kubeconfig(&self) -> PathBuf {
        self.run.path().join("admin.kubeconfig")
    }

    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// The run folder (`REALK8S_RUN`): pids, logs, kubeconfigs, `certs/`.
    pub fn run_dir(&self) -> &Path {
        self.run.path()
    }

    /// Kills kube-apiserver (by the pid the script recorded) and waits
    /// until it is gone: the API server going away mid-run.
    pub fn kill_apiserver(&self) {
        let pid = self.apiserver_pid();
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let started = std::time::Instant::now();
        while proc_dir.exists() && started.elapsed() < std::time::Duration::from_secs(30) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}

impl Drop for RealCluster {
    fn drop(&mut self) {
        let _ = self.command("stop").output();
    }
}
