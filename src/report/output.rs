//! Writing a report to a file so that a reader never sees half of it:
//! node_exporter's textfile collector, for one, reads `*.prom` files at any
//! moment.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} names no file")]
    NoFileName(PathBuf),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` atomically: into a temporary file in the same
/// directory (`.NAME.PID.tmp`, which a `*.prom` glob does not match), then
/// fsync, rename over `path`, and fsync the directory so the rename survives
/// a crash. The file gets exactly `mode` whatever the umask (node_exporter
/// reads it as another user). On failure the temporary file is removed and
/// `path` is left as it was.
pub fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| WriteError::NoFileName(path.to_path_buf()))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let io = |at: &Path, source| WriteError::Io {
        path: at.to_path_buf(),
        source,
    };

    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
            .map_err(|e| io(&temp, e))?;
        // The umask may have taken bits away at creation.
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(&temp, e))?;
        file.write_all(bytes).map_err(|e| io(&temp, e))?;
        file.sync_all().map_err(|e| io(&temp, e))?;
        std::fs::rename(&temp, path).map_err(|e| io(path, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
        return result;
    }

    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_replaced_whole_with_the_mode_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schedguard.prom");
        std::fs::write(&path, "old\n").unwrap();

        write_atomically(&path, b"new\n", 0o644).unwrap();

        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o644);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["schedguard.prom"], "no temporary file is left");
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent/schedguard.prom");
        let error = write_atomically(&path, b"x", 0o644).unwrap_err();
        assert!(error.to_string().contains("absent"), "{error}");
        assert!(!dir.path().join("absent").exists());
    }

    #[test]
    fn a_directory_in_the_way_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        std::fs::create_dir(&path).unwrap();
        assert!(write_atomically(&path, b"x", 0o644).is_err());
        assert!(path.is_dir());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
