//! Static pod manifests: where kubelet reads them, and which one starts a
//! given process.

use crate::host::files::Root;
use crate::k8s::argv;
use serde_json::Value;

/// Manifest folders of the common distributions, searched besides the one a
/// running kubelet names.
const KNOWN_DIRS: &[&str] = &[
    "/etc/kubernetes/manifests",
    "/var/lib/rancher/rke2/agent/pod-manifests",
];

/// The largest manifest or kubelet config read.
const MANIFEST_LIMIT: u64 = 1 << 20;
/// At most this many files are read from one manifest folder.
const MAX_MANIFESTS: usize = 200;

/// A container of a static pod manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub path: String,
    pub pod_name: Option<String>,
    pub image: Option<String>,
    /// `command` followed by `args`.
    pub argv: Vec<String>,
}

/// The manifest folder a kubelet uses: `--pod-manifest-path`, else
/// `staticPodPath` in its `--config` file.
pub fn kubelet_manifest_dir(kubelet_argv: &[String], first: usize, root: &Root) -> Option<String> {
    let args = argv::parse(kubelet_argv, first, &[]);
    if let Some(path) = args.get("pod-manifest-path") {
        return Some(path.value.clone());
    }
    let config = args.get("config")?;
    let bytes = root.read(&config.value, MANIFEST_LIMIT).ok()?;
    let value: Value = serde_saphyr::from_slice(&bytes).ok()?;
    value.get("staticPodPath")?.as_str().map(String::from)
}

/// Reads every manifest container in the given folders (plus the known
/// ones). Unreadable or malformed files are skipped: they start nothing.
pub fn load(extra_dirs: &[String], root: &Root) -> Vec<Manifest> {
    let mut dirs: Vec<String> = extra_dirs.to_vec();
    dirs.extend(KNOWN_DIRS.iter().map(|d| d.to_string()));
    dirs.sort();
    dirs.dedup();

    let mut manifests = Vec::new();
    for dir in dirs {
        let names = root.list(&dir);
        for name in names
            .iter()
            .filter(|n| is_manifest_name(n))
            .take(MAX_MANIFESTS)
        {
            let path = format!("{}/{name}", dir.trim_end_matches('/'));
            let Ok(bytes) = root.read(&path, MANIFEST_LIMIT) else {
                continue;
            };
            manifests.extend(containers(&path, &bytes));
        }
    }
    manifests
}

fn is_manifest_name(name: &str) -> bool {
    !name.starts_with('.')
        && [".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
}

fn containers(path: &str, bytes: &[u8]) -> Vec<Manifest> {
    let Ok(pod) = serde_saphyr::from_slice::<Value>(bytes) else {
        return Vec::new();
    };
    if pod.get("kind").and_then(Value::as_str) != Some("Pod") {
        return Vec::new();
    }
    let pod_name = pod
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .map(String::from);
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let Some(list) = pod.pointer("/spec/containers").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|c| {
            let mut argv = strings(c.get("command"));
            argv.extend(strings(c.get("args")));
            Manifest {
                path: path.to_string(),
                pod_name: pod_name.clone(),
                image: c.get("image").and_then(Value::as_str).map(String::from),
                argv,
            }
        })
        .collect()
}

/// The manifest whose container runs exactly this argv. The program name
/// may differ in path (`kube-scheduler` against `/usr/local/bin/...`).
pub fn matching<'a>(manifests: &'a [Manifest], argv: &[String]) -> Option<&'a Manifest> {
    let base = |s: &str| s.rsplit('/').next().unwrap_or(s).to_string();
    manifests.iter().find(|m| {
        m.argv.len() == argv.len()
            && !argv.is_empty()
            && base(&m.argv[0]) == base(&argv[0])
            && m.argv[1..] == argv[1..]
    })
}

/// The tag of an image reference (`registry.k8s.io/kube-scheduler:v1.30.2`),
/// ignoring a digest.
pub fn image_tag(image: &str) -> Option<&str> {
    let image = image.split('@').next()?;
    let (_, tag) = image.rsplit_once(':')?;
    (!tag.contains('/')).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KUBEADM: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: kube-scheduler\n  namespace: kube-system\n\
        spec:\n  containers:\n  - command:\n    - kube-scheduler\n    - --bind-address=127.0.0.1\n\
        \x20   - --kubeconfig=/etc/kubernetes/scheduler.conf\n    image: registry.k8s.io/kube-scheduler:v1.30.2\n    name: kube-scheduler\n";

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn reads_command_args_and_image_of_a_kubeadm_manifest() {
        let m = containers(
            "/etc/kubernetes/manifests/kube-scheduler.yaml",
            KUBEADM.as_bytes(),
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].pod_name.as_deref(), Some("kube-scheduler"));
        assert_eq!(image_tag(m[0].image.as_deref().unwrap()), Some("v1.30.2"));
        assert_eq!(m[0].argv.len(), 3);
    }

    #[test]
    fn matches_the_process_with_the_same_argv_only() {
        let m = containers("/m.yaml", KUBEADM.as_bytes());
        let same = argv("/usr/local/bin/kube-scheduler --bind-address=127.0.0.1 --kubeconfig=/etc/kubernetes/scheduler.conf");
        assert!(matching(&m, &same).is_some());
        let other = argv(
            "kube-scheduler --bind-address=0.0.0.0 --kubeconfig=/etc/kubernetes/scheduler.conf",
        );
        assert!(matching(&m, &other).is_none());
    }

    #[test]
    fn image_tags_ignore_registry_ports_and_digests() {
        assert_eq!(image_tag("localhost:5000/kube-scheduler"), None);
        assert_eq!(
            image_tag("localhost:5000/kube-scheduler:v1.29.1@sha256:abc"),
            Some("v1.29.1")
        );
    }

    #[test]
    fn malformed_and_foreign_manifests_are_skipped() {
        assert!(containers("/x", b"kind: [").is_empty());
        assert!(containers("/x", b"kind: Deployment\n").is_empty());
        assert!(containers("/x", &[0xff, 0x00]).is_empty());
    }
}
