//! The replication log: the RESP-encoded command stream with its offsets, and the
//! retained tail (the backlog) that partial resyncs and replica links read from.
//!
//! Offsets follow Redis: `end` is `master_repl_offset`, the count of bytes ever fed;
//! the backlog holds the `histlen` bytes before it, whose first byte has offset
//! `end - histlen + 1` (`repl_backlog_first_byte_offset`). A replica that asks for
//! `PSYNC <id> <off>` can continue when `first_byte <= off <= end + 1`.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use super::ids::ReplOffset;

/// Encodes one command as a RESP array of bulk strings (the replication wire format).
pub fn encode_command<A: AsRef<[u8]>>(out: &mut impl BufMut, args: &[A]) {
    let mut n = itoa::Buffer::new();
    out.put_u8(b'*');
    out.put_slice(n.format(args.len()).as_bytes());
    out.put_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.put_u8(b'$');
        out.put_slice(n.format(a.len()).as_bytes());
        out.put_slice(b"\r\n");
        out.put_slice(a);
        out.put_slice(b"\r\n");
    }
}

/// Encodes a command stream that names its databases, as the replication stream and the
/// AOF both do: a command for another database than the previous one is preceded by
/// `SELECT <db>`.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    selected_db: Option<usize>,
}

impl StreamEncoder {
    /// Appends a command for `db`, or one that applies to no database (PING, REPLCONF
    /// GETACK) when `db` is None.
    pub fn encode(&mut self, out: &mut impl BufMut, db: Option<usize>, args: &[Bytes]) {
        if let Some(db) = db.filter(|db| self.selected_db != Some(*db)) {
            encode_command(
                out,
                &[Bytes::from_static(b"SELECT"), Bytes::from(db.to_string())],
            );
            self.selected_db = Some(db);
        }
        encode_command(out, args);
    }

    /// Forces a SELECT before the next command.
    pub fn forget_selected_db(&mut self) {
        self.selected_db = None;
    }
}

/// The stream and its backlog.
#[derive(Debug)]
pub struct ReplicationLog {
    /// The retained bytes, oldest first.
    backlog: VecDeque<u8>,
    /// How many bytes to retain (`repl-backlog-size`).
    capacity: usize,
    /// Offset of the last byte fed (`master_repl_offset`).
    end: ReplOffset,
    encoder: StreamEncoder,
    scratch: BytesMut,
    /// `repl_backlog_active`: the backlog exists (a replica connected once, or this node
    /// is a replica); until then nothing is fed and the offset stays put, as in Redis.
    pub active: bool,
    /// Next offset each connected replica still has to receive: bytes from the oldest pin
    /// are kept beyond `capacity`, up to `pin_limit` (the replica output buffer limit).
    pins: std::collections::HashMap<u64, u64>,
    pin_limit: usize,
}

impl ReplicationLog {
    /// An empty log continuing from `end` that retains `capacity` bytes.
    pub fn new(capacity: usize, end: ReplOffset) -> ReplicationLog {
        ReplicationLog {
            backlog: VecDeque::new(),
            capacity: capacity.max(16 * 1024),
            end,
            encoder: StreamEncoder::default(),
            scratch: BytesMut::new(),
            active: false,
            pins: std::collections::HashMap::new(),
            pin_limit: 256 << 20,
        }
    }

    /// Sets `repl-backlog-size` and the most a slow replica may hold back beyond it.
    pub fn set_limits(&mut self, capacity: usize, pin_limit: usize) {
        self.capacity = capacity.max(16 * 1024);
        self.pin_limit = pin_limit;
        self.trim();
    }

    /// `repl-backlog-size`.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Starts a new history at offset `end` (a replica after a full sync): empty backlog.
    pub fn reset(&mut self, end: ReplOffset) {
        self.backlog.clear();
        self.end = end;
        self.encoder.forget_selected_db();
        self.active = true;
    }

    /// Forces a SELECT before the next command (a full sync starts, a promotion).
    pub fn forget_selected_db(&mut self) {
        self.encoder.forget_selected_db();
    }

    /// Holds the stream from `next` on for replica `id` (see `pins`).
    pub fn pin(&mut self, id: u64, next: ReplOffset) {
        self.pins.insert(id, next.0);
    }

    pub fn unpin(&mut self, id: u64) {
        self.pins.remove(&id);
        self.trim();
    }

    /// `master_repl_offset`.
    pub fn end(&self) -> ReplOffset {
        self.end
    }

    /// `repl_backlog_histlen`: bytes retained.
    pub fn histlen(&self) -> usize {
        self.backlog.len()
    }

    /// `repl_backlog_first_byte_offset`: offset of the oldest retained byte.
    pub fn first_byte(&self) -> ReplOffset {
        ReplOffset(self.end.0 + 1 - self.backlog.len() as u64)
    }

    /// Appends raw stream bytes (already RESP).
    pub fn feed_bytes(&mut self, bytes: &[u8]) {
        self.backlog.extend(bytes);
        self.end.0 += bytes.len() as u64;
        self.trim();
    }

    /// Appends a command that applies to no database (PING, REPLCONF GETACK).
    pub fn feed_global(&mut self, args: &[Bytes]) {
        self.feed_encoded(None, args);
    }

    /// Appends a command for `db`, preceded by SELECT when the db changes.
    pub fn feed_command(&mut self, db: usize, args: &[Bytes]) {
        self.feed_encoded(Some(db), args);
    }

    fn feed_encoded(&mut self, db: Option<usize>, args: &[Bytes]) {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        self.encoder.encode(&mut buf, db, args);
        self.feed_bytes(&buf);
        self.scratch = buf;
    }

    fn trim(&mut self) {
        let mut keep = self.capacity;
        if let Some(oldest) = self.pins.values().min() {
            let needed = (self.end.0 + 1).saturating_sub(*oldest) as usize;
            keep = keep.max(needed.min(self.pin_limit));
        }
        let excess = self.backlog.len().saturating_sub(keep);
        if excess > 0 {
            self.backlog.drain(..excess);
        }
    }

    /// Whether a replica whose next wanted byte is `from` can be served from the backlog.
    pub fn can_continue_from(&self, from: ReplOffset) -> bool {
        from >= self.first_byte() && from.0 <= self.end.0 + 1
    }

    /// Up to `max` bytes starting at offset `from`, or None when they are no longer (or
    /// not yet) retained.
    pub fn read_from(&self, from: ReplOffset, max: usize) -> Option<Bytes> {
        if !self.can_continue_from(from) {
            return None;
        }
        let start = (from.0 - self.first_byte().0) as usize;
        let len = (self.backlog.len() - start).min(max);
        let (a, b) = self.backlog.as_slices();
        let mut out = BytesMut::with_capacity(len);
        if start < a.len() {
            let take = (a.len() - start).min(len);
            out.extend_from_slice(&a[start..start + take]);
            out.extend_from_slice(&b[..len - take]);
        } else {
            let s = start - a.len();
            out.extend_from_slice(&b[s..s + len]);
        }
        Some(out.freeze())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    #[test]
    fn select_precedes_commands_for_a_new_db() {
        let mut log = ReplicationLog::new(1 << 20, ReplOffset(0));
        log.feed_command(0, &[b("SET"), b("k"), b("v")]);
        log.feed_command(0, &[b("DEL"), b("k")]);
        log.feed_command(3, &[b("DEL"), b("k")]);
        let all = log.read_from(ReplOffset(1), usize::MAX).unwrap();
        assert_eq!(
            &all[..],
            &b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n"[..]
        );
        assert_eq!(log.end(), ReplOffset(all.len() as u64));
        assert_eq!(log.first_byte(), ReplOffset(1));
    }

    #[test]
    fn backlog_keeps_the_tail_and_answers_psync_ranges() {
        let mut log = ReplicationLog::new(16 * 1024, ReplOffset(1000));
        let chunk = vec![b'x'; 10_000];
        log.feed_bytes(&chunk);
        log.feed_bytes(&chunk);
        assert_eq!(log.end(), ReplOffset(21_000));
        assert_eq!(log.histlen(), 16 * 1024);
        assert_eq!(log.first_byte(), ReplOffset(21_000 - 16 * 1024 + 1));
        // A replica that applied up to the end asks for end+1: nothing to send, but valid.
        assert!(log.can_continue_from(ReplOffset(21_001)));
        assert_eq!(log.read_from(ReplOffset(21_001), 10).unwrap().len(), 0);
        assert!(!log.can_continue_from(ReplOffset(21_002)));
        // Too old: trimmed away.
        assert!(log.read_from(ReplOffset(2000), 10).is_none());
        let tail = log.read_from(ReplOffset(20_991), 100).unwrap();
        assert_eq!(tail.len(), 10);
    }

    #[test]
    fn reads_across_the_ring_boundary() {
        let mut log = ReplicationLog::new(16 * 1024, ReplOffset(0));
        for i in 0..40u32 {
            log.feed_bytes(&[(i % 251) as u8; 1000]);
        }
        let first = log.first_byte();
        let all = log.read_from(first, usize::MAX).unwrap();
        assert_eq!(all.len(), log.histlen());
        assert_eq!(all[all.len() - 1], 39);
    }
}
