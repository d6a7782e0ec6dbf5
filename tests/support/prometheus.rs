//! Prometheus' own text-format parser (python3 `prometheus_client`) as the
//! referee of a /metrics page.

use std::io::Write;
use std::process::{Command, Stdio};

/// True when the parser is installed. When it is not, says so, or fails
/// when SCHEDGUARD_REQUIRE_PROMETHEUS is set (as .ci/run sets it).
pub fn available() -> bool {
    let installed = Command::new("python3")
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        assert!(
            std::env::var_os("SCHEDGUARD_REQUIRE_PROMETHEUS").is_none(),
            "python3 prometheus_client is missing and SCHEDGUARD_REQUIRE_PROMETHEUS is set"
        );
        eprintln!("NOTICE: skipping: pip install prometheus_client to run this test");
    }
    installed
}

/// Parses `text`, runs `checks` (Python lines reading `families`, the
/// families by name) and returns how many families there are.
pub fn parse(text: &str, checks: &str) -> usize {
    let script = format!(
        "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\n\
         families = {{f.name: f for f in text_string_to_metric_families(sys.stdin.read())}}\n\
         {checks}\nprint(len(families))\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("a count of families")
}
