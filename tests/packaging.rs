//! The packages as an operator gets them. `packaging/build.sh` builds the
//! .deb (cargo-deb) and the .rpm (rpmbuild) from the Cargo metadata; the .deb
//! is installed with dpkg on this machine, its binary run, its units checked
//! with `systemd-analyze verify`, then purged; the .rpm is read with rpm. The
//! man pages and completions are checked with man and bash.
//!
//! The package tests need cargo-deb, rpmbuild and (for dpkg -i) root; they
//! skip with a notice without them, unless SCHEDGUARD_REQUIRE_PACKAGING=1
//! (set by .ci/run).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::time::Duration;
use support::*;

/// build.sh regenerates shared folders under target/release: one at a time.
static BUILD: Mutex<()> = Mutex::new(());

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn required() -> bool {
    std::env::var_os("SCHEDGUARD_REQUIRE_PACKAGING").is_some_and(|v| v == "1")
}

/// True when `tool` is on PATH; false with a notice (or a panic when the
/// packaging tests are required).
fn have(tool: &str, why: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            !required(),
            "{tool} is missing and SCHEDGUARD_REQUIRE_PACKAGING=1 ({why})"
        );
        eprintln!("NOTICE: skipping: {tool} is missing ({why})");
    }
    found
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

fn checked(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Runs `packaging/build.sh what` and returns the package it made.
fn build(what: &str) -> PathBuf {
    let _one_at_a_time = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let output = checked(Command::new(repo().join("packaging/build.sh")).arg(what));
    let extension = format!(".{what}");
    let listed = text(&output);
    let package = listed
        .lines()
        .rev()
        .find(|l| l.ends_with(&extension))
        .unwrap_or_else(|| panic!("build.sh {what} named no {extension} file:\n{listed}"));
    PathBuf::from(package)
}

fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// Runs dpkg, waiting while another dpkg or apt holds its lock (another
/// install on this machine), at most 10 minutes.
fn dpkg(args: &[&std::ffi::OsStr]) -> Output {
    let started = std::time::Instant::now();
    loop {
        let output = Command::new("dpkg").args(args).output().expect("dpkg runs");
        let locked = String::from_utf8_lossy(&output.stderr).contains("lock");
        if output.status.success() || !locked || started.elapsed() > Duration::from_secs(600) {
            return output;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn dpkg_checked(args: &[&std::ffi::OsStr]) {
    let output = dpkg(args);
    assert!(
        output.status.success(),
        "dpkg {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Purges the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = dpkg(&["--purge".as_ref(), "schedguard".as_ref()]);
    }
}

#[test]
fn deb_installs_runs_and_its_units_verify_then_purges_needs_root() {
    if !have("cargo-deb", "cargo install --locked cargo-deb")
        || !have("dpkg", "a Debian system")
        || !have("systemd-analyze", "apt-get install systemd")
    {
        return;
    }
    if !is_root() {
        assert!(!required(), "dpkg -i needs root");
        eprintln!("NOTICE: skipping: dpkg -i needs root");
        return;
    }
    let status = Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", "schedguard"])
        .output()
        .unwrap();
    if text(&status).contains("installed") && !text(&status).contains("not-installed") {
        panic!(
            "a schedguard package is already installed here; this test would replace and purge it"
        );
    }

    let deb = build("deb");
    let contents = text(&checked(
        Command::new("dpkg-deb").arg("--contents").arg(&deb),
    ));
    for path in [
        "./usr/bin/schedguard",
        "./usr/bin/schedguard-collector",
        "./usr/lib/systemd/system/schedguard-agent.service",
        "./usr/lib/systemd/system/schedguard-audit.service",
        "./usr/lib/systemd/system/schedguard-audit.timer",
        "./etc/schedguard/agent.yaml",
        "./usr/share/man/man1/schedguard.1.gz",
        "./usr/share/man/man1/schedguard-audit.1.gz",
        "./usr/share/bash-completion/completions/schedguard",
        "./usr/share/zsh/vendor-completions/_schedguard",
        "./usr/share/fish/vendor_completions.d/schedguard.fish",
        "./usr/share/doc/schedguard/README.md",
    ] {
        assert!(
            contents.contains(path),
            "{path} is not in the .deb:\n{contents}"
        );
    }
    let fields = text(&checked(
        Command::new("dpkg-deb")
            .arg("--field")
            .arg(&deb)
            .args(["Package", "Version", "Depends"]),
    ));
    assert!(
        fields.contains(&format!("Version: {}-1", version())),
        "{fields}"
    );
    assert!(fields.contains("libc6"), "{fields}");

    let _purge = Installed;
    dpkg_checked(&["--install".as_ref(), deb.as_os_str()]);

    let shown = text(&checked(
        Command::new("/usr/bin/schedguard").arg("--version"),
    ));
    assert_eq!(shown.trim(), format!("schedguard {}", version()));
    // `schedguard collector` runs the installed schedguard-collector.
    let minted =
        checked(Command::new("/usr/bin/schedguard").args(["collector", "token", "node-a"]));
    let line = String::from_utf8_lossy(&minted.stderr);
    assert!(line.contains("write node-a sha256:"), "{line}");

    // systemd-analyze also checks that ExecStart's binary and the
    // Documentation= man page exist.
    let units: Vec<String> = [
        "schedguard-agent.service",
        "schedguard-audit.service",
        "schedguard-audit.timer",
    ]
    .iter()
    .map(|u| format!("/usr/lib/systemd/system/{u}"))
    .collect();
    let verify = checked(Command::new("systemd-analyze").arg("verify").args(&units));
    let complaints = String::from_utf8_lossy(&verify.stderr);
    assert!(
        !complaints.contains("schedguard"),
        "systemd-analyze verify complained:\n{complaints}"
    );
    let page = text(&checked(Command::new("man").args(["-w", "schedguard"])));
    assert!(page.contains("/usr/share/man/man1/schedguard.1"), "{page}");

    let conffiles = text(&checked(Command::new("dpkg-query").args([
        "-W",
        "-f=${Conffiles}",
        "schedguard",
    ])));
    assert!(
        conffiles.contains("/etc/schedguard/agent.yaml"),
        "{conffiles}"
    );
    assert!(
        !Path::new("/etc/systemd/system/multi-user.target.wants/schedguard-agent.service").exists(),
        "the agent is installed disabled"
    );

    // The installed agent accepts the installed configuration.
    let dir = tempfile::tempdir().unwrap();
    let agent = healthy_agent(
        Command::new("/usr/bin/schedguard"),
        Path::new("/etc/schedguard/agent.yaml"),
        dir.path(),
    );
    drop(agent);

    dpkg_checked(&["--purge".as_ref(), "schedguard".as_ref()]);
    assert!(!Path::new("/usr/bin/schedguard").exists());
    assert!(!Path::new("/etc/schedguard").exists());
    assert!(!Path::new("/usr/lib/systemd/system/schedguard-agent.service").exists());
}

#[test]
fn rpm_builds_from_the_cargo_metadata_and_lists_its_files() {
    if !have("rpmbuild", "apt-get install rpm") {
        return;
    }
    let rpm = build("rpm");
    let query = |format: &str| {
        text(&checked(
            Command::new("rpm")
                .args(["-qp", "--queryformat", format])
                .arg(&rpm),
        ))
    };
    assert_eq!(
        query("%{NAME} %{VERSION} %{LICENSE}"),
        format!("schedguard {} Apache-2.0", version())
    );
    assert!(query("%{SUMMARY}").contains("kube-scheduler"));

    let files = text(&checked(Command::new("rpm").arg("-qlp").arg(&rpm)));
    for path in [
        "/usr/bin/schedguard",
        "/usr/bin/schedguard-collector",
        "/usr/lib/systemd/system/schedguard-agent.service",
        "/usr/lib/systemd/system/schedguard-audit.timer",
        "/etc/schedguard/agent.yaml",
        "/usr/share/man/man1/schedguard.1",
        "/usr/share/bash-completion/completions/schedguard",
        "/usr/share/zsh/site-functions/_schedguard",
        "/usr/share/fish/vendor_completions.d/schedguard.fish",
    ] {
        assert!(files.contains(path), "{path} is not in the .rpm:\n{files}");
    }
    let config = text(&checked(Command::new("rpm").arg("-qcp").arg(&rpm)));
    assert_eq!(
        config.trim(),
        "/etc/schedguard/agent.yaml",
        "the only %config file"
    );
    let scripts = text(&checked(
        Command::new("rpm").args(["-qp", "--scripts"]).arg(&rpm),
    ));
    assert!(
        scripts.contains("daemon-reload") && scripts.contains("disable --now"),
        "{scripts}"
    );
    let requires = text(&checked(
        Command::new("rpm").args(["-qp", "--requires"]).arg(&rpm),
    ));
    assert!(
        requires.contains("libc.so.6"),
        "ELF dependencies are found: {requires}"
    );
    let digests = text(&checked(
        Command::new("rpm")
            .args(["--checksig", "--nosignature"])
            .arg(&rpm),
    ));
    assert!(digests.contains("digests OK"), "{digests}");
}

/// The two packages are built from two lists (Cargo.toml's assets, build.sh's
/// staging); they must not drift apart.
#[test]
fn deb_and_rpm_hold_the_same_files() {
    if !have("cargo-deb", "cargo install --locked cargo-deb")
        || !have("rpmbuild", "apt-get install rpm")
    {
        return;
    }
    let deb = build("deb");
    let rpm = build("rpm");
    let normalise = |path: &str| -> Option<String> {
        let path = path.trim().trim_start_matches('.');
        let path = path.strip_suffix(".gz").unwrap_or(path);
        // Each distribution's own zsh folder; Debian's copyright file.
        let path = path.replace("/zsh/vendor-completions/", "/zsh/site-functions/");
        (path.starts_with('/') && !path.ends_with('/') && !path.ends_with("/copyright"))
            .then_some(path)
    };
    let deb_files: std::collections::BTreeSet<String> = text(&checked(
        Command::new("dpkg-deb").arg("--contents").arg(&deb),
    ))
    .lines()
    .filter(|l| !l.starts_with('d'))
    .filter_map(|l| l.split_whitespace().last())
    .filter_map(normalise)
    .collect();
    let rpm_files: std::collections::BTreeSet<String> = text(&checked(
        Command::new("rpm")
            .args([
                "-qp",
                "--queryformat",
                "[%{FILENAMES} %{FILEMODES:perms}\\n]",
            ])
            .arg(&rpm),
    ))
    .lines()
    .filter(|l| !l.contains(" d"))
    .filter_map(|l| l.split_whitespace().next())
    .filter_map(normalise)
    .collect();
    assert_eq!(deb_files, rpm_files);
}

#[test]
fn shipped_default_configuration_is_accepted_by_the_agent() {
    let dir = tempfile::tempdir().unwrap();
    let _agent = healthy_agent(
        schedguard(),
        &repo().join("packaging/agent.yaml"),
        dir.path(),
    );
}

/// `schedguard agent --config CONFIG --no-network` run by `command` (the
/// built or the installed executable) with its spool under `dir`, once its
/// /healthz answers 200: the configuration was accepted and an audit ran.
fn healthy_agent(mut command: Command, config: &Path, dir: &Path) -> Running {
    let port = free_port();
    let agent = Running {
        child: spawn(
            command
                .args(["agent", "--no-network", "--config"])
                .arg(config)
                .arg(format!("--listen=127.0.0.1:{port}"))
                .arg("--spool-dir")
                .arg(dir.join("spool"))
                .env_remove("NOTIFY_SOCKET")
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        ),
    };
    wait_until(
        Duration::from_secs(60),
        &format!("the /healthz of the agent with {}", config.display()),
        || http_answer(port, "/healthz").contains(" 200 "),
    );
    agent
}

#[test]
fn man_pages_render_and_name_every_command_and_format() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(
        &["generate", "man", dir.path().to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert!(output.status.success(), "{output:?}");
    for page in [
        "schedguard",
        "schedguard-audit",
        "schedguard-agent",
        "schedguard-checks",
        "schedguard-explain",
    ] {
        assert!(dir.path().join(format!("{page}.1")).exists(), "{page}.1");
    }
    if !have("man", "apt-get install man-db") {
        return;
    }
    let rendered = |page: &str| {
        text(&checked(
            Command::new("man")
                .arg("-l")
                .arg(dir.path().join(page))
                .env("MANWIDTH", "100")
                .env_remove("MAN_KEEP_FORMATTING")
                .env("MANPAGER", "cat")
                .env("PAGER", "cat"),
        ))
    };
    let main = rendered("schedguard.1");
    for heading in [
        "NAME",
        "SYNOPSIS",
        "OUTPUT FORMATS",
        "EXIT STATUS",
        "FILES",
        "EXAMPLES",
    ] {
        assert!(main.contains(heading), "{heading} is missing:\n{main}");
    }
    let audit = rendered("schedguard-audit.1");
    for format in ["sarif", "policyreport", "junit", "prometheus"] {
        assert!(
            audit.contains(format),
            "{format} is missing from schedguard-audit(1)"
        );
    }
    assert!(audit.contains("--output"));
}

#[test]
fn bash_completion_completes_subcommands_and_formats() {
    if !have("bash", "apt-get install bash") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("schedguard.bash");
    let output = run(
        &["generate", "completions", "bash"],
        Duration::from_secs(30),
    );
    assert!(output.status.success());
    std::fs::write(&script, &output.stdout).unwrap();

    // What bash offers after `schedguard ` and `schedguard audit --format `.
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        let program = format!(
            "source {}\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n_schedguard schedguard '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
            words.len() - 1,
            words.last().unwrap(),
            words[words.len() - 2],
        );
        text(&checked(
            Command::new("bash").args(["--norc", "-c", &program]),
        ))
    };
    let commands = complete("schedguard ");
    for command in ["audit", "checks", "explain", "agent"] {
        assert!(
            commands.lines().any(|l| l == command),
            "{command}: {commands}"
        );
    }
    assert!(
        !commands.contains("generate"),
        "the packaging command stays hidden"
    );
    let formats = complete("schedguard audit --format ");
    for format in [
        "text",
        "json",
        "sarif",
        "policyreport",
        "junit",
        "prometheus",
    ] {
        assert!(formats.lines().any(|l| l == format), "{format}: {formats}");
    }
}
