//! Who a process is: its user, namespaces and container, from /proc.

use crate::facts::{Container, Namespaces, Process};
use std::fs;
use std::io::Read;
use std::path::Path;

/// Reads a small /proc file, at most 64 KiB.
pub(crate) fn read_small(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    fs::File::open(path)?
        .take(64 << 10)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// The identity of the process whose /proc directory is `dir`.
pub fn process(dir: &Path) -> std::io::Result<Process> {
    let status = read_small(&dir.join("status"))?;
    let ids = |key: &str| -> Option<u32> {
        let line = status.lines().find(|l| l.starts_with(key))?;
        // Real, effective, saved, filesystem: files are opened with the
        // effective id.
        line.split_whitespace().nth(2)?.parse().ok()
    };
    let exe = fs::read_link(dir.join("exe"))
        .ok()
        .map(|p| p.display().to_string());
    let cgroup = read_small(&dir.join("cgroup")).unwrap_or_default();
    Ok(Process {
        uid: ids("Uid:").unwrap_or(u32::MAX),
        gid: ids("Gid:").unwrap_or(u32::MAX),
        exe,
        namespaces: Namespaces {
            mnt: namespace(dir, "mnt"),
            net: namespace(dir, "net"),
            pid: namespace(dir, "pid"),
        },
        container: container(&cgroup),
    })
}

/// The inode of `/proc/PID/ns/NAME` (`net:[4026531840]`).
fn namespace(dir: &Path, name: &str) -> Option<u64> {
    let link = fs::read_link(dir.join("ns").join(name)).ok()?;
    let text = link.to_str()?;
    text.split_once('[')?.1.strip_suffix(']')?.parse().ok()
}

/// A container id and pod UID from a cgroup file, for the layouts of
/// containerd, CRI-O and Docker under the systemd and cgroupfs drivers.
pub fn container(cgroup: &str) -> Option<Container> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or(line);
        let mut pod_uid = None;
        let mut found = None;
        for segment in path.split('/') {
            let segment = segment
                .trim_end_matches(".scope")
                .trim_end_matches(".slice");
            if let Some(uid) = pod_segment(segment) {
                pod_uid = Some(uid);
            }
            for (prefix, runtime) in [
                ("cri-containerd-", "containerd"),
                ("crio-", "cri-o"),
                ("docker-", "docker"),
            ] {
                if let Some(id) = segment
                    .strip_prefix(prefix)
                    .filter(|id| is_container_id(id))
                {
                    found = Some((id.to_string(), Some(runtime.to_string())));
                }
            }
            if found.is_none() && is_container_id(segment) {
                found = Some((segment.to_string(), None));
            }
        }
        if let Some((id, runtime)) = found {
            return Some(Container {
                id,
                runtime,
                pod_uid,
            });
        }
    }
    None
}

/// `kubepods-burstable-pod1234_5678.slice` or `pod1234-5678` gives the UID.
fn pod_segment(segment: &str) -> Option<String> {
    let start = segment.rfind("pod")?;
    let uid = &segment[start + 3..];
    (uid.len() >= 32
        && uid
            .chars()
            .all(|c| c.is_ascii_hexdigit() || c == '_' || c == '-'))
    .then(|| uid.replace('_', "-"))
}

fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f3c1a0e2b5d6c7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e";

    #[test]
    fn containerd_under_systemd_cgroup_driver() {
        let cgroup = format!(
            "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod9b1d3c7e_2f4a_4b6c_8d0e_1f2a3b4c5d6e.slice/cri-containerd-{ID}.scope\n"
        );
        let c = container(&cgroup).unwrap();
        assert_eq!(c.id, ID);
        assert_eq!(c.runtime.as_deref(), Some("containerd"));
        assert_eq!(
            c.pod_uid.as_deref(),
            Some("9b1d3c7e-2f4a-4b6c-8d0e-1f2a3b4c5d6e")
        );
    }

    #[test]
    fn cgroupfs_driver_without_runtime_prefix() {
        let cgroup =
            format!("12:pids:/kubepods/burstable/pod9b1d3c7e-2f4a-4b6c-8d0e-1f2a3b4c5d6e/{ID}\n");
        let c = container(&cgroup).unwrap();
        assert_eq!(c.id, ID);
        assert_eq!(c.runtime, None);
    }

    #[test]
    fn host_process_has_no_container() {
        assert_eq!(container("0::/system.slice/kubelet.service\n"), None);
        assert_eq!(container(""), None);
    }

    #[test]
    fn reads_this_process() {
        let me = process(Path::new("/proc/self")).unwrap();
        assert!(me.namespaces.net.is_some());
        assert!(me.exe.is_some());
    }
}
