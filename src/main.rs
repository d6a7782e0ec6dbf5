//! The schedguard command line: `audit`, `checks`, `explain`, `agent`,
//! `collector`, and the hidden `generate` that packaging uses for the man
//! pages and shell completions.

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use schedguard::checks::{self, catalogue, Finding, Severity, Status};
use schedguard::exit;
use schedguard::facts::{Facts, FACTS_SCHEMA};
use schedguard::host;
use schedguard::report::{self, Audit};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "schedguard",
    version,
    about = "Audit the live kube-scheduler of this host"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Audit every kube-scheduler on this host once and print the findings.
    Audit(Box<AuditArgs>),
    /// List the check catalogue.
    Checks {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print one check's rationale and remediation.
    Explain {
        /// A check ID such as SG-201.
        id: String,
    },
    /// Audit on a schedule and deliver every report upstream (a service).
    Agent(Box<schedguard::agent::config::AgentArgs>),
    /// The fleet endpoint: store every node's reports, answer for the fleet.
    Collector(Box<schedguard::collector::config::CollectorArgs>),

    // --- output formats and packaging (branch formats) ---
    /// Write the man pages or a shell completion script (for packaging).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        what: Generated,
    },
    // --- end formats ---
}

// --- output formats and packaging (branch formats) ---
/// What `schedguard generate` writes, from this command line's definition.
#[derive(Subcommand)]
enum Generated {
    /// The man pages (schedguard.1, schedguard-audit.1, ...) into DIR.
    Man {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// The completion script of SHELL, on standard output.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

fn generate(what: Generated) -> Result<u8> {
    let cmd = Cli::command();
    match what {
        Generated::Man { dir } => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            for page in schedguard::manual::write_man_pages(cmd, &dir)
                .with_context(|| format!("cannot write man pages into {}", dir.display()))?
            {
                println!("{}", page.display());
            }
        }
        Generated::Completions { shell } => {
            schedguard::manual::write_completions(cmd, shell, &mut std::io::stdout().lock())?;
        }
    }
    Ok(exit::OK)
}
// --- end formats ---

#[derive(clap::Args)]
struct AuditArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = report::Format::Text)]
    format: report::Format,
    /// Write the report to FILE instead of standard output, replacing it
    /// atomically (a temporary file in the same directory, fsync, rename),
    /// with mode 0644.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// With --format policyreport: a namespaced PolicyReport in NAMESPACE
    /// instead of a ClusterPolicyReport.
    #[arg(long, value_name = "NAMESPACE", value_parser = report::policyreport::namespace)]
    policyreport_namespace: Option<String>,
    /// The host's root directory (for running in a container with the host's
    /// / mounted, e.g. /host).
    #[arg(long, default_value = "/", value_name = "DIR")]
    host_root: PathBuf,
    /// Exit 1 when a check fails at this severity or above.
    #[arg(long, value_enum, default_value_t = FailOn::Low)]
    fail_on: FailOn,
    /// Write the gathered facts (no file contents) to FILE.
    #[arg(long, value_name = "FILE", conflicts_with = "from_facts")]
    save_facts: Option<PathBuf>,
    /// Judge a saved facts snapshot instead of this host.
    #[arg(long, value_name = "FILE")]
    from_facts: Option<PathBuf>,
    /// Colour in text output: auto (on a terminal without NO_COLOR), always, never.
    #[arg(long, value_enum, default_value_t = Colour::Auto)]
    color: Colour,
    /// Skip live inspection: no socket reads, no probes (SG-302 and
    /// SG-501..504 then say skip).
    #[arg(long)]
    no_network: bool,
    /// Time limit of each probe (connect, handshake, answer): 2s, 500ms, 1m.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = schedguard::time::parse_duration)]
    probe_timeout: Duration,
    /// Time limit of all probes of the run together.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = schedguard::time::parse_duration)]
    probe_total: Duration,
    // Cluster mode (SG-703, SG-704): --cluster, --kubeconfig, --context,
    // --known-scheduler, --allow-node-writer, --cluster-timeout.
    #[command(flatten)]
    cluster: schedguard::cluster::args::ClusterArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Colour {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> Severity {
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            let code = if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("schedguard: {e:#}");
            ExitCode::from(exit::INCOMPLETE)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Audit(args) => audit(*args),
        Command::Checks { format } => {
            print_checks(format)?;
            Ok(exit::OK)
        }
        Command::Explain { id } => explain(&id),
        Command::Generate { what } => generate(what),
        Command::Agent(args) => {
            schedguard::logging::init();
            match schedguard::agent::run(*args) {
                Ok(()) => Ok(exit::OK),
                Err(e) => {
                    tracing::error!("{e}");
                    Ok(exit::INCOMPLETE)
                }
            }
        }
        Command::Collector(_) => run_collector(),
    }
}

fn audit(args: AuditArgs) -> Result<u8> {
    // Cluster mode: its options, or why the flags do not fit together.
    let cluster = match args.cluster.options() {
        Ok(_) if args.cluster.cluster && args.from_facts.is_some() => {
            eprintln!("schedguard: --cluster asks the live cluster; it cannot be combined with --from-facts");
            return Ok(exit::USAGE);
        }
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("schedguard: {e}");
            return Ok(exit::USAGE);
        }
    };

    let mut facts = match &args.from_facts {
        Some(path) => load_facts(path)?,
        None => {
            let live = (!args.no_network).then_some(host::LiveOptions {
                per_probe: args.probe_timeout,
                total: args.probe_total,
            });
            host::gather(&host::Options {
                host_root: args.host_root.clone(),
                live,
                cluster,
                ..Default::default()
            })
        }
    };
    // A saved snapshot is judged with the scheduler names and node writers
    // declared now, too.
    if let (Some(saved), true) = (&mut facts.cluster, args.from_facts.is_some()) {
        saved
            .known_schedulers
            .extend(args.cluster.known_schedulers.iter().cloned());
        saved
            .allowed_node_writers
            .extend(args.cluster.allow_node_writers.iter().cloned());
    }
    if let Some(path) = &args.save_facts {
        let json = serde_json::to_vec_pretty(&facts)?;
        // Facts hold the command lines: readable by their owner only.
        report::output::write_atomically(path, &json, 0o600)
            .with_context(|| format!("cannot save facts to {}", path.display()))?;
    }

    let findings = checks::judge(&facts);
    let audit = Audit {
        facts: &facts,
        findings: &findings,
    };
    let colour = match args.color {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => {
            args.output.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let options = report::Options {
        colour,
        policyreport_namespace: args.policyreport_namespace.clone(),
    };
    let output = report::render(args.format, &audit, &options);
    match &args.output {
        Some(path) => report::output::write_atomically(path, output.as_bytes(), 0o644)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(output.as_bytes())?;
            stdout.flush()?;
        }
    }

    Ok(exit_code(&facts, &findings, args.fail_on.severity()))
}

/// `schedguard collector ...`: replaces this process with the
/// `schedguard-collector` executable beside it, with the arguments after
/// `collector` (already checked against the same definition here, so
/// `--help`, the man pages and the completions are this command's). The
/// process keeps its pid, as systemd's Type=notify service expects.
fn run_collector() -> Result<u8> {
    use std::os::unix::process::CommandExt;

    let exe = std::env::current_exe().context("cannot find this executable")?;
    let collector = exe.with_file_name("schedguard-collector");
    let args = std::env::args_os()
        .skip(1)
        .skip_while(|a| a != "collector")
        .skip(1);
    let error = std::process::Command::new(&collector).args(args).exec();
    bail!(
        "cannot run {}: {error} (the collector is its own executable, installed beside schedguard; \
         `cargo build --release` builds both)",
        collector.display()
    )
}

fn exit_code(facts: &Facts, findings: &[Finding], fail_on: Severity) -> u8 {
    if !facts.problems.is_empty() || findings.iter().any(|f| f.status == Status::Error) {
        return exit::INCOMPLETE;
    }
    if findings
        .iter()
        .any(|f| f.status == Status::Fail && f.severity >= fail_on)
    {
        return exit::FAILED;
    }
    if facts.targets.is_empty() {
        return exit::NO_SCHEDULER;
    }
    exit::OK
}

/// Reads a facts snapshot, refusing one of another schema version.
fn load_facts(path: &Path) -> Result<Facts> {
    let bytes =
        read_limited(path, 64 << 20).with_context(|| format!("cannot read {}", path.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON", path.display()))?;
    let schema = value.get("schema").and_then(|s| s.as_str()).unwrap_or("");
    if schema != FACTS_SCHEMA {
        bail!(
            "{} has schema {schema:?}; this schedguard reads {FACTS_SCHEMA:?}",
            path.display()
        );
    }
    serde_json::from_value(value)
        .with_context(|| format!("{} is not a valid facts snapshot", path.display()))
}

fn read_limited(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::other(format!("larger than {limit} bytes")));
    }
    Ok(bytes)
}

fn print_checks(format: Format) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            let list: Vec<serde_json::Value> = catalogue::CATALOGUE
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id,
                        "title": c.title,
                        "severity": c.severity,
                        "scope": match c.run {
                            checks::Run::Scheduler(_) if c.live => "live",
                            checks::Run::Scheduler(_) => "scheduler",
                            checks::Run::ApiServer(_) => "apiserver",
                            checks::Run::Cluster(_) => "cluster",
                        },
                        "rationale": c.rationale,
                        "remediation": c.remediation,
                        "references": c.references,
                    })
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        Format::Text => {
            for c in catalogue::CATALOGUE {
                writeln!(out, "{}  {:<8}  {}", c.id, c.severity.as_str(), c.title)?;
            }
        }
    }
    Ok(())
}

fn explain(id: &str) -> Result<u8> {
    let Some(c) = catalogue::find(id) else {
        eprintln!("schedguard: no check {id:?}; `schedguard checks` lists them");
        return Ok(exit::USAGE);
    };
    println!("{}  {}\nseverity: {}\n", c.id, c.title, c.severity);
    println!("why: {}\n", c.rationale);
    println!("fix: {}", c.remediation);
    if !c.references.is_empty() {
        println!("\nreferences: {}", c.references.join("; "));
    }
    Ok(exit::OK)
}
