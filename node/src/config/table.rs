//! The directive table: every configuration directive of redis-server 7.0.15 (Debian's
//! build, TLS included) with its type, bounds, default and flags as Redis declares them,
//! and tandem's own additions.

/// How a directive's value is parsed and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `yes` / `no`.
    Bool,
    /// A strict decimal integer within bounds (Redis's INTEGER_CONFIG). Unsigned types
    /// have a lower bound of 0: a negative value is out of range, as in Redis.
    Int(i128, i128),
    /// A byte count with optional units (`kb`, `mb`...; MEMORY_CONFIG), within bounds.
    Memory(i128, i128),
    /// A byte count or a percentage of `maxmemory` (`10%`), as `maxmemory-clients` takes.
    MemoryOrPercent,
    /// An octal number up to the bound (`unixsocketperm`).
    Octal(u32),
    /// One of a fixed set of words.
    Enum(&'static [&'static str]),
    /// Any of a fixed set of words (`shutdown-on-sigint`), `default` for none.
    Flags(&'static [&'static str]),
    /// Free text.
    Str,
    /// Its own syntax (save, bind, client-output-buffer-limit...).
    Special,
}

/// Directive flags, as Redis's config table has them.
pub mod flag {
    /// CONFIG SET refuses it.
    pub const IMMUTABLE: u16 = 1;
    /// CONFIG SET needs `enable-protected-configs`.
    pub const PROTECTED: u16 = 1 << 1;
    /// Left out of CONFIG GET patterns (an exact name still finds it).
    pub const HIDDEN: u16 = 1 << 2;
    /// Its CONFIG SET value is redacted in the slow log and MONITOR.
    pub const SENSITIVE: u16 = 1 << 3;
    /// CONFIG SET is refused while the dataset loads.
    pub const DENY_LOADING: u16 = 1 << 4;
    /// Takes several arguments.
    pub const MULTI_ARG: u16 = 1 << 5;
    /// An empty string means unset: CONFIG REWRITE leaves it out.
    pub const EMPTY_IS_NULL: u16 = 1 << 6;
    /// CONFIG SET applies it even when the value does not change (TLS files, re-read).
    pub const VOLATILE: u16 = 1 << 7;
    /// Not a Redis directive: tandem's own.
    pub const TANDEM: u16 = 1 << 8;
}

/// One directive.
#[derive(Debug)]
pub struct Directive {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    pub flags: u16,
}

impl Directive {
    pub fn has(&self, flag: u16) -> bool {
        self.flags & flag != 0
    }

    pub fn mutable(&self) -> bool {
        !self.has(flag::IMMUTABLE)
    }

    pub fn sensitive(&self) -> bool {
        self.has(flag::SENSITIVE)
    }
}

use flag::*;
use Kind::*;

const I32: (i128, i128) = (i32::MIN as i128, i32::MAX as i128);
const INT_MAX: i128 = i32::MAX as i128;
const UINT_MAX: i128 = u32::MAX as i128;
const LLONG_MAX: i128 = i64::MAX as i128;
const ULLONG_MAX: i128 = u64::MAX as i128;
const YES_NO_LOCAL: &[&str] = &["no", "yes", "local"];
const SHUTDOWN_FLAGS: &[&str] = &["save", "nosave", "now", "force"];

const fn dir(
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    default: &'static str,
    flags: u16,
) -> Directive {
    Directive {
        name,
        alias,
        kind,
        default,
        flags,
    }
}

const fn b(name: &'static str, default: &'static str, flags: u16) -> Directive {
    dir(name, None, Bool, default, flags)
}

const fn s(name: &'static str, default: &'static str, flags: u16) -> Directive {
    dir(name, None, Str, default, flags)
}

const fn int(
    name: &'static str,
    min: i128,
    max: i128,
    default: &'static str,
    flags: u16,
) -> Directive {
    dir(name, None, Int(min, max), default, flags)
}

const fn mem(
    name: &'static str,
    min: i128,
    max: i128,
    default: &'static str,
    flags: u16,
) -> Directive {
    dir(name, None, Memory(min, max), default, flags)
}

const fn e(
    name: &'static str,
    words: &'static [&'static str],
    default: &'static str,
    flags: u16,
) -> Directive {
    dir(name, None, Enum(words), default, flags)
}

const fn special(name: &'static str, default: &'static str, flags: u16) -> Directive {
    dir(name, None, Special, default, flags)
}

/// Every directive, in Redis's table order, then tandem's additions.
pub static DIRECTIVES: &[Directive] = &[
    // Booleans.
    b("rdbchecksum", "yes", IMMUTABLE),
    b("daemonize", "no", IMMUTABLE),
    b("io-threads-do-reads", "no", IMMUTABLE),
    b("always-show-logo", "no", IMMUTABLE),
    b("protected-mode", "yes", 0),
    b("rdbcompression", "yes", 0),
    b("rdb-del-sync-files", "no", 0),
    b("activerehashing", "yes", 0),
    b("stop-writes-on-bgsave-error", "yes", 0),
    b("set-proc-title", "yes", IMMUTABLE),
    b("dynamic-hz", "yes", 0),
    b("lazyfree-lazy-eviction", "no", 0),
    b("lazyfree-lazy-expire", "no", 0),
    b("lazyfree-lazy-server-del", "no", 0),
    b("lazyfree-lazy-user-del", "no", 0),
    b("lazyfree-lazy-user-flush", "no", 0),
    b("repl-disable-tcp-nodelay", "no", 0),
    b("repl-diskless-sync", "yes", 0),
    b("aof-rewrite-incremental-fsync", "yes", 0),
    b("no-appendfsync-on-rewrite", "no", 0),
    b("cluster-require-full-coverage", "yes", 0),
    b("rdb-save-incremental-fsync", "yes", 0),
    b("aof-load-truncated", "yes", 0),
    b("aof-use-rdb-preamble", "yes", 0),
    b("aof-timestamp-enabled", "no", 0),
    dir(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        Bool,
        "no",
        0,
    ),
    dir(
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        Bool,
        "no",
        0,
    ),
    dir(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        Bool,
        "yes",
        0,
    ),
    dir("replica-read-only", Some("slave-read-only"), Bool, "yes", 0),
    dir(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        Bool,
        "yes",
        0,
    ),
    b("jemalloc-bg-thread", "yes", 0),
    b("activedefrag", "no", 0),
    b("syslog-enabled", "no", IMMUTABLE),
    b("cluster-enabled", "no", IMMUTABLE),
    b("appendonly", "no", DENY_LOADING),
    b("cluster-allow-reads-when-down", "no", 0),
    b("cluster-allow-pubsubshard-when-down", "yes", 0),
    b("crash-log-enabled", "yes", 0),
    b("crash-memcheck-enabled", "yes", 0),
    b("use-exit-on-panic", "no", HIDDEN),
    b("disable-thp", "yes", IMMUTABLE),
    b("cluster-allow-replica-migration", "yes", 0),
    b("replica-announced", "yes", 0),
    b("latency-tracking", "yes", 0),
    b("aof-disable-auto-gc", "no", 0),
    b("replica-ignore-disk-write-errors", "no", 0),
    b("lua-enable-deprecated-api", "no", IMMUTABLE | HIDDEN),
    // Strings.
    s("aclfile", "", IMMUTABLE),
    s("unixsocket", "", IMMUTABLE | EMPTY_IS_NULL),
    s("pidfile", "", IMMUTABLE | EMPTY_IS_NULL),
    dir(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        Str,
        "",
        EMPTY_IS_NULL,
    ),
    s("masteruser", "", SENSITIVE | EMPTY_IS_NULL),
    s("cluster-announce-ip", "", EMPTY_IS_NULL),
    s("cluster-config-file", "nodes.conf", IMMUTABLE),
    s("cluster-announce-hostname", "", EMPTY_IS_NULL),
    s("syslog-ident", "redis", IMMUTABLE),
    s("dbfilename", "dump.rdb", PROTECTED),
    s("appendfilename", "appendonly.aof", IMMUTABLE),
    s("appenddirname", "appendonlydir", IMMUTABLE),
    s("server_cpulist", "", IMMUTABLE | EMPTY_IS_NULL),
    s("bio_cpulist", "", IMMUTABLE | EMPTY_IS_NULL),
    s("aof_rewrite_cpulist", "", IMMUTABLE | EMPTY_IS_NULL),
    s("bgsave_cpulist", "", IMMUTABLE | EMPTY_IS_NULL),
    s("ignore-warnings", "", 0),
    s(
        "proc-title-template",
        "{title} {listen-addr} {server-mode}",
        0,
    ),
    s("bind-source-addr", "", EMPTY_IS_NULL),
    s("logfile", "", IMMUTABLE),
    s("masterauth", "", SENSITIVE | EMPTY_IS_NULL),
    s("requirepass", "", SENSITIVE | EMPTY_IS_NULL),
    // Enumerations.
    e(
        "supervised",
        &["upstart", "systemd", "auto", "no"],
        "no",
        IMMUTABLE,
    ),
    e(
        "syslog-facility",
        &[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ],
        "local0",
        IMMUTABLE,
    ),
    e(
        "repl-diskless-load",
        &["disabled", "on-empty-db", "swapdb"],
        "disabled",
        DENY_LOADING,
    ),
    e(
        "loglevel",
        &["debug", "verbose", "notice", "warning"],
        "notice",
        0,
    ),
    e(
        "maxmemory-policy",
        &[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ],
        "noeviction",
        0,
    ),
    e("appendfsync", &["everysec", "always", "no"], "everysec", 0),
    e(
        "oom-score-adj",
        &["no", "yes", "relative", "absolute"],
        "no",
        0,
    ),
    e(
        "acl-pubsub-default",
        &["allchannels", "resetchannels"],
        "resetchannels",
        0,
    ),
    e("sanitize-dump-payload", &["no", "yes", "clients"], "no", 0),
    e("enable-protected-configs", YES_NO_LOCAL, "no", IMMUTABLE),
    e("enable-debug-command", YES_NO_LOCAL, "no", IMMUTABLE),
    e("enable-module-command", YES_NO_LOCAL, "no", IMMUTABLE),
    e(
        "cluster-preferred-endpoint-type",
        &["ip", "hostname", "unknown-endpoint"],
        "ip",
        0,
    ),
    e(
        "propagation-error-behavior",
        &["ignore", "panic", "panic-on-replicas"],
        "ignore",
        0,
    ),
    dir(
        "shutdown-on-sigint",
        None,
        Flags(SHUTDOWN_FLAGS),
        "default",
        MULTI_ARG,
    ),
    dir(
        "shutdown-on-sigterm",
        None,
        Flags(SHUTDOWN_FLAGS),
        "default",
        MULTI_ARG,
    ),
    // Integers.
    int("databases", 1, INT_MAX, "16", IMMUTABLE),
    int("port", 0, 65535, "6379", 0),
    int("io-threads", 1, 128, "1", IMMUTABLE),
    int("auto-aof-rewrite-percentage", 0, INT_MAX, "100", 0),
    dir(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        Int(0, INT_MAX),
        "10",
        0,
    ),
    dir(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        Int(I32.0, I32.1),
        "-2",
        0,
    ),
    int("tcp-keepalive", 0, INT_MAX, "300", 0),
    int("cluster-migration-barrier", 0, INT_MAX, "1", 0),
    int("active-defrag-cycle-min", 1, 99, "1", 0),
    int("active-defrag-cycle-max", 1, 99, "25", 0),
    int("active-defrag-threshold-lower", 0, 1000, "10", 0),
    int("active-defrag-threshold-upper", 0, 1000, "100", 0),
    int("lfu-log-factor", 0, INT_MAX, "10", 0),
    int("lfu-decay-time", 0, INT_MAX, "1", 0),
    dir(
        "replica-priority",
        Some("slave-priority"),
        Int(0, INT_MAX),
        "100",
        0,
    ),
    int("repl-diskless-sync-delay", 0, INT_MAX, "5", 0),
    int("maxmemory-samples", 1, INT_MAX, "5", 0),
    int("maxmemory-eviction-tenacity", 0, 100, "10", 0),
    int("timeout", 0, INT_MAX, "0", 0),
    dir(
        "replica-announce-port",
        Some("slave-announce-port"),
        Int(0, 65535),
        "0",
        0,
    ),
    int("tcp-backlog", 0, INT_MAX, "511", IMMUTABLE),
    int("cluster-port", 0, 65535, "0", IMMUTABLE),
    int("cluster-announce-bus-port", 0, 65535, "0", 0),
    int("cluster-announce-port", 0, 65535, "0", 0),
    int("cluster-announce-tls-port", 0, 65535, "0", 0),
    int("repl-timeout", 1, INT_MAX, "60", 0),
    dir(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        Int(1, INT_MAX),
        "10",
        0,
    ),
    int("list-compress-depth", 0, INT_MAX, "0", 0),
    int("rdb-key-save-delay", I32.0, I32.1, "0", HIDDEN),
    int("key-load-delay", I32.0, I32.1, "0", HIDDEN),
    int("active-expire-effort", 1, 10, "1", 0),
    int("hz", 0, INT_MAX, "10", 0),
    dir(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        Int(0, INT_MAX),
        "0",
        0,
    ),
    dir(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        Int(0, INT_MAX),
        "10",
        0,
    ),
    int("watchdog-period", 0, INT_MAX, "0", HIDDEN),
    int("shutdown-timeout", 0, INT_MAX, "10", 0),
    int("repl-diskless-sync-max-replicas", 0, INT_MAX, "0", 0),
    int("maxclients", 1, UINT_MAX, "10000", 0),
    dir("unixsocketperm", None, Octal(0o777), "0", IMMUTABLE),
    int("socket-mark-id", 0, UINT_MAX, "0", IMMUTABLE),
    int("active-defrag-max-scan-fields", 1, LLONG_MAX, "1000", 0),
    int("slowlog-max-len", 0, LLONG_MAX, "128", 0),
    int("acllog-max-len", 0, LLONG_MAX, "128", 0),
    dir(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        Int(0, LLONG_MAX),
        "5000",
        0,
    ),
    int("cluster-node-timeout", 0, LLONG_MAX, "15000", 0),
    int("slowlog-log-slower-than", -1, LLONG_MAX, "10000", 0),
    int("latency-monitor-threshold", 0, LLONG_MAX, "0", 0),
    mem("proto-max-bulk-len", 1 << 20, LLONG_MAX, "536870912", 0),
    int("stream-node-max-entries", 0, LLONG_MAX, "100", 0),
    mem("repl-backlog-size", 1, LLONG_MAX, "1048576", 0),
    mem("maxmemory", 0, ULLONG_MAX, "0", 0),
    mem("cluster-link-sendbuf-limit", 0, ULLONG_MAX, "0", 0),
    dir(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        Int(0, LLONG_MAX),
        "512",
        0,
    ),
    int("set-max-intset-entries", 0, LLONG_MAX, "512", 0),
    dir(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        Int(0, LLONG_MAX),
        "128",
        0,
    ),
    mem("active-defrag-ignore-bytes", 1, LLONG_MAX, "104857600", 0),
    dir(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        Memory(0, LLONG_MAX),
        "64",
        0,
    ),
    mem("stream-node-max-bytes", 0, LLONG_MAX, "4096", 0),
    dir(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        Memory(0, LLONG_MAX),
        "64",
        0,
    ),
    mem("hll-sparse-max-bytes", 0, LLONG_MAX, "3000", 0),
    int("tracking-table-max-keys", 0, LLONG_MAX, "1000000", 0),
    mem(
        "client-query-buffer-limit",
        1 << 20,
        LLONG_MAX,
        "1073741824",
        0,
    ),
    dir("maxmemory-clients", None, MemoryOrPercent, "0", 0),
    int("repl-backlog-ttl", 0, LLONG_MAX, "3600", 0),
    mem("auto-aof-rewrite-min-size", 0, LLONG_MAX, "67108864", 0),
    int(
        "loading-process-events-interval-bytes",
        1024,
        INT_MAX,
        "2097152",
        HIDDEN,
    ),
    // TLS.
    int("tls-port", 0, 65535, "0", 0),
    int("tls-session-cache-size", 0, INT_MAX, "20480", 0),
    int("tls-session-cache-timeout", 0, INT_MAX, "300", 0),
    b("tls-cluster", "no", 0),
    b("tls-replication", "no", 0),
    e("tls-auth-clients", &["no", "yes", "optional"], "yes", 0),
    b("tls-prefer-server-ciphers", "no", 0),
    b("tls-session-caching", "yes", 0),
    s("tls-cert-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-key-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-key-file-pass", "", SENSITIVE | EMPTY_IS_NULL),
    s("tls-client-cert-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-client-key-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-client-key-file-pass", "", SENSITIVE | EMPTY_IS_NULL),
    s("tls-dh-params-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-ca-cert-file", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-ca-cert-dir", "", VOLATILE | EMPTY_IS_NULL),
    s("tls-protocols", "", EMPTY_IS_NULL),
    s("tls-ciphers", "", EMPTY_IS_NULL),
    s("tls-ciphersuites", "", EMPTY_IS_NULL),
    // Special syntax.
    special("dir", "", PROTECTED | DENY_LOADING),
    special("save", "3600 1 300 100 60 10000", MULTI_ARG),
    special(
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        MULTI_ARG,
    ),
    special("oom-score-adj-values", "0 200 800", MULTI_ARG),
    special("notify-keyspace-events", "", 0),
    special("bind", "* -::*", MULTI_ARG),
    dir(
        "replicaof",
        Some("slaveof"),
        Special,
        "",
        IMMUTABLE | MULTI_ARG,
    ),
    special("latency-tracking-info-percentiles", "50 99 99.9", MULTI_ARG),
    // tandem's additions.
    //
    // An argon2id PHC string (from `pki hash-password`) instead of a plaintext password.
    s("requirepass-hash", "", SENSITIVE | EMPTY_IS_NULL | TANDEM),
    // Microseconds the event loop keeps polling after requests (see busy_poll.rs).
    int("busy-poll-us", 0, 1_000_000, "50", TANDEM),
    // `cn` makes a verified client certificate's CN the user it authenticates as.
    e("tls-auth-clients-user", &["off", "cn"], "off", TANDEM),
    // Seconds a client has to finish the TLS handshake.
    int("tls-handshake-timeout", 1, 3600, "10", TANDEM),
];

/// Directives of older versions that Redis 7.0 still accepts in a config file (with one
/// value) and ignores.
pub const DEPRECATED: &[&str] = &[
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// The directive named `name` (or an alias of it), case-insensitively.
pub fn find(name: &str) -> Option<&'static Directive> {
    DIRECTIVES.iter().find(|d| {
        d.name.eq_ignore_ascii_case(name) || d.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}
