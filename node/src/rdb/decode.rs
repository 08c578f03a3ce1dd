//! Reading RDB incrementally: a snapshot becomes a sequence of [`Event`]s, read from any
//! [`Read`] one record at a time, so a full sync streams into the keyspace without the
//! payload ever being held whole. Only the value being decoded is in memory.
//!
//! Every type a Redis 7.0 loader accepts is accepted, old encodings included (linked
//! lists, zipmaps, ziplists, quicklists of ziplists, text scores), and turned into
//! tandem's [`Value`]s. Streams and module values cannot be represented and are refused
//! with an error naming the key, as is module aux data; nothing is skipped silently,
//! except what Redis itself skips: empty collections and unknown AUX fields (which are
//! passed on as events).

use std::io::Read;

use bytes::Bytes;

use crate::keyspace::{FieldMap, MemberSet, RecordedAccess, SortedSet, Value};

use super::error::{BlobError, RdbError};
use super::length::{read_len, read_length, Length, ENC_INT16, ENC_INT32, ENC_INT8, ENC_LZF};
use super::listpack::Entry;
use super::reader::Source;
use super::{containers, intset, listpack, lzf, opcodes, types, ziplist, zipmap, RDB_VERSION};

/// Pre-allocation for a collection never exceeds this many elements, whatever its header
/// claims: the rest is allocated as elements actually arrive.
const MAX_PREALLOC: u64 = 4096;

/// One record of a snapshot.
#[derive(Debug)]
pub enum Event {
    /// An AUX field (`redis-ver`, `repl-id`, `repl-offset`, ... or one we do not know).
    Aux { key: Bytes, value: Bytes },
    /// Following keys belong to database `n`.
    SelectDb(u64),
    /// Size hints for the current database.
    ResizeDb { keys: u64, expires: u64 },
    /// A function library (FUNCTION2 record): its source code.
    Function { code: Bytes },
    /// A key of the current database.
    Key(KeyRecord),
    /// The EOF opcode and checksum were read; `checksum_verified` is false when the file
    /// was written without a checksum (stored as 0) or predates checksums (version < 5).
    /// A wrong checksum is an error, not an `End`.
    End { checksum_verified: bool },
}

/// A key with its value and the attributes recorded before it.
#[derive(Debug)]
pub struct KeyRecord {
    pub db: u64,
    /// In an allocation of its own, for the keyspace to keep as it is.
    pub key: Box<[u8]>,
    pub value: Value,
    /// Absolute expiry, Unix milliseconds (may lie in the past).
    pub expire_at_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE opcode), LFU counter (FREQ opcode).
    pub access: RecordedAccess,
}

/// A streaming RDB decoder. It reads exactly the bytes of the RDB and no further, so the
/// stream can be used again after [`Event::End`] (see [`RdbReader::into_inner`]); wrap a
/// socket in a `BufReader` for speed and take it back with `into_inner`.
#[derive(Debug)]
pub struct RdbReader<R> {
    src: Source<R>,
    version: Option<u32>,
    db: u64,
    done: bool,
}

impl<R: Read> RdbReader<R> {
    pub fn new(input: R) -> RdbReader<R> {
        RdbReader {
            src: Source::new(input),
            version: None,
            db: 0,
            done: false,
        }
    }

    /// The format version, once the header was read.
    pub fn version(&self) -> Option<u32> {
        self.version
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.src.offset()
    }

    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    /// The next record; `Ok(None)` after [`Event::End`] or after an error.
    pub fn next_event(&mut self) -> Result<Option<Event>, RdbError> {
        if self.done {
            return Ok(None);
        }
        let event = self.read_event();
        if matches!(event, Err(_) | Ok(Event::End { .. })) {
            self.done = true;
        }
        event.map(Some)
    }

    fn read_header(&mut self) -> Result<u32, RdbError> {
        let magic: [u8; 9] = self.src.array()?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(RdbError::BadSignature);
        }
        let version = magic[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + (d - b'0') as u32);
        if !(1..=RDB_VERSION as u32).contains(&version) {
            return Err(RdbError::UnsupportedVersion(version));
        }
        Ok(version)
    }

    fn read_event(&mut self) -> Result<Event, RdbError> {
        let version = match self.version {
            Some(v) => v,
            None => {
                let v = self.read_header()?;
                self.version = Some(v);
                v
            }
        };
        let src = &mut self.src;
        let (mut expire_at_ms, mut access) = (None, RecordedAccess::default());
        loop {
            let offset = src.offset();
            let ty = src.u8()?;
            match ty {
                opcodes::EXPIRETIME => {
                    let secs = i32::from_le_bytes(src.array()?);
                    expire_at_ms = Some(secs as i64 * 1000);
                }
                opcodes::EXPIRETIME_MS => expire_at_ms = Some(i64::from_le_bytes(src.array()?)),
                opcodes::FREQ => access.freq = Some(src.u8()?),
                opcodes::IDLE => access.idle_secs = Some(read_len(src)?),
                opcodes::EOF => {
                    if version < 5 {
                        return Ok(Event::End {
                            checksum_verified: false,
                        });
                    }
                    let computed = src.crc();
                    let stored = u64::from_le_bytes(src.array()?);
                    let skip = super::debug_switches::SKIP_CHECKSUM
                        .load(std::sync::atomic::Ordering::Relaxed);
                    if stored == 0 || skip {
                        return Ok(Event::End {
                            checksum_verified: false,
                        });
                    }
                    if stored != computed {
                        return Err(RdbError::BadChecksum { computed, stored });
                    }
                    return Ok(Event::End {
                        checksum_verified: true,
                    });
                }
                opcodes::SELECTDB => {
                    self.db = read_len(src)?;
                    return Ok(Event::SelectDb(self.db));
                }
                opcodes::RESIZEDB => {
                    let keys = read_len(src)?;
                    let expires = read_len(src)?;
                    return Ok(Event::ResizeDb { keys, expires });
                }
                opcodes::AUX => {
                    let key = read_bytes(src)?;
                    let value = read_bytes(src)?;
                    return Ok(Event::Aux { key, value });
                }
                opcodes::MODULE_AUX => return Err(RdbError::ModuleAux { offset }),
                opcodes::FUNCTION2 => {
                    return Ok(Event::Function {
                        code: read_bytes(src)?,
                    })
                }
                opcodes::FUNCTION => {
                    return Err(RdbError::Function {
                        offset,
                        what:
                            "the FUNCTION record of Redis 7.0 release candidates is not supported",
                    })
                }
                _ => {
                    if !is_value_type(ty) {
                        return Err(RdbError::UnknownType {
                            type_byte: ty,
                            offset,
                        });
                    }
                    let key = read_string(src)?.into_boxed_slice();
                    let value = read_value(src, ty, &key, offset)?;
                    if value.is_empty_collection() {
                        // Redis skips empty keys in a file (older versions could write them).
                        expire_at_ms = None;
                        access = RecordedAccess::default();
                        continue;
                    }
                    return Ok(Event::Key(KeyRecord {
                        db: self.db,
                        key,
                        value,
                        expire_at_ms,
                        access,
                    }));
                }
            }
        }
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<Event, RdbError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// Whether a Redis 7.0 loader knows `ty` as a value type (rdb.h's `rdbIsObjectType`).
pub fn is_value_type(ty: u8) -> bool {
    matches!(ty, 0..=7 | 9..=19)
}

/// Reads an RDB string (raw, integer-encoded or LZF-compressed) as its bytes.
pub fn read_string<R: Read>(src: &mut Source<R>) -> Result<Vec<u8>, RdbError> {
    let offset = src.offset();
    match read_length(src)? {
        Length::Len(n) => src.bytes(n),
        Length::Encoded(ENC_INT8) => Ok(int_text(src.u8()? as i8 as i64)),
        Length::Encoded(ENC_INT16) => Ok(int_text(i16::from_le_bytes(src.array()?) as i64)),
        Length::Encoded(ENC_INT32) => Ok(int_text(i32::from_le_bytes(src.array()?) as i64)),
        Length::Encoded(ENC_LZF) => {
            let clen = read_len(src)?;
            let len = read_len(src)?;
            if len > clen.saturating_mul(lzf::MAX_EXPANSION) {
                return Err(RdbError::Invalid {
                    what: "LZF string length (longer than its data can expand to)",
                    offset,
                });
            }
            let data = src.bytes(clen)?;
            lzf::decompress(&data, len as usize).map_err(|source| RdbError::Corrupt {
                what: "LZF string",
                offset,
                source,
            })
        }
        Length::Encoded(encoding) => Err(RdbError::BadStringEncoding { encoding, offset }),
    }
}

fn int_text(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// Reads a string into a `Bytes` that owns its allocation exactly.
pub fn read_bytes<R: Read>(src: &mut Source<R>) -> Result<Bytes, RdbError> {
    Ok(Bytes::from(read_string(src)?.into_boxed_slice()))
}

fn cap(n: u64) -> usize {
    n.min(MAX_PREALLOC) as usize
}

/// Decodes a blob with `parse`, reporting corruption at the blob's offset.
fn read_blob<R: Read, T>(
    src: &mut Source<R>,
    what: &'static str,
    parse: impl FnOnce(&[u8]) -> Result<T, BlobError>,
) -> Result<T, RdbError> {
    let offset = src.offset();
    let blob = read_string(src)?;
    parse(&blob).map_err(|source| RdbError::Corrupt {
        what,
        offset,
        source,
    })
}

/// Reads the value of type `ty` (the bytes after the type byte and key). `key` and
/// `offset` (of the record) only serve error messages. A collection may come out empty;
/// the caller decides (a file load skips it, RESTORE refuses it).
pub fn read_value<R: Read>(
    src: &mut Source<R>,
    ty: u8,
    key: &[u8],
    offset: u64,
) -> Result<Value, RdbError> {
    let unsupported = |kind| RdbError::UnsupportedValue {
        key: String::from_utf8_lossy(key).into_owned(),
        kind,
        offset,
    };
    let value_offset = src.offset();
    let duplicate = |what| RdbError::Duplicate {
        what,
        offset: value_offset,
    };
    Ok(match ty {
        types::STRING => Value::Str(read_string(src)?.into_boxed_slice()),
        types::LIST => {
            let n = read_len(src)?;
            let mut list = std::collections::VecDeque::with_capacity(cap(n));
            for _ in 0..n {
                list.push_back(read_bytes(src)?);
            }
            Value::from_list(list)
        }
        types::SET => {
            let n = read_len(src)?;
            let mut set = MemberSet::with_capacity(cap(n));
            for _ in 0..n {
                if !set.insert(read_bytes(src)?) {
                    return Err(duplicate("set member"));
                }
            }
            saved_big(Value::from_set(set))
        }
        types::ZSET | types::ZSET_2 => {
            let n = read_len(src)?;
            let mut zset = SortedSet::default();
            for _ in 0..n {
                let member = read_bytes(src)?;
                let at = src.offset();
                let score = if ty == types::ZSET_2 {
                    f64::from_le_bytes(src.array()?)
                } else {
                    read_text_double(src)?
                };
                if score.is_nan() {
                    return Err(RdbError::Invalid {
                        what: "sorted set score (NaN)",
                        offset: at,
                    });
                }
                if !zset.insert(member, score) {
                    return Err(duplicate("sorted set member"));
                }
            }
            saved_big(Value::from_zset(zset))
        }
        types::HASH => {
            let n = read_len(src)?;
            let mut hash = FieldMap::with_capacity_and_hasher(cap(n), Default::default());
            for _ in 0..n {
                let field = read_bytes(src)?;
                let value = read_bytes(src)?;
                if hash.insert(field, value).is_some() {
                    return Err(duplicate("hash field"));
                }
            }
            saved_big(Value::from_hash(hash))
        }
        types::HASH_ZIPMAP => {
            let pairs = read_blob(src, "zipmap", |b| {
                let pairs = zipmap::decode(b)?;
                Ok(pairs
                    .into_iter()
                    .map(|(f, v)| (Bytes::copy_from_slice(f), Bytes::copy_from_slice(v)))
                    .collect::<Vec<_>>())
            })?;
            // A zipmap is settled like a big hash: compact only when all of it fits.
            saved_big(hash_from_pairs(pairs, value_offset)?)
        }
        types::LIST_ZIPLIST => {
            let items = read_blob(src, "ziplist", |b| Ok(to_bytes(&ziplist::decode(b)?)))?;
            Value::from_list(items.into())
        }
        types::SET_INTSET => {
            let ints = read_blob(src, "intset", intset::decode)?;
            let mut set = MemberSet::with_capacity(ints.len());
            set.extend(
                ints.into_iter()
                    .map(|n| Bytes::from(int_text(n).into_boxed_slice())),
            );
            Value::from_set(set)
        }
        types::ZSET_ZIPLIST | types::ZSET_LISTPACK => {
            let zl = ty == types::ZSET_ZIPLIST;
            let what = if zl {
                "sorted set ziplist"
            } else {
                "sorted set listpack"
            };
            let pairs = read_pairs(src, zl, what, |m, s| {
                let score = match s {
                    Entry::Int(n) => n as f64,
                    Entry::Str(s) => {
                        parse_score(s).ok_or(BlobError::at(0, "invalid sorted set score"))?
                    }
                };
                Ok((m.to_bytes(), score))
            })?;
            let mut zset = SortedSet::default();
            for (member, score) in pairs {
                if !zset.insert(member, score) {
                    return Err(duplicate("sorted set member"));
                }
            }
            Value::from_zset(zset)
        }
        types::HASH_ZIPLIST | types::HASH_LISTPACK => {
            let zl = ty == types::HASH_ZIPLIST;
            let what = if zl { "hash ziplist" } else { "hash listpack" };
            let pairs = read_pairs(src, zl, what, |f, v| Ok((f.to_bytes(), v.to_bytes())))?;
            hash_from_pairs(pairs, value_offset)?
        }
        types::LIST_QUICKLIST | types::LIST_QUICKLIST_2 => {
            let nodes = read_len(src)?;
            let mut list = std::collections::VecDeque::new();
            for _ in 0..nodes {
                let container = if ty == types::LIST_QUICKLIST_2 {
                    read_len(src)?
                } else {
                    containers::PACKED
                };
                let node_offset = src.offset();
                let blob = read_string(src)?;
                if blob.is_empty() {
                    return Err(RdbError::Invalid {
                        what: "empty quicklist node",
                        offset: node_offset,
                    });
                }
                let entries = match (container, ty) {
                    (containers::PLAIN, _) => {
                        list.push_back(Bytes::from(blob.into_boxed_slice()));
                        continue;
                    }
                    (containers::PACKED, types::LIST_QUICKLIST) => {
                        ziplist::decode(&blob).map_err(|source| RdbError::Corrupt {
                            what: "quicklist ziplist",
                            offset: node_offset,
                            source,
                        })?
                    }
                    (containers::PACKED, _) => {
                        listpack::decode(&blob).map_err(|source| RdbError::Corrupt {
                            what: "quicklist listpack",
                            offset: node_offset,
                            source,
                        })?
                    }
                    _ => {
                        return Err(RdbError::Invalid {
                            what: "quicklist node container",
                            offset: node_offset,
                        })
                    }
                };
                list.extend(entries.iter().map(|e| e.to_bytes()));
            }
            Value::from_list(list)
        }
        types::STREAM_LISTPACKS | types::STREAM_LISTPACKS_2 => return Err(unsupported("stream")),
        types::MODULE | types::MODULE_2 => return Err(unsupported("module value")),
        _ => {
            return Err(RdbError::UnknownType {
                type_byte: ty,
                offset,
            })
        }
    })
}

/// Reads a ziplist or listpack blob of alternating entries (hash field/value, sorted set
/// member/score) and maps each pair; `what` names the blob in errors.
fn read_pairs<R: Read, T>(
    src: &mut Source<R>,
    ziplist: bool,
    what: &'static str,
    pair: impl Fn(Entry<'_>, Entry<'_>) -> Result<T, BlobError>,
) -> Result<Vec<T>, RdbError> {
    read_blob(src, what, |b| {
        let entries = if ziplist {
            ziplist::decode(b)?
        } else {
            listpack::decode(b)?
        };
        if entries.len() % 2 != 0 {
            return Err(BlobError::at(0, "odd number of entries"));
        }
        entries.chunks_exact(2).map(|p| pair(p[0], p[1])).collect()
    })
}

fn to_bytes(entries: &[Entry<'_>]) -> Vec<Bytes> {
    entries.iter().map(|e| e.to_bytes()).collect()
}

/// A collection saved in its big encoding (hashtable, skiplist): loading settles its
/// encoding from its content (see `EncodingLimits::settle_loaded`).
fn saved_big(mut value: Value) -> Value {
    value.set_compact(false);
    value
}

fn hash_from_pairs(pairs: Vec<(Bytes, Bytes)>, offset: u64) -> Result<Value, RdbError> {
    let mut hash = FieldMap::with_capacity_and_hasher(pairs.len(), Default::default());
    for (f, v) in pairs {
        if hash.insert(f, v).is_some() {
            return Err(RdbError::Duplicate {
                what: "hash field",
                offset,
            });
        }
    }
    Ok(Value::from_hash(hash))
}

/// A score stored as text (legacy ZSET type): a length byte, where 253, 254 and 255 mean
/// NaN, +inf and -inf, then that many ASCII bytes.
fn read_text_double<R: Read>(src: &mut Source<R>) -> Result<f64, RdbError> {
    let offset = src.offset();
    match src.u8()? {
        253 => Ok(f64::NAN),
        254 => Ok(f64::INFINITY),
        255 => Ok(f64::NEG_INFINITY),
        len => {
            let text = src.bytes(len as u64)?;
            parse_score(&text).ok_or(RdbError::Invalid {
                what: "text score",
                offset,
            })
        }
    }
}

/// Parses a score as `strtod` would read what Redis writes (`%.17g`, `inf`, `-inf`).
fn parse_score(text: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(text).ok()?;
    match s.to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok().filter(|v: &f64| !v.is_nan()),
    }
}
