//! Listening TCP sockets of a process: its socket inodes from
//! `/proc/PID/fd`, matched with the LISTEN rows of `/proc/PID/net/tcp{,6}`
//! (the tables of its own network namespace), and their socket options read
//! from a duplicate of the descriptor (`pidfd_getfd`), closed at once.

use crate::facts::Listener;
use procfs::net::{TcpNetEntry, TcpState};
use procfs::process::{FDTarget, Process};
use rustix::io::Errno;
use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd, RawFd};
use std::path::Path;

/// Why socket options could not be read, with the remedy.
fn sockopt_hint(errno: Errno) -> String {
    match errno {
        Errno::PERM | Errno::ACCESS => format!(
            "{}: duplicating another process's socket needs CAP_SYS_PTRACE (run as root or \
             grant the capability; Yama ptrace_scope 3 forbids it even for root)",
            std::io::Error::from(errno)
        ),
        Errno::NOSYS => "pidfd_getfd needs Linux 5.6 or newer".to_string(),
        Errno::SRCH => "the process exited".to_string(),
        Errno::BADF => "the descriptor was closed meanwhile".to_string(),
        other => std::io::Error::from(other).to_string(),
    }
}

/// The listening sockets of the process whose /proc directory is `dir`.
/// Errors name what could not be read and why.
pub fn listeners(dir: &Path, pid: u32) -> Result<Vec<Listener>, String> {
    let process = Process::new_with_root(dir.to_path_buf())
        .map_err(|e| format!("cannot open {}: {e}", dir.display()))?;

    let mut inodes: HashMap<u64, RawFd> = HashMap::new();
    let fds = process.fd().map_err(|e| {
        format!(
            "cannot list {}/fd: {e} (needs root or CAP_SYS_PTRACE)",
            dir.display()
        )
    })?;
    for fd in fds.flatten() {
        if let FDTarget::Socket(inode) = fd.target {
            inodes.insert(inode, fd.fd);
        }
    }

    let mut rows: Vec<(&str, TcpNetEntry)> = Vec::new();
    for (family, table) in [("tcp", process.tcp()), ("tcp6", process.tcp6())] {
        match table {
            Ok(entries) => rows.extend(entries.into_iter().map(|e| (family, e))),
            // A kernel without IPv6 has no tcp6 table.
            Err(e) if family == "tcp6" && e.to_string().contains("No such file") => {}
            Err(e) => return Err(format!("cannot read {}/net/{family}: {e}", dir.display())),
        }
    }
    let listening: Vec<&(&str, TcpNetEntry)> = rows
        .iter()
        .filter(|(_, e)| e.state == TcpState::Listen)
        .collect();

    let mut found: Vec<Listener> = listening
        .iter()
        .filter_map(|(family, entry)| {
            let fd = *inodes.get(&entry.inode)?;
            let shared_with = listening
                .iter()
                .filter(|(_, other)| {
                    other.inode != entry.inode && other.local_address == entry.local_address
                })
                .map(|(_, other)| other.inode)
                .collect();
            Some(Listener {
                address: entry.local_address.ip().to_string(),
                port: entry.local_address.port(),
                family: family.to_string(),
                inode: entry.inode,
                fd: u32::try_from(fd).ok(),
                v6only: None,
                reuse_addr: None,
                reuse_port: None,
                sockopt_error: None,
                tls: None,
                shared_with,
            })
        })
        .collect();
    found.sort_by_key(|l| (l.port, l.family.clone(), l.address.clone()));

    read_options(pid, &mut found);
    Ok(found)
}

/// Fills in SO_REUSEADDR, SO_REUSEPORT and IPV6_V6ONLY from duplicates of
/// the process's descriptors.
fn read_options(pid: u32, listeners: &mut [Listener]) {
    if listeners.is_empty() {
        return;
    }
    let pidfd = Pid::from_raw(pid as i32)
        .ok_or(Errno::INVAL)
        .and_then(|pid| pidfd_open(pid, PidfdFlags::empty()));
    let pidfd = match pidfd {
        Ok(fd) => fd,
        Err(errno) => {
            let reason = sockopt_hint(errno);
            for l in listeners.iter_mut() {
                l.sockopt_error = Some(reason.clone());
            }
            return;
        }
    };
    for l in listeners.iter_mut() {
        let Some(fd) = l.fd else { continue };
        match pidfd_getfd(&pidfd, fd as RawFd, PidfdGetfdFlags::empty()) {
            Ok(dup) => apply_options(l, &dup),
            Err(errno) => l.sockopt_error = Some(sockopt_hint(errno)),
        }
    }
}

/// Reads the options from our duplicate, which is dropped (closed) by the
/// caller right after: it shares the open file description with the
/// scheduler, so nothing but getsockopt is done with it.
fn apply_options(listener: &mut Listener, dup: &OwnedFd) {
    use rustix::net::sockopt;
    let fd = dup.as_fd();
    let mut problems = Vec::new();
    match sockopt::socket_reuseaddr(fd) {
        Ok(v) => listener.reuse_addr = Some(v),
        Err(e) => problems.push(format!("SO_REUSEADDR: {e}")),
    }
    match sockopt::socket_reuseport(fd) {
        Ok(v) => listener.reuse_port = Some(v),
        Err(e) => problems.push(format!("SO_REUSEPORT: {e}")),
    }
    if listener.family == "tcp6" {
        match sockopt::ipv6_v6only(fd) {
            Ok(v) => listener.v6only = Some(v),
            Err(e) => problems.push(format!("IPV6_V6ONLY: {e}")),
        }
    }
    if !problems.is_empty() {
        listener.sockopt_error = Some(problems.join("; "));
    }
}

/// True for 0.0.0.0 and ::.
pub fn is_wildcard(address: &str) -> bool {
    address
        .parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

/// The socket address of a listener.
pub fn socket_addr(listener: &Listener) -> Option<SocketAddr> {
    let ip = listener.address.parse().ok()?;
    Some(SocketAddr::new(ip, listener.port))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn finds_own_listeners_with_their_options() {
        let plain = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = plain.local_addr().unwrap().port();
        let found = listeners(Path::new("/proc/self"), std::process::id()).unwrap();
        let mine = found
            .iter()
            .find(|l| l.port == port)
            .expect("the listener is found");
        assert_eq!(mine.address, "127.0.0.1");
        assert_eq!(mine.family, "tcp");
        // std sets SO_REUSEADDR on Unix listeners, as Go does.
        assert_eq!(mine.reuse_addr, Some(true));
        assert_eq!(mine.reuse_port, Some(false));
        assert_eq!(mine.sockopt_error, None);
    }

    #[test]
    fn wildcards_are_recognised() {
        assert!(is_wildcard("0.0.0.0"));
        assert!(is_wildcard("::"));
        assert!(!is_wildcard("127.0.0.1"));
        assert!(!is_wildcard("not an address"));
    }
}
