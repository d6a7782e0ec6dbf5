//! The facts snapshot: everything gathered from the host, and the only thing
//! checks see. It holds no file contents, so it can be saved, sent and judged
//! elsewhere (`audit --save-facts`, `audit --from-facts`).

use crate::k8s::argv::ParsedArgs;
use crate::k8s::config::SchedulerConfig;
use crate::k8s::rbac::{Binding, ClusterRole, Role};
use crate::k8s::version::Version;
use serde::{Deserialize, Serialize};

/// Version of the snapshot format. Bumped when a field changes meaning.
pub const FACTS_SCHEMA: &str = "schedguard.facts/v1";

/// An observation that either succeeded or failed with a reason that a person
/// can act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Observed<T> {
    Ok(T),
    Error(String),
}

impl<T> Observed<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Observed::Ok(v) => Some(v),
            Observed::Error(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    pub schema: String,
    pub schedguard_version: String,
    /// RFC 3339, UTC.
    pub gathered_at: String,
    pub host: Host,
    pub targets: Vec<Target>,
    /// kube-apiserver processes on the same host (for SG-701, SG-702).
    pub apiservers: Vec<ApiServer>,
    /// Whether live network inspection ran (sockets, probes).
    pub live_inspection: bool,
    /// Problems that affect the whole scan, such as an unreadable /proc.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
    /// What cluster mode read from the API server; `None` when cluster mode
    /// is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Host {
    pub hostname: Option<String>,
    pub machine_id: Option<String>,
    pub boot_id: Option<String>,
    pub kernel: Option<String>,
    /// The directory treated as the host's `/` (`--host-root`).
    pub root: String,
}

/// How a kube-scheduler runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetKind {
    /// A `kube-scheduler` process.
    KubeScheduler,
    /// `hyperkube kube-scheduler` or `hyperkube scheduler`.
    Hyperkube,
    /// The scheduler embedded in `k3s server`: its flags come from
    /// `--kube-scheduler-arg` and k3s' own defaults.
    K3sEmbedded,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::KubeScheduler => "kube-scheduler",
            TargetKind::Hyperkube => "hyperkube",
            TargetKind::K3sEmbedded => "k3s-embedded",
        }
    }
}

/// One kube-scheduler found on the host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub pid: u32,
    pub kind: TargetKind,
    pub process: Observed<Process>,
    pub version: VersionInfo,
    /// The scheduler's argv. For an embedded scheduler, the argv it is
    /// started with, rebuilt from the host process's flags.
    pub argv: Vec<String>,
    pub args: ParsedArgs,
    /// The `--config` file, when one is given.
    pub config: Option<ConfigFile>,
    /// Every file the process refers to that a check judges.
    pub files: Vec<FileUse>,
    pub static_pod: Option<StaticPod>,
    /// What could not be gathered for this target (for example, the process
    /// exited during the scan). Every such problem becomes an `error` finding.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Live sockets and probe answers; `None` when live inspection did not run.
    pub live: Option<Live>,
}

impl Target {
    /// The file gathered for a role (such as `--kubeconfig`), if any.
    pub fn file(&self, role: &str) -> Option<&FileUse> {
        self.files.iter().find(|f| f.role == role)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    pub uid: u32,
    pub gid: u32,
    /// The target of `/proc/PID/exe`, as the kernel names it.
    pub exe: Option<String>,
    pub namespaces: Namespaces,
    pub container: Option<Container>,
}

/// Namespace inode numbers, as in `/proc/PID/ns/*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Namespaces {
    pub mnt: Option<u64>,
    pub net: Option<u64>,
    pub pid: Option<u64>,
}

/// A container found in the process's cgroup path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    pub id: String,
    /// containerd, cri-o or docker, when the cgroup path says.
    pub runtime: Option<String>,
    /// The Kubernetes pod UID, when the cgroup path shows `pod<uid>`.
    pub pod_uid: Option<String>,
}

/// Where a version came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VersionSource {
    /// `gitVersion` in the Go build info of the executable.
    BuildInfo,
    /// The image tag of the matching static pod manifest.
    ManifestImage,
    Unknown,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    pub detected: Option<Version>,
    pub source: VersionSource,
    /// The text the version was read from, such as `v1.28.5+k3s1`.
    pub raw: Option<String>,
    pub go_version: Option<String>,
    /// Why the version is unknown, or how it was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl VersionInfo {
    /// The release whose defaults apply: the detected one, else the newest
    /// known release.
    pub fn assumed(&self) -> Version {
        self.detected.unwrap_or(Version::NEWEST_KNOWN)
    }

    pub fn unknown(note: impl Into<String>) -> VersionInfo {
        VersionInfo {
            detected: None,
            source: VersionSource::Unknown,
            raw: None,
            go_version: None,
            note: Some(note.into()),
        }
    }
}

/// The `--config` file: where it is, and what it says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigFile {
    pub path: String,
    /// The parsed file, or why it could not be read or parsed.
    pub parsed: Observed<SchedulerConfig>,
}

/// A file the process refers to, with the flag or field that names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileUse {
    /// The flag (`--kubeconfig`), field (`clientConnection.kubeconfig`) or
    /// role (`static pod manifest`) that names the file.
    pub role: String,
    /// The path as the process names it.
    pub path: String,
    pub stat: Observed<FileStat>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    Regular,
    Directory,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
}

impl FileKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Regular => "regular file",
            FileKind::Directory => "directory",
            FileKind::Symlink => "symbolic link",
            FileKind::Fifo => "FIFO",
            FileKind::Socket => "socket",
            FileKind::CharDevice => "character device",
            FileKind::BlockDevice => "block device",
        }
    }
}

/// A file's type, permissions and owner, as seen inside the process's root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileStat {
    pub kind: FileKind,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// User and group names from the host's /etc/passwd and /etc/group.
    pub owner: Option<String>,
    pub group: Option<String>,
    pub size: u64,
    /// The directories above the file, nearest first, up to the root.
    pub parents: Vec<DirStat>,
}

impl FileStat {
    /// Why the directories above the file would let someone other than
    /// root or `uid` replace it, as phrases: a directory writable by group
    /// or others (without the sticky bit, which limits renames to the
    /// file's owner), or one owned by another user.
    pub fn replaceable_through_parents(&self, uid: u32) -> Vec<String> {
        let mut found = Vec::new();
        for dir in &self.parents {
            let sticky = dir.mode & 0o1000 != 0;
            if dir.mode & 0o022 != 0 && !sticky {
                found.push(format!(
                    "sits below {}, which has mode {:04o} (writable by group or others)",
                    dir.path, dir.mode
                ));
            }
            if dir.uid != 0 && dir.uid != uid {
                found.push(format!(
                    "sits below {}, which is owned by uid {}",
                    dir.path, dir.uid
                ));
            }
        }
        found
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirStat {
    pub path: String,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// The static pod manifest that starts the scheduler.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaticPod {
    /// The manifest's path on the host.
    pub manifest: String,
    /// `metadata.name` of the pod in the manifest.
    pub name: Option<String>,
    pub image: Option<String>,
}

/// A kube-apiserver on the same host.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiServer {
    pub pid: u32,
    pub args: ParsedArgs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What the running process does on the network.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Whether the process's network namespace differs from schedguard's
    /// (probes were then made from inside it).
    pub own_netns: bool,
    /// The addresses of the process's network namespace.
    pub addresses: Vec<String>,
    pub listeners: Vec<Listener>,
    pub probes: Vec<HttpProbe>,
    /// TCP connection attempts to the secure port on the namespace's
    /// non-loopback addresses (SG-504).
    pub reach: Vec<Reach>,
    /// Which legacy TLS versions and insecure cipher suites each TLS
    /// listener accepts.
    pub tls_scans: Vec<TlsScan>,
    /// What could not be inspected, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// A listening TCP socket held by the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub address: String,
    pub port: u16,
    /// `tcp` or `tcp6`.
    pub family: String,
    pub inode: u64,
    pub fd: Option<u32>,
    /// `IPV6_V6ONLY` of a tcp6 socket (false: it takes IPv4 too).
    pub v6only: Option<bool>,
    pub reuse_addr: Option<bool>,
    pub reuse_port: Option<bool>,
    /// Why the socket options could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sockopt_error: Option<String>,
    /// Whether the listener speaks TLS; `None` when not probed or no answer.
    pub tls: Option<bool>,
    /// Inodes of other LISTEN sockets on the same address and port in the
    /// same network namespace: a SO_REUSEPORT group.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared_with: Vec<u64>,
}

impl Listener {
    /// `127.0.0.1:10259`, `[::]:10259`.
    pub fn endpoint(&self) -> String {
        if self.address.contains(':') {
            format!("[{}]:{}", self.address, self.port)
        } else {
            format!("{}:{}", self.address, self.port)
        }
    }
}

/// One anonymous HTTP(S) request and its answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpProbe {
    pub url: String,
    /// The HTTP status, or why there was none (refused, timed out...).
    pub status: Observed<u16>,
    /// At most a few hundred bytes of the answer's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_prefix: Option<String>,
    /// The TLS session, for HTTPS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSession>,
}

/// What a TLS handshake negotiated.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsSession {
    pub version: String,
    pub cipher_suite: String,
    pub subject: Option<String>,
    pub issuer: Option<String>,
}

/// A TCP connection attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    pub address: String,
    pub port: u16,
    /// True when the connection was accepted; the error when it failed for
    /// another reason than a refusal.
    pub accepted: Observed<bool>,
}

/// A TLS listener's answers to legacy offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsScan {
    pub endpoint: String,
    pub offers: Vec<TlsOffer>,
}

/// One ClientHello offering a protocol version (and suites) and the answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsOffer {
    /// `TLS1.0`, `TLS1.1`, or `TLS1.2` for suite offers.
    pub version: String,
    /// The suite offered alone, for suite offers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// True when the server accepted exactly what was offered.
    pub accepted: Observed<bool>,
    /// The server's answer in words (`ServerHello TLS1.2 TLS_RSA_WITH_3DES_EDE_CBC_SHA`,
    /// `alert 70`).
    pub answer: String,
}

// ---- Cluster mode (`audit --cluster`): what the API server was asked. ----

/// What cluster mode read from the API server (get and list calls only).
/// Holds no credentials: only where they came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    /// The kubeconfig and the API server it names, or why none could be used.
    pub connection: Observed<Connection>,
    /// Scheduler names served elsewhere in the fleet (`--known-scheduler`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub known_schedulers: Vec<String>,
    /// Subjects the operator allows to change Node objects beyond the
    /// built-in identities (`--allow-node-writer`), as `User:NAME`,
    /// `Group:NAME` or `ServiceAccount:NAMESPACE/NAME`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_node_writers: Vec<String>,
    pub cluster_roles: Observed<Vec<ClusterRole>>,
    pub cluster_role_bindings: Observed<Vec<Binding>>,
    pub roles: Observed<Vec<Role>>,
    pub role_bindings: Observed<Vec<Binding>>,
    /// Pods of every namespace that no node is assigned to
    /// (`spec.nodeName` empty).
    pub unscheduled_pods: Observed<PodListing>,
}

/// How schedguard reached the API server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// The kubeconfig, with its type, mode and owner.
    pub kubeconfig: FileUse,
    pub context: String,
    /// The kubeconfig's `users[].name` of the context.
    pub user: String,
    /// `clusters[].cluster.server`.
    pub server: String,
    /// How schedguard authenticated, such as `client certificate
    /// O=system:masters,CN=kubernetes-admin` or `bearer token (tokenFile
    /// /var/run/token)`; never the secret itself.
    pub credentials: String,
    /// What the server's certificate was verified against.
    pub trust: String,
    /// Files the kubeconfig names (certificates, keys, token files).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileUse>,
    /// `gitVersion` from the API server's `/version`, or why it is unknown.
    pub server_version: Observed<String>,
}

/// A paginated list of pods.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodListing {
    pub pods: Vec<UnscheduledPod>,
    /// Requests the listing took.
    pub pages: u32,
    /// True when a continue token expired (410 Gone) and the list was read
    /// again in one request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
}

/// A pod not bound to any node.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnscheduledPod {
    pub namespace: String,
    pub name: String,
    /// `spec.schedulerName` (the API server defaults it to
    /// `default-scheduler`).
    pub scheduler_name: String,
    /// `status.phase`, such as `Pending`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phase: String,
    /// `metadata.creationTimestamp`, RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// True when `metadata.deletionTimestamp` is set.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
}
