//! Message bodies on the file system, beside the sled database.
//!
//! sled holds everything small (records, summaries, indexes); the raw
//! bytes of each message, and the text SEARCH reads, are files: sled is a
//! log-structured store that keeps written values in memory and on disk
//! several times over, which for mail measured in gigabytes means a
//! gigabyte of server memory. A file per message is what Dovecot's maildir
//! does, and it streams from the OS page cache.
//!
//! `SHARD/ID` is one file per body, written once and never changed:
//!
//! ```text
//! raw message | summary | header lines | body text | footer (16 bytes)
//! ```
//!
//! The raw message comes first, so a FETCH of `BODY[]` reads from offset
//! 0 for the message's size (kept in its record). The summary (ENVELOPE,
//! BODYSTRUCTURE, part offsets) and the header lines SEARCH reads (every
//! field but Subject, which sled keeps for SUBJECT and SORT) sit between the
//! raw message and the text; the footer gives their lengths and a magic
//! [`FOOTER_MAGIC`]. Keeping these written-once values out of sled keeps
//! sled's page cache for the small records that change (flags, MODSEQs),
//! so a 100,000-message mailbox does not fill server memory with
//! summaries nobody is reading. Files written before the footer existed
//! are `raw message | body text`: their summary and header lines are in
//! sled, and [`Blobs::read_part`] says so by returning `Legacy`.
//!
//! ID is the body id in hex and SHARD groups 4096 consecutive ids, so one
//! APPEND of many messages touches one directory; a new message costs one
//! file and one fsync.
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
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Ids per shard directory.
const SHARD_BITS: u32 = 12;

/// The last four bytes of a file with a footer.
const FOOTER_MAGIC: [u8; 4] = *b"TMb2";
/// The footer: the lengths of summary, header lines and text (u32 BE
/// each), then [`FOOTER_MAGIC`].
const FOOTER_LEN: u64 = 16;

/// What one new body's file holds besides the raw message.
pub struct NewBlob<'a> {
    /// The body id.
    pub id: u64,
    /// The message as received.
    pub raw: &'a [u8],
    /// The encoded `MessageSummary`.
    pub summary: &'a [u8],
    /// The header lines SEARCH reads (every field but Subject).
    pub headers: &'a [u8],
    /// The decoded body text for SEARCH BODY/TEXT.
    pub text: &'a [u8],
}

/// A part of a body's file after the raw message, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPart {
    /// The encoded summary.
    Summary = 0,
    /// The header lines, without Subject.
    Headers = 1,
    /// The body text.
    Text = 2,
}

/// The answer of [`Blobs::read_part`].
#[derive(Debug, PartialEq, Eq)]
pub enum PartRead {
    /// The part's bytes.
    Found(Vec<u8>),
    /// The file predates the footer: only the body text is in it (and is
    /// returned as `Found` for [`BlobPart::Text`]); look in sled for the rest.
    Legacy,
    /// No file: the body is gone.
    Missing,
}

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

    /// Writes the files of new bodies and makes them durable, files and
    /// directories, before returning.
    pub fn write_all(&self, items: &[NewBlob<'_>]) -> io::Result<()> {
        let mut shards = BTreeSet::new();
        let mut files = Vec::with_capacity(items.len());
        for item in items {
            let shard = self.shard(item.id);
            if shards.insert(shard.clone()) {
                fs::create_dir_all(&shard)?;
            }
            let footer = footer(item)?;
            files.push(write_new(
                &self.path(item.id),
                &[item.raw, item.summary, item.headers, item.text, &footer],
            )?);
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
        match File::open(self.path(id)) {
            Ok(f) => Ok(Some(read_at(&f, 0, size)?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One part of body `id`'s file, whose raw message is `size` bytes.
    pub fn read_part(&self, id: u64, size: u64, part: BlobPart) -> io::Result<PartRead> {
        let f = match File::open(self.path(id)) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PartRead::Missing),
            Err(e) => return Err(e),
        };
        let total = f.metadata()?.len();
        let (start, len) = match read_footer(&f, size, total)? {
            // The parts follow the raw message in the order of `BlobPart`.
            Some(lens) => {
                let i = part as usize;
                (size + lens[..i].iter().sum::<u64>(), lens[i])
            }
            None if part == BlobPart::Text => (size, total.saturating_sub(size)),
            None => return Ok(PartRead::Legacy),
        };
        Ok(PartRead::Found(read_at(&f, start, len)?))
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

/// The footer of `item`'s file.
fn footer(item: &NewBlob<'_>) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(FOOTER_LEN as usize);
    for part in [item.summary, item.headers, item.text] {
        let len = u32::try_from(part.len())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "message part over 4 GiB"))?;
        out.extend_from_slice(&len.to_be_bytes());
    }
    out.extend_from_slice(&FOOTER_MAGIC);
    Ok(out)
}

/// The part lengths of a file with a footer whose raw message is `size`
/// bytes and whose length is `total`; `None` for the older layout (no
/// footer, or lengths that do not add up to the file).
fn read_footer(f: &File, size: u64, total: u64) -> io::Result<Option<[u64; 3]>> {
    if total < size + FOOTER_LEN {
        return Ok(None);
    }
    let bytes = read_at(f, total - FOOTER_LEN, FOOTER_LEN)?;
    if bytes[12..] != FOOTER_MAGIC {
        return Ok(None);
    }
    let len = |i: usize| u64::from(u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()));
    let lens = [len(0), len(4), len(8)];
    Ok((size + lens.iter().sum::<u64>() + FOOTER_LEN == total).then_some(lens))
}

/// `len` bytes at `offset` of `f`, in one `pread`.
fn read_at(f: &File, offset: u64, len: u64) -> io::Result<Vec<u8>> {
    let len = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "part too large"))?;
    let mut out = vec![0; len];
    f.read_exact_at(&mut out, offset)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob<'a>(id: u64, raw: &'a [u8], text: &'a str) -> NewBlob<'a> {
        NewBlob {
            id,
            raw,
            summary: b"summary",
            headers: b"From: a\r\n",
            text: text.as_bytes(),
        }
    }

    #[test]
    fn write_read_remove_collect() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::open(dir.path()).unwrap();
        b.write_all(&[blob(1, b"raw one", "text one"), blob(5000, b"raw two", "")])
            .unwrap();
        assert_eq!(b.read(1, 7).unwrap().unwrap(), b"raw one");
        let part = |id, p| b.read_part(id, 7, p).unwrap();
        assert_eq!(
            part(1, BlobPart::Text),
            PartRead::Found(b"text one".to_vec())
        );
        assert_eq!(
            part(1, BlobPart::Summary),
            PartRead::Found(b"summary".to_vec())
        );
        assert_eq!(
            part(1, BlobPart::Headers),
            PartRead::Found(b"From: a\r\n".to_vec())
        );
        assert_eq!(part(5000, BlobPart::Text), PartRead::Found(Vec::new()));
        assert_eq!(b.read(2, 1).unwrap(), None);
        assert_eq!(
            b.read_part(2, 1, BlobPart::Text).unwrap(),
            PartRead::Missing
        );
        b.remove_after_flush(1);
        let doomed = b.take_doomed();
        assert_eq!(doomed, vec![1]);
        b.remove(&doomed);
        assert_eq!(b.read(1, 7).unwrap(), None);
        // 5000 is not referenced any more: collected.
        assert_eq!(b.collect(|id| id == 7).unwrap(), 1);
        assert_eq!(b.read(5000, 7).unwrap(), None);
    }

    /// Files from before the footer: `raw | text`, the rest in sled.
    #[test]
    fn files_without_a_footer_are_read_as_before() {
        let dir = tempfile::tempdir().unwrap();
        let b = Blobs::open(dir.path()).unwrap();
        fs::create_dir_all(b.shard(3)).unwrap();
        // Text that happens to end in the magic still has no valid footer.
        let text = b"some body text ending in TMb2";
        let mut file = b"raw".to_vec();
        file.extend_from_slice(text);
        fs::write(b.path(3), &file).unwrap();
        assert_eq!(b.read(3, 3).unwrap().unwrap(), b"raw");
        assert_eq!(
            b.read_part(3, 3, BlobPart::Text).unwrap(),
            PartRead::Found(text.to_vec())
        );
        assert_eq!(
            b.read_part(3, 3, BlobPart::Summary).unwrap(),
            PartRead::Legacy
        );
        assert_eq!(
            b.read_part(3, 3, BlobPart::Headers).unwrap(),
            PartRead::Legacy
        );
    }
}
