//! Tests of the codec as a whole: a snapshot written by redis-server 7.0.15 (golden file),
//! round trips of every type and encoding through snapshots and DUMP payloads (with a
//! property test over random values), legacy encodings, refusals, and corrupt input.

use bytes::Bytes;
use proptest::prelude::*;

use super::*;
use crate::keyspace::{
    AccessTracking, Db, FieldMap, MemberSet, RecordedAccess, SavedAccess, SortedSet, Value,
    ValueRef,
};

const GOLDEN: &[u8] = include_bytes!("testdata/redis-7.0.15.rdb");

/// A value in a form that compares: sets sorted, hashes and lists in order.
#[derive(Debug, PartialEq)]
enum Canon {
    Str(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    ZSet(Vec<(Vec<u8>, f64)>),
}

fn canon(v: &Value) -> Canon {
    match v.view() {
        ValueRef::Str(s) => Canon::Str(s.to_vec()),
        ValueRef::List(l) => Canon::List(l.iter().map(|e| e.to_vec()).collect()),
        ValueRef::Set(s) => {
            let mut m: Vec<Vec<u8>> = s.iter().map(|e| e.to_vec()).collect();
            m.sort();
            Canon::Set(m)
        }
        ValueRef::Hash(h) => Canon::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        ValueRef::ZSet(z) => Canon::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

fn list(items: &[&str]) -> Value {
    Value::from_list(items.iter().map(|s| b(s)).collect())
}

/// `value` in the encoding Redis gives its content under the default thresholds.
fn settled(mut value: Value) -> Value {
    let compact = crate::keyspace::EncodingLimits::default().fits_compact(&value);
    value.set_compact(compact);
    value
}

fn set(items: impl IntoIterator<Item = String>) -> Value {
    let mut s = MemberSet::default();
    s.extend(items.into_iter().map(Bytes::from));
    settled(Value::from_set(s))
}

fn hash(pairs: impl IntoIterator<Item = (String, String)>) -> Value {
    let mut h = FieldMap::default();
    h.extend(
        pairs
            .into_iter()
            .map(|(f, v)| (Bytes::from(f), Bytes::from(v))),
    );
    settled(Value::from_hash(h))
}

fn zset(pairs: impl IntoIterator<Item = (String, f64)>) -> Value {
    let mut z = SortedSet::default();
    for (m, s) in pairs {
        z.insert(Bytes::from(m), s);
    }
    settled(Value::from_zset(z))
}

/// One value of every type in every encoding Redis 7.0 writes, with its expected type.
fn samples() -> Vec<(Value, u8)> {
    let long = "x".repeat(70);
    vec![
        (Value::string("hello".as_bytes()), types::STRING),
        (Value::string("-12345".as_bytes()), types::STRING),
        (
            Value::string("9223372036854775807".as_bytes()),
            types::STRING,
        ),
        (Value::string("ab".repeat(5000).as_bytes()), types::STRING),
        (Value::string(b""), types::STRING),
        (list(&["a", "1", "-70000", &long]), types::LIST_QUICKLIST_2),
        (
            Value::from_list(
                (0..5000)
                    .map(|i| Bytes::from(format!("element-{i}")))
                    .collect(),
            ),
            types::LIST_QUICKLIST_2,
        ),
        (
            set(["1", "-2", "70000", "9223372036854775807"].map(String::from)),
            types::SET_INTSET,
        ),
        (set((0..600).map(|i| i.to_string())), types::SET),
        (set(["a", "1"].map(String::from)), types::SET),
        (
            hash([("f".into(), "v".into()), ("n".into(), "5".into())]),
            types::HASH_LISTPACK,
        ),
        (hash([("f".into(), long.clone())]), types::HASH),
        (
            hash((0..600).map(|i| (format!("f{i}"), i.to_string()))),
            types::HASH,
        ),
        (
            zset([
                ("a".into(), 1.0),
                ("b".into(), 2.5),
                ("c".into(), f64::NEG_INFINITY),
                ("d".into(), 1e300),
            ]),
            types::ZSET_LISTPACK,
        ),
        (
            zset((0..200).map(|i| (format!("m{i}"), i as f64 / 3.0))),
            types::ZSET_2,
        ),
        (zset([(long.clone(), f64::INFINITY)]), types::ZSET_2),
    ]
}

/// A database index and its keys (name, value, expiry).
type DbKeys<'a> = (usize, Vec<(&'a str, Value, Option<u64>)>);

fn snapshot_bytes(dbs: &[DbKeys]) -> Vec<u8> {
    let aux = AuxInfo {
        ctime: 1_700_000_000,
        used_mem: 1 << 20,
        repl: Some(ReplInfo {
            stream_db: 0,
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            offset: 12345,
        }),
        aof_base: false,
    };
    let mut w = RdbWriter::new(Vec::new(), &aux).unwrap();
    for (index, keys) in dbs {
        let expires = keys.iter().filter(|k| k.2.is_some()).count();
        w.select_db(*index, keys.len(), expires).unwrap();
        for (k, v, exp) in keys {
            w.key(k.as_bytes(), v, *exp, RecordedAccess::default())
                .unwrap();
        }
    }
    w.finish().unwrap()
}

fn read_all(bytes: &[u8]) -> Result<Vec<Event>, RdbError> {
    RdbReader::new(bytes).collect()
}

fn keys_of(events: &[Event]) -> Vec<(u64, String, Canon, Option<i64>)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Key(k) => Some((
                k.db,
                String::from_utf8_lossy(&k.key).into_owned(),
                canon(&k.value),
                k.expire_at_ms,
            )),
            _ => None,
        })
        .collect()
}

/// Asserts that every strict prefix of `blob` is refused and that single-bit flips
/// anywhere are handled without a panic.
/// `accepts` runs the decoder and says whether it succeeded.
pub(super) fn check_corruption(blob: &[u8], accepts: impl Fn(&[u8]) -> bool) {
    for cut in 0..blob.len() {
        assert!(!accepts(&blob[..cut]), "prefix of {cut} bytes accepted");
    }
    for i in 0..blob.len() {
        for bit in 0..8 {
            let mut bad = blob.to_vec();
            bad[i] ^= 1 << bit;
            accepts(&bad);
        }
    }
}

#[test]
fn golden_file_from_redis_loads() {
    let events = read_all(GOLDEN).unwrap();
    let aux: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Aux { key, value } => Some((
                String::from_utf8_lossy(key).into_owned(),
                String::from_utf8_lossy(value).into_owned(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(aux[0], ("redis-ver".into(), "7.0.15".into()));
    assert!(matches!(
        events.last(),
        Some(Event::End {
            checksum_verified: true
        })
    ));
    let keys = keys_of(&events);
    assert_eq!(keys.len(), 12);
    let find = |name: &str| {
        keys.iter()
            .find(|k| k.1 == name)
            .unwrap_or_else(|| panic!("{name}"))
    };
    assert_eq!(find("str").2, Canon::Str(b"hello".to_vec()));
    assert_eq!(find("int").2, Canon::Str(b"12345".to_vec()));
    assert_eq!(find("long").2, Canon::Str("abc".repeat(50).into_bytes()));
    assert_eq!(find("ttl").3, Some(4102444800000));
    assert_eq!(
        find("list").2,
        Canon::List(
            ["a", "b", "1", "300", "70000"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect()
        )
    );
    assert_eq!(
        find("intset").2,
        Canon::Set(vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()])
    );
    assert_eq!(
        find("hash").2,
        Canon::Hash(vec![
            (b"f".to_vec(), b"v".to_vec()),
            (b"n".to_vec(), b"5".to_vec())
        ])
    );
    assert_eq!(
        find("zset").2,
        Canon::ZSet(vec![(b"a".to_vec(), 1.0), (b"b".to_vec(), 2.5)])
    );
    match &find("bigzset").2 {
        Canon::ZSet(z) => assert_eq!((z.len(), z[199].1), (200, 49.75)),
        other => panic!("{other:?}"),
    }
    match &find("bighash").2 {
        Canon::Hash(h) => assert_eq!(h.len(), 200),
        other => panic!("{other:?}"),
    }
    assert_eq!(find("db3key").0, 3);
}

#[test]
fn golden_file_rewritten_is_redis_checkable() {
    let mut dbs: Vec<Db> = (0..16).map(|_| Db::new()).collect();
    for e in read_all(GOLDEN).unwrap() {
        if let Event::Key(k) = e {
            let exp = k.expire_at_ms.map_or(0, |t| t.max(1) as u64);
            dbs[k.db as usize].insert(&k.key, k.value, exp);
        }
    }
    // Written as under an LRU policy, with IDLE records: created at second 0, read at 100.
    for db in dbs.iter_mut() {
        db.clock_secs = 100;
    }
    let snaps: Vec<_> = dbs.iter().map(|d| d.snapshot()).collect();
    let aux = AuxInfo {
        ctime: 1_700_000_000,
        used_mem: 1000,
        repl: None,
        aof_base: false,
    };
    let ours = write_snapshot(
        Vec::new(),
        &aux,
        snaps.into_iter().enumerate(),
        SavedAccess::IdleTime,
        crate::rdb::Pace::default(),
    )
    .unwrap();
    let ours_events = read_all(&ours).unwrap();
    for e in &ours_events {
        if let Event::Key(k) = e {
            let idle = RecordedAccess {
                idle_secs: Some(100),
                freq: None,
            };
            assert_eq!(k.access, idle, "{:?}", k.key);
        }
    }
    let mut a = keys_of(&read_all(GOLDEN).unwrap());
    let mut b = keys_of(&ours_events);
    a.sort_by(|x, y| x.1.cmp(&y.1));
    b.sort_by(|x, y| x.1.cmp(&y.1));
    assert_eq!(a, b);
    // The real checker accepts our file (skipped when it is not installed).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.rdb");
    std::fs::write(&path, &ours).unwrap();
    if let Ok(out) = std::process::Command::new("redis-check-rdb")
        .arg(&path)
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("RDB looks OK"),
            "{text}"
        );
        assert!(text.contains("12 keys read"), "{text}");
    }
}

#[test]
fn every_encoding_round_trips_through_snapshot_and_dump() {
    let samples = samples();
    for (value, ty) in &samples {
        assert_eq!(encode::value_type(value), *ty, "{:?}", canon(value));
        let payload = dump_payload(value);
        assert_eq!(payload[0], *ty);
        let back = restore_payload(&payload, b"k").unwrap();
        assert_eq!(canon(&back), canon(value));
    }
    let keys: Vec<(String, Value, Option<u64>)> = samples
        .into_iter()
        .enumerate()
        .map(|(i, (v, _))| {
            (
                format!("key{i}"),
                v,
                (i % 3 == 0).then_some(1_800_000_000_000 + i as u64),
            )
        })
        .collect();
    let db0: Vec<_> = keys
        .iter()
        .map(|(k, v, e)| (k.as_str(), v.clone(), *e))
        .collect();
    let bytes = snapshot_bytes(&[
        (0, db0),
        (5, vec![("other", Value::string("x".as_bytes()), None)]),
    ]);
    assert_eq!(&bytes[..9], b"REDIS0010");
    let events = read_all(&bytes).unwrap();
    assert!(matches!(events[0], Event::Aux { .. }));
    assert!(events.iter().any(|e| matches!(e, Event::SelectDb(5))));
    assert!(events.iter().any(|e| matches!(
        e,
        Event::ResizeDb {
            keys: 1,
            expires: 0
        }
    )));
    let got = keys_of(&events);
    assert_eq!(got.len(), keys.len() + 1);
    for ((db, k, v, e), (wk, wv, we)) in got.iter().zip(&keys) {
        assert_eq!((*db, k, v, *e), (0, wk, &canon(wv), we.map(|t| t as i64)));
    }
    assert_eq!(got.last().unwrap().0, 5);
}

#[test]
fn reader_stops_exactly_at_the_end() {
    let mut bytes = snapshot_bytes(&[(0, vec![("a", Value::string("1".as_bytes()), None)])]);
    bytes.extend_from_slice(b"TRAILING");
    let mut reader = RdbReader::new(&bytes[..]);
    while let Some(e) = reader.next_event().unwrap() {
        if let Event::End { checksum_verified } = e {
            assert!(checksum_verified);
        }
    }
    assert!(reader.next_event().unwrap().is_none());
    assert_eq!(reader.into_inner(), b"TRAILING");
}

/// A file of version `version` with the given records after the header, EOF and checksum.
fn file(version: u32, records: &[u8]) -> Vec<u8> {
    let mut f = format!("REDIS{version:04}").into_bytes();
    f.extend_from_slice(records);
    f.push(opcodes::EOF);
    if version >= 5 {
        let crc = crc64::crc64(0, &f);
        f.extend_from_slice(&crc.to_le_bytes());
    }
    f
}

fn blob(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    length::write_len(&mut out, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

#[test]
fn legacy_encodings_load() {
    let zl = |items: &[&[u8]]| blob(&ziplist::tests::build(items));
    let mut r = Vec::new();
    // EXPIRETIME (seconds), IDLE, FREQ before a LIST (linked list) key.
    r.extend_from_slice(&[opcodes::EXPIRETIME]);
    r.extend_from_slice(&2_000_000_000i32.to_le_bytes());
    r.extend_from_slice(&[opcodes::IDLE, 10, opcodes::FREQ, 5]);
    r.extend_from_slice(b"\x01\x01l\x02\x01a\xc0\x07");
    // ZSET with text scores (one of them +inf).
    r.extend_from_slice(b"\x03\x01z\x02\x01a\x032.5\x01b\xfe");
    // HASH_ZIPMAP
    r.push(types::HASH_ZIPMAP);
    r.extend_from_slice(b"\x02hm");
    r.extend_from_slice(&blob(b"\x01\x03foo\x03\x00bar\xff"));
    // LIST_ZIPLIST, ZSET_ZIPLIST, HASH_ZIPLIST, LIST_QUICKLIST (two ziplist nodes).
    r.extend_from_slice(b"\x0a\x02lz");
    r.extend_from_slice(&zl(&[b"x", b"12", b"-5000"]));
    r.extend_from_slice(b"\x0c\x02zz");
    r.extend_from_slice(&zl(&[b"m", b"3", b"n", b"1.5"]));
    r.extend_from_slice(b"\x0d\x02hz");
    r.extend_from_slice(&zl(&[b"f", b"v"]));
    r.extend_from_slice(b"\x0e\x02lq\x02");
    r.extend_from_slice(&zl(&[b"a", b"b"]));
    r.extend_from_slice(&zl(&[b"c"]));
    // An empty set is skipped, as Redis skips it.
    r.extend_from_slice(b"\x02\x05empty\x00");
    // A PLAIN quicklist node.
    r.extend_from_slice(b"\x12\x02lp\x01\x01\x05plain");
    let events = read_all(&file(9, &r)).unwrap();
    let keys = keys_of(&events);
    let bytes = |v: &[&str]| v.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    assert_eq!(keys[0].2, Canon::List(bytes(&["a", "7"])));
    assert_eq!(keys[0].3, Some(2_000_000_000_000));
    match &events.iter().find(|e| matches!(e, Event::Key(_))) {
        Some(Event::Key(k)) => assert_eq!((k.access.idle_secs, k.access.freq), (Some(10), Some(5))),
        _ => unreachable!(),
    }
    assert_eq!(
        keys[1].2,
        Canon::ZSet(vec![(b"a".to_vec(), 2.5), (b"b".to_vec(), f64::INFINITY)])
    );
    assert_eq!(keys[1].3, None);
    assert_eq!(
        keys[2].2,
        Canon::Hash(vec![(b"foo".to_vec(), b"bar".to_vec())])
    );
    assert_eq!(keys[3].2, Canon::List(bytes(&["x", "12", "-5000"])));
    assert_eq!(
        keys[4].2,
        Canon::ZSet(vec![(b"n".to_vec(), 1.5), (b"m".to_vec(), 3.0)])
    );
    assert_eq!(keys[5].2, Canon::Hash(vec![(b"f".to_vec(), b"v".to_vec())]));
    assert_eq!(keys[6].2, Canon::List(bytes(&["a", "b", "c"])));
    assert_eq!(keys[7].2, Canon::List(bytes(&["plain"])));
    assert_eq!(keys.len(), 8);
    // Before version 5 there is no checksum.
    let old = read_all(&file(4, b"\x00\x01k\x01v")).unwrap();
    assert!(matches!(
        old.last(),
        Some(Event::End {
            checksum_verified: false
        })
    ));
}

#[test]
fn refusals_are_clear() {
    let err = |bytes: &[u8]| read_all(bytes).unwrap_err().to_string();
    assert_eq!(err(b"REDIS0011\xff"), "Can't handle RDB format version 11");
    assert_eq!(err(b"REDIS0000\xff"), "Can't handle RDB format version 0");
    assert!(err(b"RODIS0010").contains("signature"));
    let stream = err(&file(10, b"\x13\x06events\x00"));
    assert!(
        stream.contains("'events'") && stream.contains("stream"),
        "{stream}"
    );
    let module = err(&file(10, b"\x07\x03mod\x00"));
    assert!(
        module.contains("'mod'") && module.contains("module"),
        "{module}"
    );
    assert!(err(&file(10, b"\xf7\x00")).contains("module"));
    assert_eq!(
        err(&file(10, b"\x00\x01k\x01v\x42")),
        "unknown type 0x42 at offset 14"
    );
    let mut bad = file(10, b"\x00\x01k\x01v");
    let n = bad.len();
    bad[n - 1] ^= 1;
    assert!(err(&bad).starts_with("bad RDB checksum"));
    assert!(err(&file(10, b"\x02\x01s\x02\x01a\x01a")).contains("duplicate set member"));
    let lp = err(&file(10, b"\x10\x01h\x08\x07\x00\x00\x00\x00\x00\xff\xff"));
    assert!(lp.contains("corrupt hash listpack at offset 12"), "{lp}");
    // FUNCTION2 records are passed on.
    let f = read_all(&file(10, b"\xf5\x04code")).unwrap();
    assert!(matches!(&f[0], Event::Function { code } if code == "code"));
}

#[test]
fn truncated_and_flipped_input_errors_without_panic() {
    let samples = samples();
    let db0: Vec<_> = samples
        .iter()
        .enumerate()
        .filter(|(_, (v, _))| v.as_list().is_none_or(|l| l.len() <= 100))
        .map(|(i, (v, _))| {
            (
                ["a", "b", "c", "d", "e", "f", "g", "h"][i % 8],
                v.clone(),
                Some(5),
            )
        })
        .collect();
    let bytes = snapshot_bytes(&[(0, db0)]);
    for cut in 0..bytes.len() {
        assert!(
            read_all(&bytes[..cut]).is_err(),
            "prefix of {cut} bytes accepted"
        );
    }
    // Flip bits: the checksum catches what the structure does not; nothing panics.
    for i in (9..bytes.len()).step_by(7) {
        let mut bad = bytes.clone();
        bad[i] ^= 1 << (i % 8);
        assert!(read_all(&bad).is_err(), "flip at {i} accepted");
    }
    for (value, _) in &samples {
        let payload = dump_payload(value);
        for cut in 0..payload.len() {
            assert!(restore_payload(&payload[..cut], b"k").is_err());
        }
        // With a recomputed checksum, corrupt values reach the decoder.
        let body = payload.len() - 10;
        for i in (0..body).step_by(3) {
            let mut bad = payload[..body + 2].to_vec();
            bad[i] ^= 0x55;
            let crc = crc64::crc64(0, &bad);
            bad.extend_from_slice(&crc.to_le_bytes());
            let _ = restore_payload(&bad, b"k");
        }
    }
}

fn element() -> impl Strategy<Value = Bytes> + Clone {
    prop_oneof![
        any::<i64>().prop_map(|n| Bytes::from(n.to_string())),
        (0i64..200).prop_map(|n| Bytes::from(n.to_string())),
        proptest::collection::vec(any::<u8>(), 0..80).prop_map(Bytes::from),
        (1usize..3000, any::<u8>()).prop_map(|(n, c)| Bytes::from(vec![c; n])),
        "[a-c]{0,30}".prop_map(Bytes::from),
    ]
}

fn score() -> impl Strategy<Value = f64> + Clone {
    prop_oneof![
        any::<f64>().prop_filter("not NaN", |f| !f.is_nan()),
        (-1000i64..1000).prop_map(|n| n as f64),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ]
}

/// Collections both under and over the compact-encoding limits.
fn sized<S: Strategy + Clone>(element: S) -> impl Strategy<Value = Vec<S::Value>> {
    prop_oneof![
        proptest::collection::vec(element.clone(), 1..20),
        proptest::collection::vec(element, 1..700),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let int = any::<i64>().prop_map(|n| Bytes::from(n.to_string()));
    prop_oneof![
        element().prop_map(|e| Value::string(&e)),
        sized(element()).prop_map(|v| Value::from_list(v.into())),
        sized(int).prop_map(|v| {
            let mut s = MemberSet::default();
            s.extend(v);
            settled(Value::from_set(s))
        }),
        sized(element()).prop_map(|v| {
            let mut s = MemberSet::default();
            s.extend(v);
            settled(Value::from_set(s))
        }),
        sized((element(), element())).prop_map(|v| {
            let mut h = FieldMap::default();
            h.extend(v);
            settled(Value::from_hash(h))
        }),
        sized((element(), score())).prop_map(|v| {
            let mut z = SortedSet::default();
            for (m, s) in v {
                z.insert(m, s);
            }
            settled(Value::from_zset(z))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_values_round_trip(v in value()) {
        let back = restore_payload(&dump_payload(&v), b"k").unwrap();
        prop_assert_eq!(canon(&back), canon(&v));
        let bytes = snapshot_bytes(&[(2, vec![("k", v.clone(), Some(99))])]);
        let keys = keys_of(&read_all(&bytes).unwrap());
        prop_assert_eq!(keys.len(), 1);
        prop_assert_eq!(&keys[0].2, &canon(&v));
        prop_assert_eq!(keys[0].3, Some(99));
    }

    #[test]
    fn lzf_round_trips(data in proptest::collection::vec(prop_oneof![Just(b'a'), any::<u8>()], 0..5000)) {
        if let Some(c) = lzf::compress(&data, data.len() + 64) {
            prop_assert_eq!(lzf::decompress(&c, data.len()).unwrap(), data);
        }
    }
}

/// Writes `db` as the only database with `saved` access records, and reads it back.
fn written_with(db: &Db, saved: SavedAccess) -> Vec<Event> {
    let aux = AuxInfo {
        ctime: 0,
        used_mem: 0,
        repl: None,
        aof_base: false,
    };
    let bytes = write_snapshot(
        Vec::new(),
        &aux,
        [(0, db.snapshot())],
        saved,
        crate::rdb::Pace::default(),
    )
    .unwrap();
    read_all(&bytes).unwrap()
}

/// The access record of `key` among `events`.
fn access_of(events: &[Event], key: &[u8]) -> RecordedAccess {
    events
        .iter()
        .find_map(|e| match e {
            Event::Key(k) if &k.key[..] == key => Some(k.access),
            _ => None,
        })
        .expect("key written")
}

#[test]
fn snapshots_record_what_the_policy_evicts_by() {
    let lfu = AccessTracking::Lfu {
        log_factor: 10,
        decay_minutes: 1,
    };
    let mut db = Db::new();
    db.access = lfu;
    db.insert(b"new", Value::string(b"v"), 0);
    db.insert(b"hot", Value::string(b"v"), 0);
    db.set_access_stamp(b"hot", AccessTracking::with_frequency(0, 42));
    // Two minutes later the counters have decayed by two (lfu-decay-time 1), as Redis
    // writes LFUDecrAndReturn.
    db.clock_secs = 120;
    let events = written_with(&db, SavedAccess::Frequency);
    let freq = |f| RecordedAccess {
        idle_secs: None,
        freq: Some(f),
    };
    assert_eq!(access_of(&events, b"hot"), freq(40));
    assert_eq!(access_of(&events, b"new"), freq(3));
    let events = written_with(&db, SavedAccess::Nothing);
    assert_eq!(access_of(&events, b"hot"), RecordedAccess::default());

    let mut db = Db::new();
    db.insert(b"old", Value::string(b"v"), 0);
    db.clock_secs = 50;
    db.insert(b"young", Value::string(b"v"), 0);
    db.clock_secs = 70;
    let events = written_with(&db, SavedAccess::IdleTime);
    let idle = |s| RecordedAccess {
        idle_secs: Some(s),
        freq: None,
    };
    assert_eq!(access_of(&events, b"old"), idle(70));
    assert_eq!(access_of(&events, b"young"), idle(20));
}

#[test]
fn recorded_access_is_applied_as_the_policy_reads_it() {
    let recorded = RecordedAccess {
        idle_secs: Some(30),
        freq: Some(9),
    };
    let lru = AccessTracking::Lru;
    let stamp = lru.restored(recorded, 1000).unwrap();
    assert_eq!(crate::keyspace::access::idle_secs(stamp, 1000), 30);
    // An idle time longer than the server has been up wraps the 24-bit clock and still
    // reads back.
    let stamp = lru.restored(recorded, 10).unwrap();
    assert_eq!(crate::keyspace::access::idle_secs(stamp, 10), 30);
    let lfu = AccessTracking::Lfu {
        log_factor: 10,
        decay_minutes: 1,
    };
    let stamp = lfu.restored(recorded, 1000).unwrap();
    assert_eq!(lfu.frequency(stamp, 1000), 9);
    // What the tracking does not use was not recorded: the key counts as created.
    let only_idle = RecordedAccess {
        idle_secs: Some(30),
        freq: None,
    };
    assert_eq!(lfu.restored(only_idle, 1000), None);
    assert_eq!(lru.restored(RecordedAccess::default(), 1000), None);
}
