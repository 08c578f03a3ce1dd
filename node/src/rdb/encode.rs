//! Writing RDB: strings, values as Redis 7.0 encodes them, and whole snapshots.
//!
//! Value types follow the value's encoding (see [`Value::encoding`]): strings as STRING;
//! lists as LIST_QUICKLIST_2, cut into listpack nodes of at most 8 KiB the way `RPUSH`
//! fills them (an element of the packed threshold, 1 GiB by default, or more gets a PLAIN
//! node of its own); intsets as SET_INTSET, other sets as SET; listpack hashes as
//! HASH_LISTPACK, others as HASH; listpack sorted sets as ZSET_LISTPACK (ascending),
//! others as ZSET_2 (descending, binary scores).
//!
//! Strings: the canonical text of a 32-bit integer is stored as one (`0xC0`..`0xC2`);
//! longer than 20 bytes, LZF is tried and kept if it saves at least 4 bytes (`0xC3`);
//! otherwise `<len><bytes>`.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crate::keyspace::value::parse_canonical_i64;
use crate::keyspace::{DbSnapshot, RecordedAccess, SavedAccess, Value, ValueRef};
use crate::resp::format_double;

use super::crc64::crc64;
use super::length::write_len;
use super::listpack::ListpackWriter;
use super::{containers, intset, lzf, opcodes, types, RDB_VERSION};

/// Quicklist nodes hold at most this many bytes (`list-max-listpack-size -2`).
const QUICKLIST_NODE_BYTES: usize = 8192;
/// Redis's estimate of a listpack entry's overhead when deciding whether it fits a node.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// The snapshot writer passes its buffer on once it holds this much.
const FLUSH_AT: usize = 64 * 1024;

/// Appends a string in the smallest form Redis would write.
pub fn write_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = parse_canonical_i64(s) {
            if let Ok(n) = i8::try_from(n) {
                out.extend_from_slice(&[0xC0, n as u8]);
                return;
            } else if let Ok(n) = i16::try_from(n) {
                out.push(0xC1);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            } else if let Ok(n) = i32::try_from(n) {
                out.push(0xC2);
                out.extend_from_slice(&n.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 {
        if let Some(c) = lzf::compress(s, s.len() - 4) {
            out.push(0xC3);
            write_len(out, c.len() as u64);
            write_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    write_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// The type byte Redis 7.0 writes for `value`: the one of its encoding (an intset only
/// while every member is an integer, which the encoding rules keep true).
pub fn value_type(value: &Value) -> u8 {
    let compact = value.is_compact();
    match value.view() {
        ValueRef::Str(_) => types::STRING,
        ValueRef::List(_) => types::LIST_QUICKLIST_2,
        ValueRef::Set(s) if compact && s.iter().all(|m| parse_canonical_i64(m).is_some()) => {
            types::SET_INTSET
        }
        ValueRef::Set(_) => types::SET,
        ValueRef::Hash(_) if compact => types::HASH_LISTPACK,
        ValueRef::Hash(_) => types::HASH,
        ValueRef::ZSet(_) if compact => types::ZSET_LISTPACK,
        ValueRef::ZSet(_) => types::ZSET_2,
    }
}

/// Appends the body of `value` (everything after the type byte) and returns its type.
pub fn write_value(out: &mut Vec<u8>, value: &Value) -> u8 {
    let ty = value_type(value);
    match value.view() {
        ValueRef::Str(s) => write_string(out, s),
        ValueRef::List(list) => write_quicklist(out, list.iter().map(|e| &e[..])),
        ValueRef::Set(set) if ty == types::SET_INTSET => {
            let mut ints: Vec<i64> = set.iter().filter_map(|m| parse_canonical_i64(m)).collect();
            write_string(out, &intset::encode(&mut ints));
        }
        ValueRef::Set(set) => {
            write_len(out, set.len() as u64);
            for m in set.iter() {
                write_string(out, m);
            }
        }
        ValueRef::Hash(hash) if ty == types::HASH_LISTPACK => {
            let mut lp = ListpackWriter::new();
            for (f, v) in hash.iter() {
                lp.push(f);
                lp.push(v);
            }
            write_string(out, &lp.finish());
        }
        ValueRef::Hash(hash) => {
            write_len(out, hash.len() as u64);
            for (f, v) in hash.iter() {
                write_string(out, f);
                write_string(out, v);
            }
        }
        ValueRef::ZSet(zset) if ty == types::ZSET_LISTPACK => {
            let mut lp = ListpackWriter::new();
            for (m, score) in zset.iter() {
                lp.push(m);
                match double_as_int(score) {
                    Some(n) => lp.push_int(n),
                    None => lp.push(format_double(score).as_bytes()),
                }
            }
            write_string(out, &lp.finish());
        }
        ValueRef::ZSet(zset) => {
            write_len(out, zset.len() as u64);
            for (m, score) in zset.iter().rev() {
                write_string(out, m);
                out.extend_from_slice(&score.to_le_bytes());
            }
        }
    }
    ty
}

/// Redis's `double2ll`: the score as an integer when it is one and within ±2^62.
fn double_as_int(d: f64) -> Option<i64> {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if !(-LIMIT..=LIMIT).contains(&d) {
        return None;
    }
    let n = d as i64;
    (n as f64 == d).then_some(n)
}

/// A quicklist node: an element alone (PLAIN) or a listpack of elements (PACKED).
enum QuicklistNode<'a> {
    Plain(&'a [u8]),
    Packed(ListpackWriter),
}

impl QuicklistNode<'_> {
    fn bytes(&self) -> usize {
        match self {
            QuicklistNode::Plain(e) => e.len(),
            QuicklistNode::Packed(lp) => lp.bytes(),
        }
    }
}

/// A list cut into quicklist nodes as consecutive `RPUSH`es fill them.
fn quicklist_nodes<'a>(elements: impl Iterator<Item = &'a [u8]>) -> Vec<QuicklistNode<'a>> {
    let plain_threshold =
        super::debug_switches::PACKED_THRESHOLD.load(std::sync::atomic::Ordering::Relaxed) as usize;
    let mut nodes: Vec<QuicklistNode> = Vec::new();
    for e in elements {
        if e.len() >= plain_threshold {
            nodes.push(QuicklistNode::Plain(e));
            continue;
        }
        match nodes.last_mut() {
            Some(QuicklistNode::Packed(lp))
                if lp.bytes() + e.len() + SIZE_ESTIMATE_OVERHEAD <= QUICKLIST_NODE_BYTES =>
            {
                lp.push(e)
            }
            _ => {
                let mut lp = ListpackWriter::new();
                lp.push(e);
                nodes.push(QuicklistNode::Packed(lp));
            }
        }
    }
    nodes
}

/// How many quicklist nodes a list takes and their bytes in all (DEBUG OBJECT's
/// `ql_nodes` and `ql_uncompressed_size`).
pub fn quicklist_shape<'a>(elements: impl Iterator<Item = &'a [u8]>) -> (usize, usize) {
    let nodes = quicklist_nodes(elements);
    (nodes.len(), nodes.iter().map(QuicklistNode::bytes).sum())
}

/// A list as quicklist nodes, filled as consecutive `RPUSH`es fill them.
fn write_quicklist<'a>(out: &mut Vec<u8>, elements: impl Iterator<Item = &'a [u8]>) {
    let nodes = quicklist_nodes(elements);
    write_len(out, nodes.len() as u64);
    for node in nodes {
        match node {
            QuicklistNode::Plain(e) => {
                write_len(out, containers::PLAIN);
                write_string(out, e);
            }
            QuicklistNode::Packed(lp) => {
                write_len(out, containers::PACKED);
                write_string(out, &lp.finish());
            }
        }
    }
}

/// Replication state recorded in a snapshot (`repl-stream-db`, `repl-id`,
/// `repl-offset`), present when the server has a replication history to resume from.
#[derive(Debug, Clone)]
pub struct ReplInfo {
    pub stream_db: i64,
    /// 40 hex characters.
    pub id: String,
    pub offset: i64,
}

/// The auxiliary fields at the head of a snapshot.
#[derive(Debug, Clone)]
pub struct AuxInfo {
    /// Unix seconds when the snapshot was taken.
    pub ctime: u64,
    pub used_mem: u64,
    pub repl: Option<ReplInfo>,
    /// True when the snapshot is the base of an append-only file.
    pub aof_base: bool,
}

/// Writes a snapshot record by record: `REDIS0010`, aux fields, then per database
/// SELECTDB, RESIZEDB and its keys, then EOF and the CRC-64 of everything before it.
/// Buffers up to 64 KiB (plus one value) before writing to `out`.
#[derive(Debug)]
pub struct RdbWriter<W: Write> {
    out: W,
    buf: Vec<u8>,
    crc: u64,
}

impl<W: Write> RdbWriter<W> {
    /// Starts a snapshot: the header and the aux fields Redis 7.0 writes, in its order.
    pub fn new(out: W, aux: &AuxInfo) -> io::Result<RdbWriter<W>> {
        let mut w = RdbWriter {
            out,
            buf: Vec::with_capacity(FLUSH_AT * 2),
            crc: 0,
        };
        w.buf
            .extend_from_slice(format!("REDIS{RDB_VERSION:04}").as_bytes());
        w.aux(b"redis-ver", crate::REDIS_VERSION.as_bytes());
        w.aux_int(b"redis-bits", 64);
        w.aux_int(b"ctime", aux.ctime as i64);
        w.aux_int(b"used-mem", aux.used_mem as i64);
        if let Some(repl) = &aux.repl {
            w.aux_int(b"repl-stream-db", repl.stream_db);
            w.aux(b"repl-id", repl.id.as_bytes());
            w.aux_int(b"repl-offset", repl.offset);
        }
        w.aux_int(b"aof-base", i64::from(aux.aof_base));
        Ok(w)
    }

    /// An AUX field.
    pub fn aux(&mut self, key: &[u8], value: &[u8]) {
        self.buf.push(opcodes::AUX);
        write_string(&mut self.buf, key);
        write_string(&mut self.buf, value);
    }

    fn aux_int(&mut self, key: &[u8], value: i64) {
        self.aux(key, itoa::Buffer::new().format(value).as_bytes());
    }

    /// Starts database `db`, holding `keys` keys of which `expires` have a TTL.
    pub fn select_db(&mut self, db: usize, keys: usize, expires: usize) -> io::Result<()> {
        self.buf.push(opcodes::SELECTDB);
        write_len(&mut self.buf, db as u64);
        self.buf.push(opcodes::RESIZEDB);
        write_len(&mut self.buf, keys as u64);
        write_len(&mut self.buf, expires as u64);
        self.flush_if_full()
    }

    /// One key: EXPIRETIME_MS when it has a TTL (absolute Unix ms), IDLE and FREQ when
    /// recorded, type, key, value.
    pub fn key(
        &mut self,
        key: &[u8],
        value: &Value,
        expire_at_ms: Option<u64>,
        access: RecordedAccess,
    ) -> io::Result<()> {
        if let Some(at) = expire_at_ms {
            self.buf.push(opcodes::EXPIRETIME_MS);
            self.buf.extend_from_slice(&at.to_le_bytes());
        }
        if let Some(secs) = access.idle_secs {
            self.buf.push(opcodes::IDLE);
            write_len(&mut self.buf, secs);
        }
        if let Some(freq) = access.freq {
            self.buf.extend_from_slice(&[opcodes::FREQ, freq]);
        }
        let type_at = self.buf.len();
        self.buf.push(0);
        write_string(&mut self.buf, key);
        self.buf[type_at] = write_value(&mut self.buf, value);
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buf.len() >= FLUSH_AT {
            self.flush_buf()?;
        }
        Ok(())
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        self.crc = crc64(self.crc, &self.buf);
        self.out.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the snapshot (EOF opcode, checksum), flushes, and returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.buf.push(opcodes::EOF);
        self.flush_buf()?;
        self.out.write_all(&self.crc.to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// How fast a snapshot is written.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// `rdb-key-save-delay`: a pause after each key (tests use it to catch a save midway).
    pub key_delay: Duration,
    /// For background saves: rest [`REST`] after each [`WORK`] of writing. A save thread that
    /// never sleeps keeps a core busy, and client threads woken meanwhile can wait for one
    /// (p99 of redis-benchmark SET during back-to-back BGSAVEs of 1M keys on a 2-core VM:
    /// 1.6-2.9 ms; with the rests 0.5-0.8 ms, each save taking about 1.7x as long).
    pub share_cpu: bool,
}

/// Writing time between two rests of a [`Pace::share_cpu`] writer.
pub const WORK: Duration = Duration::from_micros(250);
/// The rest (the kernel's timer slack makes it somewhat longer).
pub const REST: Duration = Duration::from_micros(100);

/// Writes a whole snapshot of `dbs` (database index, contents; empty ones are skipped) at
/// `pace`, with what `saved` says of each key's access. The snapshot is consumed part by
/// part, each released once written (see [`DbSnapshot::into_parts`]). Keys already expired
/// at the time of the snapshot are written too, as Redis does; the loader decides.
pub fn write_snapshot<W: Write>(
    out: W,
    aux: &AuxInfo,
    dbs: impl IntoIterator<Item = (usize, DbSnapshot)>,
    saved: SavedAccess,
    pace: Pace,
) -> io::Result<W> {
    let mut w = RdbWriter::new(out, aux)?;
    let mut since_rest = Instant::now();
    for (index, db) in dbs {
        if db.is_empty() {
            continue;
        }
        w.select_db(index, db.len(), db.expires_len())?;
        let recorded = db.access_recorder(saved);
        for part in db.into_parts() {
            for (key, entry, stamp) in part.iter() {
                w.key(key, &entry.value, entry.expire_at(), recorded(stamp))?;
                if !pace.key_delay.is_zero() {
                    std::thread::sleep(pace.key_delay);
                }
            }
            if pace.share_cpu && since_rest.elapsed() >= WORK {
                std::thread::sleep(REST);
                since_rest = Instant::now();
            }
        }
    }
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string_bytes(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_string(&mut out, s);
        out
    }

    #[test]
    fn strings_as_redis_writes_them() {
        assert_eq!(string_bytes(b"7"), [0xC0, 7]);
        assert_eq!(string_bytes(b"-128"), [0xC0, 0x80]);
        assert_eq!(string_bytes(b"300"), [0xC1, 0x2C, 0x01]);
        assert_eq!(string_bytes(b"70000"), [0xC2, 0x70, 0x11, 0x01, 0x00]);
        assert_eq!(string_bytes(b"4294967296"), b"\x0a4294967296");
        assert_eq!(string_bytes(b"007"), b"\x03007");
        assert_eq!(string_bytes(b""), [0]);
        let mut a45 = vec![0xC3, 9, 45];
        a45.extend_from_slice(&[0x01, b'a', b'a', 0xE0, 0x20, 0x00, 0x01, b'a', b'a']);
        assert_eq!(string_bytes(&[b'a'; 45]), a45);
        // 20 bytes: never compressed.
        assert_eq!(string_bytes(&[b'a'; 20])[0], 20);
    }

    #[test]
    fn double_as_int_is_double2ll() {
        assert_eq!(double_as_int(3.0), Some(3));
        assert_eq!(double_as_int(-0.0), Some(0));
        assert_eq!(double_as_int(2.5), None);
        assert_eq!(double_as_int(1e19), None);
        assert_eq!(double_as_int(f64::INFINITY), None);
    }
}
