//! Requests the tests make themselves to the real API server of a
//! [`RealCluster`]: creating RBAC objects, namespaces, pods and nodes,
//! signing client certificates with the cluster's CA, writing kubeconfigs.
//! curl runs inside the cluster's network namespace, where the API server
//! listens on 127.0.0.1:6443. Answers are asked for in protobuf: this
//! 1.20.2 API server (Go 1.19) crashes when it JSON-encodes an object with
//! labels, so JSON answers are only used for objects without maps.

use super::realk8s::RealCluster;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const SERVER: &str = "https://127.0.0.1:6443";
const PROTOBUF: &str = "application/vnd.kubernetes.protobuf";

/// Who a request is made as: a client certificate.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The admin (`O=system:masters`) certificate the script made.
pub fn admin(cluster: &RealCluster) -> Identity {
    let certs = cluster.run_dir().join("certs");
    Identity {
        cert: certs.join("admin.crt"),
        key: certs.join("admin.key"),
    }
}

pub fn ca(cluster: &RealCluster) -> PathBuf {
    cluster.run_dir().join("certs/ca.crt")
}

/// A client certificate for user `cn` (in group `org`, if given), signed by
/// the cluster's CA, with a P-256 key.
pub fn sign_user(cluster: &RealCluster, cn: &str, org: Option<&str>) -> Identity {
    let certs = cluster.run_dir().join("certs");
    let dir = cluster.run_dir().join("users");
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join(format!("{cn}.key"));
    let csr = dir.join(format!("{cn}.csr"));
    let cert = dir.join(format!("{cn}.crt"));
    let ext = dir.join(format!("{cn}.ext"));
    let subject = match org {
        Some(o) => format!("/O={o}/CN={cn}"),
        None => format!("/CN={cn}"),
    };
    std::fs::write(&ext, "extendedKeyUsage=clientAuth\n").unwrap();
    let run = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        csr.to_str().unwrap(),
        "-subj",
        &subject,
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        certs.join("ca.crt").to_str().unwrap(),
        "-CAkey",
        certs.join("ca.key").to_str().unwrap(),
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        cert.to_str().unwrap(),
        "-extfile",
        ext.to_str().unwrap(),
    ]);
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    Identity { cert, key }
}

/// `ip netns exec NETNS PROGRAM`: a command inside the cluster's network
/// namespace.
pub fn in_netns(cluster: &RealCluster, program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new("ip");
    command
        .args(["netns", "exec", cluster.netns()])
        .arg(program);
    command
}

/// One request: method, path, JSON (or YAML) body, and the media type of
/// the answer asked for (protobuf unless said otherwise).
pub struct Request {
    pub method: &'static str,
    pub path: String,
    pub body: Option<String>,
    pub content_type: &'static str,
    pub accept: &'static str,
}

impl Request {
    pub fn post(path: impl Into<String>, json: impl Into<String>) -> Request {
        Request {
            method: "POST",
            path: path.into(),
            body: Some(json.into()),
            content_type: "application/json",
            accept: PROTOBUF,
        }
    }

    pub fn patch(path: impl Into<String>, merge_patch: impl Into<String>) -> Request {
        Request {
            method: "PATCH",
            path: path.into(),
            body: Some(merge_patch.into()),
            content_type: "application/merge-patch+json",
            accept: PROTOBUF,
        }
    }

    pub fn get(path: impl Into<String>) -> Request {
        Request {
            method: "GET",
            path: path.into(),
            body: None,
            content_type: "application/json",
            accept: PROTOBUF,
        }
    }
}

/// Sends the requests in order as `who`, over one connection (one curl
/// run), and returns each answer's status and body.
pub fn send_all(
    cluster: &RealCluster,
    who: &Identity,
    requests: &[Request],
) -> Vec<(u16, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::new();
    for (i, r) in requests.iter().enumerate() {
        if i > 0 {
            config.push_str("next\n");
        }
        config.push_str(&format!(
            "silent\nshow-error\nhttp1.1\ncacert = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\n",
            ca(cluster).display(),
            who.cert.display(),
            who.key.display()
        ));
        config.push_str(&format!("header = \"Accept: {}\"\n", r.accept));
        config.push_str(&format!("request = \"{}\"\n", r.method));
        if let Some(body) = &r.body {
            let file = dir.path().join(format!("{i}.body"));
            std::fs::write(&file, body).unwrap();
            config.push_str(&format!("header = \"Content-Type: {}\"\n", r.content_type));
            config.push_str(&format!("data-binary = \"@{}\"\n", file.display()));
        }
        config.push_str(&format!(
            "output = \"{}\"\nwrite-out = \"%{{http_code}}\\n\"\nurl = \"{SERVER}{}\"\n",
            dir.path().join(format!("{i}.answer")).display(),
            r.path
        ));
    }
    let config_file = dir.path().join("curl.config");
    std::fs::write(&config_file, config).unwrap();
    let output = in_netns(cluster, "curl")
        .arg("-K")
        .arg(&config_file)
        .output()
        .expect("curl runs");
    let codes: Vec<u16> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(
        codes.len(),
        requests.len(),
        "curl answered {} of {} requests: {}",
        codes.len(),
        requests.len(),
        String::from_utf8_lossy(&output.stderr)
    );
    codes
        .into_iter()
        .enumerate()
        .map(|(i, code)| {
            let body = std::fs::read(dir.path().join(format!("{i}.answer"))).unwrap_or_default();
            (code, body)
        })
        .collect()
}

/// Creates objects as the admin; every one must be created (201).
pub fn create_all(cluster: &RealCluster, requests: &[Request]) {
    let answers = send_all(cluster, &admin(cluster), requests);
    for (request, (code, body)) in requests.iter().zip(&answers) {
        assert_eq!(
            *code,
            201,
            "{} {} answered {code}: {}",
            request.method,
            request.path,
            String::from_utf8_lossy(body).replace(|c: char| c.is_control(), " ")
        );
    }
}

/// Writes a kubeconfig for the cluster (its CA, its server) with this
/// `user:` block, mode 0600, and returns its path.
pub fn kubeconfig(cluster: &RealCluster, name: &str, user: &str) -> PathBuf {
    let path = cluster.run_dir().join(format!("{name}.kubeconfig"));
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: realk8s\n  cluster:\n    \
         certificate-authority: {}\n    server: {SERVER}\nusers:\n- name: {name}\n  user:\n{user}\
         contexts:\n- name: {name}@realk8s\n  context: {{cluster: realk8s, user: {name}}}\n\
         current-context: {name}@realk8s\n",
        ca(cluster).display()
    );
    super::write(&path, &text, 0o600);
    path
}

/// A kubeconfig that authenticates with this client certificate.
pub fn kubeconfig_for(cluster: &RealCluster, name: &str, who: &Identity) -> PathBuf {
    kubeconfig(
        cluster,
        name,
        &format!(
            "    client-certificate: {}\n    client-key: {}\n",
            who.cert.display(),
            who.key.display()
        ),
    )
}

/// The JSON of a namespace, a service account, a pod.
pub fn namespace(name: &str) -> Request {
    Request::post(
        "/api/v1/namespaces",
        format!(r#"{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}"#),
    )
}

pub fn service_account(namespace: &str, name: &str) -> Request {
    Request::post(
        format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
        format!(r#"{{"apiVersion":"v1","kind":"ServiceAccount","metadata":{{"name":"{name}"}}}}"#),
    )
}

/// A pod that stays Pending (no kubelet runs); `scheduler` `None` leaves
/// `spec.schedulerName` to the API server's default. No token is mounted:
/// without kube-controller-manager no service account token exists.
pub fn pod(namespace: &str, name: &str, scheduler: Option<&str>) -> Request {
    let scheduler = scheduler
        .map(|s| format!(r#""schedulerName":"{s}","#))
        .unwrap_or_default();
    Request::post(
        format!("/api/v1/namespaces/{namespace}/pods"),
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"{name}"}},"spec":{{{scheduler}"automountServiceAccountToken":false,"containers":[{{"name":"c","image":"registry.invalid/none"}}]}}}}"#
        ),
    )
}

/// A ClusterRole with these rules (JSON `rules` entries).
pub fn cluster_role(name: &str, rules: &str) -> Request {
    Request::post(
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{{"name":"{name}"}},"rules":[{rules}]}}"#
        ),
    )
}

/// A binding to `role_kind role` for these subjects (JSON `subjects`).
pub fn binding(
    namespace: Option<&str>,
    name: &str,
    role_kind: &str,
    role: &str,
    subjects: &str,
) -> Request {
    let (path, kind, ns) = match namespace {
        Some(ns) => (
            format!("/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings"),
            "RoleBinding",
            format!(r#","namespace":"{ns}""#),
        ),
        None => (
            "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings".to_string(),
            "ClusterRoleBinding",
            String::new(),
        ),
    };
    Request::post(
        path,
        format!(
            r#"{{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"{kind}","metadata":{{"name":"{name}"{ns}}},"roleRef":{{"apiGroup":"rbac.authorization.k8s.io","kind":"{role_kind}","name":"{role}"}},"subjects":[{subjects}]}}"#
        ),
    )
}

pub fn user(name: &str) -> String {
    format!(r#"{{"apiGroup":"rbac.authorization.k8s.io","kind":"User","name":"{name}"}}"#)
}

pub fn group(name: &str) -> String {
    format!(r#"{{"apiGroup":"rbac.authorization.k8s.io","kind":"Group","name":"{name}"}}"#)
}

pub fn service_account_subject(namespace: &str, name: &str) -> String {
    format!(r#"{{"kind":"ServiceAccount","namespace":"{namespace}","name":"{name}"}}"#)
}

/// The kubeconfig path as schedguard's `--kubeconfig` takes it.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}
