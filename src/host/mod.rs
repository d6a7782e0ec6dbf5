//! Gathering: everything that touches the machine. Reads /proc and files,
//! never writes, never executes what it inspects, and turns every failure
//! into a fact (`Observed::Error`, `Target::errors`) rather than an abort.

pub mod buildinfo;
pub mod files;
pub mod identity;
mod inroot;
pub mod k3s;
pub mod probes;
pub mod procs;
pub mod sockets;
pub mod staticpod;
pub mod system;
pub mod tlsscan;

use crate::facts::*;
use crate::host::files::{Names, Root};
use crate::host::procs::{Found, Role};
use crate::host::staticpod::Manifest;
use crate::k8s::{argv, config, flags, version::Version};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How to gather.
#[derive(Clone, Debug)]
pub struct Options {
    /// The host's `/` (a container may mount it elsewhere).
    pub host_root: PathBuf,
    /// The largest configuration file read.
    pub max_file_bytes: u64,
    /// Live inspection (sockets and probes); `None` skips it.
    pub live: Option<LiveOptions>,
    /// Cluster mode: also ask the API server (SG-703, SG-704); `None` skips it.
    pub cluster: Option<crate::cluster::Options>,
}

/// Limits of live inspection.
#[derive(Clone, Copy, Debug)]
pub struct LiveOptions {
    /// Each connection, handshake and answer.
    pub per_probe: Duration,
    /// All probes of the run together.
    pub total: Duration,
}

impl Default for LiveOptions {
    fn default() -> LiveOptions {
        LiveOptions {
            per_probe: Duration::from_secs(2),
            total: Duration::from_secs(15),
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            host_root: PathBuf::from("/"),
            max_file_bytes: 4 << 20,
            live: None,
            cluster: None,
        }
    }
}

/// Files a scheduler flag names that some check judges.
const FILE_FLAGS: &[&str] = &[
    "config",
    "kubeconfig",
    "authentication-kubeconfig",
    "authorization-kubeconfig",
    "tls-cert-file",
    "tls-private-key-file",
    "client-ca-file",
    "requestheader-client-ca-file",
];

/// The largest Go build info section read from an executable.
const BUILD_INFO_LIMIT: u64 = 1 << 20;

/// Gathers the facts of every kube-scheduler (and kube-apiserver) on the
/// host, and in cluster mode what the API server says.
pub fn gather(options: &Options) -> Facts {
    let mut facts = gather_host(options);
    if let Some(cluster) = &options.cluster {
        facts.cluster = Some(crate::cluster::gather(cluster, &options.host_root));
    }
    facts
}

fn gather_host(options: &Options) -> Facts {
    let proc_dir = options.host_root.join("proc");
    let mut facts = Facts {
        schema: FACTS_SCHEMA.to_string(),
        schedguard_version: env!("CARGO_PKG_VERSION").to_string(),
        gathered_at: crate::time::now_rfc3339(),
        host: system::host(&options.host_root),
        targets: Vec::new(),
        apiservers: Vec::new(),
        live_inspection: false,
        problems: Vec::new(),
        cluster: None,
    };

    let found = match procs::scan(&proc_dir) {
        Ok(found) => found,
        Err(e) => {
            facts
                .problems
                .push(format!("cannot list {}: {e}", proc_dir.display()));
            return facts;
        }
    };

    let host_root = match Root::open(&options.host_root) {
        Ok(root) => Some(root),
        Err(e) => {
            facts.problems.push(e.to_string());
            None
        }
    };
    let names = host_root.as_ref().map(Names::load).unwrap_or_default();
    let manifests = match &host_root {
        Some(root) => {
            let dirs: Vec<String> = found
                .iter()
                .filter_map(|f| match f.role {
                    Role::Kubelet { first } => {
                        staticpod::kubelet_manifest_dir(&f.argv, first, root)
                    }
                    _ => None,
                })
                .collect();
            staticpod::load(&dirs, root)
        }
        None => Vec::new(),
    };

    for process in &found {
        match process.role {
            Role::Scheduler { .. } | Role::K3sServer => {
                // k3s runs its scheduler in-process unless told not to.
                let embedded = match (process.role, host_root.as_ref()) {
                    (Role::K3sServer, Some(root)) => match k3s::scheduler_argv(&process.argv, root)
                    {
                        Some(built) => Some(built),
                        None => continue,
                    },
                    (Role::K3sServer, None) => Some((
                        Vec::new(),
                        vec!["the host root could not be opened".to_string()],
                    )),
                    _ => None,
                };
                let context = Context {
                    proc_dir: &proc_dir,
                    host_root: host_root.as_ref(),
                    names: &names,
                    manifests: &manifests,
                    options,
                };
                facts.targets.push(context.target(process, embedded));
            }
            Role::ApiServer { first } => facts.apiservers.push(ApiServer {
                pid: process.pid,
                args: argv::parse(&process.argv, first, flags::KUBE_APISERVER),
                errors: Vec::new(),
            }),
            Role::Kubelet { .. } => {}
        }
    }

    if let Some(live) = options.live {
        facts.live_inspection = true;
        inspect_live(&proc_dir, &mut facts.targets, live);
    }
    facts
}

/// Reads every target's listeners and probes them, all targets at once.
fn inspect_live(proc_dir: &Path, targets: &mut [Target], options: LiveOptions) {
    let limits = probes::Limits {
        per_probe: options.per_probe,
        deadline: Instant::now() + options.total,
    };
    let own_netns = std::fs::read_link("/proc/self/ns/net").ok();

    let jobs: Vec<_> = targets
        .iter()
        .filter(|t| !t.argv.is_empty() && t.process.ok().is_some())
        .map(|t| {
            let dir = procs::pid_dir(proc_dir, t.pid);
            let (pid, kind, args) = (t.pid, t.kind, t.args.clone());
            let own_netns = own_netns.clone();
            (
                t.pid,
                std::thread::spawn(move || live(&dir, pid, kind, &args, own_netns, limits)),
            )
        })
        .collect();
    for (pid, job) in jobs {
        let live = job.join().unwrap_or_else(|_| Live {
            errors: vec!["live inspection panicked".into()],
            ..Live::default()
        });
        if let Some(target) = targets.iter_mut().find(|t| t.pid == pid) {
            target.live = Some(live);
        }
    }
}

/// The secure port a scheduler's flags name (0 when secure serving is off).
fn secure_port(args: &argv::ParsedArgs) -> u16 {
    args.get("secure-port")
        .and_then(|p| p.value.parse().ok())
        .unwrap_or(10259)
}

fn live(
    dir: &Path,
    pid: u32,
    kind: TargetKind,
    args: &argv::ParsedArgs,
    own_netns: Option<PathBuf>,
    limits: probes::Limits,
) -> Live {
    let mut live = Live::default();
    let mut listeners = match sockets::listeners(dir, pid) {
        Ok(l) => l,
        Err(e) => {
            live.errors.push(e);
            return live;
        }
    };
    let port = secure_port(args);
    // Limitation: k3s serves its API server, kubelet and more from the same
    // process; only the scheduler's secure port is judged for it.
    if kind == TargetKind::K3sEmbedded {
        listeners.retain(|l| l.port == port);
    }

    let netns_path = dir.join("ns/net");
    live.own_netns = std::fs::read_link(&netns_path).ok() != own_netns;
    let netns = live.own_netns.then_some(netns_path);
    let ports: Vec<u16> = Some(port).into_iter().filter(|p| *p != 0).collect();

    let probed = probes::probe(netns, listeners.clone(), ports, limits);
    for (listener, tls) in listeners.iter_mut().zip(&probed.tls) {
        listener.tls = *tls;
    }
    live.addresses = probed.addresses;
    live.listeners = listeners;
    live.probes = probed.probes;
    live.reach = probed.reach;
    live.tls_scans = probed.tls_scans;
    live.errors.extend(probed.errors);
    live
}

struct Context<'a> {
    proc_dir: &'a Path,
    host_root: Option<&'a Root>,
    names: &'a Names,
    manifests: &'a [Manifest],
    options: &'a Options,
}

impl Context<'_> {
    /// Everything about one scheduler. The process may exit at any point;
    /// what was read stays, and what was not becomes an error.
    /// `embedded` is the argv (and problems) rebuilt for a scheduler that
    /// runs inside another process.
    fn target(&self, found: &Found, embedded: Option<(Vec<String>, Vec<String>)>) -> Target {
        let dir = procs::pid_dir(self.proc_dir, found.pid);
        let mut errors = Vec::new();

        let (kind, argv, first) = match found.role {
            Role::Scheduler {
                hyperkube: true,
                first,
            } => (TargetKind::Hyperkube, found.argv.clone(), first),
            Role::K3sServer => {
                let (argv, problems) = embedded.unwrap_or_default();
                errors.extend(problems);
                (TargetKind::K3sEmbedded, argv, 1)
            }
            Role::Scheduler { first, .. } => (TargetKind::KubeScheduler, found.argv.clone(), first),
            _ => unreachable!("only schedulers become targets"),
        };
        let args = argv::parse(&argv, first, flags::KUBE_SCHEDULER);

        let process = match identity::process(&dir) {
            Ok(p) => Observed::Ok(p),
            Err(e) => {
                errors.push(format!(
                    "process {} exited or is unreadable: {e}",
                    found.pid
                ));
                Observed::Error(e.to_string())
            }
        };

        // The process's root, through which its paths are resolved.
        let root = Root::open(&dir.join("root")).map(|r| {
            let cwd = std::fs::read_link(dir.join("cwd"))
                .ok()
                .map(|p| p.display().to_string());
            r.with_cwd(cwd)
        });
        if let Err(e) = &root {
            errors.push(e.to_string());
        }

        let static_pod = staticpod::matching(self.manifests, &found.argv).map(|m| StaticPod {
            manifest: m.path.clone(),
            name: m.pod_name.clone(),
            image: m.image.clone(),
        });
        let version = version(&dir, static_pod.as_ref());

        let mut config_file = None;
        let mut files = Vec::new();
        if let Ok(root) = &root {
            config_file = args.get("config").map(|c| ConfigFile {
                path: c.value.clone(),
                parsed: read_config(root, &c.value, self.options.max_file_bytes),
            });
            for flag in FILE_FLAGS {
                if let Some(value) = args.get(flag).filter(|v| !v.value.is_empty()) {
                    files.push(self.file_use(root, &format!("--{flag}"), &value.value));
                }
            }
            let client_kubeconfig = config_file
                .as_ref()
                .and_then(|c| c.parsed.ok())
                .and_then(|c| c.kubeconfig.clone())
                .filter(|p| !p.is_empty());
            if let Some(path) = client_kubeconfig {
                files.push(self.file_use(root, "clientConnection.kubeconfig", &path));
            }
        } else if let Err(e) = &root {
            // Nothing inside the process's root can be seen: every file it
            // names gets the reason.
            let reason = e.to_string();
            config_file = args.get("config").map(|c| ConfigFile {
                path: c.value.clone(),
                parsed: Observed::Error(reason.clone()),
            });
            for flag in FILE_FLAGS {
                if let Some(value) = args.get(flag).filter(|v| !v.value.is_empty()) {
                    files.push(FileUse {
                        role: format!("--{flag}"),
                        path: value.value.clone(),
                        stat: Observed::Error(reason.clone()),
                    });
                }
            }
        }
        if let (Some(pod), Some(host)) = (&static_pod, self.host_root) {
            files.push(self.file_use(host, "static pod manifest", &pod.manifest));
        }

        // A process that vanished while being read leaves its earlier reads
        // unreliable: say so.
        if !dir.exists() {
            errors.push(format!("process {} exited during the scan", found.pid));
        }

        Target {
            pid: found.pid,
            kind,
            process,
            version,
            argv,
            args,
            config: config_file,
            files,
            static_pod,
            errors,
            live: None,
        }
    }

    fn file_use(&self, root: &Root, role: &str, path: &str) -> FileUse {
        let stat = match root.stat(path, self.names) {
            Ok(stat) => Observed::Ok(stat),
            Err(e) => Observed::Error(e.to_string()),
        };
        FileUse {
            role: role.to_string(),
            path: path.to_string(),
            stat,
        }
    }
}

fn read_config(root: &Root, path: &str, limit: u64) -> Observed<config::SchedulerConfig> {
    let bytes = match root.read(path, limit) {
        Ok(bytes) => bytes,
        Err(e) => return Observed::Error(e.to_string()),
    };
    match config::parse(&bytes) {
        Ok(config) => Observed::Ok(config),
        Err(e) => Observed::Error(format!("{path}: {e}")),
    }
}

/// The release, from the executable's build info, else the static pod's
/// image tag. Never executes the binary.
fn version(dir: &Path, static_pod: Option<&StaticPod>) -> VersionInfo {
    let exe = dir.join("exe");
    let build = std::fs::File::open(&exe)
        .map_err(|e| e.to_string())
        .and_then(|mut f| {
            buildinfo::read_build_info(&mut f, BUILD_INFO_LIMIT).map_err(|e| e.to_string())
        });
    let (go_version, build_note) = match &build {
        Ok(info) => (info.go_version.clone(), None),
        Err(e) => (None, Some(format!("build info of {}: {e}", exe.display()))),
    };

    if let Some(raw) = build
        .as_ref()
        .ok()
        .and_then(|b| b.kubernetes_version.clone())
    {
        if let Some(v) = Version::parse(&raw) {
            return VersionInfo {
                detected: Some(v),
                source: VersionSource::BuildInfo,
                raw: Some(raw),
                go_version,
                note: None,
            };
        }
    }
    let image = static_pod.and_then(|p| p.image.as_deref());
    if let Some(tag) = image.and_then(staticpod::image_tag) {
        if let Some(v) = Version::parse(tag) {
            return VersionInfo {
                detected: Some(v),
                source: VersionSource::ManifestImage,
                raw: Some(tag.to_string()),
                go_version,
                note: Some(format!("from the image {}", image.unwrap_or_default())),
            };
        }
    }
    let reason = build_note.unwrap_or_else(|| {
        "the build info records no gitVersion (a -trimpath build) and no static pod manifest \
         names an image tag"
            .to_string()
    });
    VersionInfo {
        go_version,
        ..VersionInfo::unknown(format!(
            "{reason}; the defaults of {} are assumed",
            Version::NEWEST_KNOWN
        ))
    }
}
