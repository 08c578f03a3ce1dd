//! Snapshots on disk and on the wire: taking a consistent point-in-time copy of every
//! database, writing it as an RDB file atomically, and loading an RDB stream into fresh
//! databases (at start-up, and on a replica during a full sync).

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::engine::EngineState;
use crate::keyspace::{Db, DbSnapshot, LoadSettings, SavedAccess, Value};
use crate::rdb::{AuxInfo, Event, Pace, RdbError, RdbReader, ReplInfo};
use crate::replication::{ReplId, ReplOffset};

/// A consistent copy of the keyspace (copy-on-write, cheap to take under the engine lock)
/// with the aux fields that describe it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub dbs: Vec<(usize, DbSnapshot)>,
    pub aux: AuxInfo,
    /// What the RDB records of each key's access (by `maxmemory-policy`).
    pub saved_access: SavedAccess,
    /// The change counter when the snapshot was taken (`dirty` before the save).
    pub dirty: u64,
    /// `rdb-key-save-delay` (a pause after each key written, which tests use to catch a
    /// save or a full sync in the middle), and whether the writer leaves the CPU to
    /// clients now and then (background saves).
    pub pace: Pace,
}

impl Snapshot {
    /// Takes the snapshot; `repl` is the replication id and offset it corresponds to.
    pub fn take(state: &EngineState, repl: Option<(ReplId, ReplOffset)>) -> Snapshot {
        Snapshot {
            dbs: state
                .dbs
                .iter()
                .enumerate()
                .filter(|(_, db)| !db.is_empty())
                .map(|(i, db)| (i, db.snapshot()))
                .collect(),
            aux: AuxInfo {
                ctime: crate::keyspace::now_ms() / 1000,
                used_mem: 0,
                repl: repl.map(|(id, off)| ReplInfo {
                    stream_db: 0,
                    id: id.to_string(),
                    offset: off.0 as i64,
                }),
                aof_base: false,
            },
            saved_access: state.evictor.saved_access(),
            dirty: state.dirty,
            pace: Pace::default(),
        }
    }

    /// The snapshot with `rdb-key-save-delay` (microseconds; 0 or less: none) applied.
    pub fn with_key_save_delay(mut self, micros: i64) -> Snapshot {
        self.pace.key_delay = Duration::from_micros(micros.max(0) as u64);
        self
    }

    /// The snapshot, to be written in the background while clients are served: the writer
    /// rests briefly now and then (see [`Pace::share_cpu`]).
    pub fn sharing_cpu(mut self) -> Snapshot {
        self.pace.share_cpu = true;
        self
    }

    pub fn keys(&self) -> usize {
        self.dbs.iter().map(|(_, d)| d.len()).sum()
    }

    /// Writes the snapshot as RDB to `out`, releasing its parts as they are written.
    pub fn write_to<W: Write>(self, out: W) -> io::Result<W> {
        let written =
            crate::rdb::write_snapshot(out, &self.aux, self.dbs, self.saved_access, self.pace);
        // What only the snapshot held is free now: counted before the save is reported
        // done, so maxmemory sees it at once (see memory::flush_thread).
        crate::memory::flush_thread();
        written
    }

    /// Writes the snapshot to `path` atomically: a temporary file in the same directory,
    /// fsync, rename over `path`, fsync of the directory. A crash at any point leaves
    /// either the old file or the new one, never a torn file. Returns the size written.
    pub fn write_file(self, path: &Path) -> io::Result<u64> {
        crate::atomic_file::write_with(path, |w| self.write_to(w).map(|_| ()))
    }

    /// [`Snapshot::write_file`] through the temporary file `tmp`.
    pub fn write_file_via(self, path: &Path, tmp: &Path) -> io::Result<u64> {
        crate::atomic_file::write_via(path, tmp, |w| self.write_to(w).map(|_| ()))
    }
}

/// What loading an RDB produced.
#[derive(Debug)]
pub struct Loaded {
    pub dbs: Vec<Db>,
    pub keys: u64,
    /// `repl-id` and `repl-offset`, when the snapshot recorded them.
    pub repl: Option<(ReplId, ReplOffset)>,
    /// Bytes of RDB consumed.
    pub bytes: u64,
}

/// How keys whose expiry time has passed are treated while loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpiredKeys {
    /// Skip them (a master loading its own file, as Redis does).
    Skip,
    /// Keep them: a replica waits for its master's DEL.
    Keep,
}

/// What the decoding side of a load hands to the inserting side.
enum LoadStep {
    /// RESIZEDB: make room for this many keys in a database.
    Reserve(usize, usize),
    /// A key for a database, with its expiry (0: none) and the access stamp its recorded
    /// idle time or counter gives.
    Insert(usize, Box<[u8]>, Value, u64, Option<u32>),
}

/// Keys handed over at a time: enough to make the hand-over cost nothing per key, few
/// enough that both threads stay busy.
const LOAD_BATCH: usize = 1024;

/// Decodes an RDB from `input` into `databases` fresh databases, as the bytes arrive,
/// making the keys as `settings` says (see [`EngineState::load_settings`]).
/// `progress` is called every 1M keys, for the log. Nothing is returned unless the whole
/// snapshot, checksum included, was read: a corrupt or truncated input is an error.
///
/// Decoding (reading, checksumming, decompressing) and inserting into the hash tables each
/// take about half of a load: this thread decodes while a second one inserts, taking the
/// keys in batches over a bounded channel.
pub fn load<R: Read>(
    input: R,
    databases: usize,
    expired: ExpiredKeys,
    settings: LoadSettings,
    mut progress: impl FnMut(u64),
) -> Result<Loaded, RdbError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<LoadStep>>(8);
    std::thread::scope(|scope| {
        let inserter = std::thread::Builder::new()
            .name("rdb-insert".into())
            .spawn_scoped(
                scope,
                crate::memory::counted(move || {
                    let mut dbs: Vec<Db> = (0..databases).map(|_| Db::new()).collect();
                    for db in dbs.iter_mut() {
                        (db.access, db.clock_secs) = (settings.access, settings.clock_secs);
                    }
                    for batch in rx {
                        for step in batch {
                            match step {
                                LoadStep::Reserve(db, keys) => dbs[db].reserve(keys),
                                LoadStep::Insert(db, key, value, at, stamp) => {
                                    dbs[db].insert_loaded(key, value, at, stamp);
                                }
                            }
                        }
                    }
                    dbs
                }),
            )
            .expect("spawn the RDB insert thread");
        let decoded = decode_into(input, databases, expired, settings, &mut progress, tx);
        // The channel is closed (decode_into owned the sender): the inserter finishes.
        let dbs = inserter.join().expect("RDB insert thread");
        let Decoded { keys, repl, bytes } = decoded?;
        Ok(Loaded {
            dbs,
            keys,
            repl,
            bytes,
        })
    })
}

/// What the decoding side of [`load`] learnt besides the keys.
struct Decoded {
    keys: u64,
    repl: Option<(ReplId, ReplOffset)>,
    bytes: u64,
}

/// The decoding side of [`load`]: sends every key to `tx` in batches.
fn decode_into<R: Read>(
    input: R,
    databases: usize,
    expired: ExpiredKeys,
    settings: LoadSettings,
    progress: &mut impl FnMut(u64),
    tx: std::sync::mpsc::SyncSender<Vec<LoadStep>>,
) -> Result<Decoded, RdbError> {
    let mut reader = RdbReader::new(input);
    let now = crate::keyspace::now_ms();
    let mut keys = 0u64;
    let mut repl_id = None;
    let mut repl_offset = None;
    let mut selected_db = 0;
    let mut batch = Vec::with_capacity(LOAD_BATCH);
    // A send fails only if the inserter is gone, which it is not before the sender.
    let hand_over = |batch: &mut Vec<LoadStep>| {
        let full = std::mem::replace(batch, Vec::with_capacity(LOAD_BATCH));
        let _ = tx.send(full);
    };
    while let Some(event) = reader.next_event()? {
        match event {
            Event::Aux { key, value } => match &key[..] {
                b"repl-id" => repl_id = ReplId::parse(&String::from_utf8_lossy(&value)),
                b"repl-offset" => {
                    repl_offset = std::str::from_utf8(&value)
                        .ok()
                        .and_then(|v| v.parse::<u64>().ok())
                }
                _ => {}
            },
            Event::SelectDb(n) => {
                if n as usize >= databases {
                    return Err(RdbError::Invalid {
                        what: "database number (more than `databases`)",
                        offset: reader.offset(),
                    });
                }
                selected_db = n as usize;
            }
            Event::ResizeDb { keys, .. } => {
                batch.push(LoadStep::Reserve(selected_db, keys as usize));
            }
            Event::Function { .. } => {}
            Event::Key(rec) => {
                let at = rec.expire_at_ms.map(|t| t.max(1) as u64).unwrap_or(0);
                if at != 0 && at <= now && expired == ExpiredKeys::Skip {
                    continue;
                }
                let stamp = settings.access.restored(rec.access, settings.clock_secs);
                let mut value = rec.value;
                settings.encoding.settle_loaded(&mut value);
                batch.push(LoadStep::Insert(rec.db as usize, rec.key, value, at, stamp));
                if batch.len() == LOAD_BATCH {
                    hand_over(&mut batch);
                }
                keys += 1;
                if keys.is_multiple_of(1_000_000) {
                    progress(keys);
                }
            }
            Event::End { .. } => break,
        }
    }
    hand_over(&mut batch);
    Ok(Decoded {
        keys,
        repl: repl_id.zip(repl_offset.map(ReplOffset)),
        bytes: reader.offset(),
    })
}

/// Loads the RDB file at `path`; None when it does not exist.
pub fn load_file(
    path: &Path,
    databases: usize,
    expired: ExpiredKeys,
    settings: LoadSettings,
    progress: impl FnMut(u64),
) -> Result<Option<Loaded>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Can't open {}: {e}", path.display())),
    };
    load(
        BufReader::with_capacity(1 << 20, file),
        databases,
        expired,
        settings,
        progress,
    )
    .map(Some)
    .map_err(|e| format!("{}: {e}", path.display()))
}
