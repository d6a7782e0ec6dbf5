//! The Kubernetes artefacts against the real kube-apiserver v1.20.2
//! (tests/support/realk8s.rs, in a network namespace of its own) and kubectl:
//! the DaemonSet manifest is validated by kubectl against the server's
//! OpenAPI schema and then by the server itself (server-side dry run); the
//! PolicyReport of a live audit is validated by kubectl against the schema
//! the server publishes for the wgpolicyk8s.io CRD once it is installed.
//!
//! Limitation: the real kube-apiserver build here (Go 1.19 with the vendored
//! reflect2 1.0.1) dies with SIGSEGV on any request that creates a custom
//! resource, dry run included, so the PolicyReport is not sent to it; the
//! CRD's enums and required fields are checked in tests/formats.rs.
//!
//! Needs root (network namespaces), the real control plane and kubectl; skips
//! with a notice without them unless SCHEDGUARD_REQUIRE_REAL=1.

mod support;

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use support::realk8s::RealCluster;
use support::*;

fn kubectl_available() -> bool {
    let found = Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("SCHEDGUARD_REQUIRE_REAL").is_none_or(|v| v != "1"),
            "kubectl is missing and SCHEDGUARD_REQUIRE_REAL=1 (apt-get install kubernetes-client)"
        );
        eprintln!("NOTICE: skipping: kubectl is missing (apt-get install kubernetes-client)");
    }
    found
}

/// kubectl as the cluster's admin, from inside its network namespace.
fn kubectl(cluster: &RealCluster, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", cluster.netns(), "kubectl", "--kubeconfig"])
        .arg(cluster.admin_kubeconfig())
        .args(args)
        .output()
        .expect("kubectl runs")
}

fn succeeded(output: Output, what: &str) -> Vec<u8> {
    assert!(
        output.status.success(),
        "{what} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn refused(output: Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "kubectl accepted what it should refuse"
    );
    assert!(stderr.contains(expected), "{stderr}");
}

fn manifest() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/kubernetes/schedguard-agent.yaml"),
    )
    .unwrap()
}

#[test]
fn daemonset_manifest_passes_server_side_validation_needs_root() {
    if !kubectl_available() {
        return;
    }
    let Some(cluster) = RealCluster::start("ds", "delegated", "") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schedguard-agent.yaml");
    std::fs::write(&path, manifest()).unwrap();
    let path = path.to_str().unwrap();

    // Namespaced objects need their namespace to exist, even in a dry run.
    succeeded(
        kubectl(&cluster, &["create", "namespace", "schedguard"]),
        "create namespace",
    );
    let applied = succeeded(
        kubectl(
            &cluster,
            &[
                "apply",
                "--dry-run=server",
                "--validate=true",
                "-f",
                path,
                "-o",
                "json",
            ],
        ),
        "server-side dry run",
    );
    let list: Value = serde_json::from_slice(&applied).unwrap();
    let kinds: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap", "DaemonSet"]);

    // What the server kept (and defaulted) is what the manifest asks for.
    let ds = &list["items"][2];
    let pod = &ds["spec"]["template"]["spec"];
    assert_eq!(pod["hostPID"], true);
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let container = &pod["containers"][0];
    assert!(container["args"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "--host-root=/host"));
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], serde_json::json!(["ALL"]));
    assert_eq!(
        security["capabilities"]["add"],
        serde_json::json!(["SYS_PTRACE", "DAC_READ_SEARCH"])
    );
    let host_root = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "host-root")
        .unwrap();
    assert_eq!(host_root["hostPath"]["path"], "/");
    let mount = container["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "host-root")
        .unwrap();
    assert_eq!(mount["readOnly"], true);
    let terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"]
        .to_string();
    assert!(terms.contains("node-role.kubernetes.io/control-plane"));
    let tolerations = pod["tolerations"].to_string();
    assert!(tolerations.contains("node-role.kubernetes.io/control-plane"));

    // The validation is real: a misspelt field, a wrong type and a wrong
    // value are each refused.
    for (from, to, expected) in [
        (
            "      hostPID: true",
            "      hostPid: true",
            "unknown field \"hostPid\"",
        ),
        (
            "              add: [SYS_PTRACE, DAC_READ_SEARCH]",
            "              add: SYS_PTRACE",
            "expected \"array\"",
        ),
        (
            "            type: Directory",
            "            type: Folder",
            "Unsupported value: \"Folder\"",
        ),
    ] {
        let broken = dir.path().join("broken.yaml");
        assert!(manifest().contains(from), "{from}");
        std::fs::write(&broken, manifest().replace(from, to)).unwrap();
        refused(
            kubectl(
                &cluster,
                &[
                    "apply",
                    "--dry-run=server",
                    "--validate=true",
                    "-f",
                    broken.to_str().unwrap(),
                ],
            ),
            expected,
        );
    }
}

#[test]
fn policy_report_of_a_live_audit_matches_the_schema_the_server_publishes_needs_root() {
    if !kubectl_available() {
        return;
    }
    let Some(cluster) = RealCluster::start("polr", "delegated", "") else {
        return;
    };
    let crds =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/wgpolicyk8s-v1alpha2-crds.yaml");
    succeeded(
        kubectl(&cluster, &["apply", "-f", crds.to_str().unwrap()]),
        "install the CRDs",
    );
    succeeded(
        kubectl(
            &cluster,
            &[
                "wait",
                "--for=condition=established",
                "--timeout=60s",
                "crd/clusterpolicyreports.wgpolicyk8s.io",
                "crd/policyreports.wgpolicyk8s.io",
            ],
        ),
        "wait for the CRDs",
    );
    // kubectl validates against the OpenAPI document, where the new
    // resources appear shortly after the CRDs are established.
    wait_until(
        Duration::from_secs(60),
        "the CRD schema in /openapi/v2",
        || {
            let output = kubectl(&cluster, &["get", "--raw", "/openapi/v2"]);
            String::from_utf8_lossy(&output.stdout)
                .contains("io.wgpolicyk8s.v1alpha2.ClusterPolicyReport")
        },
    );

    // A live audit of this host, the real scheduler among its targets.
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.yaml");
    let output = run(
        &[
            "audit",
            "--no-network",
            "--format",
            "policyreport",
            "--output",
            report.to_str().unwrap(),
        ],
        Duration::from_secs(120),
    );
    assert!(output.status.code().is_some_and(|c| c != 64), "{output:?}");
    let text = std::fs::read_to_string(&report).unwrap();
    let pid = cluster.scheduler_pid().to_string();
    assert!(
        text.contains(&format!("pid: \"{pid}\"")),
        "the real scheduler is in the report"
    );

    let validate = |path: &Path| {
        kubectl(
            &cluster,
            &[
                "apply",
                "--dry-run=client",
                "--validate=true",
                "-f",
                path.to_str().unwrap(),
                "-o",
                "json",
            ],
        )
    };
    let applied: Value =
        serde_json::from_slice(&succeeded(validate(&report), "kubectl validation")).unwrap();
    assert_eq!(applied["kind"], "ClusterPolicyReport");
    assert!(!applied["results"].as_array().unwrap().is_empty());

    // The schema is enforced: an unknown field and a wrong type are refused.
    for (from, to, expected) in [
        (
            "  scored: true",
            "  scored: true\n    surprise: \"x\"",
            "unknown field \"surprise\"",
        ),
        (
            "  scored: true",
            "  scored: \"yes\"",
            "expected \"boolean\"",
        ),
    ] {
        let broken = dir.path().join("broken.yaml");
        assert!(text.contains(from));
        std::fs::write(&broken, text.replacen(from, to, 1)).unwrap();
        refused(validate(&broken), expected);
    }
}
