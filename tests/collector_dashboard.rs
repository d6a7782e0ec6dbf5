//! The dashboard in a real browser: headless Chromium (Debian's `chromium`
//! package) loads the pages of a collector seeded with a fleet, signed in
//! with a read token the way an operator's browser is (HTTP Basic). The
//! rendered DOM must show the nodes × checks matrix, the stale node, and a
//! node's findings with hostile report text shown as text; screenshots are
//! saved under target/test-artifacts/. Set SCHEDGUARD_SKIP_CHROMIUM=1 to
//! skip where Chromium cannot be installed.

mod support;

use schedguard::checks::Status;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use support::fleet::{Collector, Tokens};
use support::{reports, wait_until};

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCHEDGUARD_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    let paths = std::env::var_os("PATH").unwrap_or_default();
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Some(dir) = std::env::split_paths(&paths).find(|d| d.join(name).exists()) {
            return Some(dir.join(name));
        }
    }
    if std::env::var_os("SCHEDGUARD_SKIP_CHROMIUM").is_some() {
        eprintln!("NOTICE: skipping: no Chromium and SCHEDGUARD_SKIP_CHROMIUM is set");
        return None;
    }
    panic!("Chromium is needed (apt-get install chromium, or set SCHEDGUARD_CHROMIUM); set SCHEDGUARD_SKIP_CHROMIUM=1 to skip this test");
}

/// Runs headless Chromium once with a fresh profile, in a process group of
/// its own that is killed when it is done (or after a minute).
fn browse(browser: &Path, extra: &[String], url: &str) -> Output {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--no-proxy-server",
            "--hide-scrollbars",
            // The collector's certificate is from the throw-away test CA.
            "--ignore-certificate-errors",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let child = command.spawn().expect("chromium starts");
    let group = child.id();
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(child.wait_with_output());
    });
    let output = finished.recv_timeout(Duration::from_secs(90));
    // Helpers it may have left behind share its process group.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{group}")])
        .stderr(Stdio::null())
        .status();
    output
        .expect("chromium finished within 90s")
        .expect("chromium's output is read")
}

fn dom(browser: &Path, url: &str) -> String {
    let output = browse(browser, &["--dump-dom".to_string()], url);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        text.contains("</html>"),
        "no page from {url}: {}\n{}",
        text,
        String::from_utf8_lossy(&output.stderr)
    );
    text
}

fn screenshot(browser: &Path, url: &str, file: &Path, height: u32) {
    let _ = std::fs::remove_file(file);
    let output = browse(
        browser,
        &[
            format!("--screenshot={}", file.display()),
            format!("--window-size=1400,{height}"),
        ],
        url,
    );
    let png = std::fs::read(file).unwrap_or_else(|e| {
        panic!(
            "no screenshot {} ({e}): {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    assert_eq!(width, 1400);
    assert!(
        png.len() > 20_000,
        "a nearly empty screenshot: {} bytes",
        png.len()
    );
}

/// The `<tr>` of one node in the matrix.
fn row<'a>(page: &'a str, node: &str) -> &'a str {
    let start = page
        .find(&format!("<tr data-node=\"{node}\""))
        .unwrap_or_else(|| panic!("no row for {node}"));
    let end = page[start..].find("</tr>").unwrap() + start;
    &page[start..end]
}

#[test]
fn the_dashboard_shows_the_fleet_matrix_and_node_pages_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut nodes: Vec<String> = (1..=10).map(|i| format!("cp-{i:02}")).collect();
    nodes.push("old-1".into());
    nodes.push("cp-evil".into());
    let names: Vec<&str> = nodes.iter().map(String::as_str).collect();
    let tokens = Tokens::create(dir.path(), &names);
    let database = format!("sqlite:{}", dir.path().join("collector.db").display());
    let collector = Collector::start(
        dir.path(),
        &tokens,
        &database,
        &["--interval", "4s", "--stale-after", "3"],
    );
    let post = |node: &str, body: &[u8]| {
        let r = collector.post(&tokens, node, body);
        assert_eq!(r.status, 201, "{}", r.text());
    };

    // One node that stopped reporting...
    let id = reports::new_id();
    post(
        "old-1",
        &reports::envelope("old-1", &id, &reports::realistic("old-1", 0)),
    );
    wait_until(Duration::from_secs(60), "old-1 to go stale", || {
        collector.query(&tokens, "/v1/nodes")["nodes"][0]["stale"] == true
    });
    // ...ten that did, and one whose report carries markup.
    for (i, node) in nodes.iter().take(10).enumerate() {
        let id = reports::new_id();
        post(
            node,
            &reports::envelope(node, &id, &reports::realistic(node, i as u64)),
        );
    }
    let mut hostile = reports::finding("SG-501", Status::Fail);
    hostile.message =
        "<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">"
            .into();
    hostile.evidence[0].detail = "</code><b id=\"injected\">bold</b>".into();
    hostile.references.push("javascript:alert(1)".into());
    let id = reports::new_id();
    post(
        "cp-evil",
        &reports::envelope("cp-evil", &id, &reports::report("cp-evil", vec![hostile])),
    );

    let base = format!("https://ops:{}@127.0.0.1:{}", tokens.read, collector.port);
    let fleet = dom(&browser, &format!("{base}/"));
    assert!(
        fleet.contains("<title>Fleet · schedguard</title>"),
        "{fleet}"
    );
    assert!(fleet.contains("<table class=\"matrix\" id=\"matrix\">"));
    assert_eq!(fleet.matches("<tr data-node=").count(), 12);
    assert!(fleet.contains("<b id=\"nodes-known\">12</b>"));
    assert!(fleet.contains("<b id=\"nodes-stale\">1</b>"));
    // realistic(): the catalogue's checks in order, statuses cycling from
    // `variant`; SG-101 is the first check.
    let first = schedguard::checks::catalogue::CATALOGUE[0].id;
    let cycle = [
        "pass", "pass", "fail", "pass", "warn", "skip", "pass", "error",
    ];
    for (i, node) in nodes.iter().take(10).enumerate() {
        let cell = format!(
            "data-check=\"{first}\" data-status=\"{}\"",
            cycle[i % cycle.len()]
        );
        assert!(row(&fleet, node).contains(&cell), "{node}: no {cell}");
    }
    assert!(row(&fleet, "old-1").contains("badge stale"));
    assert!(row(&fleet, "cp-evil").contains("data-check=\"SG-501\" data-status=\"fail\""));
    assert!(row(&fleet, "cp-evil").contains("data-check=\"SG-101\" data-status=\"none\""));
    let stale_table = &fleet[fleet.find("id=\"stale-nodes\"").expect("a stale table")..];
    assert!(stale_table[..stale_table.find("</table>").unwrap()].contains("old-1"));
    assert!(
        !fleet.contains("<script") && !fleet.contains("<img"),
        "markup got through"
    );

    let node = dom(&browser, &format!("{base}/nodes/cp-evil"));
    assert!(
        node.contains("<title>cp-evil · schedguard</title>"),
        "the title is untouched"
    );
    assert!(
        node.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"),
        "{node}"
    );
    assert!(
        !node.contains("<script") && !node.contains("<img") && !node.contains("<b id=\"injected\"")
    );
    assert!(!node.contains("href=\"javascript:"));
    assert!(node.contains("<details class=\"finding fail\" data-check=\"SG-501\" open=\"\">"));
    let remediation = schedguard::checks::catalogue::find("SG-501")
        .unwrap()
        .remediation;
    let shown = remediation
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    assert!(node.contains(&shown), "the remediation is shown");

    let findings = dom(
        &browser,
        &format!("{base}/findings?check=SG-501&status=fail"),
    );
    assert!(findings.contains("id=\"finding-list\""));
    assert!(findings.contains("cp-evil"));

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .join("test-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    screenshot(
        &browser,
        &format!("{base}/"),
        &artifacts.join("collector-dashboard.png"),
        1000,
    );
    screenshot(
        &browser,
        &format!("{base}/nodes/cp-03"),
        &artifacts.join("collector-node.png"),
        2000,
    );
    eprintln!("screenshots in {}", artifacts.display());
}
