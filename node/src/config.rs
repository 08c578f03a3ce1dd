//! Configuration: the directive table, redis.conf parsing, command-line overrides, and the
//! checks behind CONFIG GET / SET / REWRITE.
//!
//! Every directive redis-server 7.0 knows that tandem accepts is listed in [`DIRECTIVES`]
//! with its kind, default and whether it can change at runtime. Values are kept in their
//! canonical text form (what CONFIG GET prints: memory in bytes, booleans as yes/no), and
//! validated once when set, so readers parse known-good text.

use std::collections::HashMap;
use std::path::PathBuf;

/// How a directive's value is written and checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bool,
    /// An integer within bounds.
    Int(i64, i64),
    /// A byte count that accepts unit suffixes (`kb`, `mb`, `gb`, ...).
    Memory,
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Free text (file names, passwords).
    Str,
    /// Keyspace event classes (`notify-keyspace-events`), stored as Redis writes them.
    EventClasses,
    /// Several arguments with their own syntax (save, bind, client-output-buffer-limit...).
    Special,
}

/// One directive: its name, aliases, kind, default and mutability.
#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// False for directives Redis only reads at start-up.
    pub mutable: bool,
    /// True for secrets that must not appear in logs.
    pub sensitive: bool,
}

const fn d(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: true,
        sensitive: false,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind,
        default,
        mutable: false,
        sensitive: false,
    }
}

const fn aka(
    name: &'static str,
    alias: &'static str,
    kind: Kind,
    default: &'static str,
) -> Directive {
    Directive {
        name,
        alias: Some(alias),
        kind,
        default,
        mutable: true,
        sensitive: false,
    }
}

const fn secret(name: &'static str) -> Directive {
    Directive {
        name,
        alias: None,
        kind: Kind::Str,
        default: "",
        mutable: true,
        sensitive: true,
    }
}

const B: Kind = Kind::Bool;
const M: Kind = Kind::Memory;
const S: Kind = Kind::Str;
const X: Kind = Kind::Special;
const U: Kind = Kind::Int(0, i32::MAX as i64);
const L: Kind = Kind::Int(0, i64::MAX);
const YES_NO_LOCAL: Kind = Kind::Enum(&["no", "yes", "local"]);

/// The directives tandem accepts, with Redis 7.0's defaults.
pub static DIRECTIVES: &[Directive] = &[
    // Network
    d("bind", X, "* -::*"),
    d("port", Kind::Int(0, 65535), "6379"),
    d("protected-mode", B, "yes"),
    fixed("tcp-backlog", U, "511"),
    d("timeout", U, "0"),
    d("tcp-keepalive", U, "300"),
    fixed("unixsocket", S, ""),
    fixed("unixsocketperm", U, "0"),
    d("maxclients", Kind::Int(1, i32::MAX as i64), "10000"),
    // General
    fixed("daemonize", B, "no"),
    fixed(
        "supervised",
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    fixed("pidfile", S, ""),
    d(
        "loglevel",
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
        "notice",
    ),
    fixed("logfile", S, ""),
    fixed("syslog-enabled", B, "no"),
    fixed("syslog-ident", S, "redis"),
    fixed("syslog-facility", S, "local0"),
    fixed("databases", Kind::Int(1, i32::MAX as i64), "16"),
    fixed("always-show-logo", B, "no"),
    fixed("set-proc-title", B, "yes"),
    fixed(
        "proc-title-template",
        S,
        "{title} {listen-addr} {server-mode}",
    ),
    d("hz", Kind::Int(1, 500), "10"),
    d("dynamic-hz", B, "yes"),
    d("busy-poll-us", Kind::Int(0, 1_000_000), "50"),
    fixed("io-threads", Kind::Int(1, 128), "1"),
    fixed("io-threads-do-reads", B, "no"),
    d("crash-log-enabled", B, "yes"),
    d("crash-memcheck-enabled", B, "yes"),
    fixed("disable-thp", B, "yes"),
    fixed("enable-protected-configs", YES_NO_LOCAL, "no"),
    fixed("enable-debug-command", YES_NO_LOCAL, "no"),
    fixed("enable-module-command", YES_NO_LOCAL, "no"),
    d(
        "oom-score-adj",
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    ),
    d("oom-score-adj-values", X, "0 200 800"),
    d("shutdown-timeout", U, "10"),
    d("shutdown-on-sigint", S, "default"),
    d("shutdown-on-sigterm", S, "default"),
    d("latency-tracking", B, "yes"),
    d("latency-tracking-info-percentiles", X, "50 99 99.9"),
    // Snapshotting
    d("save", X, "3600 1 300 100 60 10000"),
    d("stop-writes-on-bgsave-error", B, "yes"),
    d("rdbcompression", B, "yes"),
    d("rdbchecksum", B, "yes"),
    d(
        "sanitize-dump-payload",
        Kind::Enum(&["no", "yes", "clients"]),
        "no",
    ),
    d("dbfilename", S, "dump.rdb"),
    d("rdb-del-sync-files", B, "no"),
    d("dir", S, "."),
    d(
        "rdb-key-save-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        "0",
    ),
    d(
        "key-load-delay",
        Kind::Int(i32::MIN as i64, i32::MAX as i64),
        "0",
    ),
    // Replication
    aka("replicaof", "slaveof", X, ""),
    secret("masterauth"),
    secret("masteruser"),
    aka(
        "replica-serve-stale-data",
        "slave-serve-stale-data",
        B,
        "yes",
    ),
    aka("replica-read-only", "slave-read-only", B, "yes"),
    d("repl-diskless-sync", B, "yes"),
    d("repl-diskless-sync-delay", U, "5"),
    d("repl-diskless-sync-max-replicas", U, "0"),
    d(
        "repl-diskless-load",
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
        "disabled",
    ),
    aka(
        "repl-ping-replica-period",
        "repl-ping-slave-period",
        Kind::Int(1, i32::MAX as i64),
        "10",
    ),
    d("repl-timeout", Kind::Int(1, i32::MAX as i64), "60"),
    d("repl-disable-tcp-nodelay", B, "no"),
    d("repl-backlog-size", M, "1048576"),
    d("repl-backlog-ttl", U, "3600"),
    aka("replica-priority", "slave-priority", U, "100"),
    d("replica-announced", B, "yes"),
    aka("min-replicas-to-write", "min-slaves-to-write", U, "0"),
    aka("min-replicas-max-lag", "min-slaves-max-lag", U, "10"),
    aka("replica-announce-ip", "slave-announce-ip", S, ""),
    d("bind-source-addr", S, ""),
    aka(
        "replica-announce-port",
        "slave-announce-port",
        Kind::Int(0, 65535),
        "0",
    ),
    d("replica-ignore-maxmemory", B, "yes"),
    d("replica-lazy-flush", B, "no"),
    d(
        "propagation-error-behavior",
        Kind::Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    d("replica-ignore-disk-write-errors", B, "no"),
    // Security
    secret("requirepass"),
    secret("requirepass-hash"),
    fixed("aclfile", S, ""),
    d("acllog-max-len", U, "128"),
    d(
        "acl-pubsub-default",
        Kind::Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    // Clients and memory
    d("maxmemory", M, "0"),
    d(
        "maxmemory-policy",
        Kind::Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    d("maxmemory-samples", Kind::Int(1, 64), "5"),
    d("maxmemory-eviction-tenacity", Kind::Int(0, 100), "10"),
    d("lfu-log-factor", U, "10"),
    d("lfu-decay-time", U, "1"),
    d("maxmemory-clients", M, "0"),
    d(
        "client-output-buffer-limit",
        X,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    d("client-query-buffer-limit", M, "1073741824"),
    d("proto-max-bulk-len", M, "536870912"),
    d("lazyfree-lazy-eviction", B, "no"),
    d("lazyfree-lazy-expire", B, "no"),
    d("lazyfree-lazy-server-del", B, "no"),
    d("lazyfree-lazy-user-del", B, "no"),
    d("lazyfree-lazy-user-flush", B, "no"),
    d("active-expire-effort", Kind::Int(1, 10), "1"),
    d("tracking-table-max-keys", L, "1000000"),
    // Append only file
    d("appendonly", B, "no"),
    fixed("appendfilename", S, "appendonly.aof"),
    fixed("appenddirname", S, "appendonlydir"),
    d(
        "appendfsync",
        Kind::Enum(&["everysec", "always", "no"]),
        "everysec",
    ),
    d("no-appendfsync-on-rewrite", B, "no"),
    d("auto-aof-rewrite-percentage", U, "100"),
    d("auto-aof-rewrite-min-size", M, "67108864"),
    d("aof-load-truncated", B, "yes"),
    d("aof-use-rdb-preamble", B, "yes"),
    d("aof-timestamp-enabled", B, "no"),
    d("aof-rewrite-incremental-fsync", B, "yes"),
    d("rdb-save-incremental-fsync", B, "yes"),
    // Logs and monitoring
    d("slowlog-log-slower-than", Kind::Int(-1, i64::MAX), "10000"),
    d("slowlog-max-len", U, "128"),
    d("latency-monitor-threshold", L, "0"),
    d("notify-keyspace-events", Kind::EventClasses, ""),
    d("busy-reply-threshold", Kind::Int(0, i64::MAX), "5000"),
    d("lua-time-limit", Kind::Int(0, i64::MAX), "5000"),
    // Encodings
    aka(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        U,
        "512",
    ),
    aka("hash-max-listpack-value", "hash-max-ziplist-value", U, "64"),
    aka(
        "list-max-listpack-size",
        "list-max-ziplist-size",
        Kind::Int(-5, i32::MAX as i64),
        "-2",
    ),
    d("list-compress-depth", U, "0"),
    d("set-max-intset-entries", U, "512"),
    aka(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        U,
        "128",
    ),
    aka("zset-max-listpack-value", "zset-max-ziplist-value", U, "64"),
    d("hll-sparse-max-bytes", M, "3000"),
    d("stream-node-max-bytes", M, "4096"),
    d("stream-node-max-entries", U, "100"),
    d("activerehashing", B, "yes"),
    d("activedefrag", B, "no"),
    d("active-defrag-ignore-bytes", M, "104857600"),
    d("active-defrag-threshold-lower", Kind::Int(0, 1000), "10"),
    d("active-defrag-threshold-upper", Kind::Int(0, 1000), "100"),
    d("active-defrag-cycle-min", Kind::Int(1, 99), "1"),
    d("active-defrag-cycle-max", Kind::Int(1, 99), "25"),
    d("active-defrag-max-scan-fields", L, "1000"),
    d("jemalloc-bg-thread", B, "yes"),
    // TLS
    d("tls-port", Kind::Int(0, 65535), "0"),
    d("tls-cert-file", S, ""),
    d("tls-key-file", S, ""),
    secret("tls-key-file-pass"),
    d("tls-client-cert-file", S, ""),
    d("tls-client-key-file", S, ""),
    secret("tls-client-key-file-pass"),
    d("tls-dh-params-file", S, ""),
    d("tls-ca-cert-file", S, ""),
    d("tls-ca-cert-dir", S, ""),
    d(
        "tls-auth-clients",
        Kind::Enum(&["no", "yes", "optional"]),
        "yes",
    ),
    d("tls-replication", B, "no"),
    d("tls-cluster", B, "no"),
    d("tls-protocols", S, ""),
    d("tls-ciphers", S, ""),
    d("tls-ciphersuites", S, ""),
    d("tls-prefer-server-ciphers", B, "no"),
    d("tls-session-caching", B, "yes"),
    d("tls-session-cache-size", U, "20480"),
    d("tls-session-cache-timeout", U, "300"),
    // tandem addition (as in Valkey 9 / Redis 8.6): `cn` makes a verified client
    // certificate's CN the user it authenticates as.
    d("tls-auth-clients-user", Kind::Enum(&["off", "cn"]), "off"),
    // tandem addition: seconds a client has to finish the TLS handshake.
    d("tls-handshake-timeout", Kind::Int(1, 3600), "10"),
];

/// Directives refused with an explanation rather than "unknown".
const REFUSED: &[(&str, &str)] = &[
    ("loadmodule", "modules are not supported by tandem"),
    (
        "user",
        "ACL users are not supported by tandem; use requirepass (or requirepass-hash)",
    ),
    (
        "cluster-enabled",
        "Redis Cluster is not supported by tandem",
    ),
];

pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// A configuration problem, with Redis's wording for CONFIG SET.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Bad directive or wrong number of arguments")]
    Unknown,
    #[error("{0}")]
    Refused(&'static str),
    #[error("wrong number of arguments")]
    Arity,
    #[error("argument must be 'yes' or 'no'")]
    NotBool,
    #[error("argument couldn't be parsed into an integer")]
    NotInteger,
    #[error("argument must be between {0} and {1} inclusive")]
    OutOfRange(i64, i64),
    #[error("argument must be a memory value")]
    NotMemory,
    #[error("argument(s) must be one of the following: {0}")]
    NotInEnum(String),
    #[error("Invalid {0} parameters")]
    BadSpecial(&'static str),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("can't set immutable config")]
    Immutable,
}

/// Parses a byte count the way Redis's `memtoull` does: `k`=1000, `kb`=1024, up to `gb`.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (digits, mul): (&str, u64) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|d| (d, *mul)))
    .unwrap_or((lower.as_str(), 1));
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(mul)
}

/// Checks `args` for directive `dir` and returns the canonical stored text.
pub fn canonical_value(dir: &Directive, args: &[String]) -> Result<String, ConfigError> {
    if dir.kind != Kind::Special && args.len() != 1 {
        return Err(ConfigError::Arity);
    }
    let v = args.first().map(String::as_str).unwrap_or("");
    match dir.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(ConfigError::NotBool),
        },
        Kind::Int(lo, hi) => {
            let n: i64 = v.parse().map_err(|_| ConfigError::NotInteger)?;
            if n < lo || n > hi {
                return Err(ConfigError::OutOfRange(lo, hi));
            }
            Ok(n.to_string())
        }
        Kind::Memory => {
            let n = parse_memory(v).ok_or(ConfigError::NotMemory)?;
            if n > i64::MAX as u64 {
                return Err(ConfigError::NotMemory);
            }
            Ok(n.to_string())
        }
        Kind::Enum(words) => {
            let lower = v.to_ascii_lowercase();
            if words.contains(&lower.as_str()) {
                Ok(lower)
            } else {
                Err(ConfigError::NotInEnum(words.join(", ")))
            }
        }
        Kind::Str => Ok(v.to_string()),
        // Kept as given: Redis's way of showing the classes (CONFIG GET) drops `n` when
        // `A` is set, and the stored value must keep it.
        Kind::EventClasses => match crate::notify::parse_flags(v) {
            Some(_) => Ok(v.to_string()),
            None => Err(ConfigError::Invalid(crate::notify::INVALID_FLAGS)),
        },
        Kind::Special => special_value(dir.name, args),
    }
}

fn special_value(name: &'static str, args: &[String]) -> Result<String, ConfigError> {
    // CONFIG SET passes multi-argument values as one space-separated string.
    let args: Vec<String> = if args.len() == 1 {
        args[0].split_whitespace().map(str::to_string).collect()
    } else {
        args.to_vec()
    };
    match name {
        "save" => {
            if args.len() == 1 && args[0].is_empty() || args.is_empty() {
                return Ok(String::new());
            }
            if !args.len().is_multiple_of(2) {
                return Err(ConfigError::BadSpecial("save"));
            }
            for a in &args {
                a.parse::<u64>()
                    .map_err(|_| ConfigError::BadSpecial("save"))?;
            }
            Ok(args.join(" "))
        }
        "bind" => {
            if args.is_empty() || args.len() > 16 {
                return Err(ConfigError::BadSpecial("bind"));
            }
            Ok(args.join(" "))
        }
        "replicaof" => match args.len() {
            0 => Ok(String::new()),
            2 if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") => {
                Ok(String::new())
            }
            2 => {
                args[1]
                    .parse::<u16>()
                    .map_err(|_| ConfigError::BadSpecial("replicaof"))?;
                Ok(args.join(" "))
            }
            _ => Err(ConfigError::Arity),
        },
        "latency-tracking-info-percentiles" => {
            let values =
                crate::stats::parse_percentiles(&args.join(" ")).map_err(ConfigError::Refused)?;
            Ok(values
                .iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(" "))
        }
        "oom-score-adj-values" => {
            if args.len() != 3 || args.iter().any(|a| a.parse::<i32>().is_err()) {
                return Err(ConfigError::BadSpecial("oom-score-adj-values"));
            }
            Ok(args.join(" "))
        }
        "client-output-buffer-limit" => {
            if args.is_empty() || !args.len().is_multiple_of(4) {
                return Err(ConfigError::Refused(
                    "Wrong number of arguments in buffer limit configuration.",
                ));
            }
            for chunk in args.chunks(4) {
                if OutputBufferClass::from_name(&chunk[0]).is_none() {
                    return Err(ConfigError::Refused(
                        "Invalid client class specified in buffer limit configuration.",
                    ));
                }
                if parse_memory(&chunk[1]).is_none()
                    || parse_memory(&chunk[2]).is_none()
                    || chunk[3].parse::<u64>().is_err()
                {
                    return Err(ConfigError::Refused(
                        "Error in hard, soft or soft_seconds setting in buffer limit configuration.",
                    ));
                }
            }
            Ok(args.join(" "))
        }
        _ => Ok(args.join(" ")),
    }
}

/// The client classes that have their own output buffer limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputBufferClass {
    Normal,
    Replica,
    Pubsub,
}

impl OutputBufferClass {
    fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "normal" => Some(Self::Normal),
            "slave" | "replica" => Some(Self::Replica),
            "pubsub" => Some(Self::Pubsub),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Replica => "slave",
            Self::Pubsub => "pubsub",
        }
    }
}

/// An output buffer limit: disconnect above `hard` bytes, or above `soft` for `soft_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputBufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// Where a directive came from, for start-up error messages.
#[derive(Debug, Clone)]
pub struct Origin {
    pub file: String,
    pub line: usize,
    pub text: String,
}

/// A start-up configuration error: file, line and reason.
#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (tandem {version}) ***\nReading the configuration file {file}, at line {line}\n>>> '{text}'\n{reason}")]
pub struct StartupError {
    pub version: &'static str,
    pub file: String,
    pub line: usize,
    pub text: String,
    pub reason: String,
}

/// The running configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: HashMap<&'static str, String>,
    /// Commands renamed (or disabled, when the new name is empty) by `rename-command`.
    pub renamed_commands: Vec<(String, String)>,
    /// The config file, when started with one (CONFIG REWRITE writes it back).
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: DIRECTIVES
                .iter()
                .map(|d| (d.name, d.default.to_string()))
                .collect(),
            renamed_commands: Vec::new(),
            file: None,
        }
    }
}

impl Config {
    /// Builds the configuration from `tandem [file] [--name value ...]` arguments.
    pub fn from_args(args: &[String]) -> Result<Config, StartupError> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                let text = if first == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                        startup_error("stdin", 0, "", &format!("cannot read stdin: {e}"))
                    })?;
                    s
                } else {
                    std::fs::read_to_string(&path).map_err(|e| {
                        startup_error(
                            first,
                            0,
                            "",
                            &format!("Fatal error, can't open config file '{first}': {e}"),
                        )
                    })?
                };
                config.load_text(&text, first, 0)?;
                if first != "-" {
                    config.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
                }
                rest = &args[1..];
            }
        }
        // Command-line options become config lines, as redis-server does.
        let mut lines = String::new();
        for arg in rest {
            if let Some(name) = arg.strip_prefix("--") {
                if !lines.is_empty() {
                    lines.push('\n');
                }
                lines.push_str(name);
            } else {
                lines.push(' ');
                lines.push_str(&quote_arg(arg));
            }
        }
        config.load_text(&lines, "(command line)", 0)?;
        Ok(config)
    }

    /// Applies redis.conf text. `depth` bounds `include` recursion.
    pub fn load_text(&mut self, text: &str, file: &str, depth: u32) -> Result<(), StartupError> {
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let args = split_config_line(line).ok_or_else(|| {
                startup_error(
                    file,
                    line_no,
                    line,
                    "Unbalanced quotes in configuration line",
                )
            })?;
            if args.is_empty() {
                continue;
            }
            let name = args[0].to_ascii_lowercase();
            let values = &args[1..];
            match name.as_str() {
                "include" => {
                    if values.len() != 1 {
                        return Err(startup_error(
                            file,
                            line_no,
                            line,
                            "Bad directive or wrong number of arguments",
                        ));
                    }
                    if depth > 16 {
                        return Err(startup_error(
                            file,
                            line_no,
                            line,
                            "include nesting too deep",
                        ));
                    }
                    let inc = &values[0];
                    let text = std::fs::read_to_string(inc).map_err(|e| {
                        startup_error(
                            file,
                            line_no,
                            line,
                            &format!("cannot read included file '{inc}': {e}"),
                        )
                    })?;
                    self.load_text(&text, inc, depth + 1)?;
                }
                "rename-command" => {
                    if values.len() != 2 {
                        return Err(startup_error(
                            file,
                            line_no,
                            line,
                            "Bad directive or wrong number of arguments",
                        ));
                    }
                    self.renamed_commands.push((
                        values[0].to_ascii_lowercase(),
                        values[1].to_ascii_lowercase(),
                    ));
                }
                "client-output-buffer-limit" => {
                    // Each line sets one class; merge into the stored three-class value.
                    let merged = self
                        .merge_output_buffer_limit(values)
                        .map_err(|e| startup_error(file, line_no, line, &e.to_string()))?;
                    self.values.insert("client-output-buffer-limit", merged);
                }
                _ => {
                    if let Some((_, why)) = REFUSED.iter().find(|(n, _)| *n == name) {
                        return Err(startup_error(file, line_no, line, why));
                    }
                    let dir = find(&name).ok_or_else(|| {
                        startup_error(
                            file,
                            line_no,
                            line,
                            "Bad directive or wrong number of arguments",
                        )
                    })?;
                    let value = canonical_value(dir, values)
                        .map_err(|e| startup_error(file, line_no, line, &e.to_string()))?;
                    self.values.insert(dir.name, value);
                }
            }
        }
        Ok(())
    }

    fn merge_output_buffer_limit(&self, args: &[String]) -> Result<String, ConfigError> {
        let dir = find("client-output-buffer-limit").expect("in table");
        canonical_value(dir, args)?;
        let mut limits = self.output_buffer_limits();
        let args: Vec<String> = if args.len() == 1 {
            args[0].split_whitespace().map(str::to_string).collect()
        } else {
            args.to_vec()
        };
        for chunk in args.chunks(4) {
            let class = OutputBufferClass::from_name(&chunk[0]).expect("validated");
            let limit = OutputBufferLimit {
                hard: parse_memory(&chunk[1]).expect("validated"),
                soft: parse_memory(&chunk[2]).expect("validated"),
                soft_secs: chunk[3].parse().expect("validated"),
            };
            limits
                .iter_mut()
                .find(|(c, _)| *c == class)
                .expect("all classes")
                .1 = limit;
        }
        Ok(limits
            .iter()
            .map(|(c, l)| format!("{} {} {} {}", c.name(), l.hard, l.soft, l.soft_secs))
            .collect::<Vec<_>>()
            .join(" "))
    }

    /// The current value of a directive, in canonical text.
    pub fn get(&self, name: &str) -> &str {
        let dir = find(name).unwrap_or_else(|| panic!("directive {name} is not in the table"));
        self.values.get(dir.name).map(String::as_str).unwrap_or("")
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_u64(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// Sets a directive at runtime (CONFIG SET): checks mutability and value.
    pub fn set(&mut self, name: &str, value: &str) -> Result<&'static Directive, ConfigError> {
        let dir = find(name).ok_or(ConfigError::Unknown)?;
        if !dir.mutable {
            return Err(ConfigError::Immutable);
        }
        let canonical = if dir.name == "client-output-buffer-limit" {
            self.merge_output_buffer_limit(&[value.to_string()])?
        } else {
            canonical_value(dir, &[value.to_string()])?
        };
        self.values.insert(dir.name, canonical);
        Ok(dir)
    }

    /// `(name, value)` pairs whose name matches the glob, for CONFIG GET.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for dir in DIRECTIVES {
            let names = std::iter::once(dir.name).chain(dir.alias);
            for name in names {
                if crate::keyspace::glob_match(pattern, name.as_bytes(), true)
                    && !out.iter().any(|(n, _)| *n == name)
                {
                    let stored = self.values.get(dir.name).cloned().unwrap_or_default();
                    let value = if dir.name == "dir" {
                        std::env::current_dir()
                            .map(|p| p.display().to_string())
                            .unwrap_or_default()
                    } else if dir.kind == Kind::EventClasses {
                        crate::notify::parse_flags(&stored)
                            .map(crate::notify::flags_to_string)
                            .unwrap_or_default()
                    } else {
                        stored
                    };
                    out.push((name, value));
                }
            }
        }
        out
    }

    /// The output buffer limit of each client class.
    pub fn output_buffer_limits(&self) -> [(OutputBufferClass, OutputBufferLimit); 3] {
        let mut out = [
            (OutputBufferClass::Normal, OutputBufferLimit::default()),
            (OutputBufferClass::Replica, OutputBufferLimit::default()),
            (OutputBufferClass::Pubsub, OutputBufferLimit::default()),
        ];
        let text = self.get("client-output-buffer-limit");
        let parts: Vec<&str> = text.split_whitespace().collect();
        for chunk in parts.chunks(4) {
            if chunk.len() != 4 {
                continue;
            }
            if let Some(class) = OutputBufferClass::from_name(chunk[0]) {
                let limit = OutputBufferLimit {
                    hard: parse_memory(chunk[1]).unwrap_or(0),
                    soft: parse_memory(chunk[2]).unwrap_or(0),
                    soft_secs: chunk[3].parse().unwrap_or(0),
                };
                out.iter_mut()
                    .find(|(c, _)| *c == class)
                    .expect("all classes")
                    .1 = limit;
            }
        }
        out
    }

    pub fn output_buffer_limit(&self, class: OutputBufferClass) -> OutputBufferLimit {
        self.output_buffer_limits()
            .into_iter()
            .find(|(c, _)| *c == class)
            .map(|(_, l)| l)
            .unwrap_or_default()
    }

    /// The configuration file text CONFIG REWRITE writes: the original lines with changed
    /// directives replaced in place, then the directives that differ from their default
    /// (every other directive with `force_all`, as DEBUG CONFIG-REWRITE-FORCE-ALL asks).
    pub fn rewrite_text(&self, original: &str, force_all: bool) -> String {
        let mut written: Vec<&'static str> = Vec::new();
        let mut out = Vec::new();
        const MARKER: &str = "# Generated by CONFIG REWRITE";
        for raw in original.lines() {
            if raw.trim() == MARKER {
                break;
            }
            let name = raw
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            let dir = if raw.trim_start().starts_with('#') {
                None
            } else {
                find(&name)
            };
            match dir {
                Some(dir)
                    if dir.kind != Kind::Special
                        || dir.name == "save"
                        || dir.name == "bind"
                        || dir.name == "replicaof" =>
                {
                    if written.contains(&dir.name) {
                        continue;
                    }
                    written.push(dir.name);
                    if let Some(line) = self.directive_line(dir) {
                        out.push(line);
                    }
                }
                Some(dir) if dir.name == "client-output-buffer-limit" => {
                    if !written.contains(&dir.name) {
                        written.push(dir.name);
                        out.extend(self.output_buffer_lines());
                    }
                }
                _ => out.push(raw.to_string()),
            }
        }
        let mut extra = Vec::new();
        for dir in DIRECTIVES {
            if written.contains(&dir.name) {
                continue;
            }
            if force_all || self.values.get(dir.name).map(String::as_str) != Some(dir.default) {
                if dir.name == "client-output-buffer-limit" {
                    extra.extend(self.output_buffer_lines());
                } else if let Some(line) = self.directive_line(dir) {
                    extra.push(line);
                }
            }
        }
        if !extra.is_empty() {
            out.push(MARKER.to_string());
            out.extend(extra);
        }
        let mut text = out.join("\n");
        text.push('\n');
        text
    }

    fn directive_line(&self, dir: &Directive) -> Option<String> {
        let value = self.values.get(dir.name)?;
        match dir.name {
            "save" if value.is_empty() => Some("save \"\"".into()),
            "replicaof" if value.is_empty() => None,
            "save" | "bind" | "replicaof" | "oom-score-adj-values" => {
                Some(format!("{} {}", dir.name, value))
            }
            _ => Some(format!("{} {}", dir.name, quote_arg(value))),
        }
    }

    fn output_buffer_lines(&self) -> Vec<String> {
        self.output_buffer_limits()
            .iter()
            .map(|(c, l)| {
                format!(
                    "client-output-buffer-limit {} {} {} {}",
                    c.name(),
                    l.hard,
                    l.soft,
                    l.soft_secs
                )
            })
            .collect()
    }

    /// Writes the rewritten configuration to its file atomically (see
    /// [`Config::rewrite_text`]).
    pub fn rewrite(&self, force_all: bool) -> std::io::Result<()> {
        let path = self
            .file
            .as_ref()
            .ok_or_else(|| std::io::Error::other("The server is running without a config file"))?;
        let original = std::fs::read_to_string(path).unwrap_or_default();
        let text = self.rewrite_text(&original, force_all);
        crate::atomic_file::write_bytes(path, text.as_bytes())
    }
}

fn startup_error(file: &str, line: usize, text: &str, reason: &str) -> StartupError {
    StartupError {
        version: crate::VERSION,
        file: file.to_string(),
        line,
        text: text.to_string(),
        reason: reason.to_string(),
    }
}

/// Quotes a value for a config line when it needs it.
fn quote_arg(value: &str) -> String {
    if !value.is_empty()
        && !value
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b == b'"' || b == b'\'' || b == b'\\')
    {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits a config line into arguments with redis.conf quoting rules.
fn split_config_line(line: &str) -> Option<Vec<String>> {
    crate::resp::split_args(line.as_bytes()).ok().map(|args| {
        args.into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_args(&[
            "--port".into(),
            "7000".into(),
            "--replicaof".into(),
            "db1".into(),
            "6379".into(),
        ])
        .unwrap();
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.get("replicaof"), "db1 6379");
        assert_eq!(c.get("databases"), "16");
        assert_eq!(c.get("proto-max-bulk-len"), "536870912");
    }

    #[test]
    fn tutorial_config_loads() {
        let mut c = Config::default();
        c.load_text("# Bind\nbind 0.0.0.0\nrequirepass mypassword\nappendonly yes\nreplicaof redis-master 6379\nmasterauth mypassword\n", "redis.conf", 0)
            .unwrap();
        assert_eq!(c.get("requirepass"), "mypassword");
        assert!(c.get_bool("appendonly"));
        assert_eq!(c.get("slaveof"), "redis-master 6379");
    }

    #[test]
    fn unknown_directive_names_file_line_and_reason() {
        let mut c = Config::default();
        let err = c
            .load_text("port 6379\nfrobnicate yes\n", "my.conf", 0)
            .unwrap_err();
        assert_eq!(err.file, "my.conf");
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("Bad directive"));
        let err = c.load_text("maxmemory lots\n", "my.conf", 0).unwrap_err();
        assert!(err.reason.contains("memory value"), "{}", err.reason);
        let err = c.load_text("port 70000\n", "my.conf", 0).unwrap_err();
        assert!(err.reason.contains("between 0 and 65535"));
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("512MB"), Some(512 << 20));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
    }

    #[test]
    fn output_buffer_limit_lines_merge() {
        let mut c = Config::default();
        c.load_text(
            "client-output-buffer-limit replica 512mb 128mb 30\n",
            "f",
            0,
        )
        .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            "normal 0 0 0 slave 536870912 134217728 30 pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn rewrite_keeps_comments_and_updates_values() {
        let mut c = Config::default();
        let original = "# my config\nport 6379\nport 6380\nmaxmemory 10mb\n";
        c.load_text(original, "f", 0).unwrap();
        c.set("port", "7777").unwrap();
        c.set("appendonly", "yes").unwrap();
        let text = c.rewrite_text(original, false);
        assert_eq!(
            text,
            "# my config\nport 7777\nmaxmemory 10485760\n# Generated by CONFIG REWRITE\nappendonly yes\n"
        );
        let mut again = Config::default();
        again.load_text(&text, "f", 0).unwrap();
        assert_eq!(again.get("port"), "7777");
    }

    #[test]
    fn immutable_and_unknown_on_set() {
        let mut c = Config::default();
        assert_eq!(c.set("databases", "4").unwrap_err(), ConfigError::Immutable);
        assert_eq!(c.set("nope", "4").unwrap_err(), ConfigError::Unknown);
        assert_eq!(
            c.set("appendonly", "maybe").unwrap_err(),
            ConfigError::NotBool
        );
    }
}
