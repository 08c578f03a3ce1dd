//! The slow log: commands that ran for at least `slowlog-log-slower-than` microseconds,
//! newest first, at most `slowlog-max-len` of them, as SLOWLOG GET reports them.

use std::collections::VecDeque;

use bytes::Bytes;

/// Arguments kept per entry; the last one kept says how many more there were.
const MAX_ARGS: usize = 32;
/// Bytes kept per argument; the rest is summarised.
const MAX_ARG_BYTES: usize = 128;

/// One logged command.
#[derive(Debug, Clone)]
pub struct SlowLogEntry {
    pub id: u64,
    /// Unix time, seconds.
    pub time: u64,
    pub duration_usec: u64,
    pub args: Vec<Bytes>,
    /// `ip:port` of the client.
    pub peer: String,
    pub client_name: Bytes,
}

/// The log and its two settings.
#[derive(Debug)]
pub struct SlowLog {
    entries: VecDeque<SlowLogEntry>,
    next_id: u64,
    /// Negative disables the log.
    slower_than_usec: i64,
    max_len: usize,
}

impl Default for SlowLog {
    fn default() -> Self {
        SlowLog {
            entries: VecDeque::new(),
            next_id: 0,
            slower_than_usec: 10_000,
            max_len: 128,
        }
    }
}

/// Who ran a command, for its entry.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub peer: &'a str,
    pub name: Option<&'a Bytes>,
}

impl SlowLog {
    /// Applies `slowlog-log-slower-than` and `slowlog-max-len` (a shorter maximum takes
    /// effect with the next command considered for the log, as in Redis).
    pub fn configure(&mut self, slower_than_usec: i64, max_len: usize) {
        self.slower_than_usec = slower_than_usec;
        self.max_len = max_len;
    }

    /// `slowlog-log-slower-than`, microseconds (negative: the log is off).
    pub fn slower_than_usec(&self) -> i64 {
        self.slower_than_usec
    }

    /// Drops the oldest entries beyond `slowlog-max-len`, as Redis does for every command
    /// it considers while the log is enabled.
    pub fn trim(&mut self) {
        if self.slower_than_usec >= 0 {
            self.entries.truncate(self.max_len);
        }
    }

    /// Whether a command that ran `duration_usec` belongs in the log.
    pub fn is_slow(&self, duration_usec: u64) -> bool {
        self.slower_than_usec >= 0 && duration_usec >= self.slower_than_usec as u64
    }

    /// Logs a command already found slow. `redacted(i)` says which arguments are secrets
    /// (passwords) to log as `(redacted)`.
    pub fn push(
        &mut self,
        args: &[Bytes],
        redacted: impl Fn(usize) -> bool,
        duration_usec: u64,
        time: u64,
        caller: Caller,
    ) {
        let kept = args.len().min(MAX_ARGS);
        let args = (0..kept)
            .map(|i| {
                if kept < args.len() && i == kept - 1 {
                    Bytes::from(format!("... ({} more arguments)", args.len() - kept + 1))
                } else if redacted(i) {
                    Bytes::from_static(b"(redacted)")
                } else {
                    truncated(&args[i])
                }
            })
            .collect();
        self.entries.push_front(SlowLogEntry {
            id: self.next_id,
            time,
            duration_usec,
            args,
            peer: caller.peer.to_string(),
            client_name: caller.name.cloned().unwrap_or_default(),
        });
        self.next_id += 1;
        self.entries.truncate(self.max_len);
    }

    /// The newest `count` entries.
    pub fn newest(&self, count: usize) -> impl ExactSizeIterator<Item = &SlowLogEntry> {
        self.entries.iter().take(count)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// SLOWLOG RESET: empties the log (ids keep counting, as in Redis).
    pub fn reset(&mut self) {
        self.entries.clear();
    }
}

/// A copy of `arg` of at most MAX_ARG_BYTES, saying how much was cut (a copy, so the log
/// does not keep a client's whole input buffer alive).
fn truncated(arg: &Bytes) -> Bytes {
    if arg.len() <= MAX_ARG_BYTES {
        return Bytes::copy_from_slice(arg);
    }
    let mut v = arg[..MAX_ARG_BYTES].to_vec();
    v.extend_from_slice(format!("... ({} more bytes)", arg.len() - MAX_ARG_BYTES).as_bytes());
    Bytes::from(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller() -> Caller<'static> {
        Caller {
            peer: "127.0.0.1:5000",
            name: None,
        }
    }

    #[test]
    fn long_commands_are_summarised_as_redis_does() {
        let mut log = SlowLog::default();
        let args: Vec<Bytes> = (0..40).map(|i| Bytes::from(format!("a{i}"))).collect();
        log.push(&args, |_| false, 20_000, 1, caller());
        let e = log.newest(1).next().unwrap();
        assert_eq!(e.args.len(), 32);
        assert_eq!(e.args[30], Bytes::from("a30"));
        assert_eq!(e.args[31], Bytes::from("... (9 more arguments)"));

        let big = Bytes::from(vec![b'x'; 200]);
        log.push(&[Bytes::from("set"), big], |i| i == 0, 20_000, 1, caller());
        let e = log.newest(1).next().unwrap();
        assert_eq!(e.id, 1);
        assert_eq!(e.args[0], Bytes::from("(redacted)"));
        assert_eq!(e.args[1].len(), 128 + "... (72 more bytes)".len());
        assert!(e.args[1].ends_with(b"... (72 more bytes)"));
    }

    #[test]
    fn the_log_keeps_the_newest_entries() {
        let mut log = SlowLog::default();
        log.configure(0, 2);
        assert!(log.is_slow(0));
        for i in 0..3u64 {
            log.push(&[Bytes::from("ping")], |_| false, i, 1, caller());
        }
        let ids: Vec<u64> = log.newest(10).map(|e| e.id).collect();
        assert_eq!(ids, vec![2, 1]);
        log.configure(-1, 2);
        assert!(!log.is_slow(u64::MAX));
    }
}
