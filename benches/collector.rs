//! Benchmark: the collector (the release binary, over HTTPS) ingesting from
//! many concurrent simulated agents, each a node with its own token and
//! connection, posting realistic reports (every catalogue check, built with
//! the real report types and packed by the agent's own code). For SQLite and
//! for PostgreSQL (a private server started here), it measures:
//!
//! - throughput: agents posting back to back (closed loop), reports/s
//!   stored, with p50/p99 latency;
//! - latency at an offered load (open loop, default 1,000 reports/s):
//!   p50/p99/max, each measured from the moment the request was due, so
//!   that a stalled collector cannot hide its queue.
//!
//! `cargo bench --bench collector [-- [sqlite] [postgres] [--seconds=10]
//! [--agents=64] [--nodes=1000] [--offered=1000]]`. Under `cargo test` it
//! runs a one-second smoke test. The client runs on the same machine, so
//! the figures are for collector and agents sharing its cores.

#[path = "../tests/support/mod.rs"]
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fleet::{Collector, Tokens};
use support::postgres::Postgres;

struct Options {
    seconds: f64,
    /// The most reports/s the closed loop is expected to reach (uploads
    /// are packed for it in advance).
    capacity: f64,
    agents: usize,
    nodes: usize,
    offered: f64,
    sqlite: bool,
    postgres: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let bench = args.iter().any(|a| a == "--bench");
    let mut o = if bench {
        Options {
            seconds: 10.0,
            capacity: 12_000.0,
            agents: 64,
            nodes: 1000,
            offered: 1000.0,
            sqlite: false,
            postgres: false,
        }
    } else {
        Options {
            seconds: 1.0,
            capacity: 2_000.0,
            agents: 8,
            nodes: 20,
            offered: 100.0,
            sqlite: false,
            postgres: false,
        }
    };
    for a in &args {
        let value = |name: &str| a.strip_prefix(name).and_then(|v| v.parse::<f64>().ok());
        if a == "sqlite" {
            o.sqlite = true;
        } else if a == "postgres" {
            o.postgres = true;
        } else if let Some(v) = value("--seconds=") {
            o.seconds = v;
        } else if let Some(v) = value("--agents=") {
            o.agents = v as usize;
        } else if let Some(v) = value("--nodes=") {
            o.nodes = v as usize;
        } else if let Some(v) = value("--offered=") {
            o.offered = v;
        }
    }
    if !o.sqlite && !o.postgres {
        o.sqlite = true;
        o.postgres = true;
    }
    o
}

/// Ready-to-send uploads, each with its own report id, used once.
struct Pool {
    bodies: Vec<(usize, Vec<u8>)>,
    next: AtomicUsize,
}

impl Pool {
    fn take(&self) -> Option<&(usize, Vec<u8>)> {
        self.bodies.get(self.claim()?)
    }

    /// The index of the next unused upload.
    fn claim(&self) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.bodies.len()).then_some(i)
    }
}

/// Packs `count` uploads on all cores, spread over the nodes.
fn pool(names: &[String], count: usize) -> Pool {
    let reports: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, n)| support::reports::realistic(n, i as u64))
        .collect();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunks: Vec<Vec<(usize, usize, Vec<u8>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                let reports = &reports;
                s.spawn(move || {
                    (w..count)
                        .step_by(workers)
                        .map(|k| {
                            let node = k % names.len();
                            let id = support::reports::new_id();
                            let body =
                                support::reports::envelope(&names[node], &id, &reports[node]);
                            (k, node, body)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Back in order, so that every stretch of uploads spans all nodes.
    let mut bodies: Vec<(usize, usize, Vec<u8>)> = chunks.into_iter().flatten().collect();
    bodies.sort_by_key(|b| b.0);
    Pool {
        bodies: bodies
            .into_iter()
            .map(|(_, node, body)| (node, body))
            .collect(),
        next: AtomicUsize::new(0),
    }
}

fn client() -> reqwest::Client {
    let ca = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/support/test-ca.crt"
    ))
    .unwrap();
    reqwest::Client::builder()
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&ca).unwrap())
        .pool_max_idle_per_host(4)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// One upload; Ok when stored (201).
async fn post(client: &reqwest::Client, url: &str, token: &str, body: &[u8]) -> Result<(), String> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .header("Content-Encoding", "gzip")
        .body(body.to_vec())
        .send()
        .await
        .map_err(|e| e.to_string())?;
    match response.status().as_u16() {
        201 => Ok(()),
        status => Err(format!(
            "{status} {}",
            response.text().await.unwrap_or_default()
        )),
    }
}

#[derive(Default)]
struct Run {
    stored: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    /// The latency below which a share `p` of uploads finished.
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 * p).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[i - 1]
    }
}

/// `agents` agents posting back to back for `seconds`.
async fn closed_loop(
    url: Arc<String>,
    tokens: Arc<Vec<String>>,
    pool: Arc<Pool>,
    agents: usize,
    seconds: f64,
) -> Run {
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..agents {
        let (url, tokens, pool) = (url.clone(), tokens.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let client = client();
            let mut run = Run::default();
            while Instant::now() < until {
                let Some((node, body)) = pool.take() else {
                    break;
                };
                let sent = Instant::now();
                match post(&client, &url, &tokens[*node], body).await {
                    Ok(()) => {
                        run.stored += 1;
                        run.latencies.push(sent.elapsed());
                    }
                    Err(e) => {
                        run.errors += 1;
                        run.first_error.get_or_insert(e);
                    }
                }
            }
            run
        }));
    }
    merge(tasks, started).await
}

/// Uploads due at `rate` per second for `seconds`, whoever is free sends.
async fn open_loop(
    url: Arc<String>,
    tokens: Arc<Vec<String>>,
    pool: Arc<Pool>,
    agents: usize,
    rate: f64,
    seconds: f64,
) -> Run {
    let started = Instant::now();
    let total = (rate * seconds) as usize;
    let clients: Arc<Vec<reqwest::Client>> = Arc::new((0..agents).map(|_| client()).collect());
    let mut tasks = Vec::new();
    for k in 0..total {
        let due = started + Duration::from_secs_f64(k as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let Some(index) = pool.claim() else {
            break;
        };
        let (url, tokens, clients, pool) =
            (url.clone(), tokens.clone(), clients.clone(), pool.clone());
        tasks.push(tokio::spawn(async move {
            let (node, body) = &pool.bodies[index];
            let mut run = Run::default();
            match post(&clients[k % clients.len()], &url, &tokens[*node], body).await {
                Ok(()) => {
                    run.stored = 1;
                    run.latencies.push(due.elapsed());
                }
                Err(e) => {
                    run.errors = 1;
                    run.first_error = Some(e);
                }
            }
            run
        }));
    }
    merge(tasks, started).await
}

async fn merge(tasks: Vec<tokio::task::JoinHandle<Run>>, started: Instant) -> Run {
    let mut all = Run::default();
    for task in tasks {
        let run = task.await.unwrap();
        all.stored += run.stored;
        all.errors += run.errors;
        all.latencies.extend(run.latencies);
        if all.first_error.is_none() {
            all.first_error = run.first_error;
        }
    }
    all.elapsed = started.elapsed();
    all.latencies.sort();
    all
}

/// The collector's CPU time so far (user + system), from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11..13).map_or(0.0, |f| {
        f.iter().filter_map(|v| v.parse::<f64>().ok()).sum()
    });
    ticks / 100.0
}

fn sample(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What every database is measured with.
struct Setup<'a> {
    names: &'a [String],
    pool: &'a Arc<Pool>,
    options: &'a Options,
    runtime: &'a tokio::runtime::Runtime,
}

/// Both phases against a collector on `database`.
fn bench(name: &str, database: &str, dir: &std::path::Path, tokens: &Tokens, setup: &Setup<'_>) {
    let (names, pool, o, runtime) = (setup.names, setup.pool, setup.options, setup.runtime);
    let collector = Collector::start(
        dir,
        tokens,
        database,
        &[
            "--rate",
            "1000000",
            "--burst",
            "1000000",
            "--max-connections",
            "8192",
        ],
    );
    let url = Arc::new(format!("https://localhost:{}/v1/reports", collector.port));
    let secrets: Arc<Vec<String>> =
        Arc::new(names.iter().map(|n| tokens.write(n).to_string()).collect());
    let pid = collector.pid();

    // Each database starts empty, so the same uploads serve both.
    pool.next.store(0, Ordering::Relaxed);
    let warm = runtime.block_on(closed_loop(
        url.clone(),
        secrets.clone(),
        pool.clone(),
        o.agents,
        (o.seconds / 5.0).min(2.0),
    ));
    assert_eq!(warm.errors, 0, "warm-up: {:?}", warm.first_error);

    let metrics = |c: &Collector| c.client().get("/metrics", Some(&tokens.read)).text();
    let before = metrics(&collector);
    let cpu = cpu_seconds(pid);
    let run = runtime.block_on(closed_loop(
        url.clone(),
        secrets.clone(),
        pool.clone(),
        o.agents,
        o.seconds,
    ));
    let cpu_used = cpu_seconds(pid) - cpu;
    let after = metrics(&collector);
    let batches = sample(&after, "schedguard_collector_write_batches_total")
        - sample(&before, "schedguard_collector_write_batches_total");
    let batched = sample(&after, "schedguard_collector_write_batch_reports_total")
        - sample(&before, "schedguard_collector_write_batch_reports_total");
    let rate = run.stored as f64 / run.elapsed.as_secs_f64();
    println!(
        "{name}: throughput {rate:.0} reports/s ({} stored in {:.1}s by {} agents, {} errors), p50 {}, p99 {}; collector CPU {:.2} cores, mean batch {:.1}",
        run.stored,
        run.elapsed.as_secs_f64(),
        o.agents,
        run.errors,
        ms(run.percentile(0.50)),
        ms(run.percentile(0.99)),
        cpu_used / run.elapsed.as_secs_f64(),
        if batches > 0.0 { batched / batches } else { 0.0 },
    );
    assert_eq!(run.errors, 0, "{:?}", run.first_error);

    let cpu = cpu_seconds(pid);
    let open = runtime.block_on(open_loop(
        url,
        secrets,
        pool.clone(),
        o.agents,
        o.offered,
        o.seconds,
    ));
    let cpu_used = cpu_seconds(pid) - cpu;
    println!(
        "{name}: at {:.0} reports/s offered: {} stored, {} errors, p50 {}, p99 {}, max {}; collector CPU {:.2} cores",
        o.offered,
        open.stored,
        open.errors,
        ms(open.percentile(0.50)),
        ms(open.percentile(0.99)),
        ms(open.percentile(1.0)),
        cpu_used / open.elapsed.as_secs_f64(),
    );
    assert_eq!(open.errors, 0, "{:?}", open.first_error);
    let stored = collector.query(tokens, "/v1/nodes")["nodes"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        stored,
        names.len().min(warm.stored + run.stored + open.stored)
    );
}

fn main() {
    let o = options();
    println!(
        "collector benchmark: {} agents, {} nodes, {}s per phase, {} reports/s offered; load average before: {}",
        o.agents, o.nodes, o.seconds, o.offered, load()
    );
    let names: Vec<String> = (0..o.nodes)
        .map(|i| format!("cp-{i:05}.example.org"))
        .collect();
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    // Enough uploads for a warm-up, the closed loop at up to 12,000/s and
    // the open loop; each is used once per database.
    let count =
        ((o.capacity * o.seconds * 1.2) as usize + (o.offered * o.seconds) as usize).max(1000);
    let packing = Instant::now();
    let pool = Arc::new(pool(&names, count));
    let mean = pool.bodies.iter().map(|(_, b)| b.len()).sum::<usize>() / pool.bodies.len();
    println!(
        "{} uploads packed in {:.1}s, {mean} bytes each gzipped",
        pool.bodies.len(),
        packing.elapsed().as_secs_f64()
    );

    let setup = Setup {
        names: &names,
        pool: &pool,
        options: &o,
        runtime: &runtime,
    };
    if o.sqlite {
        let dir = tempfile::tempdir().unwrap();
        let tokens = Tokens::create(dir.path(), &name_refs);
        let database = format!("sqlite:{}", dir.path().join("collector.db").display());
        bench("sqlite", &database, dir.path(), &tokens, &setup);
    }
    if o.postgres {
        match Postgres::start() {
            Some(pg) => {
                let dir = tempfile::tempdir().unwrap();
                let tokens = Tokens::create(dir.path(), &name_refs);
                bench("postgres", &pg.url(), dir.path(), &tokens, &setup);
            }
            None => println!("postgres: skipped (SCHEDGUARD_SKIP_POSTGRES)"),
        }
    }
    println!("load average after: {}", load());
}
