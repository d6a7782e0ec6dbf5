//! Resolving a path inside a root directory one component at a time, for
//! where `openat2(RESOLVE_IN_ROOT)` is missing: kernels before 5.6 (RHEL 8
//! runs 4.18) and sandboxes that answer it with ENOSYS (systemd does so for
//! units with `RestrictSUIDSGID=yes`, since its seccomp filter cannot look
//! inside `struct open_how`).
//!
//! The walk keeps the chain of directories it has opened and treats `..` by
//! dropping the last one, never by asking the file system, so neither a
//! symlink nor a directory renamed during the walk can lead above the root.
//! Absolute symlinks start again at the root. Symlinks that live on procfs
//! (`/proc/PID/root`, `/proc/self/fd/N` and the like) are refused, as
//! `RESOLVE_NO_MAGICLINKS` refuses magic links: their text says nothing
//! reliable about where they lead.

use rustix::fs::{fstat, fstatfs, openat, readlinkat, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};

/// As many symlinks as Linux follows in one lookup.
const MAX_SYMLINKS: usize = 40;
/// `PROC_SUPER_MAGIC` from linux/magic.h.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// Opens `relative` (a path below `root`, absolute paths taken as relative
/// to it) with `O_PATH`, following symlinks inside the root only. With
/// `directory`, anything but a directory at the end is ENOTDIR.
pub fn open(root: impl AsFd, relative: &str, directory: bool) -> Result<OwnedFd, Errno> {
    let path_flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = openat(root, ".", path_flags | OFlags::DIRECTORY, Mode::empty())?;
    // The directories from the root down to where the walk stands.
    let mut chain: Vec<OwnedFd> = Vec::new();
    let mut pending: VecDeque<Vec<u8>> = components(relative.as_bytes()).collect();
    let mut followed = 0;

    while let Some(name) = pending.pop_front() {
        if name == b".." {
            chain.pop();
            continue;
        }
        let here = chain.last().map_or(root.as_fd(), |d| d.as_fd());
        let fd = openat(here, name.as_slice(), path_flags, Mode::empty())?;
        let file_type = FileType::from_raw_mode(fstat(&fd)?.st_mode);

        if file_type == FileType::Symlink {
            followed += 1;
            if followed > MAX_SYMLINKS || fstatfs(&fd)?.f_type as i64 == PROC_SUPER_MAGIC {
                return Err(Errno::LOOP);
            }
            let target = readlinkat(&fd, "", Vec::new())?.into_bytes();
            if target.first() == Some(&b'/') {
                chain.clear();
            }
            for part in components(&target).rev() {
                pending.push_front(part);
            }
            continue;
        }

        if pending.is_empty() {
            if directory && file_type != FileType::Directory {
                return Err(Errno::NOTDIR);
            }
            return Ok(fd);
        }
        if file_type != FileType::Directory {
            return Err(Errno::NOTDIR);
        }
        chain.push(fd);
    }

    // The path ended at a directory of the chain (or the root itself).
    match chain.pop() {
        Some(dir) => Ok(dir),
        None => Ok(root),
    }
}

/// The names of a path, without empty and `.` components.
fn components(path: &[u8]) -> impl DoubleEndedIterator<Item = Vec<u8>> + '_ {
    path.split(|b| *b == b'/')
        .filter(|part| !part.is_empty() && *part != b".")
        .map(<[u8]>::to_vec)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fs::ResolveFlags;
    use std::os::unix::fs::symlink;
    use std::path::Path;

    fn root_fd(dir: &Path) -> OwnedFd {
        rustix::fs::open(dir, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).unwrap()
    }

    /// (device, inode) of what a resolution reached, or its error.
    fn reached(result: Result<OwnedFd, Errno>) -> Result<(u64, u64), Errno> {
        result.map(|fd| {
            let s = fstat(&fd).unwrap();
            (s.st_dev, s.st_ino)
        })
    }

    fn by_openat2(root: &OwnedFd, path: &str, directory: bool) -> Result<OwnedFd, Errno> {
        let mut flags = OFlags::PATH | OFlags::CLOEXEC;
        if directory {
            flags |= OFlags::DIRECTORY;
        }
        let relative = match path.trim_start_matches('/') {
            "" => ".",
            r => r,
        };
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        rustix::fs::openat2(root, relative, flags, Mode::empty(), resolve)
    }

    /// A tree with every kind of path a scheduler's flags can name.
    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        std::fs::create_dir_all(p.join("etc/kubernetes/pki")).unwrap();
        std::fs::create_dir_all(p.join("var/lib/real")).unwrap();
        std::fs::write(p.join("etc/kubernetes/scheduler.conf"), "k").unwrap();
        std::fs::write(p.join("var/lib/real/config.yaml"), "c").unwrap();
        symlink("/var/lib/real", p.join("etc/kubernetes/linked")).unwrap();
        symlink(
            "../../var/lib/real/config.yaml",
            p.join("etc/kubernetes/rel.yaml"),
        )
        .unwrap();
        symlink(
            "/../../../../etc/kubernetes/scheduler.conf",
            p.join("up.conf"),
        )
        .unwrap();
        symlink("../../../../../../../../etc", p.join("var/lib/climb")).unwrap();
        symlink("/nowhere", p.join("dangling")).unwrap();
        symlink("loop-b", p.join("loop-a")).unwrap();
        symlink("loop-a", p.join("loop-b")).unwrap();
        symlink("/etc/kubernetes/scheduler.conf", p.join("file-link")).unwrap();
        dir
    }

    #[test]
    fn walking_reaches_what_openat2_reaches() {
        let dir = tree();
        let root = root_fd(dir.path());
        for path in [
            "/",
            "",
            "/etc/kubernetes/scheduler.conf",
            "etc/./kubernetes//scheduler.conf",
            "/etc/kubernetes/linked/config.yaml",
            "/etc/kubernetes/rel.yaml",
            "/up.conf",
            "/var/lib/climb/kubernetes/scheduler.conf",
            "/../../etc/kubernetes/scheduler.conf",
            "/etc/kubernetes/pki/../scheduler.conf",
            "/etc/kubernetes/linked/../real/config.yaml",
            "/dangling",
            "/loop-a",
            "/missing/file",
            "/etc/kubernetes/scheduler.conf/more",
            "/file-link",
        ] {
            for directory in [false, true] {
                assert_eq!(
                    reached(open(&root, path, directory)),
                    reached(by_openat2(&root, path, directory)),
                    "{path:?} directory={directory}"
                );
            }
        }
    }

    #[test]
    fn symlinks_never_lead_above_the_root() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "s").unwrap();
        let dir = tree();
        let target = outside.path().join("secret");
        symlink(&target, dir.path().join("abs-out")).unwrap();
        let root = root_fd(dir.path());
        assert_eq!(
            reached(open(&root, "/abs-out", false)),
            Err(Errno::NOENT),
            "an absolute target is looked up inside the root"
        );
        assert_eq!(
            reached(open(&root, "/var/lib/climb/../../../../..", true)),
            reached(Ok(root_fd(dir.path()))),
            "as many .. as one likes end at the root"
        );
    }

    #[test]
    fn procfs_symlinks_are_refused() {
        let root = root_fd(Path::new("/"));
        assert_eq!(
            reached(open(&root, "/proc/self/root", true)),
            Err(Errno::LOOP)
        );
        assert_eq!(
            reached(open(&root, "/proc/self/exe", false)),
            Err(Errno::LOOP)
        );
        // Stricter than RESOLVE_NO_MAGICLINKS: /proc/self is a plain procfs
        // symlink, refused all the same.
        assert_eq!(
            reached(open(&root, "/proc/self/status", false)),
            Err(Errno::LOOP)
        );
        assert!(open(&root, "/proc/1/status", false).is_ok());
    }

    #[test]
    fn loops_stop_after_forty_symlinks() {
        let dir = tree();
        assert_eq!(
            reached(open(root_fd(dir.path()), "/loop-a", false)),
            Err(Errno::LOOP)
        );
    }
}
