//! Files as a process sees them: paths resolved inside the process's root
//! (`/proc/PID/root`) without ever escaping it, stat'ed without following
//! anything outside, and read with a size limit. Never writes.

use crate::facts::{DirStat, FileKind, FileStat};
use rustix::fs::{fstat, openat2, FileType, Mode, OFlags, ResolveFlags, Stat};
use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// Why a file could not be examined. The message names the path and what to do.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot open {root}: {source}{hint}")]
    Root {
        root: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("{path}: {reason}{hint}")]
    Open {
        path: String,
        reason: String,
        hint: &'static str,
    },
    #[error("{path} is a {kind}, not a regular file; refusing to read it")]
    NotRegular { path: String, kind: &'static str },
    #[error("{path} is {size} bytes, over the {limit}-byte limit; refusing to read it")]
    TooLarge { path: String, size: u64, limit: u64 },
}

/// A hint for errors that more privilege would fix.
fn hint(errno: rustix::io::Errno) -> &'static str {
    use rustix::io::Errno;
    match errno {
        Errno::ACCESS | Errno::PERM => {
            " (run as root, or grant CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)"
        }
        _ => "",
    }
}

fn describe(errno: rustix::io::Errno) -> String {
    use rustix::io::Errno;
    match errno {
        Errno::NOENT => "not found inside the process's root".to_string(),
        Errno::LOOP => "too many levels of symbolic links (a symlink loop?)".to_string(),
        Errno::XDEV => "the path leaves the process's root".to_string(),
        other => std::io::Error::from(other).to_string(),
    }
}

/// The root directory of a process (or of the host), through which paths
/// are resolved the way that process resolves them.
pub struct Root {
    fd: OwnedFd,
    /// The directory a relative path starts from, as an absolute path inside
    /// the root.
    cwd: Option<String>,
}

impl Root {
    /// Opens a root directory, such as `/proc/4242/root` or the host root.
    pub fn open(dir: &Path) -> Result<Root, FileError> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = rustix::fs::open(dir, flags, Mode::empty()).map_err(|e| FileError::Root {
            root: dir.display().to_string(),
            source: e.into(),
            hint: hint(e),
        })?;
        Ok(Root { fd, cwd: None })
    }

    /// Sets the directory relative paths start from.
    pub fn with_cwd(mut self, cwd: Option<String>) -> Root {
        self.cwd = cwd.filter(|c| c.starts_with('/'));
        self
    }

    /// The absolute path (inside the root) that `path` names.
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with('/') {
            return normalise(path);
        }
        let base = self.cwd.as_deref().unwrap_or("/");
        normalise(&format!("{base}/{path}"))
    }

    /// Opens `path` with `O_PATH`, following symlinks inside the root only.
    fn open_path(&self, path: &str, directory: bool) -> Result<OwnedFd, FileError> {
        let absolute = self.absolute(path);
        let mut flags = OFlags::PATH | OFlags::CLOEXEC;
        if directory {
            flags |= OFlags::DIRECTORY;
        }
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let relative = match absolute.trim_start_matches('/') {
            "" => ".",
            relative => relative,
        };
        let opened = match openat2(&self.fd, relative, flags, Mode::empty(), resolve) {
            // No openat2 here (Linux before 5.6, or a seccomp filter that
            // refuses it): walk the path instead, as safely.
            Err(rustix::io::Errno::NOSYS) => super::inroot::open(&self.fd, relative, directory),
            other => other,
        };
        opened.map_err(|e| FileError::Open {
            path: path.to_string(),
            reason: describe(e),
            hint: hint(e),
        })
    }

    fn stat_path(&self, path: &str, directory: bool) -> Result<Stat, FileError> {
        let fd = self.open_path(path, directory)?;
        fstat(&fd).map_err(|e| FileError::Open {
            path: path.into(),
            reason: describe(e),
            hint: hint(e),
        })
    }

    /// Type, mode and owner of a file and of every directory above it.
    pub fn stat(&self, path: &str, names: &Names) -> Result<FileStat, FileError> {
        let stat = self.stat_path(path, false)?;
        let uid = stat.st_uid;
        let gid = stat.st_gid;

        let mut parents = Vec::new();
        let mut dir = PathBuf::from(self.absolute(path));
        while dir.pop() {
            let shown = dir.display().to_string();
            match self.stat_path(&shown, true) {
                Ok(s) => parents.push(DirStat {
                    path: shown,
                    mode: s.st_mode & 0o7777,
                    uid: s.st_uid,
                    gid: s.st_gid,
                }),
                // A parent that cannot be stat'ed leaves a gap, not a failure:
                // the file itself was reached.
                Err(_) => continue,
            }
        }

        Ok(FileStat {
            kind: kind(&stat),
            mode: stat.st_mode & 0o7777,
            uid,
            gid,
            owner: names.user(uid),
            group: names.group(gid),
            size: stat.st_size as u64,
            parents,
        })
    }

    /// Reads a regular file of at most `limit` bytes. FIFOs, devices,
    /// directories and larger files are refused before any byte is read.
    pub fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, FileError> {
        let fd = self.open_path(path, false)?;
        let stat = fstat(&fd).map_err(|e| FileError::Open {
            path: path.into(),
            reason: describe(e),
            hint: hint(e),
        })?;
        let file_kind = kind(&stat);
        if file_kind != FileKind::Regular {
            return Err(FileError::NotRegular {
                path: path.into(),
                kind: file_kind.as_str(),
            });
        }
        let size = stat.st_size as u64;
        if size > limit {
            return Err(FileError::TooLarge {
                path: path.into(),
                size,
                limit,
            });
        }

        // Reopen the very inode that was checked, for reading. O_NONBLOCK
        // keeps a swapped-in FIFO from blocking; the limit holds for files
        // that grow.
        let reopen = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        let file = rustix::fs::open(reopen.as_str(), flags, Mode::empty()).map_err(|e| {
            FileError::Open {
                path: path.into(),
                reason: describe(e),
                hint: hint(e),
            }
        })?;
        let mut bytes = Vec::with_capacity(size as usize);
        std::fs::File::from(file)
            .take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| FileError::Open {
                path: path.into(),
                reason: e.to_string(),
                hint: "",
            })?;
        if bytes.len() as u64 > limit {
            return Err(FileError::TooLarge {
                path: path.into(),
                size: bytes.len() as u64,
                limit,
            });
        }
        Ok(bytes)
    }

    /// The names in a directory (not recursive), or an empty list.
    pub fn list(&self, path: &str) -> Vec<String> {
        let Ok(fd) = self.open_path(path, true) else {
            return Vec::new();
        };
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let reopen = format!("/proc/self/fd/{}", fd.as_raw_fd());
        let Ok(dir) = rustix::fs::open(reopen.as_str(), flags, Mode::empty()) else {
            return Vec::new();
        };
        let Ok(entries) = rustix::fs::Dir::read_from(&dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n != "." && n != "..")
            .collect();
        names.sort();
        names
    }
}

fn kind(stat: &Stat) -> FileKind {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => FileKind::Regular,
        FileType::Directory => FileKind::Directory,
        FileType::Symlink => FileKind::Symlink,
        FileType::Fifo => FileKind::Fifo,
        FileType::Socket => FileKind::Socket,
        FileType::CharacterDevice => FileKind::CharDevice,
        FileType::BlockDevice => FileKind::BlockDevice,
        FileType::Unknown => FileKind::Regular,
    }
}

/// Removes `.` and `..` lexically, keeping the path absolute.
fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(p) => parts.push(p.to_str().unwrap_or_default()),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    format!("/{}", parts.join("/"))
}

/// User and group names from the host's `/etc/passwd` and `/etc/group`.
#[derive(Default)]
pub struct Names {
    users: HashMap<u32, String>,
    groups: HashMap<u32, String>,
}

impl Names {
    /// Reads the host's account files through `root`; missing files give
    /// numeric ids only.
    pub fn load(root: &Root) -> Names {
        let table = |path: &str| -> HashMap<u32, String> {
            let Ok(bytes) = root.read(path, 4 << 20) else {
                return HashMap::new();
            };
            String::from_utf8_lossy(&bytes)
                .lines()
                .filter_map(|line| {
                    let mut fields = line.split(':');
                    let name = fields.next()?;
                    let id = fields.nth(1)?.parse().ok()?;
                    Some((id, name.to_string()))
                })
                .collect()
        };
        Names {
            users: table("/etc/passwd"),
            groups: table("/etc/group"),
        }
    }

    pub fn user(&self, uid: u32) -> Option<String> {
        self.users.get(&uid).cloned()
    }

    pub fn group(&self, gid: u32) -> Option<String> {
        self.groups.get(&gid).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn root(dir: &Path) -> Root {
        Root::open(dir).unwrap()
    }

    #[test]
    fn relative_paths_start_at_the_cwd_and_dots_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let r = root(dir.path()).with_cwd(Some("/etc/kubernetes".into()));
        assert_eq!(r.absolute("sched.yaml"), "/etc/kubernetes/sched.yaml");
        assert_eq!(r.absolute("../../../x"), "/x");
        assert_eq!(r.absolute("/a/./b/../c"), "/a/c");
    }

    #[test]
    fn absolute_symlinks_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/real.conf"), "inside").unwrap();
        symlink("/etc/real.conf", dir.path().join("etc/link.conf")).unwrap();
        let bytes = root(dir.path()).read("/etc/link.conf", 100).unwrap();
        assert_eq!(bytes, b"inside");
    }

    #[test]
    fn symlinks_cannot_climb_out_of_the_root() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("inner")).unwrap();
        std::fs::write(dir.path().join("secret"), "outside").unwrap();
        symlink("../../../../secret", dir.path().join("inner/escape")).unwrap();
        let err = root(&dir.path().join("inner"))
            .read("/escape", 100)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("not found inside the process's root"),
            "{err}"
        );
    }

    #[test]
    fn symlink_loops_are_an_error() {
        let dir = tempfile::tempdir().unwrap();
        symlink("/b", dir.path().join("a")).unwrap();
        symlink("/a", dir.path().join("b")).unwrap();
        let err = root(dir.path()).read("/a", 100).unwrap_err();
        assert!(err.to_string().contains("symbolic links"), "{err}");
    }

    #[test]
    fn fifos_and_devices_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        assert!(matches!(
            root(dir.path()).read("/fifo", 100),
            Err(FileError::NotRegular { .. })
        ));
        assert!(matches!(
            root(Path::new("/")).read("/dev/zero", 100),
            Err(FileError::NotRegular { .. })
        ));
        assert!(matches!(
            root(dir.path()).read("/", 100),
            Err(FileError::NotRegular { .. })
        ));
    }

    #[test]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let big = std::fs::File::create(dir.path().join("big")).unwrap();
        big.set_len(2 << 30).unwrap();
        let err = root(dir.path()).read("/big", 4 << 20).unwrap_err();
        assert!(matches!(err, FileError::TooLarge { size, .. } if size == 2 << 30));
    }

    #[test]
    fn stat_reports_mode_owner_and_parents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/kubernetes")).unwrap();
        let file = dir.path().join("etc/kubernetes/scheduler.conf");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::set_permissions(
            dir.path().join("etc"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let stat = root(dir.path())
            .stat("/etc/kubernetes/scheduler.conf", &Names::default())
            .unwrap();
        assert_eq!((stat.kind, stat.mode), (FileKind::Regular, 0o640));
        let paths: Vec<&str> = stat.parents.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["/etc/kubernetes", "/etc", "/"]);
        assert_eq!(stat.parents[1].mode, 0o777);
    }
}
