//! Finding kube-scheduler, kube-apiserver and kubelet processes in /proc.
//!
//! One pass reads each process's cmdline (and, when the name does not
//! already match, the name of its executable): that is the whole cost of
//! discovery on a busy host.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest command line read (Linux allows far longer argv, but no
/// control-plane component has one this long).
const CMDLINE_LIMIT: u64 = 1 << 20;

/// What a process was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A kube-scheduler process; `first` is the index of its first flag.
    Scheduler {
        hyperkube: bool,
        first: usize,
    },
    /// `k3s server`, which runs a scheduler inside itself.
    K3sServer,
    ApiServer {
        first: usize,
    },
    Kubelet {
        first: usize,
    },
}

/// A recognised process and its argv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub pid: u32,
    pub role: Role,
    pub argv: Vec<String>,
}

/// Lists the processes under `proc_dir` (normally `/proc`) that matter.
/// A process that exits during the walk is skipped silently: it was not
/// there to find.
pub fn scan(proc_dir: &Path) -> std::io::Result<Vec<Found>> {
    let mut found = Vec::new();
    for entry in fs::read_dir(proc_dir)? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = entry.path();
        let Some(argv) = read_cmdline(&dir.join("cmdline")) else {
            continue;
        };
        if argv.is_empty() {
            continue; // kernel thread
        }

        let role = recognise(&argv).or_else(|| {
            // The executable's name is read only when argv[0] does not
            // already say what the process is.
            let exe = fs::read_link(dir.join("exe")).ok()?;
            let name = basename(exe.to_str()?.trim_end_matches(" (deleted)"));
            let mut renamed = argv.clone();
            renamed[0] = name.to_string();
            recognise(&renamed)
        });
        if let Some(role) = role {
            found.push(Found { pid, role, argv });
        }
    }
    found.sort_by_key(|f| f.pid);
    Ok(found)
}

/// Reads a cmdline file into its NUL-separated arguments.
pub fn read_cmdline(path: &Path) -> Option<Vec<String>> {
    let mut bytes = Vec::new();
    fs::File::open(path)
        .ok()?
        .take(CMDLINE_LIMIT)
        .read_to_end(&mut bytes)
        .ok()?;
    Some(split_cmdline(&bytes))
}

fn split_cmdline(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    if bytes.is_empty() {
        return Vec::new();
    }
    bytes
        .split(|b| *b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Recognises a process from its argv.
pub fn recognise(argv: &[String]) -> Option<Role> {
    let name = basename(argv.first()?);
    let sub = argv.get(1).map(String::as_str);
    match (name, sub) {
        ("kube-scheduler", _) => Some(Role::Scheduler {
            hyperkube: false,
            first: 1,
        }),
        ("hyperkube", Some("kube-scheduler" | "scheduler")) => Some(Role::Scheduler {
            hyperkube: true,
            first: 2,
        }),
        ("k3s" | "k3s-server", _) if is_k3s_server(argv) => Some(Role::K3sServer),
        ("kube-apiserver", _) => Some(Role::ApiServer { first: 1 }),
        ("hyperkube", Some("kube-apiserver" | "apiserver")) => Some(Role::ApiServer { first: 2 }),
        ("kubelet", _) => Some(Role::Kubelet { first: 1 }),
        ("hyperkube", Some("kubelet")) => Some(Role::Kubelet { first: 2 }),
        _ => None,
    }
}

/// `k3s server ...`; k3s renames its main process to `k3s server` too.
fn is_k3s_server(argv: &[String]) -> bool {
    argv.get(1).is_some_and(|a| a == "server") || argv[0].ends_with("k3s server")
}

/// `<proc_dir>/<pid>`.
pub fn pid_dir(proc_dir: &Path, pid: u32) -> PathBuf {
    proc_dir.join(pid.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn recognises_schedulers_by_argv0_basename() {
        let plain = Some(Role::Scheduler {
            hyperkube: false,
            first: 1,
        });
        assert_eq!(recognise(&argv("kube-scheduler --port=0")), plain);
        assert_eq!(recognise(&argv("/usr/local/bin/kube-scheduler")), plain);
        let hyper = Some(Role::Scheduler {
            hyperkube: true,
            first: 2,
        });
        assert_eq!(recognise(&argv("/hyperkube scheduler --v=2")), hyper);
        assert_eq!(recognise(&argv("hyperkube kube-scheduler")), hyper);
        assert_eq!(recognise(&argv("kube-scheduler-wrapper")), None);
        assert_eq!(recognise(&argv("hyperkube kubectl")), None);
    }

    #[test]
    fn recognises_k3s_server_but_not_k3s_agent() {
        assert_eq!(
            recognise(&argv("/usr/local/bin/k3s server --disable=traefik")),
            Some(Role::K3sServer)
        );
        assert_eq!(recognise(&argv("/usr/local/bin/k3s agent")), None);
    }

    #[test]
    fn recognises_apiserver_and_kubelet() {
        assert_eq!(
            recognise(&argv("kube-apiserver --x")),
            Some(Role::ApiServer { first: 1 })
        );
        assert_eq!(
            recognise(&argv("/usr/bin/kubelet")),
            Some(Role::Kubelet { first: 1 })
        );
    }

    #[test]
    fn cmdline_splits_on_nul_and_drops_the_trailing_one() {
        assert_eq!(split_cmdline(b"a\0--b=c\0\0"), vec!["a", "--b=c", ""]);
        assert_eq!(split_cmdline(b"a\0b"), vec!["a", "b"]);
        assert!(split_cmdline(b"").is_empty());
    }

    #[test]
    fn scan_finds_this_test_process_not_as_a_scheduler() {
        let found = scan(Path::new("/proc")).unwrap();
        let me = std::process::id();
        assert!(found.iter().all(|f| f.pid != me));
    }
}
