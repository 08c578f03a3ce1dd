//! Diskless full syncs, shared by the replicas that arrive together.
//!
//! The first replica to need a full sync opens a transfer with a snapshot; replicas that
//! ask within `repl-diskless-sync-delay` seconds join it (same snapshot, same offset), and
//! `repl-diskless-sync-max-replicas` joined starts it at once. The snapshot is then
//! serialised once, on a thread, and each 64 KiB piece goes to every member's link task,
//! which frames it as `$EOF:<mark>` for its socket. A member that goes away is dropped;
//! the others go on.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, Notify};

use super::ReplOffset;
use crate::clients::ClientId;
use crate::persistence::Snapshot;
use crate::server::Server;
use crate::{notice, warning};

/// What a member's link task receives.
#[derive(Debug)]
pub enum Piece {
    Data(Bytes),
    /// The end of the RDB: Ok when it was written whole.
    Done(Result<(), String>),
}

/// The receiving end of a member.
pub type Pieces = mpsc::Receiver<Piece>;

/// A transfer that replicas can still join.
#[derive(Debug)]
pub struct Transfer {
    pub offset: ReplOffset,
    inner: Arc<Mutex<Members>>,
    start_now: Arc<Notify>,
}

#[derive(Debug)]
struct Members {
    snapshot: Option<Snapshot>,
    senders: Vec<(ClientId, mpsc::Sender<Piece>)>,
    started: bool,
}

/// Pieces in flight per member: a slow replica holds the transfer up by at most this much.
const QUEUED_PIECES: usize = 8;
const PIECE: usize = 64 * 1024;

impl Transfer {
    /// Opens a transfer of `snapshot` (taken at `offset`) for replica `first`; it starts
    /// after `delay` unless `max_replicas` join sooner. Returns the transfer, to keep
    /// where later replicas find it, and the first member's receiver.
    pub fn open(
        server: Arc<Server>,
        snapshot: Snapshot,
        offset: ReplOffset,
        first: ClientId,
        delay: Duration,
        max_replicas: usize,
    ) -> (Transfer, Pieces) {
        let (tx, rx) = mpsc::channel(QUEUED_PIECES);
        let transfer = Transfer {
            offset,
            inner: Arc::new(Mutex::new(Members {
                snapshot: Some(snapshot),
                senders: vec![(first, tx)],
                started: false,
            })),
            start_now: Arc::new(Notify::new()),
        };
        if max_replicas == 1 {
            transfer.start_now.notify_one();
        }
        let (inner, start_now) = (transfer.inner.clone(), transfer.start_now.clone());
        tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = start_now.notified() => {}
            }
            start(&server, inner);
        });
        (transfer, rx)
    }

    /// Adds a replica, or None when the transfer has already started.
    pub fn join(&self, id: ClientId, max_replicas: usize) -> Option<Pieces> {
        let mut members = self.inner.lock().expect("transfer members");
        if members.started {
            return None;
        }
        let (tx, rx) = mpsc::channel(QUEUED_PIECES);
        members.senders.push((id, tx));
        if max_replicas > 0 && members.senders.len() >= max_replicas {
            self.start_now.notify_one();
        }
        Some(rx)
    }

    fn is(&self, inner: &Arc<Mutex<Members>>) -> bool {
        Arc::ptr_eq(&self.inner, inner)
    }
}

/// Closes the transfer to newcomers and serialises its snapshot on a thread.
fn start(server: &Server, inner: Arc<Mutex<Members>>) {
    {
        let mut st = server.repl.state();
        if st.diskless_pending.as_ref().is_some_and(|t| t.is(&inner)) {
            st.diskless_pending = None;
        }
    }
    let (snapshot, senders) = {
        let mut members = inner.lock().expect("transfer members");
        members.started = true;
        (
            members.snapshot.take(),
            std::mem::take(&mut members.senders),
        )
    };
    let Some(snapshot) = snapshot else {
        return;
    };
    notice!(
        "Starting BGSAVE for SYNC with target: replicas sockets ({} replicas, {} keys)",
        senders.len(),
        snapshot.keys()
    );
    let spawned =
        std::thread::Builder::new()
            .name("repl-rdb".into())
            .spawn(crate::memory::counted(move || {
                let mut out = Fanout {
                    senders,
                    buf: Vec::with_capacity(PIECE * 2),
                };
                let result = snapshot
                    .write_to(&mut out)
                    .and_then(|out| out.flush())
                    .map_err(|e| e.to_string());
                if let Err(e) = &result {
                    warning!("Diskless RDB transfer failed: {e}");
                }
                out.finish(result);
            }));
    if let Err(e) = spawned {
        warning!("Can't start the RDB transfer thread: {e}");
    }
}

/// A `Write` that hands each piece to every member still there.
struct Fanout {
    senders: Vec<(ClientId, mpsc::Sender<Piece>)>,
    buf: Vec<u8>,
}

impl Fanout {
    fn finish(self, result: Result<(), String>) {
        for (_, tx) in &self.senders {
            let _ = tx.blocking_send(Piece::Done(result.clone()));
        }
    }
}

impl Write for Fanout {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= PIECE {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = Bytes::from(std::mem::take(&mut self.buf));
        self.buf.reserve(PIECE * 2);
        // A member whose link ended is dropped; with none left, stop serialising.
        self.senders
            .retain(|(_, tx)| tx.blocking_send(Piece::Data(piece.clone())).is_ok());
        if self.senders.is_empty() {
            return Err(std::io::Error::other("every replica went away"));
        }
        Ok(())
    }
}
