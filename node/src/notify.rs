//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0 sends them.
//!
//! Commands report events (`set`, `lpush`, `del`, `expired`...) with their class while
//! they run; the events wait in [`KeyspaceEvents`] under the engine lock and are published
//! after the command, in order, as ordinary pub/sub messages: for each event first
//! `__keyspace@<db>__:<key>` with the event as payload (flag `K`), then
//! `__keyevent@<db>__:<event>` with the key (flag `E`). Nothing is queued unless the
//! event's class is enabled, so with the default (empty) setting a command pays one test.
//! Events are not replicated: a replica reports those of the commands it applies.

use bytes::Bytes;

/// Event classes and the two delivery flags, with Redis's bit values.
pub mod class {
    pub const KEYSPACE: u16 = 1 << 0;
    pub const KEYEVENT: u16 = 1 << 1;
    pub const GENERIC: u16 = 1 << 2;
    pub const STRING: u16 = 1 << 3;
    pub const LIST: u16 = 1 << 4;
    pub const SET: u16 = 1 << 5;
    pub const HASH: u16 = 1 << 6;
    pub const ZSET: u16 = 1 << 7;
    pub const EXPIRED: u16 = 1 << 8;
    pub const EVICTED: u16 = 1 << 9;
    pub const STREAM: u16 = 1 << 10;
    pub const KEY_MISS: u16 = 1 << 11;
    pub const MODULE: u16 = 1 << 13;
    pub const NEW: u16 = 1 << 14;
    /// `A`: every class but key misses and new keys.
    pub const ALL: u16 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;
}

/// The classes in the order Redis writes them back (`n` only outside `A`, as Redis does).
const CLASS_CHARS: [(char, u16); 11] = [
    ('g', class::GENERIC),
    ('$', class::STRING),
    ('l', class::LIST),
    ('s', class::SET),
    ('h', class::HASH),
    ('z', class::ZSET),
    ('x', class::EXPIRED),
    ('e', class::EVICTED),
    ('t', class::STREAM),
    ('d', class::MODULE),
    ('n', class::NEW),
];

/// The reason CONFIG SET gives for a character that is not a class.
pub const INVALID_FLAGS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parses a `notify-keyspace-events` value; None if a character is not a class.
pub fn parse_flags(text: &str) -> Option<u16> {
    text.chars().try_fold(0u16, |flags, c| {
        let bit = match c {
            'A' => class::ALL,
            'K' => class::KEYSPACE,
            'E' => class::KEYEVENT,
            'm' => class::KEY_MISS,
            c => CLASS_CHARS.iter().find(|(ch, _)| *ch == c)?.1,
        };
        Some(flags | bit)
    })
}

/// The value CONFIG GET shows for `flags`: `A` or the classes, then `K`, `E`, `m` (`n`
/// only without `A`, as Redis shows it).
pub fn flags_to_string(flags: u16) -> String {
    let mut out = String::new();
    if flags & class::ALL == class::ALL {
        out.push('A');
    } else {
        out.extend(
            CLASS_CHARS
                .iter()
                .filter(|(_, bit)| flags & bit != 0)
                .map(|(c, _)| *c),
        );
    }
    for (c, bit) in [
        ('K', class::KEYSPACE),
        ('E', class::KEYEVENT),
        ('m', class::KEY_MISS),
    ] {
        if flags & bit != 0 {
            out.push(c);
        }
    }
    out
}

/// One event waiting to be published.
#[derive(Debug, Clone)]
struct Event {
    db: usize,
    name: &'static str,
    key: Bytes,
}

/// The enabled classes and the events of the running command.
#[derive(Debug, Default)]
pub struct KeyspaceEvents {
    flags: u16,
    pending: Vec<Event>,
}

impl KeyspaceEvents {
    pub fn configure(&mut self, flags: u16) {
        self.flags = flags;
    }

    /// Whether events of `class` are published at all (a class without `K` or `E`, or
    /// the other way round, publishes nothing).
    pub fn enabled(&self, class: u16) -> bool {
        self.flags & class != 0 && self.flags & (class::KEYSPACE | class::KEYEVENT) != 0
    }

    /// Queues event `name` of `class` on `key` in `db`, if that class is enabled.
    pub fn push(&mut self, class: u16, name: &'static str, db: usize, key: &[u8]) {
        if self.enabled(class) {
            self.pending.push(Event {
                db,
                name,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// Queues the `expired` event of `key`: next, or, when the lookup that expired it
    /// already reported the miss, just before that `keymiss` (the expiry came first).
    pub fn push_expired(&mut self, db: usize, key: &[u8]) {
        if self.enabled(class::EXPIRED) {
            let event = Event {
                db,
                name: "expired",
                key: Bytes::copy_from_slice(key),
            };
            let at = self
                .pending
                .iter()
                .position(|e| e.db == db && e.name == "keymiss" && e.key == key)
                .unwrap_or(self.pending.len());
            self.pending.insert(at, event);
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Publishes the waiting events, in order, through `publish(channel, payload)`.
    pub fn publish_pending(&mut self, mut publish: impl FnMut(&Bytes, &Bytes)) {
        for event in std::mem::take(&mut self.pending) {
            if self.flags & class::KEYSPACE != 0 {
                let channel = channel(b"__keyspace@", event.db, &event.key);
                publish(&channel, &Bytes::from_static(event.name.as_bytes()));
            }
            if self.flags & class::KEYEVENT != 0 {
                let channel = channel(b"__keyevent@", event.db, event.name.as_bytes());
                publish(&channel, &event.key);
            }
        }
    }
}

/// Publishes the events `state` collected (after a command, an expiry or eviction pass).
pub fn publish(server: &crate::server::Server, state: &mut crate::engine::EngineState) {
    // Keys created without an event of their own (BITFIELD with OVERFLOW FAIL...).
    if state.events.enabled(class::NEW) {
        for db in 0..state.dbs.len() {
            state.report_created(db);
        }
    }
    if state.events.has_pending() {
        // Read once for the batch, not per message.
        let limit = server.pubsub_output_limit();
        state.events.publish_pending(|channel, payload| {
            server.pubsub.publish(channel, payload, &limit);
        });
    }
}

/// `<prefix><db>__:<suffix>`.
fn channel(prefix: &[u8], db: usize, suffix: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(prefix.len() + 8 + suffix.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(db.to_string().as_bytes());
    out.extend_from_slice(b"__:");
    out.extend_from_slice(suffix);
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_read_back_as_redis_writes_them() {
        for (given, shown) in [
            ("", ""),
            ("KEA", "AKE"),
            ("gKE", "gKE"),
            ("$lshzxeKE", "$lshzxeKE"),
            ("KA", "AK"),
            ("EA", "AE"),
            ("mKE", "KEm"),
            ("KEAm", "AKEm"),
            ("Exg", "gxE"),
            ("g$lshzxetdKE", "AKE"),
            ("KEAn", "AKE"),
            ("KEn", "nKE"),
        ] {
            let flags = parse_flags(given).expect(given);
            assert_eq!(flags_to_string(flags), shown, "{given}");
        }
        assert_eq!(parse_flags("KEA "), None);
        assert_eq!(parse_flags("Kq"), None);
    }

    /// What `events` publishes now, as `channel payload` lines.
    fn published(events: &mut KeyspaceEvents) -> Vec<String> {
        let mut out = vec![];
        events.publish_pending(|c, p| out.push(format!("{c:?} {p:?}")));
        out
    }

    #[test]
    fn events_publish_keyspace_then_keyevent_only_when_enabled() {
        let mut events = KeyspaceEvents::default();
        events.configure(parse_flags("KEl").unwrap());
        events.push(class::STRING, "set", 0, b"s");
        events.push(class::LIST, "lpush", 3, b"l");
        events.push(class::KEY_MISS, "keymiss", 3, b"x");
        events.push_expired(3, b"x");
        assert_eq!(
            published(&mut events),
            [
                r#"b"__keyspace@3__:l" b"lpush""#,
                r#"b"__keyevent@3__:lpush" b"l""#,
            ]
        );
        events.configure(parse_flags("KEmx").unwrap());
        events.push(class::KEY_MISS, "keymiss", 3, b"x");
        events.push_expired(3, b"x");
        events.push_expired(3, b"y");
        assert_eq!(
            published(&mut events),
            [
                r#"b"__keyspace@3__:x" b"expired""#,
                r#"b"__keyevent@3__:expired" b"x""#,
                r#"b"__keyspace@3__:x" b"keymiss""#,
                r#"b"__keyevent@3__:keymiss" b"x""#,
                r#"b"__keyspace@3__:y" b"expired""#,
                r#"b"__keyevent@3__:expired" b"y""#,
            ]
        );
        assert!(!events.has_pending());
        events.configure(parse_flags("A").unwrap());
        events.push(class::LIST, "lpush", 0, b"l");
        assert!(!events.has_pending(), "no K or E: nothing to publish");
    }
}
