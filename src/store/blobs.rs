//! Message bodies on the file system, beside the sled database.
//!
//! sled holds everything small (records, summaries, indexes); the raw
//! bytes of each message, and the text SEARCH reads, are files: sled is a
//! log-structured store that keeps written values in memory and on disk
//! several times over, which for mail measured in gigabytes means a
//! gigabyte of server memory. A file per message is what Dovecot's maildir
//! does, and it streams from the OS page cache.
//!
//! `SHARD/ID` holds the raw message followed by its body text (the
//! message's size, kept in its record, says where the one ends), so a new
//! message costs one file and one fsync; ID is the body id in hex and
//! SHARD groups 4096 consecutive ids, so one APPEND of many messages
//! touches one directory.
//!
//! ## Crash safety
//! - A blob is written and fsynced, with its directory, *before* the sled
//!   transaction that refers to it commits. After a crash a committed
//!   record never points at a missing or partial file.
//! - A blob is removed only *after* the transaction that dropped its last
//!   reference is durable ([`Blobs::remove_after_flush`], run by the flusher).
//! - Either way a crash can leave files nothing refers to; [`Blobs::collect`]
//!   removes them when the store opens.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Ids per shard directory.
const SHARD_BITS: u32 = 12;

/// The blob directory.
pub struct Blobs {
    dir: PathBuf,
    /// Bodies whose last reference is gone, waiting for the flush that
    /// makes that durable.
    doomed: Mutex<Vec<u64>>,
}

impl Blobs {
    /// Opens (creating) `dir`.
    pub fn open(dir: &Path) -> io::Result<Blobs> {
        fs::create_dir_all(dir)?;
        Ok(Blobs {
            dir: dir.to_owned(),
            doomed: Mutex::new(Vec::new()),
        })
    }

    fn shard(&self, id: u64) -> PathBuf {
        self.dir.join(format!("{:x}", id >> SHARD_BITS))
    }

    fn path(&self, id: u64) -> PathBuf {
        self.shard(id).join(format!("{id:016x}"))
    }

    /// Writes the bodies (raw message, body text) of new messages and makes
    /// them durable, files and directories, before returning.
    pub fn write_all(&self, items: &[(u64, &[u8], &str)]) -> io::Result<()> {
        let mut shards = BTreeSet::new();
        let mut files = Vec::with_capacity(items.len());
        for &(id, raw, text) in items {
            let shard = self.shard(id);
            if shards.insert(shard.clone()) {
                fs::create_dir_all(&shard)?;
            }
            files.push(write_new(&self.path(id), &[raw, text.as_bytes()])?);
        }
        // Data first, then the directory entries that name it.
        for f in &files {
            f.sync_data()?;
        }
        for shard in &shards {
            File::open(shard)?.sync_all()?;
        }
        Ok(())
    }

    /// The raw message of body `id`, `size` bytes long, if its file exists.
    pub fn read(&self, id: u64, size: u64) -> io::Result<Option<Vec<u8>>> {
        read_range(&self.path(id), 0, Some(size))
    }

    /// The body text of body `id`, whose raw message is `size` bytes, if
    /// its file exists.
    pub fn read_text(&self, id: u64, size: u64) -> io::Result<Option<String>> {
        Ok(read_range(&self.path(id), size, None)?
            .map(|t| String::from_utf8_lossy(&t).into_owned()))
    }

    /// Queues body `id` for removal once the transaction that released it
    /// is durable.
    pub fn remove_after_flush(&self, id: u64) {
        self.doomed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(id);
    }

    /// The queued removals, taken at the start of a flush: every one of
    /// them was released by a commit that flush covers.
    pub fn take_doomed(&self) -> Vec<u64> {
        std::mem::take(&mut *self.doomed.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Removes the files of `ids` (after the flush that made their release
    /// durable). Missing files are fine.
    pub fn remove(&self, ids: &[u64]) {
        for &id in ids {
            let p = self.path(id);
            if let Err(e) = fs::remove_file(&p)
                && e.kind() != io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, path = %p.display(), "cannot remove a message file");
            }
        }
    }

    /// Removes files whose body `referenced` says is not in the store: what
    /// a crash between a blob write and its commit (or between a commit
    /// and a removal) left behind. Returns how many went.
    pub fn collect(&self, referenced: impl Fn(u64) -> bool) -> io::Result<usize> {
        let mut removed = 0;
        for shard in fs::read_dir(&self.dir)? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for f in fs::read_dir(shard.path())? {
                let f = f?;
                let name = f.file_name();
                match u64::from_str_radix(&name.to_string_lossy(), 16) {
                    Ok(id) if referenced(id) => {}
                    _ => {
                        fs::remove_file(f.path())?;
                        removed += 1;
                    }
                }
            }
        }
        Ok(removed)
    }
}

/// Creates `path` with `parts` one after another, not yet synced. A file
/// left by a crashed attempt with the same id is replaced.
fn write_new(path: &Path, parts: &[&[u8]]) -> io::Result<File> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)?;
    for p in parts {
        f.write_all(p)?;
    }
    Ok(f)
}

/// `len` bytes (or all) from `offset` of `path`; `None` if it is missing.
fn read_range(path: &Path, offset: u64, len: Option<u64>) -> io::Result<Option<Vec<u8>>> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let total = f.metadata()?.len();
    let len = len
        .unwrap_or(total.saturating_sub(offset))
        .min(total.saturating_sub(offset));
    f.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::with_capacity(len as usize);
    f.take(len).read_to_end(&mut out)?;
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove_collect() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::open(dir.path()).unwrap();
        b.write_all(&[(1, b"raw one", "text one"), (5000, b"raw two", "")])
            .unwrap();
        assert_eq!(b.read(1, 7).unwrap().unwrap(), b"raw one");
        assert_eq!(b.read_text(1, 7).unwrap().unwrap(), "text one");
        assert_eq!(b.read_text(5000, 7).unwrap().unwrap(), "");
        assert_eq!(b.read(2, 1).unwrap(), None);
        assert_eq!(b.read_text(2, 1).unwrap(), None);
        b.remove_after_flush(1);
        let doomed = b.take_doomed();
        assert_eq!(doomed, vec![1]);
        b.remove(&doomed);
        assert_eq!(b.read(1, 7).unwrap(), None);
        // 5000 is not referenced any more: collected.
        assert_eq!(b.collect(|id| id == 7).unwrap(), 1);
        assert_eq!(b.read(5000, 7).unwrap(), None);
    }
}
