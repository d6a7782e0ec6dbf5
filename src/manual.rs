//! The manual: man pages and shell completions generated from the command
//! line's own definition (`schedguard generate`), so that they cannot drift
//! from it. Packages ship what the packaged binary generates.

use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The section the pages are in; the systemd units name `schedguard(1)`.
pub const SECTION: &str = "1";

/// Exit statuses of `schedguard audit`, as the README's table gives them.
const EXIT_STATUS: &[(&str, &str)] = &[
    (
        "0",
        "No failing finding at or above --fail-on (default low).",
    ),
    ("1", "At least one failing finding at or above --fail-on."),
    (
        "2",
        "The audit could not run properly: a check could not be evaluated (error) or the scan \
         hit a problem. Partial results are still written.",
    ),
    ("3", "No kube-scheduler runs on this host."),
    ("64", "The command line is wrong."),
];

const FORMATS: &[(&str, &str)] = &[
    ("text", "Findings per target, for people (the default)."),
    ("json", "The schedguard.report/v1 JSON report."),
    (
        "sarif",
        "SARIF 2.1.0 for GitHub code scanning and other SARIF readers: one rule per check, \
         one result per failing, warning or unevaluated finding.",
    ),
    (
        "policyreport",
        "A wgpolicyk8s.io/v1alpha2 ClusterPolicyReport scoped to this Node, as YAML \
         (a namespaced PolicyReport with --policyreport-namespace).",
    ),
    ("junit", "JUnit XML: one test case per check and target."),
    (
        "prometheus",
        "Prometheus text format for node_exporter's textfile collector; use --output, which \
         replaces the file atomically.",
    ),
];

const FILES: &[(&str, &str)] = &[
    (
        "/etc/schedguard/agent.yaml",
        "Configuration of schedguard agent: interval, report_url, token_file, ca_file, \
         client_cert, client_key, spool_dir, spool_max_reports, spool_max_bytes, listen, \
         host_root, no_network, probe_timeout, node_name. Unknown keys are refused; SIGHUP \
         re-reads it. Environment variables SCHEDGUARD_* and flags override it.",
    ),
    (
        "/var/lib/schedguard/spool",
        "Reports waiting for delivery (the service's StateDirectory).",
    ),
    (
        "/usr/lib/systemd/system/schedguard-agent.service",
        "The agent as a service.",
    ),
    (
        "/usr/lib/systemd/system/schedguard-audit.timer",
        "An hourly one-shot audit into the journal, for hosts without the agent.",
    ),
];

const EXAMPLES: &[(&str, &str)] = &[
    ("Audit this host:", "sudo schedguard audit"),
    (
        "SARIF for code scanning, failing the job on high findings:",
        "sudo schedguard audit --format sarif --output schedguard.sarif --fail-on high",
    ),
    (
        "Findings for node_exporter's textfile collector:",
        "sudo schedguard audit --format prometheus --output /var/lib/node_exporter/textfile/schedguard.prom",
    ),
    (
        "A policy report into the cluster:",
        "sudo schedguard audit --format policyreport | kubectl apply -f -",
    ),
    ("Why a check matters:", "schedguard explain SG-201"),
];

fn section(roff: &mut Roff, title: &str) {
    roff.control("SH", [title]);
}

fn tagged(roff: &mut Roff, tag: &str, text: &str) {
    roff.control("TP", []);
    roff.text([bold(tag)]);
    roff.text([roman(text)]);
}

/// The sections the generated page lacks: formats, exit status, files,
/// examples, see also.
fn extra_sections() -> Roff {
    let mut roff = Roff::default();
    section(&mut roff, "OUTPUT FORMATS");
    roff.text([
        roman("Chosen with "),
        bold("schedguard audit --format"),
        roman("; written to standard output or, with "),
        bold("--output"),
        roman(" "),
        italic("FILE"),
        roman(", to a file replaced atomically (mode 0644)."),
    ]);
    for (name, text) in FORMATS {
        tagged(&mut roff, name, text);
    }

    section(&mut roff, "EXIT STATUS");
    roff.text([roman(
        "Of schedguard audit. 2 takes precedence over 1, and 1 over 3.",
    )]);
    for (code, text) in EXIT_STATUS {
        tagged(&mut roff, code, text);
    }

    section(&mut roff, "FILES");
    for (path, text) in FILES {
        tagged(&mut roff, path, text);
    }

    section(&mut roff, "PRIVILEGES");
    roff.text([roman(
        "Run as root, or with CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH: reading another \
         process's root, files and sockets needs them. Entering a scheduler's own network \
         namespace needs CAP_SYS_ADMIN. Without them the affected checks say error and why; \
         unknown is never pass.",
    )]);

    section(&mut roff, "EXAMPLES");
    for (what, command) in EXAMPLES {
        roff.control("TP", []);
        roff.text([roman(*what)]);
        roff.text([bold(*command)]);
    }

    section(&mut roff, "SEE ALSO");
    roff.text([
        bold("schedguard-audit"),
        roman("(1), "),
        bold("schedguard-agent"),
        roman("(1), "),
        bold("schedguard-checks"),
        roman("(1), "),
        bold("schedguard-explain"),
        roman("(1), "),
        bold("systemd.exec"),
        roman("(5)"),
    ]);
    roff
}

/// A rendered section without the string definitions roff output starts
/// with, which the page needs only once.
fn without_preamble(chunk: &str) -> &str {
    let mut rest = chunk;
    while rest.starts_with(".ie \\n(.g") || rest.starts_with(".el .ds") {
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    rest
}

fn man(cmd: clap::Command) -> Man {
    Man::new(cmd)
        .section(SECTION)
        .manual("schedguard manual")
        .source(format!("schedguard {}", env!("CARGO_PKG_VERSION")))
}

/// Writes `schedguard.1` and one page per visible subcommand
/// (`schedguard-audit.1`, ...) into `dir`, and returns their paths.
pub fn write_man_pages(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut written = Vec::new();

    // The main page: the generated sections, then ours before the version.
    let page = man(cmd.clone());
    let path = dir.join(page.get_filename());
    let mut chunks: Vec<Vec<u8>> = vec![Vec::new(); 8];
    page.render_title(&mut chunks[0])?;
    page.render_name_section(&mut chunks[1])?;
    page.render_synopsis_section(&mut chunks[2])?;
    page.render_description_section(&mut chunks[3])?;
    page.render_options_section(&mut chunks[4])?;
    page.render_subcommands_section(&mut chunks[5])?;
    extra_sections().to_writer(&mut chunks[6])?;
    page.render_version_section(&mut chunks[7])?;
    let mut text = String::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let chunk = String::from_utf8_lossy(chunk);
        text.push_str(if i == 0 {
            &chunk
        } else {
            without_preamble(&chunk)
        });
    }
    std::fs::write(&path, text)?;
    written.push(path);

    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let page = man(sub.clone());
        let path = dir.join(page.get_filename());
        let mut text = Vec::new();
        page.render(&mut text)?;
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the completion script of `shell` for the command line. Hidden
/// subcommands (`generate`) are left out: some generators would offer them.
pub fn write_completions(
    cmd: clap::Command,
    shell: clap_complete::Shell,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut cmd = without_hidden_subcommands(cmd);
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
    out.flush()
}

/// The `schedguard` command again, with its arguments and visible
/// subcommands only (clap can add subcommands, not remove them).
fn without_hidden_subcommands(cmd: clap::Command) -> clap::Command {
    clap::Command::new("schedguard")
        .version(env!("CARGO_PKG_VERSION"))
        .about(cmd.get_about().cloned().unwrap_or_default())
        .args(cmd.get_arguments().filter(|a| !a.is_hide_set()).cloned())
        .subcommands(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli() -> clap::Command {
        clap::Command::new("schedguard")
            .version("0.0.0")
            .about("Audit")
            .subcommand(
                clap::Command::new("audit")
                    .about("Audit once")
                    .arg(clap::arg!(--format <FORMAT> "Output format")),
            )
            .subcommand(clap::Command::new("generate").hide(true))
    }

    #[test]
    fn one_page_per_visible_command_with_the_extra_sections() {
        let dir = tempfile::tempdir().unwrap();
        let pages = write_man_pages(cli(), dir.path()).unwrap();
        let names: Vec<String> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["schedguard.1", "schedguard-audit.1"]);
        let main = std::fs::read_to_string(&pages[0]).unwrap();
        assert!(main.contains("\n.TH schedguard 1"));
        assert_eq!(main.matches(".el .ds Aq").count(), 1, "one preamble");
        for heading in ["EXIT STATUS", "OUTPUT FORMATS", "FILES", "EXAMPLES"] {
            assert!(
                main.contains(&format!(".SH \"{heading}\""))
                    || main.contains(&format!(".SH {heading}")),
                "{heading}"
            );
        }
        let audit = std::fs::read_to_string(&pages[1]).unwrap();
        assert!(audit.contains("format"));
    }

    #[test]
    fn completions_name_the_subcommands() {
        let mut out = Vec::new();
        write_completions(cli(), clap_complete::Shell::Bash, &mut out).unwrap();
        let script = String::from_utf8(out).unwrap();
        assert!(script.contains("audit"));
        assert!(script.contains("complete"));
        assert!(
            !script.contains("generate"),
            "hidden commands are not offered"
        );
    }
}
