//! An AOF base in RESP commands (`aof-use-rdb-preamble no`), as Redis's rewrite writes
//! it: per non-empty database a SELECT, then per key the commands that rebuild it
//! (collections in batches of 64 elements) and a PEXPIREAT for its expiry. Loading it
//! with the ordinary AOF loader gives back the same dataset (DEBUG DIGEST included:
//! scores are written with `%.17g`, which round-trips every double).

use std::io::{self, Write};

use bytes::Bytes;

use crate::keyspace::ValueRef;
use crate::persistence::Snapshot;

/// Elements (or pairs) per RPUSH, SADD, ZADD and HMSET, as Redis's
/// AOF_REWRITE_ITEMS_PER_CMD.
const ITEMS_PER_COMMAND: usize = 64;

/// Writes `snapshot` as commands to `out`, led by a `#TS:` annotation when `timestamps`.
pub fn write<W: Write>(out: &mut W, snapshot: Snapshot, timestamps: bool) -> io::Result<()> {
    let mut buf = Vec::with_capacity(1 << 16);
    if timestamps {
        buf.extend_from_slice(format!("#TS:{}\r\n", crate::keyspace::now_ms() / 1000).as_bytes());
    }
    for (index, db) in &snapshot.dbs {
        if db.is_empty() {
            continue;
        }
        command(&mut buf, &[b"SELECT", index.to_string().as_bytes()]);
        for (key, entry) in db.iter() {
            write_key(&mut buf, key, entry.value.view());
            if let Some(at) = entry.expire_at() {
                command(&mut buf, &[b"PEXPIREAT", key, at.to_string().as_bytes()]);
            }
            if buf.len() >= 1 << 16 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
    }
    out.write_all(&buf)
}

/// The commands that make `key` hold `value`.
fn write_key(buf: &mut Vec<u8>, key: &[u8], value: ValueRef<'_>) {
    match value {
        ValueRef::Str(s) => command(buf, &[b"SET", key, s]),
        ValueRef::List(items) => {
            let items: Vec<&[u8]> = items.iter().map(|b| &b[..]).collect();
            batched(buf, b"RPUSH", key, &items, 1);
        }
        ValueRef::Set(members) => {
            let members: Vec<&[u8]> = members.iter().map(|b: &Bytes| &b[..]).collect();
            batched(buf, b"SADD", key, &members, 1);
        }
        ValueRef::Hash(fields) => {
            let pairs: Vec<&[u8]> = fields.iter().flat_map(|(f, v)| [&f[..], &v[..]]).collect();
            batched(buf, b"HMSET", key, &pairs, 2);
        }
        ValueRef::ZSet(zset) => {
            let scores: Vec<String> = zset
                .iter()
                .map(|(_, s)| crate::resp::format_double(s))
                .collect();
            let pairs: Vec<&[u8]> = zset
                .iter()
                .zip(&scores)
                .flat_map(|((m, _), s)| [s.as_bytes(), &m[..]])
                .collect();
            batched(buf, b"ZADD", key, &pairs, 2);
        }
    }
}

/// `name key items...` commands of at most [`ITEMS_PER_COMMAND`] items of `width`
/// arguments each.
fn batched(buf: &mut Vec<u8>, name: &[u8], key: &[u8], args: &[&[u8]], width: usize) {
    for chunk in args.chunks(ITEMS_PER_COMMAND * width) {
        let mut argv: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        argv.push(name);
        argv.push(key);
        argv.extend_from_slice(chunk);
        command(buf, &argv);
    }
}

/// One command in RESP, every argument a bulk string.
fn command(buf: &mut Vec<u8>, argv: &[&[u8]]) {
    crate::replication::encode_command(buf, argv);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collections_are_written_in_batches_of_64() {
        let mut buf = Vec::new();
        let items: Vec<Bytes> = (0..130).map(|i| Bytes::from(i.to_string())).collect();
        let list: std::collections::VecDeque<Bytes> = items.into_iter().collect();
        write_key(&mut buf, b"l", ValueRef::List(&list));
        let text = String::from_utf8(buf).unwrap();
        let counts: Vec<&str> = text.lines().filter(|l| l.starts_with('*')).collect();
        assert_eq!(counts, ["*66", "*66", "*4"]);
    }

    #[test]
    fn a_command_is_bulk_strings() {
        let mut buf = Vec::new();
        command(&mut buf, &[b"SET", b"k", b""]);
        assert_eq!(buf, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
    }
}
