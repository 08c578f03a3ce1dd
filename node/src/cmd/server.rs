//! Server commands: INFO, CONFIG, COMMAND, TIME, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB,
//! SHUTDOWN, MONITOR, SLOWLOG, LATENCY, MEMORY.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{
    reply_help, spec, subcommand_arity, unknown_subcommand, CmdError, CmdResult, CommandSpec, Ctx,
};

pub static COMMANDS: &[CommandSpec] = &[
    spec("info", -1, LOADING | STALE, (0, 0, 0), "server", info),
    spec(
        "config",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER,
        (0, 0, 0),
        "server",
        config,
    ),
    spec(
        "command",
        -1,
        LOADING | STALE | CONTAINER,
        (0, 0, 0),
        "server",
        command,
    ),
    spec("time", 1, LOADING | STALE | FAST, (0, 0, 0), "server", time),
    spec("dbsize", 1, READONLY | FAST, (0, 0, 0), "server", dbsize),
    spec("flushdb", -1, WRITE, (0, 0, 0), "server", flushdb),
    spec("flushall", -1, WRITE, (0, 0, 0), "server", flushall),
    spec("swapdb", 3, WRITE | FAST, (0, 0, 0), "server", swapdb),
    spec(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY,
        (0, 0, 0),
        "server",
        shutdown,
    ),
    spec(
        "monitor",
        1,
        ADMIN | NOSCRIPT | LOADING | STALE,
        (0, 0, 0),
        "server",
        monitor,
    ),
    spec(
        "slowlog",
        -2,
        ADMIN | LOADING | STALE | CONTAINER,
        (0, 0, 0),
        "server",
        slowlog,
    ),
    spec(
        "latency",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE | CONTAINER,
        (0, 0, 0),
        "server",
        latency,
    ),
    spec(
        "memory",
        -2,
        READONLY | CONTAINER,
        (0, 0, 0),
        "server",
        memory,
    ),
];

fn info(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sections: Vec<String> = a[1..]
        .iter()
        .map(|s| String::from_utf8_lossy(s).to_ascii_lowercase())
        .collect();
    let text = crate::info::render(ctx.server, ctx.state, &sections);
    ctx.out.verbatim(&text);
    Ok(())
}

/// CONFIG SET name value [name value ...], all or nothing: the names are checked, then
/// the values, then what changed is applied (and everything restored if that fails).
fn config_set(ctx: &mut Ctx, args: &[Bytes]) -> Result<(), CmdError> {
    if args.len() < 2 {
        return Err(CmdError::Arity("config|set".into()));
    }
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let pairs: Vec<(String, String)> = args
        .chunks(2)
        .map(|p| {
            (
                String::from_utf8_lossy(&p[0]).into_owned(),
                String::from_utf8_lossy(&p[1]).into_owned(),
            )
        })
        .collect();
    let protected_ok = super::local_or_yes(ctx, "enable-protected-configs");
    let old = ctx.server.config().clone();
    let mut next = old.clone();
    let set = next
        .set_many(&pairs, protected_ok)
        .map_err(|e| CmdError::msg(e.to_string()))?;
    // What to apply: a value that changed, and those re-read even when unchanged (TLS
    // files); a special directive applies whenever set, as in Redis.
    let changed: Vec<&'static str> = set
        .iter()
        .filter(|d| {
            old.get(d.name) != next.get(d.name)
                || d.has(crate::config::flag::VOLATILE)
                || (d.kind == crate::config::Kind::Special && d.name != "oom-score-adj-values")
        })
        .map(|d| d.name)
        .collect();
    ctx.server
        .apply_config(ctx.state, next, &changed, ctx.in_exec)
        .map_err(|(name, reason)| {
            CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
            ))
        })?;
    ctx.state.apply_settings(&ctx.server.config());
    if changed.contains(&"maxmemory") {
        crate::evict::maxmemory_changed(ctx.server, ctx.state);
    }
    Ok(())
}

fn config(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    if is(sub, "GET") {
        if a.len() < 3 {
            return Err(CmdError::Arity("config|get".into()));
        }
        let config = ctx.server.config();
        let mut pairs: Vec<(String, String)> = Vec::new();
        for pattern in &a[2..] {
            for (name, value) in config.matching(pattern) {
                if !pairs.iter().any(|(n, _)| n.eq_ignore_ascii_case(&name)) {
                    pairs.push((name, value));
                }
            }
        }
        drop(config);
        ctx.out.map(pairs.len());
        for (name, value) in pairs {
            ctx.out.bulk(name.as_bytes());
            ctx.out.bulk(value.as_bytes());
        }
    } else if is(sub, "SET") {
        config_set(ctx, &a[2..])?;
        ctx.out.ok();
    } else if is(sub, "REWRITE") {
        if a.len() != 2 {
            return Err(CmdError::Arity("config|rewrite".into()));
        }
        ctx.server
            .config()
            .rewrite(false)
            .map_err(|e| CmdError::msg(format!("ERR Rewriting config file: {e}")))?;
        ctx.out.ok();
    } else if is(sub, "RESETSTAT") {
        if a.len() != 2 {
            return Err(CmdError::Arity("config|resetstat".into()));
        }
        ctx.server.stats.reset();
        ctx.server.clients.reset_net_totals();
        ctx.state.stats = Default::default();
        ctx.state.commands_processed = 0;
        ctx.state.command_stats.reset();
        ctx.state.evictor.reset_stats();
        ctx.out.ok();
    } else if is(sub, "HELP") {
        let lines = [
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
            "HELP",
            "    Prints this help.",
        ];
        reply_help(ctx, &lines);
    } else {
        return Err(unknown_subcommand("config", sub));
    }
    Ok(())
}

/// Writes one COMMAND INFO entry (the Redis 7.0 ten-element form).
/// COMMAND LIST's names: every command and, as in Redis, every documented subcommand
/// (`config|get`), or those that `FILTERBY MODULE name | ACLCAT category | PATTERN glob`
/// selects (no command comes from a module; ACLCAT looks at top-level commands).
fn command_list(ctx: &Ctx, options: &[Bytes]) -> Result<Vec<Vec<u8>>, CmdError> {
    let table = &ctx.server.commands;
    let mut names: Vec<Vec<u8>> = table.iter().map(|(n, _)| n.to_vec()).collect();
    names.extend(
        super::docs::DOCS
            .iter()
            .filter(|d| {
                d.name
                    .split_once('|')
                    .is_some_and(|(parent, _)| table.lookup(parent.as_bytes()).is_some())
            })
            .map(|d| d.name.as_bytes().to_vec()),
    );
    match options {
        [] => Ok(names),
        [filterby, kind, arg] if is(filterby, "FILTERBY") => {
            if is(kind, "MODULE") {
                Ok(Vec::new())
            } else if is(kind, "ACLCAT") {
                let wanted = String::from_utf8_lossy(arg).to_ascii_lowercase();
                Ok(table
                    .iter()
                    .filter(|(_, spec)| acl_categories(spec).contains(&wanted.as_str()))
                    .map(|(n, _)| n.to_vec())
                    .collect())
            } else if is(kind, "PATTERN") {
                names.retain(|n| crate::keyspace::glob_match(arg, n, true));
                Ok(names)
            } else {
                Err(CmdError::Syntax)
            }
        }
        _ => Err(CmdError::Syntax),
    }
}

/// A command's ACL categories as COMMAND INFO lists them, in Redis's order: its family's
/// (`@keyspace` for the generic commands; server commands have none of their own), those
/// its flags imply (Redis's setImplicitACLCategories), and the few Redis gives by hand to
/// commands tandem has (SORT's families, KEYS' `@dangerous`).
fn acl_categories(spec: &CommandSpec) -> Vec<&'static str> {
    const ORDER: [&str; 17] = [
        "keyspace",
        "read",
        "write",
        "set",
        "sortedset",
        "list",
        "hash",
        "string",
        "bitmap",
        "pubsub",
        "admin",
        "fast",
        "slow",
        "blocking",
        "dangerous",
        "connection",
        "transaction",
    ];
    let mut named: Vec<&str> = match spec.group {
        "generic" => vec!["keyspace"],
        "sorted-set" => vec!["sortedset"],
        "transactions" => vec!["transaction"],
        "server" => vec![],
        group => vec![group],
    };
    match spec.name {
        "sort" | "sort_ro" => named.extend(["set", "sortedset", "list", "dangerous"]),
        "keys" => named.push("dangerous"),
        _ => {}
    }
    let has = |flag| spec.flags & flag != 0;
    for (flag, name) in [
        (READONLY, "read"),
        (WRITE, "write"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (ADMIN, "dangerous"),
        (FAST, "fast"),
        (BLOCKING, "blocking"),
    ] {
        if has(flag) {
            named.push(name);
        }
    }
    if !has(FAST) {
        named.push("slow");
    }
    ORDER.into_iter().filter(|c| named.contains(c)).collect()
}

fn command_entry(ctx: &mut Ctx, name: &[u8], spec: &CommandSpec) {
    ctx.out.array(10);
    ctx.out.bulk(name);
    ctx.out.int(spec.arity as i64);
    // A command with subcommands reports neither flags nor keys itself, as in Redis.
    let container = spec.has(CONTAINER);
    let mut names: Vec<&str> = super::flags::NAMES
        .iter()
        .filter(|(f, _)| spec.flags & f != 0 && !container)
        .map(|(_, n)| *n)
        .collect();
    if super::has_movable_keys(spec.name) {
        names.push("movablekeys");
    }
    if spec.has(ALLOW_BUSY) {
        names.push("allow_busy");
    }
    ctx.out.set(names.len());
    for n in names {
        ctx.out.simple(n);
    }
    let (first, last, step) = if container {
        (0, 0, 0)
    } else {
        (spec.first_key, spec.last_key, spec.step)
    };
    ctx.out.int(first as i64);
    ctx.out.int(last as i64);
    ctx.out.int(step as i64);
    let categories = acl_categories(spec);
    ctx.out.set(categories.len());
    for c in categories {
        ctx.out.simple(&format!("@{c}"));
    }
    ctx.out.set(0); // tips
    ctx.out.array(0); // key specs
    ctx.out.array(0); // subcommands
}

fn command(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let table = &ctx.server.commands;
    // COMMAND, and COMMAND INFO without names: every command.
    if a.len() == 1 || (a.len() == 2 && is(&a[1], "INFO")) {
        let all: Vec<_> = table.iter().collect();
        ctx.out.array(all.len());
        for (name, spec) in all {
            command_entry(ctx, name, spec);
        }
        return Ok(());
    }
    let sub = &a[1];
    if is(sub, "COUNT") {
        ctx.out.int(table.len() as i64);
    } else if is(sub, "INFO") {
        ctx.out.array(a.len() - 2);
        for name in &a[2..] {
            match table.lookup(name) {
                Some(spec) => command_entry(ctx, &name.to_ascii_lowercase(), spec),
                None => ctx.out.null(),
            }
        }
    } else if is(sub, "DOCS") {
        let names: Vec<(Vec<u8>, &CommandSpec)> = if a.len() == 2 {
            table.iter().map(|(n, s)| (n.to_vec(), s)).collect()
        } else {
            a[2..]
                .iter()
                .filter_map(|n| table.lookup(n).map(|s| (n.to_ascii_lowercase(), s)))
                .collect()
        };
        ctx.out.map(names.len());
        for (name, spec) in names {
            ctx.out.bulk(&name);
            write_doc(ctx, spec.name, spec.group);
        }
    } else if is(sub, "GETKEYS") {
        // The command and at least one of its arguments (Redis's arity -4).
        if a.len() < 4 {
            return Err(CmdError::Arity("command|getkeys".into()));
        }
        let spec = table
            .lookup(&a[2])
            .ok_or_else(|| CmdError::msg("ERR Invalid command specified"))?;
        if !spec.has_keys() {
            return Err(CmdError::msg("ERR The command has no key arguments"));
        }
        if !super::arity_ok(spec, a.len() - 2) {
            return Err(CmdError::msg(
                "ERR Invalid number of arguments specified for command",
            ));
        }
        let keys = spec.keys(&a[2..]);
        if keys.is_empty() {
            return Err(CmdError::msg("ERR Invalid arguments specified for command"));
        }
        ctx.out.array(keys.len());
        for k in keys {
            ctx.out.bulk(k);
        }
    } else if is(sub, "LIST") {
        let names = command_list(ctx, &a[2..])?;
        ctx.out.array(names.len());
        for n in names {
            ctx.out.bulk(&n);
        }
    } else if is(sub, "HELP") {
        ctx.out.array(1);
        ctx.out.simple("COMMAND [COUNT|INFO|DOCS|GETKEYS|LIST]");
    } else {
        return Err(unknown_subcommand("command", sub));
    }
    Ok(())
}

/// One command's COMMAND DOCS map: summary, since, group, its syntax as a single argument
/// (what redis-cli shows as a hint) and its subcommands.
fn write_doc(ctx: &mut Ctx, name: &str, group: &str) {
    let doc = super::docs::find(name);
    let params = doc.map_or("", |d| d.params);
    let subs: Vec<_> = if name.contains('|') {
        Vec::new()
    } else {
        super::docs::subcommands(name).collect()
    };
    ctx.out
        .map(3 + usize::from(!params.is_empty()) + usize::from(!subs.is_empty()));
    ctx.out.bulk(b"summary");
    ctx.out.bulk(doc.map_or("", |d| d.summary).as_bytes());
    ctx.out.bulk(b"since");
    ctx.out.bulk(doc.map_or("1.0.0", |d| d.since).as_bytes());
    ctx.out.bulk(b"group");
    ctx.out.bulk(group.as_bytes());
    if !params.is_empty() {
        ctx.out.bulk(b"arguments");
        ctx.out.array(1);
        ctx.out.map(2);
        ctx.out.bulk(b"name");
        ctx.out.bulk(params.as_bytes());
        ctx.out.bulk(b"type");
        ctx.out.bulk(b"string");
    }
    if !subs.is_empty() {
        ctx.out.bulk(b"subcommands");
        ctx.out.map(subs.len());
        for sub in subs {
            ctx.out.bulk(sub.name.as_bytes());
            write_doc(ctx, sub.name, group);
        }
    }
}

fn time(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(now.as_secs() as i64);
    ctx.out.bulk_int(now.subsec_micros() as i64);
    Ok(())
}

fn dbsize(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// Parses the optional `ASYNC | SYNC` of FLUSHDB / FLUSHALL.
fn flush_mode(a: &[Bytes]) -> CmdResult {
    match a.len() {
        1 => Ok(()),
        2 if is(&a[1], "ASYNC") || is(&a[1], "SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

fn flushdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let db = ctx.client.db;
    let n = ctx.state.dbs[db].len() as u64;
    ctx.state.touch_flushed(db, ctx.now);
    ctx.state.dbs[db].clear();
    ctx.state.dirty += n;
    ctx.modified += 1;
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    flush_mode(a)?;
    let mut n = 0;
    for db in 0..ctx.state.dbs.len() {
        n += ctx.state.dbs[db].len() as u64;
        ctx.state.touch_flushed(db, ctx.now);
        ctx.state.dbs[db].clear();
    }
    ctx.state.dirty += n;
    if !crate::persistence::save_points(&ctx.server.config()).is_empty() {
        // As Redis does: with save points set, the emptied dataset is saved at once (a
        // restart does not bring the flushed keys back), and nothing counts as changed.
        let snapshot = ctx.server.snapshot(ctx.state);
        let path = crate::persistence::rdb_path(&ctx.server.config());
        crate::persistence::save_now(&ctx.server.save_status, snapshot, &path);
    }
    ctx.modified += 1;
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let parse = |arg: &[u8], which: &str| {
        args::int32(arg).map_err(|_| CmdError::msg(format!("ERR invalid {which} DB index")))
    };
    let x = parse(&a[1], "first")?;
    let y = parse(&a[2], "second")?;
    let n = ctx.state.dbs.len() as i32;
    if x < 0 || x >= n || y < 0 || y >= n {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.state.touch_swapped(x as usize, y as usize, ctx.now);
    ctx.state.dbs.swap(x as usize, y as usize);
    ctx.state.dirty += 1;
    ctx.modified += 1;
    ctx.out.ok();
    Ok(())
}

fn shutdown(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (mut save, mut nosave, mut force, mut now, mut abort) = (false, false, false, false, false);
    for opt in &a[1..] {
        if is(opt, "NOSAVE") {
            nosave = true;
        } else if is(opt, "SAVE") {
            save = true;
        } else if is(opt, "FORCE") {
            force = true;
        } else if is(opt, "NOW") {
            // Accepted: tandem does not wait for lagging replicas, so there is nothing
            // to skip.
            now = true;
        } else if is(opt, "ABORT") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (save && nosave) || (abort && (save || nosave || force || now)) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Only a shutdown a signal asked for can be pending (tandem does not wait for
        // replicas).
        if !ctx.server.shutdown.abort() {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        }
        ctx.out.ok();
        return Ok(());
    }
    let save = (save || nosave).then_some(save);
    // Subscribed before the request, so an abandoned shutdown cannot be missed. Redis
    // closes the connection without a reply when the shutdown goes ahead.
    ctx.client.shutdown_wait = Some(ctx.server.shutdown.abandoned.subscribe());
    ctx.server.request_shutdown(save, force);
    Ok(())
}

fn monitor(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.client.monitor {
        ctx.out.ok();
        return Ok(());
    }
    ctx.client.monitor = true;
    ctx.server.add_monitor(ctx.client);
    ctx.client.update_flags();
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG: the commands that ran for at least `slowlog-log-slower-than` microseconds.
fn slowlog(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    if is(sub, "GET") {
        subcommand_arity("slowlog|get", -2, a.len())?;
        if a.len() > 3 {
            return Err(CmdError::msg(format!(
                "ERR unknown subcommand or wrong number of arguments for '{}'. Try SLOWLOG HELP.",
                String::from_utf8_lossy(sub)
            )));
        }
        let count = match a.get(2) {
            None => 10,
            Some(count) => match args::int(count) {
                Ok(-1) => usize::MAX,
                Ok(n) if n >= 0 => n as usize,
                _ => {
                    return Err(CmdError::msg(
                        "ERR count should be greater than or equal to -1",
                    ))
                }
            },
        };
        let entries = ctx.state.slowlog.newest(count);
        ctx.out.array(entries.len());
        for e in entries {
            ctx.out.array(6);
            ctx.out.int(e.id as i64);
            ctx.out.int(e.time as i64);
            ctx.out.int(e.duration_usec as i64);
            ctx.out.array(e.args.len());
            for arg in &e.args {
                ctx.out.bulk(arg);
            }
            ctx.out.bulk(e.peer.as_bytes());
            ctx.out.bulk(&e.client_name);
        }
    } else if is(sub, "LEN") {
        subcommand_arity("slowlog|len", 2, a.len())?;
        ctx.out.int(ctx.state.slowlog.len() as i64);
    } else if is(sub, "RESET") {
        subcommand_arity("slowlog|reset", 2, a.len())?;
        ctx.state.slowlog.reset();
        ctx.out.ok();
    } else if is(sub, "HELP") {
        subcommand_arity("slowlog|help", 2, a.len())?;
        reply_help(
            ctx,
            &[
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ],
        );
    } else {
        return Err(unknown_subcommand("slowlog", sub));
    }
    Ok(())
}

/// LATENCY: the latency monitor's events (LATEST, HISTORY, GRAPH, RESET, DOCTOR) and the
/// per-command latency histograms (HISTOGRAM).
fn latency(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    let now = || crate::keyspace::now_ms() / 1000;
    if is(sub, "LATEST") {
        subcommand_arity("latency|latest", 2, a.len())?;
        let latest = ctx.state.latency_monitor.latest();
        ctx.out.array(latest.len());
        for (event, time, latency, max) in latest {
            ctx.out.array(4);
            ctx.out.bulk(event.as_bytes());
            ctx.out.int(time as i64);
            ctx.out.int(latency as i64);
            ctx.out.int(max as i64);
        }
    } else if is(sub, "HISTORY") {
        subcommand_arity("latency|history", 3, a.len())?;
        let history = ctx.state.latency_monitor.history(&a[2]);
        ctx.out.array(history.len());
        for (time, latency) in history {
            ctx.out.array(2);
            ctx.out.int(time as i64);
            ctx.out.int(latency as i64);
        }
    } else if is(sub, "HISTOGRAM") {
        subcommand_arity("latency|histogram", -2, a.len())?;
        latency_histogram(ctx, &a[2..]);
    } else if is(sub, "GRAPH") {
        subcommand_arity("latency|graph", 3, a.len())?;
        let Some(graph) = ctx.state.latency_monitor.graph(&a[2], now()) else {
            return Err(CmdError::msg(format!(
                "ERR No samples available for event '{}'",
                String::from_utf8_lossy(&a[2])
            )));
        };
        ctx.out.verbatim(&graph);
    } else if is(sub, "RESET") {
        subcommand_arity("latency|reset", -2, a.len())?;
        let monitor = &mut ctx.state.latency_monitor;
        let resets = if a.len() == 2 {
            monitor.reset(None)
        } else {
            a[2..].iter().map(|event| monitor.reset(Some(event))).sum()
        };
        ctx.out.int(resets as i64);
    } else if is(sub, "DOCTOR") {
        subcommand_arity("latency|doctor", 2, a.len())?;
        let report =
            ctx.state
                .latency_monitor
                .doctor(crate::stats::latency_monitor::DoctorContext {
                    now: now(),
                    slowlog_slower_than: ctx.state.slowlog.slower_than_usec(),
                });
        ctx.out.verbatim(&report);
    } else if is(sub, "HELP") {
        subcommand_arity("latency|help", 2, a.len())?;
        reply_help(
            ctx,
            &[
                "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "DOCTOR",
                "    Return a human readable latency analysis report.",
                "GRAPH <event>",
                "    Return an ASCII latency graph for the <event> class.",
                "HISTORY <event>",
                "    Return time-latency samples for the <event> class.",
                "LATEST",
                "    Return the latest latency samples for all events.",
                "RESET [<event> ...]",
                "    Reset latency data of one or more <event> classes.",
                "    (default: reset all data for all event classes)",
                "HISTOGRAM [COMMAND ...]",
                "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                "    If no commands are specified then all histograms are replied.",
                "HELP",
                "    Prints this help.",
            ],
        );
    } else {
        return Err(unknown_subcommand("latency", sub));
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: each command's calls and cumulative latency
/// distribution; named commands include their subcommands, unknown names are skipped.
fn latency_histogram(ctx: &mut Ctx, names: &[Bytes]) {
    let commands = &ctx.server.commands;
    let wanted = |full: &str| {
        names.is_empty()
            || names.iter().any(|n| {
                let parent = full.split('|').next().unwrap_or(full);
                full.as_bytes().eq_ignore_ascii_case(n)
                    || commands
                        .lookup(n)
                        .is_some_and(|spec| spec.name == parent && full != parent)
            })
    };
    let histograms = ctx.state.command_stats.histograms(wanted);
    ctx.out.map(histograms.len());
    for (name, h) in histograms {
        ctx.out.bulk(name.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(h.count() as i64);
        ctx.out.bulk(b"histogram_usec");
        let steps = h.cumulative_usec();
        ctx.out.map(steps.len());
        for (usec, count) in steps {
            ctx.out.int(usec as i64);
            ctx.out.int(count as i64);
        }
    }
}

fn memory(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    if is(sub, "USAGE") {
        if a.len() < 3 {
            return Err(CmdError::Arity("memory|usage".into()));
        }
        if a.len() == 5 && !is(&a[3], "SAMPLES") || a.len() == 4 || a.len() > 5 {
            return Err(CmdError::Syntax);
        }
        // The count is checked as Redis checks it (tandem's estimate samples nothing).
        if a.len() == 5 && args::int(&a[4])? < 0 {
            return Err(CmdError::Syntax);
        }
        // Looked at, not looked up: an expired key is measured, not expired (dictFind).
        match ctx.db().peek(&a[2]) {
            Some(e) => {
                let n = e.memory_usage(a[2].len());
                ctx.out.int(n as i64);
            }
            None => ctx.out.null(),
        }
    } else if is(sub, "DOCTOR") {
        ctx.out.verbatim("Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n");
    } else if is(sub, "STATS") || is(sub, "MALLOC-STATS") || is(sub, "PURGE") {
        if is(sub, "PURGE") {
            ctx.out.ok();
        } else if is(sub, "STATS") {
            ctx.out.map(1);
            ctx.out.bulk(b"keys.count");
            let n: usize = ctx.state.dbs.iter().map(|d| d.len()).sum();
            ctx.out.int(n as i64);
        } else {
            ctx.out
                .verbatim("Stats not supported for the current allocator\n");
        }
    } else if is(sub, "HELP") {
        ctx.out.array(1);
        ctx.out
            .simple("MEMORY USAGE <key> [SAMPLES <count>] | DOCTOR | STATS | PURGE");
    } else {
        return Err(unknown_subcommand("memory", sub));
    }
    Ok(())
}
