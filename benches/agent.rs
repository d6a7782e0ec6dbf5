//! Benchmark: the agent's steady-state memory and the CPU time of one audit
//! run, against a one-shot `schedguard audit` measured in the same run.
//!
//! `cargo bench --bench agent [-- AUDITS]` (default 60; under `cargo test`
//! it runs as a smoke test with 3). The agent audits every second, with
//! live probes, one stand-in scheduler serving HTTPS on loopback and every
//! report delivered to a stub collector over HTTPS; its RSS (VmRSS) and
//! CPU time (utime + stime) are read from /proc after a warm-up, once with
//! the binary in the page cache and once with it evicted first. The
//! baseline is `schedguard audit --format json` run as a process, whose CPU
//! time and peak RSS come from getrusage(RUSAGE_CHILDREN).

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::collector::{Answer, StubCollector};
use support::server::{inherit, listen, serve, Behaviour, Spec};
use support::{free_port, install_fake, start, wait_until, write, Running, KUBECONFIG};

const WARM_UP_AUDITS: u64 = 5;

/// (utime + stime in seconds, VmRSS in KiB) of a process.
fn cpu_and_rss(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which ends with the last ')'.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..]
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    let hz = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    (ticks / hz, rss)
}

/// A sample of the agent's /metrics, 0 when absent.
fn metric(port: u16, name: &str) -> f64 {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0.0;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    );
    let mut text = String::new();
    let _ = stream.read_to_string(&mut text);
    text.lines()
        .find(|l| l.split(' ').next() == Some(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

/// CPU seconds and peak RSS (KiB) of reaped children so far.
fn children_usage() -> (f64, u64) {
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    (
        seconds(usage.user_time()) + seconds(usage.system_time()),
        usage.max_rss() as u64,
    )
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// A stand-in scheduler with a config file and kubeconfigs, serving HTTPS.
fn scheduler(dir: &Path) -> (Running, support::server::Server) {
    let kubeconfig = dir.join("scheduler.conf");
    write(&kubeconfig, KUBECONFIG, 0o600);
    let config = dir.join("scheduler.yaml");
    write(
        &config,
        "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nenableProfiling: false\n",
        0o600,
    );
    let socket = listen(Spec::new("127.0.0.1:0"));
    let server = serve(&socket, Behaviour::Https { open_pprof: false });
    let mut command = Command::new(install_fake(dir));
    command
        .arg(format!("--config={}", config.display()))
        .arg(format!(
            "--authentication-kubeconfig={}",
            kubeconfig.display()
        ))
        .arg(format!(
            "--authorization-kubeconfig={}",
            kubeconfig.display()
        ))
        .arg("--bind-address=127.0.0.1");
    inherit(&mut command, &[&socket]);
    (start(command, "kube-scheduler"), server)
}

/// Set in the copy of this bench that runs one `schedguard audit` and
/// prints its CPU seconds, wall seconds and peak RSS (KiB): a process with
/// no other children, so getrusage(RUSAGE_CHILDREN) is that audit's alone.
const ONE_SHOT: &str = "SCHEDGUARD_BENCH_ONE_SHOT";

fn one_shot() {
    let started = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_schedguard"))
        .args(["audit", "--format", "json", "--probe-timeout", "1s"])
        .stdout(Stdio::null())
        .status()
        .expect("schedguard audit runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(status.code().is_some(), "the audit exits");
    let (cpu, rss) = children_usage();
    println!("{cpu} {wall} {rss}");
}

fn main() {
    if std::env::var_os(ONE_SHOT).is_some() {
        return one_shot();
    }
    let benching = std::env::args().any(|a| a == "--bench");
    let audits: u64 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|a| a.parse().ok())
        .unwrap_or(if benching { 60 } else { 3 });
    let warm_up = if benching { WARM_UP_AUDITS } else { 1 };

    let dir = tempfile::tempdir().unwrap();
    let (_scheduler, _server) = scheduler(dir.path());
    let collector = StubCollector::start(0, Answer::Store);

    // The baseline: one-shot audits as processes, each measured by a
    // clean copy of this bench (see `one_shot`).
    let rounds = if benching { 10 } else { 2 };
    let mut one_shot_cpu = Vec::new();
    let mut one_shot_wall = Vec::new();
    let mut one_shot_rss = Vec::new();
    for _ in 0..rounds {
        let output = Command::new(std::env::current_exe().unwrap())
            .env(ONE_SHOT, "1")
            .stderr(Stdio::inherit())
            .output()
            .expect("the measuring copy runs");
        let text = String::from_utf8_lossy(&output.stdout);
        let numbers: Vec<f64> = text
            .split_whitespace()
            .map(|n| n.parse().expect("cpu wall rss"))
            .collect();
        one_shot_cpu.push(numbers[0]);
        one_shot_wall.push(numbers[1]);
        one_shot_rss.push(numbers[2]);
    }
    let one_shot_rss = median(one_shot_rss);

    let one_shot = median(one_shot_cpu);
    println!(
        "one-shot audit (baseline): CPU {:.1} ms median over {rounds} runs, wall {:.0} ms, peak RSS {:.1} MiB",
        one_shot * 1e3,
        median(one_shot_wall) * 1e3,
        one_shot_rss / 1024.0
    );

    // The agent twice: with its binary wholly in the page cache (as right
    // after an install), and with the binary's pages evicted first (as
    // after a reboot), since the kernel maps cached neighbours of every
    // page of code touched (fault-around) and counts them in the RSS.
    for cache in [Cache::Warm, Cache::Cold] {
        let run = run_agent(dir.path(), collector.port, audits, warm_up, cache);
        let per_audit = run.cpu / run.measured as f64;
        let steady = median(run.rss.clone());
        let peak = run.rss.iter().cloned().fold(0.0, f64::max);
        println!(
            "agent, binary {}: {} audits after {warm_up} warm-up, {} reports delivered, {} waiting",
            cache.describe(),
            run.measured,
            run.delivered,
            run.spooled
        );
        println!(
            "  CPU per audit run: {:.1} ms ({:.2}x the one-shot audit)",
            per_audit * 1e3,
            per_audit / one_shot
        );
        println!(
            "  steady-state RSS:  {:.1} MiB median, {:.1} MiB max over {} samples ({:.2}x the one-shot peak; target: under 10 MiB)",
            steady / 1024.0,
            peak / 1024.0,
            run.rss.len(),
            steady / one_shot_rss
        );
        println!("  at the end:        {}", run.memory);
        assert!(run.delivered >= 1.0, "reports reach the collector");
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Cache {
    Warm,
    Cold,
}

impl Cache {
    fn describe(self) -> &'static str {
        match self {
            Cache::Warm => "in the page cache",
            Cache::Cold => "evicted from the page cache",
        }
    }
}

/// What one agent run measured.
struct AgentRun {
    measured: u64,
    /// CPU seconds over the measured audits.
    cpu: f64,
    /// VmRSS samples (KiB).
    rss: Vec<f64>,
    /// VmHWM, RssAnon and RssFile at the end.
    memory: String,
    delivered: f64,
    spooled: f64,
}

/// Runs the agent, auditing every second and delivering every report,
/// until `audits` audits after `warm_up` have been measured.
fn run_agent(dir: &Path, collector_port: u16, audits: u64, warm_up: u64, cache: Cache) -> AgentRun {
    let run = tempfile::tempdir_in(dir).unwrap();
    let token = run.path().join("token");
    write(&token, "bench-token\n", 0o600);
    let metrics_port = free_port();
    let config = run.path().join("agent.yaml");
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/test-ca.crt");
    write(
        &config,
        &format!(
            "interval: 1s\nprobe_timeout: 1s\nreport_url: https://127.0.0.1:{collector_port}/v1/reports\n\
             token_file: {}\nca_file: {}\nspool_dir: {}\nlisten: 127.0.0.1:{metrics_port}\n",
            token.display(),
            ca.display(),
            run.path().join("spool").display()
        ),
        0o600,
    );

    let binary = std::fs::File::open(env!("CARGO_BIN_EXE_schedguard")).unwrap();
    match cache {
        Cache::Warm => {
            std::io::copy(&mut &binary, &mut std::io::sink()).unwrap();
        }
        Cache::Cold => {
            use nix::fcntl::{posix_fadvise, PosixFadviseAdvice};
            posix_fadvise(&binary, 0, 0, PosixFadviseAdvice::POSIX_FADV_DONTNEED)
                .expect("evict the binary from the page cache");
        }
    }

    let mut command = Command::new(env!("CARGO_BIN_EXE_schedguard"));
    command
        .args(["agent", "--config"])
        .arg(&config)
        .env_remove("NOTIFY_SOCKET")
        .env("SCHEDGUARD_LOG", "warn")
        .stdout(Stdio::null());
    let agent = Running {
        child: support::spawn(&mut command),
    };
    let audited = || metric(metrics_port, "schedguard_audits_total") as u64;
    let limit = Duration::from_secs(30 + 5 * (audits + warm_up));
    wait_until(limit, "the warm-up audits", || audited() >= warm_up);

    let (cpu_start, _) = cpu_and_rss(agent.pid());
    let first = audited();
    let mut rss = Vec::new();
    wait_until(limit, "the measured audits", || {
        rss.push(cpu_and_rss(agent.pid()).1 as f64);
        std::thread::sleep(Duration::from_millis(200));
        audited() >= first + audits
    });
    let (cpu_end, _) = cpu_and_rss(agent.pid());
    let status = std::fs::read_to_string(format!("/proc/{}/status", agent.pid())).unwrap();
    let memory: Vec<String> = status
        .lines()
        .filter(|l| l.starts_with("RssAnon") || l.starts_with("RssFile") || l.starts_with("VmHWM"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    AgentRun {
        measured: audited() - first,
        cpu: cpu_end - cpu_start,
        rss,
        memory: memory.join(", "),
        delivered: metric(metrics_port, "schedguard_reports_delivered_total"),
        spooled: metric(metrics_port, "schedguard_spool_reports"),
    }
}
