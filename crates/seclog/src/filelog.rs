//! The JSON-lines security log file with size-based rotation.
//!
//! Each event is one line of JSON (the spec's field names). When the file would grow past
//! `max_bytes`, it is renamed to `<name>.1` (older files shift to `.2` ... `.<max_files>`, the
//! oldest is removed) and a new file is started.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use seclog_core::SecurityEvent;

/// An append-only JSON-lines file that rotates by size.
#[derive(Debug)]
pub struct RotatingLog {
    path: PathBuf,
    max_bytes: u64,
    max_files: u32,
    out: BufWriter<File>,
    size: u64,
}

impl RotatingLog {
    /// Opens (creating parent directories and the file as needed) the log at `path`.
    /// `max_files` is how many rotated files are kept besides the live one.
    pub fn open(path: &Path, max_bytes: u64, max_files: u32) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                fs::create_dir_all(dir)?;
            }
        }
        let file = open_append(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingLog {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1024),
            max_files,
            out: BufWriter::with_capacity(64 * 1024, file),
            size,
        })
    }

    /// Appends events, one JSON line each, rotating when the size limit is reached, then
    /// flushes to the operating system.
    pub fn append(&mut self, events: &[SecurityEvent]) -> std::io::Result<()> {
        let mut line = Vec::with_capacity(512);
        for ev in events {
            line.clear();
            serde_json::to_writer(&mut line, ev).map_err(std::io::Error::other)?;
            line.push(b'\n');
            if self.size > 0 && self.size + line.len() as u64 > self.max_bytes {
                self.rotate()?;
            }
            self.out.write_all(&line)?;
            self.size += line.len() as u64;
        }
        self.out.flush()
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        if self.max_files == 0 {
            fs::remove_file(&self.path)?;
        } else {
            let _ = fs::remove_file(numbered(&self.path, self.max_files));
            for n in (1..self.max_files).rev() {
                let from = numbered(&self.path, n);
                if from.exists() {
                    fs::rename(&from, numbered(&self.path, n + 1))?;
                }
            }
            fs::rename(&self.path, numbered(&self.path, 1))?;
        }
        self.out = BufWriter::with_capacity(64 * 1024, open_append(&self.path)?);
        self.size = 0;
        Ok(())
    }
}

fn numbered(path: &Path, n: u32) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn open_append(path: &Path) -> std::io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seclog_core::EventType;
    use time::OffsetDateTime;

    fn ev(i: usize) -> SecurityEvent {
        SecurityEvent::new(format!("e{i}"), EventType::AuthFailure, OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn writes_one_json_line_per_event() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/security.log");
        let mut log = RotatingLog::open(&p, 1 << 20, 3).unwrap();
        log.append(&[ev(1), ev(2)]).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let back: SecurityEvent = serde_json::from_str(lines[1]).unwrap();
        assert_eq!(back.event_id, "e2");
    }

    #[test]
    fn rotates_by_size_and_keeps_max_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("security.log");
        let mut log = RotatingLog::open(&p, 2048, 2).unwrap();
        for i in 0..100 {
            log.append(&[ev(i)]).unwrap();
        }
        assert!(p.exists());
        assert!(numbered(&p, 1).exists());
        assert!(numbered(&p, 2).exists());
        assert!(!numbered(&p, 3).exists(), "only max_files rotated files are kept");
        for f in [p.clone(), numbered(&p, 1)] {
            assert!(fs::metadata(&f).unwrap().len() <= 2048);
        }
        // The newest event is in the live file, and every line is whole JSON.
        let live = fs::read_to_string(&p).unwrap();
        assert!(live.lines().last().unwrap().contains("\"e99\""));
        for l in live.lines() {
            serde_json::from_str::<SecurityEvent>(l).unwrap();
        }
    }
}
