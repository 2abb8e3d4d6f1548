//! Group commit: many sessions waiting for durability share one disk flush.
//!
//! A caller takes a ticket after its transaction committed. Whoever finds
//! no flush running becomes the leader: it records how many tickets exist,
//! flushes (covering every commit made before the flush started, so every
//! one of those tickets), marks them done and wakes the others. Callers
//! that arrive during a flush wait for the next one, which one of them leads.
//!
//! The leader's flush and its bookkeeping run in a blocking task that owns
//! everything it needs: if the leader's future is dropped (its client went
//! away), the flush still finishes, marks its tickets done and wakes the
//! waiters, so no later sync can hang on a flush nobody completes.
//!
//! sled's log writes are not durable by themselves: upstream sled 0.34 ends
//! each buffer write with `sync_file_range`, which neither flushes the
//! disk's write cache nor the file's size and other metadata
//! (sync_file_range(2): "no guarantees that data will be available after a
//! crash"), and tokenmail's copy drops even that (vendor/sled/PATCHES.md,
//! patch 3); sled's own `fsync` runs only from its background thread every
//! half second. So after `Db::flush` the leader fdatasyncs sled's log file
//! itself, through a descriptor of its own (fsync acts on the file, not
//! the descriptor): only then is a commit durable against power loss, not
//! just against a crash of the process.
//!
//! After each successful flush the [`Durability`] watermarks rise and the
//! accounts whose changes became durable are handed to the `on_durable`
//! callback, which wakes their sessions: a watcher hears of a change only
//! once it is on disk.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::blobs::Blobs;
use super::durable::Durability;
use super::{AccountId, StoreError, StoreResult};

#[derive(Default)]
struct State {
    /// Tickets handed out.
    issued: u64,
    /// Tickets covered by a finished flush.
    done: u64,
    /// A leader is flushing now.
    running: bool,
    /// Flushes that failed since the last success (their waiters retry).
    failures: u64,
}

/// Called with the accounts whose changes a flush made durable.
pub type OnDurable = Box<dyn Fn(&[AccountId]) + Send + Sync>;

struct Inner {
    db: sled::Db,
    /// sled's log file, for the fsync `Db::flush` does not do.
    log: std::fs::File,
    state: Mutex<State>,
    wake: Notify,
    flushes: AtomicU64,
    syncs: AtomicU64,
    durability: Arc<Durability>,
    blobs: Arc<Blobs>,
    on_durable: OnDurable,
}

/// Shares `sled::Db::flush` between concurrent committers.
pub struct GroupFlusher {
    inner: Arc<Inner>,
}

impl GroupFlusher {
    /// A flusher for `db`, whose log file is `log` (`DIR/db`, opened for
    /// reading: enough to fsync it).
    pub fn new(
        db: sled::Db,
        log: std::fs::File,
        durability: Arc<Durability>,
        blobs: Arc<Blobs>,
        on_durable: OnDurable,
    ) -> Self {
        GroupFlusher {
            inner: Arc::new(Inner {
                db,
                log,
                state: Mutex::new(State::default()),
                wake: Notify::new(),
                flushes: AtomicU64::new(0),
                syncs: AtomicU64::new(0),
                durability,
                blobs,
                on_durable,
            }),
        }
    }

    /// Returns once every commit made before the call is on disk.
    pub async fn sync(&self) -> StoreResult<()> {
        let inner = &self.inner;
        inner.syncs.fetch_add(1, Ordering::Relaxed);
        let ticket = {
            let mut s = inner.lock();
            s.issued += 1;
            s.issued
        };
        let mut failures_seen = None;
        loop {
            // Register for the wake-up before looking at the state, so a
            // leader finishing in between cannot be missed.
            let notified = inner.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let lead = {
                let mut s = inner.lock();
                if s.done >= ticket {
                    return Ok(());
                }
                // A flush that failed after this caller arrived is this
                // caller's failure too, once it has retried itself.
                let failures = *failures_seen.get_or_insert(s.failures);
                if s.failures > failures + 1 {
                    return Err(StoreError::Flush("repeated flush failures".into()));
                }
                if s.running {
                    None
                } else {
                    s.running = true;
                    Some(s.issued)
                }
            };
            match lead {
                Some(target) => return self.lead(target).await,
                None => notified.await,
            }
        }
    }

    async fn lead(&self, target: u64) -> StoreResult<()> {
        let inner = self.inner.clone();
        let task = tokio::task::spawn_blocking(move || inner.flush(target));
        match task.await {
            Ok(result) => result,
            Err(e) => {
                // The task panicked: release the leadership ourselves.
                let mut s = self.inner.lock();
                s.running = false;
                s.failures += 1;
                drop(s);
                self.inner.wake.notify_waiters();
                Err(StoreError::Flush(e.to_string()))
            }
        }
    }

    /// (disk flushes, sync calls) so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.inner.flushes.load(Ordering::Relaxed),
            self.inner.syncs.load(Ordering::Relaxed),
        )
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The leader's work: snapshot, flush, record, wake. Runs to the end
    /// even when nobody awaits it.
    fn flush(&self, target: u64) -> StoreResult<()> {
        // Every commit registered now was made before the flush starts.
        let snapshot = self.durability.snapshot();
        let doomed = self.blobs.take_doomed();
        let result = self
            .db
            .flush()
            .map(|_| ())
            .map_err(|e| StoreError::Flush(e.to_string()))
            .and_then(|()| {
                // fdatasync: the data and the size needed to read it back
                // (fdatasync(2)); the log's timestamps need not be durable.
                self.log
                    .sync_data()
                    .map_err(|e| StoreError::Flush(format!("fsync of the database log: {e}")))
            });
        self.flushes.fetch_add(1, Ordering::Relaxed);
        let woken = match &result {
            Ok(()) => self.durability.flushed(snapshot),
            Err(_) => Vec::new(),
        };
        {
            let mut s = self.lock();
            s.running = false;
            match &result {
                Ok(()) => s.done = s.done.max(target),
                Err(_) => s.failures += 1,
            }
        }
        // On failure the waiters retry and one of them flushes again.
        self.wake.notify_waiters();
        if !woken.is_empty() {
            (self.on_durable)(&woken);
        }
        // Message files whose release this flush made durable go now, after
        // the waiters were woken: unlinking costs about a millisecond a
        // file, which no acknowledgement needs to wait for. A crash before
        // this leaves unreferenced files, which the next open collects.
        match &result {
            Ok(()) => self.blobs.remove(&doomed),
            Err(_) => {
                for id in doomed {
                    self.blobs.remove_after_flush(id);
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flusher(db: &sled::Db) -> Arc<GroupFlusher> {
        let dir = tempfile::tempdir().unwrap().keep();
        Arc::new(GroupFlusher::new(
            db.clone(),
            // Any file stands in for sled's log in these tests.
            std::fs::File::open(&dir).unwrap(),
            Arc::new(Durability::new()),
            Arc::new(Blobs::open(&dir).unwrap()),
            Box::new(|_| {}),
        ))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_syncs_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let flusher = flusher(&db);
        let mut tasks = Vec::new();
        for i in 0..64u32 {
            let f = flusher.clone();
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.insert(i.to_be_bytes(), vec![0u8; 512]).unwrap();
                f.sync().await.unwrap();
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (flushes, syncs) = flusher.stats();
        assert_eq!(syncs, 64);
        assert!((1..64).contains(&flushes), "flushes {flushes}");
    }

    /// Regression: a leader whose future is dropped mid-flush used to leave
    /// `running` set, and every later sync waited forever.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_leader_does_not_hang_later_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let flusher = flusher(&db);
        for i in 0..20u32 {
            db.insert(i.to_be_bytes(), vec![1u8; 4096]).unwrap();
            let f = flusher.clone();
            let leader = tokio::spawn(async move { f.sync().await });
            tokio::task::yield_now().await;
            leader.abort();
            let again = tokio::time::timeout(std::time::Duration::from_secs(10), flusher.sync());
            again.await.expect("sync must not hang").unwrap();
        }
    }
}
