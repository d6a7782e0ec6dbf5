//! The spool: reports waiting for delivery, one file each, in the order
//! they were made. Files are written under a temporary name, fsync'ed and
//! renamed, and the directory is fsync'ed, so a report is either whole on
//! disk or absent, across crashes and restarts. Bounded by count and bytes:
//! the oldest reports are dropped first.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// A spooled report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    pub path: PathBuf,
    pub sequence: u64,
    pub report_id: String,
    pub bytes: u64,
}

pub struct Spool {
    dir: PathBuf,
    max_reports: usize,
    max_bytes: u64,
    next_sequence: u64,
}

const SUFFIX: &str = ".report";

/// `00000000000000000042-<id>.report` to (42, id).
fn parse_name(name: &str) -> Option<(u64, String)> {
    let stem = name.strip_suffix(SUFFIX)?;
    let (sequence, id) = stem.split_once('-')?;
    Some((sequence.parse().ok()?, id.to_string()))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

impl Spool {
    /// Opens (creating, mode 0700) a spool directory, removing temporary
    /// files a crash left behind.
    pub fn open(dir: &Path, max_reports: usize, max_bytes: u64) -> io::Result<Spool> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        let mut spool = Spool {
            dir: dir.to_path_buf(),
            max_reports,
            max_bytes,
            next_sequence: 1,
        };
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                fs::remove_file(entry.path())?;
            }
        }
        if let Some(last) = spool.pending()?.last() {
            spool.next_sequence = last.sequence + 1;
        }
        Ok(spool)
    }

    pub fn set_limits(&mut self, max_reports: usize, max_bytes: u64) {
        self.max_reports = max_reports;
        self.max_bytes = max_bytes;
    }

    /// Every spooled report, oldest first.
    pub fn pending(&self) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((sequence, report_id)) = parse_name(&name) else {
                continue;
            };
            let bytes = entry.metadata()?.len();
            entries.push(Entry {
                path: entry.path(),
                sequence,
                report_id,
                bytes,
            });
        }
        entries.sort_by_key(|e| e.sequence);
        Ok(entries)
    }

    /// Stores a report durably, then drops the oldest reports until the
    /// spool is within its limits again; returns those dropped. The new
    /// report itself is kept even if it alone exceeds the byte limit.
    pub fn push(&mut self, report_id: &str, body: &[u8]) -> io::Result<Vec<Entry>> {
        let name = format!("{:020}-{report_id}{SUFFIX}", self.next_sequence);
        let temp = self.dir.join(format!("{name}.tmp"));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(body)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, self.dir.join(&name))?;
        sync_dir(&self.dir)?;
        self.next_sequence += 1;

        let mut entries = self.pending()?;
        let mut dropped = Vec::new();
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        while entries.len() > 1 && (entries.len() > self.max_reports || total > self.max_bytes) {
            let oldest = entries.remove(0);
            fs::remove_file(&oldest.path)?;
            total -= oldest.bytes;
            dropped.push(oldest);
        }
        if !dropped.is_empty() {
            sync_dir(&self.dir)?;
        }
        Ok(dropped)
    }

    pub fn read(&self, entry: &Entry) -> io::Result<Vec<u8>> {
        fs::read(&entry.path)
    }

    /// Removes a delivered (or rejected) report.
    pub fn remove(&self, entry: &Entry) -> io::Result<()> {
        match fs::remove_file(&entry.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        sync_dir(&self.dir)
    }

    /// (reports, bytes) waiting.
    pub fn usage(&self) -> io::Result<(usize, u64)> {
        let entries = self.pending()?;
        Ok((entries.len(), entries.iter().map(|e| e.bytes).sum()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_come_back_in_order_across_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        spool.push("a", b"first").unwrap();
        spool.push("b", b"second").unwrap();
        let mut reopened = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        reopened.push("c", b"third").unwrap();
        let ids: Vec<String> = reopened
            .pending()
            .unwrap()
            .into_iter()
            .map(|e| e.report_id)
            .collect();
        assert_eq!(ids, vec!["a", "b", "c"]);
    }

    #[test]
    fn the_oldest_are_dropped_past_the_count_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 2, 1 << 20).unwrap();
        spool.push("a", b"1").unwrap();
        spool.push("b", b"2").unwrap();
        let dropped = spool.push("c", b"3").unwrap();
        assert_eq!(
            dropped
                .iter()
                .map(|e| e.report_id.as_str())
                .collect::<Vec<_>>(),
            vec!["a"]
        );
        assert_eq!(spool.usage().unwrap(), (2, 2));
    }

    #[test]
    fn the_byte_limit_drops_old_reports_but_keeps_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path(), 100, 10).unwrap();
        spool.push("a", b"12345").unwrap();
        spool.push("b", b"12345").unwrap();
        let dropped = spool.push("big", b"123456789012").unwrap();
        assert_eq!(dropped.len(), 2);
        assert_eq!(spool.pending().unwrap()[0].report_id, "big");
    }

    #[test]
    fn leftover_temporary_files_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("00000000000000000001-x.report.tmp"),
            b"half",
        )
        .unwrap();
        let spool = Spool::open(dir.path(), 10, 1 << 20).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
