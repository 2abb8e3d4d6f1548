//! Group commit: many sessions waiting for durability share one disk flush.
//!
//! A caller takes a ticket after its transaction committed. Whoever finds
//! no flush running becomes the leader: it records how many tickets exist,
//! flushes (covering every commit made before the flush started, so every
//! one of those tickets), marks them done and wakes the others. Callers
//! that arrive during a flush wait for the next one, which one of them leads.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

use super::{StoreError, StoreResult};

#[derive(Default)]
struct State {
    /// Tickets handed out.
    issued: u64,
    /// Tickets covered by a finished flush.
    done: u64,
    /// A leader is flushing now.
    running: bool,
}

/// Shares `sled::Db::flush` between concurrent committers.
pub struct GroupFlusher {
    db: sled::Db,
    state: Mutex<State>,
    wake: Notify,
    flushes: AtomicU64,
    syncs: AtomicU64,
}

impl GroupFlusher {
    /// A flusher for `db`.
    pub fn new(db: sled::Db) -> Self {
        GroupFlusher {
            db,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            flushes: AtomicU64::new(0),
            syncs: AtomicU64::new(0),
        }
    }

    /// Returns once every commit made before the call is on disk.
    pub async fn sync(&self) -> StoreResult<()> {
        self.syncs.fetch_add(1, Ordering::Relaxed);
        let ticket = {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.issued += 1;
            s.issued
        };
        loop {
            // Register for the wake-up before looking at the state, so a
            // leader finishing in between cannot be missed.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let target = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if s.done >= ticket {
                    return Ok(());
                }
                if s.running {
                    None
                } else {
                    s.running = true;
                    Some(s.issued)
                }
            };
            match target {
                Some(target) => return self.lead(target).await,
                None => notified.await,
            }
        }
    }

    async fn lead(&self, target: u64) -> StoreResult<()> {
        let db = self.db.clone();
        let result = tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| StoreError::Flush(e.to_string()))
            .and_then(|r| r.map(|_| ()).map_err(|e| StoreError::Flush(e.to_string())));
        self.flushes.fetch_add(1, Ordering::Relaxed);
        {
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.running = false;
            if result.is_ok() {
                s.done = s.done.max(target);
            }
        }
        // On failure the waiters retry and one of them flushes again; each
        // reports its own error if that fails too.
        self.wake.notify_waiters();
        result
    }

    /// (disk flushes, sync calls) so far.
    pub fn stats(&self) -> (u64, u64) {
        (
            self.flushes.load(Ordering::Relaxed),
            self.syncs.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_syncs_share_flushes() {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::open(dir.path()).unwrap();
        let flusher = Arc::new(GroupFlusher::new(db.clone()));
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
}
