//! Where a finding points on the host: the file a person opens to fix it
//! (the kubeconfig, the `--config` file, the static pod manifest), for the
//! formats whose consumers want a location (SARIF, PolicyReport).

use crate::checks::Finding;
use crate::facts::{Facts, Target};

/// The files a finding is about, most specific first. Never empty for a
/// finding about a process; empty only for a finding that names no file and
/// no process (a cluster finding whose evidence names no path).
///
/// In order:
/// 1. the target's files (kubeconfigs, keys, the `--config` file, the static
///    pod manifest) that the message or the evidence names;
/// 2. any other absolute path an evidence line starts with (findings of
///    other producers, such as a cluster mode's kubeconfig);
/// 3. the `--config` file, when a value came from it or from a default it
///    left unset (the fix goes there);
/// 4. the static pod manifest, which holds the command line;
/// 5. `/proc/PID/cmdline`, where the command line was read.
///
/// Limitation: paths are as the process names them, inside its own root. For
/// a scheduler in a container that is the path inside the container, which
/// for static pods is usually the same host path through a hostPath mount.
pub fn paths(finding: &Finding, facts: &Facts) -> Vec<String> {
    let target = finding.target.as_ref().and_then(|r| {
        facts
            .targets
            .iter()
            .find(|t| t.pid == r.pid && t.kind.as_str() == r.kind)
    });
    let mut found: Vec<String> = Vec::new();
    let mut add = |path: &str| {
        if !found.iter().any(|p| p == path) {
            found.push(path.to_string());
        }
    };

    if let Some(t) = target {
        let known = known_paths(t);
        // The message first: it names what failed, while the evidence also
        // lists what was examined and found fine.
        let texts = std::iter::once(finding.message.as_str())
            .chain(finding.evidence.iter().map(|e| e.detail.as_str()));
        for text in texts {
            // Longest first, so /a/b.conf.d is not reported as /a/b.conf.
            let mut named: Vec<(usize, &str)> = known
                .iter()
                .filter_map(|p| position_of_path(text, p).map(|at| (at, *p)))
                .collect();
            named.sort();
            for (_, path) in named {
                add(path);
            }
        }
    }
    for e in &finding.evidence {
        if let Some(path) = leading_path(&e.detail) {
            add(path);
        }
    }
    if !found.is_empty() {
        return found;
    }

    if let Some(t) = target {
        let config_rules = finding
            .evidence
            .iter()
            .any(|e| e.source == "config" || e.source == "default");
        if let (true, Some(config)) = (config_rules, &t.config) {
            return vec![config.path.clone()];
        }
        if let Some(pod) = &t.static_pod {
            return vec![pod.manifest.clone()];
        }
    }
    match &finding.target {
        Some(r) => vec![format!("/proc/{}/cmdline", r.pid)],
        None => Vec::new(),
    }
}

/// The files of a target a finding may be about.
fn known_paths(t: &Target) -> Vec<&str> {
    let mut paths: Vec<&str> = t.files.iter().map(|f| f.path.as_str()).collect();
    if let Some(config) = &t.config {
        paths.push(&config.path);
    }
    if let Some(pod) = &t.static_pod {
        paths.push(&pod.manifest);
    }
    paths.sort_by_key(|p| std::cmp::Reverse(p.len()));
    paths.dedup();
    paths
}

/// Where `path` occurs in `text` as a whole path (not as the start of a
/// longer one), if it does.
fn position_of_path(text: &str, path: &str) -> Option<usize> {
    if path.is_empty() {
        return None;
    }
    let mut from = 0;
    while let Some(at) = text[from..].find(path) {
        let start = from + at;
        let end = start + path.len();
        let before_ok = text[..start]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "=(\"'".contains(c));
        let after_ok = text[end..]
            .chars()
            .next()
            .is_none_or(|c| c.is_whitespace() || ":;,)\"'".contains(c));
        if before_ok && after_ok {
            return Some(start);
        }
        from = end;
    }
    None
}

/// The absolute path an evidence line starts with (`/etc/x.conf (...)`,
/// `config file /etc/x.yaml: field`), if any.
fn leading_path(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("config file ").unwrap_or(detail);
    if !rest.starts_with('/') {
        return None;
    }
    let end = rest
        .find(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == ';')
        .unwrap_or(rest.len());
    Some(&rest[..end]).filter(|p| p.len() > 1)
}

/// A `file://` URI for an absolute path, percent-encoding what a URI path
/// may not hold.
pub fn file_uri(path: &str) -> String {
    let mut uri = String::from("file://");
    if !path.starts_with('/') {
        uri.push('/');
    }
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&byte);
        if keep {
            uri.push(byte as char);
        } else {
            uri.push_str(&format!("%{byte:02X}"));
        }
    }
    uri
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::{Severity, Status};
    use crate::report::testing::*;

    fn of(f: Finding) -> Vec<String> {
        paths(&f, &facts(vec![target(4242)]))
    }

    #[test]
    fn a_file_finding_points_at_the_file_its_evidence_names() {
        let f = with_evidence(
            finding("SG-102", Status::Fail, Severity::High, 4242),
            "file",
            "/etc/kubernetes/scheduler.conf (--kubeconfig): regular file 0644",
        );
        assert_eq!(of(f), ["/etc/kubernetes/scheduler.conf"]);
    }

    #[test]
    fn a_value_from_the_config_file_points_at_the_config_file() {
        let f = with_evidence(
            finding("SG-201", Status::Fail, Severity::Medium, 4242),
            "config",
            "config file /etc/kubernetes/sched.yaml: enableProfiling",
        );
        assert_eq!(of(f), ["/etc/kubernetes/sched.yaml"]);
    }

    #[test]
    fn a_default_the_config_file_left_unset_points_at_the_config_file() {
        let f = with_evidence(
            finding("SG-201", Status::Fail, Severity::Medium, 4242),
            "default",
            "built-in default of v1.30.2 (enableProfiling not set)",
        );
        assert_eq!(of(f), ["/etc/kubernetes/sched.yaml"]);
    }

    #[test]
    fn a_flag_points_at_the_static_pod_manifest() {
        let f = with_evidence(
            finding("SG-301", Status::Fail, Severity::High, 4242),
            "argv",
            "argv[2]: --bind-address=0.0.0.0",
        );
        assert_eq!(of(f), ["/etc/kubernetes/manifests/kube-scheduler.yaml"]);
    }

    #[test]
    fn without_a_manifest_a_flag_points_at_the_command_line() {
        let mut t = target(4242);
        t.static_pod = None;
        let f = with_evidence(
            finding("SG-301", Status::Fail, Severity::High, 4242),
            "argv",
            "argv[2]: --bind-address=0.0.0.0",
        );
        assert_eq!(paths(&f, &facts(vec![t])), ["/proc/4242/cmdline"]);
    }

    #[test]
    fn a_path_that_only_starts_like_a_known_file_is_not_that_file() {
        assert_eq!(position_of_path("/a/b.conf.d/x", "/a/b.conf"), None);
        assert_eq!(
            position_of_path("see /a/b.conf: 0644", "/a/b.conf"),
            Some(4)
        );
        assert_eq!(
            position_of_path("--kubeconfig=/a/b.conf", "/a/b.conf"),
            Some(13)
        );
    }

    #[test]
    fn another_producer_s_path_is_taken_from_the_start_of_its_evidence() {
        let mut f = with_evidence(
            finding("SG-703", Status::Fail, Severity::High, 0),
            "kubeconfig",
            "/root/.kube/config: ClusterRoleBinding node-editors",
        );
        f.target = None;
        assert_eq!(of(f), ["/root/.kube/config"]);
    }

    #[test]
    fn a_cluster_finding_without_a_path_has_no_location() {
        let mut f = finding("SG-704", Status::Warn, Severity::Medium, 0);
        f.target = None;
        assert!(of(f).is_empty());
    }

    #[test]
    fn uris_encode_what_a_path_may_not_hold() {
        assert_eq!(file_uri("/etc/a b%.conf"), "file:///etc/a%20b%25.conf");
        assert_eq!(file_uri("/proc/1/cmdline"), "file:///proc/1/cmdline");
    }
}
