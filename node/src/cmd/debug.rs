//! DEBUG: Redis 7.0's debugging subcommands, which Redis's own test suite relies on.
//!
//! Each works as in redis-server 7.0.15 (argument counts, replies, errors), on tandem's
//! structures: DIGEST is Redis's exact algorithm (see [`crate::keyspace::digest`]),
//! RELOAD and LOADAOF go through the real RDB and AOF code, POPULATE writes keys the way
//! Redis's does (not propagated, not counted as changes). The subcommands made to crash
//! the server (SEGFAULT, PANIC, ASSERT, OOM) write a crash report to the log and abort
//! the process; those about Redis's allocator and C structures (MALLCTL, MALLCTL-STR,
//! JMAP) do not exist here, as in a Redis built without jemalloc.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{reply_help, spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::{digest, ValueRef};
use crate::rdb::debug_switches;
use crate::{notice, warning};

pub static COMMANDS: &[CommandSpec] = &[spec(
    "debug",
    -2,
    ADMIN | NOSCRIPT | LOADING | STALE | PROTECTED,
    (0, 0, 0),
    "server",
    debug,
)];

/// The reply to a subcommand DEBUG does not have, or has with other arguments.
fn syntax_error(sub: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)])
    ))
}

fn debug(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&a[1]).to_ascii_lowercase();
    let argc = a.len();
    match (sub.as_str(), argc) {
        ("help", 2) => help(ctx),
        ("segfault" | "panic" | "assert" | "oom", _) => crash(ctx, &sub, a),
        ("restart" | "crash-and-recover", _) => restart(ctx, &sub, a)?,
        ("reload", _) => reload(ctx, a)?,
        ("loadaof", _) => loadaof(ctx),
        ("log", 3) => {
            warning!("DEBUG LOG: {}", String::from_utf8_lossy(&a[2]));
            ctx.out.ok();
        }
        ("leak", 3) => ctx.out.ok(),
        ("drop-cluster-packet-filter", 3) => {
            args::int(&a[2])?;
            ctx.out.ok();
        }
        ("object", 3) => object(ctx, &a[2])?,
        ("sdslen", 3) => sdslen(ctx, &a[2])?,
        ("listpack", 3) => print_structure(ctx, &a[2], "listpack")?,
        ("quicklist", 3 | 4) => print_structure(ctx, &a[2], "quicklist")?,
        ("populate", 3..=5) => populate(ctx, a)?,
        ("digest", 2) => {
            let d = digest::dataset_digest(&ctx.state.dbs);
            ctx.out.simple(&digest::hex(&d));
        }
        ("digest-value", _) => {
            ctx.out.array(argc - 2);
            for key in &a[2..] {
                let d = digest::value_digest(ctx.state.dbs[ctx.client.db].peek(key));
                ctx.out.simple(&digest::hex(&d));
            }
        }
        ("protocol", 3) => protocol(ctx, &a[2])?,
        ("sleep", 3) => {
            // Blocks the whole server, as in Redis (the engine lock is held).
            let secs = c_strtod(&a[2]);
            if secs > 0.0 {
                let micros = (secs * 1e6).min(3600e6) as u64;
                std::thread::sleep(std::time::Duration::from_micros(micros));
            }
            ctx.out.ok();
        }
        ("set-active-expire", 3) => {
            ctx.server.set_active_expire(crate::resp::atoll(&a[2]) != 0);
            ctx.out.ok();
        }
        ("quicklist-packed-threshold", 3) => packed_threshold(ctx, &a[2])?,
        ("set-skip-checksum-validation", 3) => {
            debug_switches::SKIP_CHECKSUM.store(crate::resp::atoll(&a[2]) != 0, Ordering::Relaxed);
            ctx.out.ok();
        }
        ("aof-flush-sleep", 3) => {
            if let Some(aof) = ctx.server.aof() {
                let micros = crate::resp::atoll(&a[2]).max(0) as u64;
                aof.flush_sleep_us.store(micros, Ordering::Relaxed);
            }
            ctx.out.ok();
        }
        ("error", 3) => {
            // Written as it is, not as an error of this command (not counted).
            let text: Vec<u8> = a[2]
                .iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect();
            ctx.out.raw(b"-");
            ctx.out.raw(&text);
            ctx.out.raw(b"\r\n");
        }
        ("htstats", 3) => htstats(ctx, &a[2])?,
        ("htstats-key", 3) => htstats_key(ctx, &a[2])?,
        ("set-disable-deny-scripts" | "pause-cron", 3) => {
            if sub == "pause-cron" {
                let paused = crate::resp::atoll(&a[2]) != 0;
                ctx.server.cron_paused.store(paused, Ordering::Relaxed);
            }
            ctx.out.ok();
        }
        ("replicate", 3..) => {
            if let Some(feed) = &ctx.state.repl_feed {
                ctx.state.repl_end = feed.update(|log| {
                    log.feed_global(&a[2..]);
                    log.end().0
                });
            }
            ctx.out.ok();
        }
        ("structsize", 2) => {
            let text = format!(
                "bits:64 value:{} entry:{} ",
                std::mem::size_of::<crate::keyspace::Value>(),
                std::mem::size_of::<crate::keyspace::Entry>()
            );
            ctx.out.bulk(text.as_bytes());
        }
        ("change-repl-id", 2) => {
            warning!("Changing replication IDs after receiving DEBUG change-repl-id");
            let mut st = ctx.server.repl.state();
            st.replid = crate::replication::ReplId::random();
            st.replid2 = crate::replication::ReplId::zero();
            st.second_offset = None;
            drop(st);
            ctx.out.ok();
        }
        ("stringmatch-test", 2) => {
            stringmatch_fuzz();
            ctx.out
                .simple("Apparently Redis did not crash: test passed");
        }
        ("config-rewrite-force-all", 2) => {
            ctx.server
                .config()
                .rewrite(true)
                .map_err(|e| CmdError::msg(format!("ERR CONFIG-REWRITE-FORCE-ALL failed: {e}")))?;
            ctx.out.ok();
        }
        ("client-eviction", 2) => client_eviction(ctx)?,
        ("replybuffer", 4) => replybuffer(ctx, a)?,
        ("clusterlink", 5) => {
            return Err(CmdError::msg(
                "ERR Debug option only available for cluster mode enabled setup!",
            ))
        }
        _ => return Err(syntax_error(&a[1])),
    }
    Ok(())
}

/// C's `strtod` on the longest numeric prefix; garbage is 0.
fn c_strtod(arg: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(arg);
    let t = text.trim_start();
    (1..=t.len())
        .rev()
        .filter(|&n| t.is_char_boundary(n))
        .find_map(|n| t[..n].parse::<f64>().ok())
        .unwrap_or(0.0)
}

fn help(ctx: &mut Ctx) {
    reply_help(
        ctx,
        &[
            "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "AOF-FLUSH-SLEEP <microsec>",
            "    Server will sleep before flushing the AOF, this is used for testing.",
            "ASSERT",
            "    Crash by assertion failed.",
            "CHANGE-REPL-ID",
            "    Change the replication IDs of the instance.",
            "    Dangerous: should be used only for testing the replication subsystem.",
            "CONFIG-REWRITE-FORCE-ALL",
            "    Like CONFIG REWRITE but writes all configuration options, including",
            "    keywords not listed in original configuration file or default values.",
            "CRASH-AND-RECOVER [<milliseconds>]",
            "    Hard crash and restart after a <milliseconds> delay (default 0).",
            "DIGEST",
            "    Output a hex signature representing the current DB content.",
            "DIGEST-VALUE <key> [<key> ...]",
            "    Output a hex signature of the values of all the specified keys.",
            "ERROR <string>",
            "    Return a Redis protocol error with <string> as message. Useful for clients",
            "    unit tests to simulate Redis errors.",
            "LEAK <string>",
            "    Create a memory leak of the input string.",
            "LOG <message>",
            "    Write <message> to the server log.",
            "HTSTATS <dbid>",
            "    Return hash table statistics of the specified Redis database.",
            "HTSTATS-KEY <key>",
            "    Like HTSTATS but for the hash table stored at <key>'s value.",
            "LOADAOF",
            "    Flush the AOF buffers on disk and reload the AOF in memory.",
            "REPLICATE <string>",
            "    Replicates the provided string to replicas, allowing data divergence.",
            "OBJECT <key>",
            "    Show low level info about `key` and associated value.",
            "DROP-CLUSTER-PACKET-FILTER <packet-type>",
            "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
            "OOM",
            "    Crash the server simulating an out-of-memory error.",
            "PANIC",
            "    Crash the server simulating a panic.",
            "POPULATE <count> [<prefix>] [<size>]",
            "    Create <count> string keys named key:<num>. If <prefix> is specified then",
            "    it is used instead of the 'key' prefix. These are not propagated to",
            "    replicas. Cluster slots are not respected so keys not belonging to the",
            "    current node can be created in cluster mode.",
            "PROTOCOL <type>",
            "    Reply with a test value of the specified type. <type> can be: string,",
            "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
            "    true, false.",
            "RELOAD [option ...]",
            "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
            "    * MERGE: conflicting keys will be loaded from RDB.",
            "    * NOFLUSH: the existing database will not be removed before load, but",
            "      conflicting keys will generate an exception and kill the server.",
            "    * NOSAVE: the database will be loaded from an existing RDB file.",
            "    Examples:",
            "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
            "      the database.",
            "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
            "      existing RDB file.",
            "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
            "      file to the database.",
            "RESTART [<milliseconds>]",
            "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
            "SDSLEN <key>",
            "    Show low level SDS string info representing `key` and value.",
            "SEGFAULT",
            "    Crash the server with sigsegv.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "QUICKLIST-PACKED-THRESHOLD <size>",
            "    Sets the threshold for elements to be inserted as plain vs packed nodes",
            "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
            "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
            "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
            "STRINGMATCH-TEST",
            "    Run a fuzz tester against the stringmatchlen() function.",
            "STRUCTSIZE",
            "    Return the size of different Redis core C structures.",
            "LISTPACK <key>",
            "    Show low level info about the listpack encoding of <key>.",
            "QUICKLIST <key> [<0|1>]",
            "    Show low level info about the quicklist encoding of <key>.",
            "    The optional argument (0 by default) sets the level of detail",
            "CLIENT-EVICTION",
            "    Show low level client eviction pools info (maxmemory-clients).",
            "PAUSE-CRON <0|1>",
            "    Stop periodic cron job processing.",
            "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
            "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
            "    In case NEVER is provided the last observed peak will never be reset",
            "    In case RESET is provided the peak reset time will be restored to the default value",
            "REPLYBUFFER RESIZING <0|1>",
            "    Enable or disable the reply buffer resize cron job",
            "CLUSTERLINK KILL <to|from|all> <node-id>",
            "    Kills the link based on the direction to/from (both) with the provided node.",
            "HELP",
            "    Prints this help.",
        ],
    );
}

/// SEGFAULT, PANIC, ASSERT, OOM: what Redis does is crash, so tandem writes a crash report
/// (the reason and the stack) to the log and aborts. No reply is sent.
fn crash(ctx: &mut Ctx, sub: &str, a: &[Bytes]) -> ! {
    let reason = match sub {
        "segfault" => {
            "tandem crashed by signal: 11 (DEBUG SEGFAULT: simulated, nothing was accessed)"
        }
        "panic" => "Guru Meditation: DEBUG PANIC called",
        "assert" => "=== ASSERTION FAILED === DEBUG ASSERT called",
        _ => "Out Of Memory: DEBUG OOM called",
    };
    warning!("=== TANDEM BUG REPORT START: Cut & paste starting from here ===");
    warning!("{reason}");
    warning!(
        "Crashed running the command: {}",
        a.iter()
            .map(|x| String::from_utf8_lossy(x).into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    );
    warning!("------ STACK TRACE ------");
    for line in std::backtrace::Backtrace::force_capture()
        .to_string()
        .lines()
    {
        warning!("{line}");
    }
    warning!(
        "=== TANDEM BUG REPORT END. Client id={} addr={} ===",
        ctx.client.id,
        ctx.client.info.addr
    );
    std::process::abort()
}

/// RESTART (graceful: rewrite the config file, save as at shutdown) and CRASH-AND-RECOVER
/// (nothing saved): the process executes itself again after the delay, with the same
/// arguments. It only returns with an error.
fn restart(ctx: &mut Ctx, sub: &str, a: &[Bytes]) -> CmdResult {
    let delay_ms = match a.get(2) {
        Some(d) => args::int(d)?.max(0) as u64,
        None => 0,
    };
    let failed = || CmdError::msg("ERR failed to restart the server. Check server logs.");
    let exe = std::env::current_exe().map_err(|e| {
        warning!("Can't restart: the executable is not accessible: {e}");
        failed()
    })?;
    let config_file = ctx.server.config().file.clone();
    if sub == "restart" {
        if config_file.is_some() {
            if let Err(e) = ctx.server.config().rewrite(false) {
                warning!("Can't restart: rewriting the config file: {e}");
                return Err(failed());
            }
        }
        if !save_for_restart(ctx) {
            return Err(failed());
        }
    }
    // The arguments we started with, the config file by its absolute path (the working
    // directory is now `dir`).
    let mut argv: Vec<std::ffi::OsString> = crate::proc_title::original_args()
        .iter()
        .skip(1)
        .cloned()
        .collect();
    if let (Some(file), Some(first)) = (config_file, argv.first_mut()) {
        if !first.to_string_lossy().starts_with("--") {
            *first = file.into_os_string();
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(delay_ms));
    notice!("Restarting: {}", exe.display());
    use std::os::unix::process::CommandExt;
    let e = std::process::Command::new(&exe).args(&argv).exec();
    warning!("Can't restart: exec of {} failed: {e}", exe.display());
    std::process::exit(1);
}

/// The shutdown save before a graceful restart: the AOF written and synced, and the RDB
/// saved when save points are set.
fn save_for_restart(ctx: &mut Ctx) -> bool {
    if let Some(aof) = ctx.server.aof() {
        if let Err(e) = aof.flush_and_sync() {
            warning!("Can't restart: writing the AOF: {e}");
            return false;
        }
    }
    if crate::persistence::save_points(&ctx.server.config()).is_empty() {
        return true;
    }
    let snapshot = ctx.server.snapshot(ctx.state);
    let path = crate::persistence::rdb_path(&ctx.server.config());
    crate::persistence::save_now(&ctx.server.save_status, snapshot, &path)
}

fn reload(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut options = crate::persistence::ReloadOptions::default();
    for opt in &a[2..] {
        if is(opt, "MERGE") {
            options.merge = true;
        } else if is(opt, "NOFLUSH") {
            options.noflush = true;
        } else if is(opt, "NOSAVE") {
            options.nosave = true;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    crate::persistence::reload_rdb(ctx.server, ctx.state, options, ctx.now)
        .map_err(|e| CmdError::msg(e.to_string()))?;
    ctx.out.ok();
    Ok(())
}

/// LOADAOF: as in Redis, a failure to load the AOF back ends the process (the dataset was
/// already emptied).
fn loadaof(ctx: &mut Ctx) {
    let Some(server) = ctx.server.self_arc() else {
        return;
    };
    crate::persistence::reload_aof(&server, ctx.state, ctx.now);
    ctx.out.ok();
}

/// OBJECT: low-level facts about a value, looked at without expiring it.
fn object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let db = &ctx.state.dbs[ctx.client.db];
    let entry = db.peek(key).ok_or(CmdError::NoSuchKey)?;
    let mut body = Vec::new();
    crate::rdb::encode::write_value(&mut body, &entry.value);
    let stamp = db.access_stamp(key).unwrap_or(0) & 0xff_ffff;
    let idle = db.idle_secs(key).unwrap_or(0);
    let mut text = format!(
        "Value at:{:#x} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        identity_token(key),
        ctx.state.encoding.refcount(&entry.value),
        entry.value.encoding(),
        body.len(),
        stamp,
        idle
    );
    if let ValueRef::List(list) = entry.value.view() {
        let (nodes, bytes) = crate::rdb::encode::quicklist_shape(list.iter().map(|e| &e[..]));
        text.push_str(&format!(
            " ql_nodes:{} ql_avg_node:{:.2} ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:{}",
            nodes,
            list.len() as f64 / nodes.max(1) as f64,
            bytes
        ));
    }
    ctx.out.simple(&text);
    Ok(())
}

/// A stable stand-in for the address of a key's value (DEBUG OBJECT's `Value at:`): it
/// stays the same while the key lives, as the address of a value changed in place does.
fn identity_token(key: &[u8]) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = foldhash::fast::FixedState::with_seed(0x7ead).build_hasher();
    h.write(key);
    0x7f00_0000_0000 | (h.finish() & 0xff_ffff_fff0)
}

fn sdslen(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let entry = ctx.state.dbs[ctx.client.db]
        .peek(key)
        .ok_or(CmdError::NoSuchKey)?;
    let value = &entry.value;
    if !matches!(value.encoding(), "raw" | "embstr") {
        return Err(CmdError::msg("ERR Not an sds encoded string."));
    }
    let len = value.as_str().map_or(0, <[u8]>::len);
    let avail = value.approx_memory().saturating_sub(len);
    ctx.out.simple(&format!(
        "key_sds_len:{}, key_sds_avail:0, key_zmalloc: {}, val_sds_len:{}, val_sds_avail:{}, val_zmalloc: {}",
        key.len(),
        key.len(),
        len,
        avail,
        len + avail
    ));
    Ok(())
}

/// LISTPACK and QUICKLIST: Redis prints the structure on its standard output; so does
/// tandem, in its own terms.
fn print_structure(ctx: &mut Ctx, key: &[u8], kind: &str) -> CmdResult {
    let entry = ctx.state.dbs[ctx.client.db]
        .peek(key)
        .ok_or(CmdError::NoSuchKey)?;
    let value = &entry.value;
    if kind == "listpack" {
        if value.encoding() != "listpack" {
            return Err(CmdError::msg("ERR Not a listpack encoded object."));
        }
        let mut body = Vec::new();
        crate::rdb::encode::write_value(&mut body, value);
        println!(
            "{{listpack key {:?}: {} bytes as saved}}",
            String::from_utf8_lossy(key),
            body.len()
        );
        ctx.out.simple("Listpack structure printed on stdout");
    } else {
        let Some(list) = value.as_list() else {
            return Err(CmdError::msg("ERR Not a quicklist encoded object."));
        };
        let (nodes, bytes) = crate::rdb::encode::quicklist_shape(list.iter().map(|e| &e[..]));
        println!(
            "{{quicklist key {:?}: {} elements in {nodes} nodes, {bytes} bytes}}",
            String::from_utf8_lossy(key),
            list.len()
        );
        ctx.out.simple("Quicklist structure printed on stdout");
    }
    Ok(())
}

/// POPULATE count [prefix] [size]: string keys `<prefix>:<n>` holding `value:<n>` (cut or
/// padded with NUL bytes to `size`), skipping keys that exist. As in Redis they are not
/// propagated and not counted as changes, but they do touch WATCHes.
fn populate(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let positive = |arg: &[u8]| {
        args::int(arg)
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
    };
    let count = positive(&a[2])? as usize;
    let prefix: &[u8] = a.get(3).map_or(b"key", |p| &p[..]);
    let size = match a.get(4) {
        Some(s) => positive(s)? as usize,
        None => 0,
    };
    let db = ctx.client.db;
    let now = ctx.now;
    ctx.state.dbs[db].reserve(count);
    let mut key = Vec::with_capacity(prefix.len() + 21);
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.push(b':');
        key.extend_from_slice(itoa::Buffer::new().format(j).as_bytes());
        if ctx.state.dbs[db].contains(&key, now) {
            continue;
        }
        let mut value = format!("value:{j}").into_bytes();
        if size > 0 {
            value.resize(size, 0);
        }
        ctx.state.dbs[db].insert(&key, crate::keyspace::Value::string(&value), 0);
        ctx.state.touch(db, &Bytes::copy_from_slice(&key));
    }
    // Keys found expired on the way are deleted as usual.
    ctx.state.propagate_expired(db);
    ctx.out.ok();
    Ok(())
}

/// PROTOCOL type: a sample reply of each RESP3 type, lowered for RESP2 as Redis does.
fn protocol(ctx: &mut Ctx, kind: &[u8]) -> CmdResult {
    let out = &mut *ctx.out;
    let kind = String::from_utf8_lossy(kind).to_ascii_lowercase();
    match kind.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's sample double, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => out.bignum("1234567999999999999999999999999999999"),
        "null" => out.null(),
        "array" => {
            out.array(3);
            for j in 0..3 {
                out.int(j);
            }
        }
        "set" => {
            out.set(3);
            for j in 0..3 {
                out.int(j);
            }
        }
        "map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        "attrib" => {
            if out.attribute(1) {
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !out.is_resp3() {
                return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            // The push is not this command's reply: CLIENT REPLY treats it as one.
            out.take_pushed();
            out.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => out.verbatim("This is a verbatim\nstring"),
        "true" => out.boolean(true),
        "false" => out.boolean(false),
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// QUICKLIST-PACKED-THRESHOLD size: memory units accepted, at most 4 GB - 1 MB, 0 for the
/// default.
fn packed_threshold(ctx: &mut Ctx, arg: &[u8]) -> CmdResult {
    const MAX: u64 = (1 << 32) - (1 << 20);
    let size = std::str::from_utf8(arg)
        .ok()
        .and_then(crate::config::parse_memory)
        .filter(|n| *n <= MAX)
        .ok_or_else(|| {
            CmdError::msg("ERR argument must be a memory value bigger than 1 and smaller than 4gb")
        })?;
    let threshold = if size == 0 {
        debug_switches::PACKED_THRESHOLD_DEFAULT
    } else {
        size
    };
    debug_switches::PACKED_THRESHOLD.store(threshold, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// Redis's dict size for `used` entries: the power of two its incremental growth reaches
/// (at least 4).
fn table_size(used: usize) -> usize {
    used.next_power_of_two().max(4)
}

/// One hash table's statistics, in Redis's layout (tandem's tables are not chained, so
/// only the size and fill are given).
fn table_stats(out: &mut String, used: usize) {
    out.push_str("Hash table 0 stats (main hash table):\n");
    if used == 0 {
        out.push_str("No stats available for empty dictionaries\n");
        return;
    }
    out.push_str(&format!(
        " table size: {}\n number of elements: {}\n",
        table_size(used),
        used
    ));
}

fn htstats(ctx: &mut Ctx, arg: &[u8]) -> CmdResult {
    let index = args::int(arg)?;
    let db = usize::try_from(index)
        .ok()
        .and_then(|i| ctx.state.dbs.get(i))
        .ok_or_else(|| CmdError::msg("ERR Out of range database"))?;
    let mut text = String::from("[Dictionary HT]\n");
    table_stats(&mut text, db.len());
    text.push_str("[Expires HT]\n");
    table_stats(&mut text, db.expires_len());
    ctx.out.verbatim(&text);
    Ok(())
}

fn htstats_key(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let Some(value) = ctx.read(key).map(|e| e.value.clone()) else {
        return Err(CmdError::NoSuchKey);
    };
    let used =
        match (value.view(), value.encoding()) {
            (ValueRef::Set(s), "hashtable") => s.len(),
            (ValueRef::Hash(h), "hashtable") => h.len(),
            (ValueRef::ZSet(z), "skiplist") => z.len(),
            _ => return Err(CmdError::msg(
                "ERR The value stored at the specified key is not represented using an hash table",
            )),
        };
    let mut text = String::new();
    table_stats(&mut text, used);
    ctx.out.verbatim(&text);
    Ok(())
}

/// STRINGMATCH-TEST: random patterns against random strings, to show the matcher neither
/// crashes nor runs away on any input.
fn stringmatch_fuzz() {
    use rand::Rng;
    let mut rng = rand::thread_rng();
    let mut random = |max: usize| -> Vec<u8> {
        let len = rng.gen_range(0..max);
        (0..len).map(|_| rng.gen_range(0..128u8)).collect()
    };
    for _ in 0..1_000_000 {
        let (pattern, string) = (random(32), random(32));
        let _ = crate::keyspace::glob_match(&pattern, &string, false);
    }
}

/// CLIENT-EVICTION: clients by memory bucket, as Redis groups them for
/// `maxmemory-clients`.
fn client_eviction(ctx: &mut Ctx) -> CmdResult {
    if ctx.server.config().get_u64("maxmemory-clients") == 0 {
        return Err(CmdError::msg("ERR maxmemory-clients is disabled."));
    }
    const BUCKETS: usize = 19;
    let mut totals = [(0u64, 0usize); BUCKETS];
    for c in ctx.server.clients.all() {
        let mem = c.memory_usage() as u64;
        let bucket = if mem < 1 << 15 {
            0
        } else {
            ((63 - mem.leading_zeros()) as usize - 14).min(BUCKETS - 1)
        };
        totals[bucket].0 += mem;
        totals[bucket].1 += 1;
    }
    let mut text = String::new();
    for (j, (mem, clients)) in totals.iter().enumerate() {
        let low = if j == 0 { 0u64 } else { 1 << (j + 14) };
        let range = if j + 1 < BUCKETS {
            format!("{low:>10} - {:>10}", (1u64 << (j + 15)) - 1)
        } else {
            format!("{low:>10}+           ")
        };
        text.push_str(&format!(
            "bucket {range}: tot-mem: {mem:>10}, clients: {clients}\n"
        ));
    }
    ctx.out.verbatim(&text);
    Ok(())
}

fn replybuffer(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let policy = &ctx.server.clients.reply_buffers;
    if is(&a[2], "PEAK-RESET-TIME") {
        let ms = if is(&a[3], "NEVER") {
            -1
        } else if is(&a[3], "RESET") {
            crate::clients::REPLY_PEAK_RESET_DEFAULT_MS
        } else {
            args::int(&a[3])?
        };
        policy.peak_reset_ms.store(ms, Ordering::Relaxed);
    } else if is(&a[2], "RESIZING") {
        policy
            .enabled
            .store(crate::resp::atoll(&a[3]) != 0, Ordering::Relaxed);
    } else {
        return Err(syntax_error(&a[2]));
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_number_parsing_takes_the_longest_prefix() {
        assert_eq!(crate::resp::atoll(b"12abc"), 12);
        assert_eq!(crate::resp::atoll(b"  -3"), -3);
        assert_eq!(crate::resp::atoll(b"x"), 0);
        assert_eq!(c_strtod(b"0.5s"), 0.5);
        assert_eq!(c_strtod(b"abc"), 0.0);
        assert_eq!(c_strtod(b"1e-1"), 0.1);
    }
}
