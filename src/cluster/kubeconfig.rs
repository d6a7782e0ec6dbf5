//! The kubeconfig of cluster mode: found (the host's admin kubeconfig by
//! default), read inside the host root like every other file, refused when
//! someone other than root (or schedguard's user) could have written it, and
//! turned into credentials. Client certificates (files or `*-data`), bearer
//! tokens (`token`, `tokenFile`) and the cluster's CA are honoured. Exec and
//! auth-provider plugins are refused: schedguard never executes programs.

use crate::facts::{Connection, FileKind, FileStat, FileUse, Observed};
use crate::host::files::{FileError, Names, Root};
use base64::Engine;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::Deserialize;
use std::path::Path;

/// Admin kubeconfigs control-plane hosts keep, tried in this order when no
/// `--kubeconfig` is given.
pub const DEFAULT_KUBECONFIGS: &[(&str, &str)] = &[
    ("/etc/kubernetes/admin.conf", "kubeadm"),
    ("/etc/kubernetes/super-admin.conf", "kubeadm 1.29+"),
    ("/etc/rancher/rke2/rke2.yaml", "RKE2"),
    ("/etc/rancher/k3s/k3s.yaml", "k3s"),
    (
        "/var/snap/microk8s/current/credentials/client.config",
        "MicroK8s",
    ),
];

/// The largest kubeconfig, certificate, key or token file read.
const MAX_FILE: u64 = 1 << 20;

/// Why a kubeconfig cannot be used. Messages say what to do.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error(
        "no admin kubeconfig found (tried {tried} under the host root {root}); give one with \
         --kubeconfig"
    )]
    NotFound { tried: String, root: String },
    #[error("cannot read the kubeconfig: {0}")]
    File(#[from] FileError),
    #[error(
        "refusing {path}: it {problems}; whoever can write it chooses the API server and CA \
         schedguard trusts (chmod go-w it and chown it to root)"
    )]
    Untrusted { path: String, problems: String },
    #[error("{path} is not a kubeconfig: {reason}")]
    Syntax { path: String, reason: String },
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
    #[error(
        "{path}: user {user:?} gets its credentials from {how}; schedguard never executes \
         programs: use a kubeconfig with a client certificate or a token (for example of a \
         ServiceAccount bound to packaging/kubernetes/schedguard-reader.yaml)"
    )]
    Plugin {
        path: String,
        user: String,
        how: String,
    },
}

/// What a request needs to authenticate and verify the server. Never
/// written anywhere; `Debug` shows no secret.
pub struct Credentials {
    pub server: String,
    /// PEM certificates the server's certificate must chain to; `None`: the
    /// system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// Client certificate chain and key, PEM.
    pub identity_pem: Option<Vec<u8>>,
    pub token: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("server", &self.server)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "(set)"))
            .field("identity_pem", &self.identity_pem.as_ref().map(|_| "(set)"))
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// A usable kubeconfig: credentials for the client, and what the facts
/// record about it (without secrets; `server_version` still unknown).
#[derive(Debug)]
pub struct Loaded {
    pub credentials: Credentials,
    pub connection: Connection,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct File {
    clusters: Option<Vec<NamedCluster>>,
    contexts: Option<Vec<NamedContext>>,
    users: Option<Vec<NamedUser>>,
    #[serde(rename = "current-context")]
    current_context: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NamedCluster {
    name: String,
    cluster: ClusterEntry,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct ClusterEntry {
    server: String,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
    proxy_url: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NamedContext {
    name: String,
    context: ContextEntry,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ContextEntry {
    cluster: String,
    user: String,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct NamedUser {
    name: String,
    user: UserEntry,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
struct UserEntry {
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    exec: Option<serde_json::Value>,
    auth_provider: Option<serde_json::Value>,
    username: Option<String>,
    #[serde(rename = "as")]
    impersonate: Option<String>,
}

/// Why a credentials file must not be trusted, as phrases; empty when it
/// may be. Only root or `uid` may be able to replace it.
pub fn untrusted(stat: &FileStat, uid: u32) -> Vec<String> {
    let mut found = Vec::new();
    if stat.kind != FileKind::Regular {
        found.push(format!("is a {}, not a regular file", stat.kind.as_str()));
        return found;
    }
    if stat.mode & 0o022 != 0 {
        found.push(format!(
            "has mode {:04o} (writable by group or others)",
            stat.mode
        ));
    }
    if stat.uid != 0 && stat.uid != uid {
        found.push(format!("is owned by uid {}", stat.uid));
    }
    found.extend(stat.replaceable_through_parents(uid));
    found
}

/// Reads a file the kubeconfig names (or the kubeconfig itself) after
/// checking who could have written it; records it for the facts.
fn read_trusted(
    root: &Root,
    names: &Names,
    role: &str,
    path: &str,
    files: &mut Vec<FileUse>,
) -> Result<Vec<u8>, KubeconfigError> {
    let shown = root.absolute(path);
    let stat = root.stat(path, names)?;
    let problems = untrusted(&stat, rustix::process::geteuid().as_raw());
    files.push(FileUse {
        role: role.to_string(),
        path: shown.clone(),
        stat: Observed::Ok(stat),
    });
    if !problems.is_empty() {
        return Err(KubeconfigError::Untrusted {
            path: shown,
            problems: problems.join(", and "),
        });
    }
    Ok(root.read(path, MAX_FILE)?)
}

/// The directory of a path inside the root (for the kubeconfig's relative
/// paths, which kubectl resolves against the kubeconfig's directory).
fn directory_of(path: &str) -> String {
    Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/".into())
}

/// The subject of the first certificate of a PEM chain, such as
/// `O=system:masters,CN=kubernetes-admin`.
fn certificate_subject(pem: &[u8]) -> Option<String> {
    let der = CertificateDer::pem_slice_iter(pem).next()?.ok()?;
    crate::host::tlsscan::certificate_names(&der).map(|(subject, _)| subject)
}

/// Finds, checks and reads the kubeconfig (`path`, else the first of
/// [`DEFAULT_KUBECONFIGS`] that exists), all inside `host_root`, and picks
/// `context` (else its current context).
pub fn load(
    host_root: &Path,
    path: Option<&str>,
    context: Option<&str>,
) -> Result<Loaded, KubeconfigError> {
    let root = Root::open(host_root)?;
    let names = Names::load(&root);
    let path = match path {
        Some(p) => root.absolute(p),
        None => DEFAULT_KUBECONFIGS
            .iter()
            .map(|(p, _)| p.to_string())
            .find(|p| root.stat(p, &names).is_ok())
            .ok_or_else(|| KubeconfigError::NotFound {
                tried: DEFAULT_KUBECONFIGS
                    .iter()
                    .map(|(p, distro)| format!("{p} ({distro})"))
                    .collect::<Vec<_>>()
                    .join(", "),
                root: host_root.display().to_string(),
            })?,
    };

    let mut files = Vec::new();
    let bytes = read_trusted(&root, &names, "kubeconfig", &path, &mut files)?;
    let kubeconfig_use = files.remove(0);
    let syntax = |reason: String| KubeconfigError::Syntax {
        path: path.clone(),
        reason,
    };
    let invalid = |reason: String| KubeconfigError::Invalid {
        path: path.clone(),
        reason,
    };
    let text = std::str::from_utf8(&bytes).map_err(|e| syntax(format!("not UTF-8: {e}")))?;
    let file: File = if text.trim().is_empty() {
        File::default()
    } else {
        serde_saphyr::from_str(text)
            .map_err(|e| syntax(e.to_string().lines().next().unwrap_or("").to_string()))?
    };

    // The context, its cluster and its user.
    let context_name = match context {
        Some(c) => c.to_string(),
        None => file
            .current_context
            .clone()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid("no current-context is set; give one with --context".into()))?,
    };
    let contexts = file.contexts.unwrap_or_default();
    let entry = contexts
        .iter()
        .find(|c| c.name == context_name)
        .ok_or_else(|| invalid(format!("no context named {context_name:?}")))?;
    let clusters = file.clusters.unwrap_or_default();
    let cluster = &clusters
        .iter()
        .find(|c| c.name == entry.context.cluster)
        .ok_or_else(|| {
            invalid(format!(
                "context {context_name:?} names cluster {:?}, which is not in the file",
                entry.context.cluster
            ))
        })?
        .cluster;
    let users = file.users.unwrap_or_default();
    let user_name = entry.context.user.clone();
    let default_user = UserEntry::default();
    let user = match users.iter().find(|u| u.name == user_name) {
        Some(u) => &u.user,
        None if user_name.is_empty() => &default_user,
        None => {
            return Err(invalid(format!(
                "context {context_name:?} names user {user_name:?}, which is not in the file"
            )))
        }
    };

    // What cannot be honoured without breaking a rule is refused.
    if !cluster.server.starts_with("https://") {
        return Err(invalid(format!(
            "the server {:?} is not an https:// URL; cluster mode always verifies TLS",
            cluster.server
        )));
    }
    if cluster.insecure_skip_tls_verify == Some(true) {
        return Err(invalid(
            "insecure-skip-tls-verify is set; cluster mode always verifies the API server's \
             certificate: give the cluster's certificate-authority instead"
                .into(),
        ));
    }
    // Limitation: tls-server-name, proxy-url, impersonation and basic
    // authentication are not honoured: such a kubeconfig is refused rather
    // than used differently from kubectl.
    if cluster.tls_server_name.is_some() {
        return Err(invalid(
            "tls-server-name is not supported by cluster mode".into(),
        ));
    }
    if cluster.proxy_url.is_some() {
        return Err(invalid("proxy-url is not supported by cluster mode".into()));
    }
    let plugin = |how: String| KubeconfigError::Plugin {
        path: path.clone(),
        user: user_name.clone(),
        how,
    };
    if let Some(exec) = &user.exec {
        let command = exec["command"].as_str().unwrap_or("?");
        return Err(plugin(format!("an exec plugin ({command})")));
    }
    if let Some(provider) = &user.auth_provider {
        let name = provider["name"].as_str().unwrap_or("?");
        return Err(plugin(format!("the auth-provider {name:?}")));
    }
    if user.username.is_some() {
        return Err(invalid(format!(
            "user {user_name:?} uses basic authentication (username/password), which API \
             servers no longer accept"
        )));
    }
    if user.impersonate.is_some() {
        return Err(invalid(format!(
            "user {user_name:?} impersonates another user (as:), which cluster mode does not do"
        )));
    }

    // Files named in the kubeconfig are relative to its directory.
    let relative = Root::open(host_root)?.with_cwd(Some(directory_of(&path)));
    let data = |field: &str, value: &str| -> Result<Vec<u8>, KubeconfigError> {
        let compact: String = value.split_whitespace().collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map_err(|e| invalid(format!("{field} is not base64: {e}")))
    };
    let material = |role: &str,
                    inline: &Option<String>,
                    file_path: &Option<String>,
                    files: &mut Vec<FileUse>|
     -> Result<Option<(Vec<u8>, String)>, KubeconfigError> {
        match (inline, file_path) {
            (Some(value), _) if !value.is_empty() => Ok(Some((
                data(&format!("{role}-data"), value)?,
                format!("{role}-data"),
            ))),
            (_, Some(p)) if !p.is_empty() => {
                let bytes = read_trusted(&relative, &names, role, p, files)?;
                Ok(Some((bytes, format!("{role} {}", relative.absolute(p)))))
            }
            _ => Ok(None),
        }
    };

    let ca = material(
        "certificate-authority",
        &cluster.certificate_authority_data,
        &cluster.certificate_authority,
        &mut files,
    )?;
    let cert = material(
        "client-certificate",
        &user.client_certificate_data,
        &user.client_certificate,
        &mut files,
    )?;
    let key = material(
        "client-key",
        &user.client_key_data,
        &user.client_key,
        &mut files,
    )?;
    let identity_pem = match (&cert, &key) {
        (Some((cert, _)), Some((key, _))) => {
            let mut pem = cert.clone();
            pem.push(b'\n');
            pem.extend_from_slice(key);
            Some(pem)
        }
        (None, None) => None,
        _ => {
            return Err(invalid(format!(
                "user {user_name:?} has a client certificate without a key, or a key without a \
                 certificate"
            )))
        }
    };

    let mut token_source = None;
    let token = match (&user.token, &user.token_file) {
        (Some(t), _) if !t.trim().is_empty() => {
            token_source = Some("token".to_string());
            Some(t.trim().to_string())
        }
        (_, Some(p)) if !p.is_empty() => {
            let bytes = read_trusted(&relative, &names, "tokenFile", p, &mut files)?;
            let text = String::from_utf8_lossy(&bytes).trim().to_string();
            if text.is_empty() || text.contains(char::is_whitespace) {
                return Err(invalid(format!(
                    "the tokenFile {} holds no usable token",
                    relative.absolute(p)
                )));
            }
            token_source = Some(format!("tokenFile {}", relative.absolute(p)));
            Some(text)
        }
        _ => None,
    };

    let mut how = Vec::new();
    if let Some((pem, source)) = &cert {
        let subject = certificate_subject(pem).unwrap_or_else(|| "(unreadable subject)".into());
        how.push(format!("client certificate {subject} ({source})"));
    }
    if let Some(source) = &token_source {
        how.push(format!("bearer token ({source})"));
    }
    let credentials_text = if how.is_empty() {
        "no credentials (anonymous)".to_string()
    } else {
        how.join(" and ")
    };
    let trust = match &ca {
        Some((_, source)) => source.clone(),
        None => "the system's certificate authorities (the kubeconfig names none)".into(),
    };

    Ok(Loaded {
        credentials: Credentials {
            server: cluster.server.clone(),
            ca_pem: ca.map(|(pem, _)| pem),
            identity_pem,
            token,
        },
        connection: Connection {
            kubeconfig: kubeconfig_use,
            context: context_name,
            user: user_name,
            server: cluster.server.clone(),
            credentials: credentials_text,
            trust,
            files,
            server_version: Observed::Error("not asked yet".into()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const CERT: &str = include_str!("../../tests/support/test-client.crt");
    const KEY: &str = include_str!("../../tests/support/test-client.key");
    const CA: &str = include_str!("../../tests/support/test-ca.crt");

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    /// A host root holding `files` (path, contents, mode).
    fn host(files: &[(&str, &str, u32)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text, mode) in files {
            let full = dir.path().join(path.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        dir
    }

    fn kubeconfig(cluster: &str, user: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: admin@k\nclusters:\n- name: k\n  \
             cluster:\n    server: https://127.0.0.1:6443\n{cluster}contexts:\n- name: admin@k\n  \
             context: {{cluster: k, user: admin}}\nusers:\n- name: admin\n  user:\n{user}"
        )
    }

    fn load_at(dir: &tempfile::TempDir, path: Option<&str>) -> Result<Loaded, KubeconfigError> {
        load(dir.path(), path, None)
    }

    #[test]
    fn the_admin_kubeconfig_is_found_and_inline_data_is_decoded() {
        let text = kubeconfig(
            &format!("    certificate-authority-data: {}\n", b64(CA)),
            &format!(
                "    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(CERT),
                b64(KEY)
            ),
        );
        let dir = host(&[("/etc/kubernetes/admin.conf", &text, 0o600)]);
        let loaded = load_at(&dir, None).unwrap();
        let c = &loaded.connection;
        assert_eq!(c.kubeconfig.path, "/etc/kubernetes/admin.conf");
        assert_eq!((c.context.as_str(), c.user.as_str()), ("admin@k", "admin"));
        assert!(
            c.credentials.starts_with("client certificate CN=test-node"),
            "{}",
            c.credentials
        );
        assert_eq!(c.trust, "certificate-authority-data");
        assert!(loaded.credentials.identity_pem.is_some());
        assert!(loaded.credentials.ca_pem.is_some());
        assert!(!format!("{:?}", loaded.credentials).contains("BEGIN"));
    }

    #[test]
    fn rke2_is_found_when_kubeadm_is_absent() {
        let text = kubeconfig("", "    token: abc\n");
        let dir = host(&[("/etc/rancher/rke2/rke2.yaml", &text, 0o600)]);
        let loaded = load_at(&dir, None).unwrap();
        assert_eq!(
            loaded.connection.kubeconfig.path,
            "/etc/rancher/rke2/rke2.yaml"
        );
        assert_eq!(loaded.connection.credentials, "bearer token (token)");
        assert!(loaded.connection.trust.starts_with("the system's"));
    }

    #[test]
    fn no_kubeconfig_names_every_place_tried() {
        let dir = host(&[]);
        let e = load_at(&dir, None).unwrap_err().to_string();
        assert!(e.contains("/etc/kubernetes/admin.conf (kubeadm)"), "{e}");
        assert!(e.contains("/etc/rancher/k3s/k3s.yaml (k3s)"), "{e}");
        assert!(e.contains("--kubeconfig"), "{e}");
    }

    #[test]
    fn relative_files_resolve_against_the_kubeconfig_directory() {
        let text = kubeconfig(
            "    certificate-authority: pki/ca.crt\n",
            "    client-certificate: pki/admin.crt\n    client-key: pki/admin.key\n",
        );
        let dir = host(&[
            ("/srv/k/config", &text, 0o600),
            ("/srv/k/pki/ca.crt", CA, 0o644),
            ("/srv/k/pki/admin.crt", CERT, 0o644),
            ("/srv/k/pki/admin.key", KEY, 0o600),
        ]);
        let loaded = load_at(&dir, Some("/srv/k/config")).unwrap();
        let roles: Vec<(&str, &str)> = loaded
            .connection
            .files
            .iter()
            .map(|f| (f.role.as_str(), f.path.as_str()))
            .collect();
        assert_eq!(
            roles,
            vec![
                ("certificate-authority", "/srv/k/pki/ca.crt"),
                ("client-certificate", "/srv/k/pki/admin.crt"),
                ("client-key", "/srv/k/pki/admin.key"),
            ]
        );
        assert_eq!(
            loaded.connection.trust,
            "certificate-authority /srv/k/pki/ca.crt"
        );
    }

    #[test]
    fn token_files_are_read_and_must_hold_a_token() {
        let text = kubeconfig("", "    tokenFile: /run/token\n");
        let dir = host(&[("/k", &text, 0o600), ("/run/token", "s3cret\n", 0o600)]);
        let loaded = load_at(&dir, Some("/k")).unwrap();
        assert_eq!(loaded.credentials.token.as_deref(), Some("s3cret"));
        assert_eq!(
            loaded.connection.credentials,
            "bearer token (tokenFile /run/token)"
        );
        let dir = host(&[("/k", &text, 0o600), ("/run/token", "  \n", 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("no usable token"));
    }

    #[test]
    fn files_others_may_write_are_refused() {
        let text = kubeconfig("", "    token: abc\n");
        let dir = host(&[("/etc/kubernetes/admin.conf", &text, 0o666)]);
        let e = load_at(&dir, None).unwrap_err().to_string();
        assert!(
            e.contains("refusing /etc/kubernetes/admin.conf: it has mode 0666"),
            "{e}"
        );

        let text = kubeconfig("", "    tokenFile: /t\n");
        let dir = host(&[("/k", &text, 0o600), ("/t", "abc", 0o622)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("refusing /t"));
    }

    #[test]
    fn exec_and_auth_provider_plugins_are_refused_without_running_them() {
        let exec = kubeconfig("", "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: kubelogin\n");
        let dir = host(&[("/k", &exec, 0o600)]);
        let e = load_at(&dir, Some("/k")).unwrap_err().to_string();
        assert!(
            e.contains("an exec plugin (kubelogin)") && e.contains("never executes"),
            "{e}"
        );
        let provider = kubeconfig("", "    auth-provider:\n      name: oidc\n");
        let dir = host(&[("/k", &provider, 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("auth-provider \"oidc\""));
    }

    #[test]
    fn insecure_and_plain_http_clusters_are_refused() {
        let insecure = kubeconfig("    insecure-skip-tls-verify: true\n", "    token: a\n");
        let dir = host(&[("/k", &insecure, 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("always verifies"));
        let http = kubeconfig("", "    token: a\n").replace("https://", "http://");
        let dir = host(&[("/k", &http, 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("not an https:// URL"));
    }

    #[test]
    fn contexts_clusters_and_users_must_exist() {
        let text = kubeconfig("", "    token: a\n");
        let dir = host(&[("/k", &text, 0o600)]);
        let e = load(dir.path(), Some("/k"), Some("other"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no context named \"other\""), "{e}");
        let broken = text.replace("user: admin}", "user: nobody}");
        let dir = host(&[("/k", &broken, 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("names user \"nobody\""));
    }

    #[test]
    fn a_certificate_without_its_key_is_refused() {
        let text = kubeconfig("", &format!("    client-certificate-data: {}\n", b64(CERT)));
        let dir = host(&[("/k", &text, 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("without a key"));
    }

    #[test]
    fn garbage_is_a_syntax_error() {
        let dir = host(&[("/k", "clusters: [unclosed\n", 0o600)]);
        assert!(matches!(
            load_at(&dir, Some("/k")),
            Err(KubeconfigError::Syntax { .. })
        ));
        let dir = host(&[("/k", "clusters:\n- name: k\n  cluster:\n    certificate-authority-data: '!!'\n    server: https://x\ncontexts:\n- name: c\n  context: {cluster: k}\ncurrent-context: c\n", 0o600)]);
        assert!(load_at(&dir, Some("/k"))
            .unwrap_err()
            .to_string()
            .contains("not base64"));
    }
}
