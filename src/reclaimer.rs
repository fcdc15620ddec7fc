//! The thread that frees expired sessions for a store whose sessions can expire (they are invisible
//! from the moment they expire; this only gives their memory back): every [`RECLAIM_EVERY`], batch
//! by batch, until a batch finds nothing. A local store's batch holds its write lock; a Redis store's
//! is one script on the server. Either way a batch is short, so readers wait for one batch at most.

use crate::error::{Error, Result};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the reclaimer looks for expired sessions.
pub const RECLAIM_EVERY: Duration = Duration::from_secs(1);

/// Runs until it is dropped, which stops the thread and waits for it (unless it is dropped on that
/// thread: the store's last handle may be the one the thread held for a batch; it then ends by
/// itself).
pub struct Reclaimer {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Reclaimer {
    /// Starts the thread. Each batch runs on a fresh hold of `store` (a store closed meanwhile is not
    /// kept for the rest of the round); `batch` returns how many sessions it freed. A failed batch
    /// (a durable store's I/O, an unreachable server) leaves the sessions invisible and held: the
    /// next round tries again.
    pub fn start<T, F>(store: Weak<T>, batch: F) -> Result<Reclaimer>
    where
        T: Send + Sync + 'static,
        F: Fn(Arc<T>) -> Result<usize> + Send + 'static,
    {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let signal = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("sessionstore-expiry".into())
            .spawn(move || loop {
                {
                    let (stopped, wake) = &*signal;
                    let stopped = stopped.lock().unwrap_or_else(|e| e.into_inner());
                    // A stop asked for before the wait began is seen: closing the last handle does not
                    // wait out a round.
                    let (stopped, _) = wake
                        .wait_timeout_while(stopped, RECLAIM_EVERY, |stopped| !*stopped)
                        .unwrap_or_else(|e| e.into_inner());
                    if *stopped {
                        return;
                    }
                }
                // After each batch the thread stands aside as long as the batch took: a lock does not
                // hand itself to the readers its release woke, and taking it straight back would keep
                // them waiting for the whole round.
                loop {
                    let Some(store) = store.upgrade() else { return };
                    let started = Instant::now();
                    match batch(store) {
                        Ok(0) | Err(_) => break,
                        Ok(_) => std::thread::sleep(started.elapsed()),
                    }
                    if *signal.0.lock().unwrap_or_else(|e| e.into_inner()) {
                        return;
                    }
                }
            })
            .map_err(|e| Error::io(format!("starting the expiry thread: {e}")))?;
        Ok(Reclaimer { stop, thread: Some(thread) })
    }
}

impl Drop for Reclaimer {
    fn drop(&mut self) {
        let (stop, wake) = &*self.stop;
        *stop.lock().unwrap_or_else(|e| e.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}
