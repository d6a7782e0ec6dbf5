//! Benchmark: a full local audit (discovery, facts, checks; no network) on a
//! host with 5,000 extra real processes, against the bare cost of one pass
//! over `/proc/*/cmdline` measured in the same run.
//!
//! `cargo bench --bench audit [-- PROCESSES ROUNDS]` (defaults 5000 and 30;
//! under `cargo test` it runs as a smoke test with 50 and 3).
//! Needs a few GiB of memory for the extra processes; they are killed by pid
//! when the bench ends, even on panic.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps every child on drop.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
        }
        for child in &mut self.0 {
            let _ = child.wait();
        }
    }
}

/// The baseline: read every process's cmdline once.
fn cmdline_pass() -> usize {
    let mut bytes = 0;
    let mut buffer = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name();
        if !name
            .to_str()
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            continue;
        }
        buffer.clear();
        if let Ok(mut file) = std::fs::File::open(entry.path().join("cmdline")) {
            bytes += file.read_to_end(&mut buffer).unwrap_or(0);
        }
    }
    bytes
}

fn full_audit() -> usize {
    let facts = schedguard::host::gather(&schedguard::host::Options::default());
    schedguard::checks::judge(&facts).len()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // A child started by this bench as the audited "kube-scheduler".
    if std::env::var_os("SCHEDGUARD_BENCH_CHILD").is_some() {
        let parent = std::os::unix::process::parent_id();
        while std::os::unix::process::parent_id() == parent {
            std::thread::sleep(Duration::from_millis(200));
        }
        return;
    }

    // `cargo bench` passes --bench; under `cargo test` the bench runs as a
    // quick smoke test of itself.
    let benching = std::env::args().any(|a| a == "--bench");
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let extra: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(if benching { 5000 } else { 50 });
    let rounds: usize = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(if benching { 30 } else { 3 });

    // One scheduler to audit: this binary under the name kube-scheduler,
    // with a config file and a kubeconfig, as on a kubeadm host.
    let dir = tempfile::tempdir().unwrap();
    let scheduler = dir.path().join("kube-scheduler");
    std::fs::copy(std::env::current_exe().unwrap(), &scheduler).unwrap();
    std::fs::set_permissions(&scheduler, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = dir.path().join("sched.yaml");
    std::fs::write(&config, "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\n").unwrap();
    let kubeconfig = dir.path().join("scheduler.conf");
    std::fs::write(&kubeconfig, "apiVersion: v1\nkind: Config\n").unwrap();

    let mut children = Children(Vec::new());
    children.0.push(
        Command::new(&scheduler)
            .arg(format!("--config={}", config.display()))
            .arg(format!(
                "--authentication-kubeconfig={}",
                kubeconfig.display()
            ))
            .env("SCHEDGUARD_BENCH_CHILD", "1")
            .stdin(Stdio::null())
            .spawn()
            .expect("start the audited process"),
    );
    let started = Instant::now();
    for i in 0..extra {
        let child = Command::new("sleep")
            .arg(format!("{}", 100_000 + i))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start an extra process (raise ulimit -u?)");
        children.0.push(child);
    }
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    println!(
        "started {extra} extra processes in {:?}; /proc lists {processes}",
        started.elapsed()
    );

    // Warm up, then interleave the two so that both see the same machine.
    assert!(full_audit() > 0, "the audit found the scheduler");
    cmdline_pass();
    let mut baseline = Vec::with_capacity(rounds);
    let mut audit = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        std::hint::black_box(cmdline_pass());
        baseline.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(full_audit());
        audit.push(t.elapsed());
    }

    let (b, a) = (median(baseline), median(audit));
    println!("cmdline pass (baseline): median {b:?} over {rounds} rounds");
    println!("full local audit:        median {a:?} over {rounds} rounds");
    println!(
        "ratio audit/baseline:    {:.2}x (target: at most 1.5x)",
        a.as_secs_f64() / b.as_secs_f64()
    );
}
