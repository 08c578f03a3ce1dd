//! INFO: the sections redis-server 7.0 reports, with the same field names.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::engine::EngineState;
use crate::server::Server;

/// Sections INFO prints with no argument (or `default`).
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

/// Renders the requested sections (`all`, `everything`, `default`, or names).
pub fn render(server: &Server, state: &EngineState, requested: &[String]) -> String {
    let wanted: Vec<&str> = if requested.is_empty() {
        DEFAULT_SECTIONS.to_vec()
    } else {
        let mut v = Vec::new();
        for r in requested {
            match r.as_str() {
                "all" | "everything" => {
                    v.extend_from_slice(DEFAULT_SECTIONS);
                    v.push("commandstats");
                    v.push("latencystats");
                }
                "default" => v.extend_from_slice(DEFAULT_SECTIONS),
                other => v.push(other),
            }
        }
        v
    };
    let mut out = String::new();
    for section in DEFAULT_SECTIONS
        .iter()
        .chain(["commandstats", "latencystats"].iter())
    {
        if !wanted.contains(section) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        match *section {
            "server" => server_section(server, &mut out),
            "clients" => clients_section(server, &mut out),
            "memory" => memory_section(server, state, &mut out),
            "persistence" => persistence_section(server, state, &mut out),
            "stats" => stats_section(server, state, &mut out),
            "replication" => replication_section(server, &mut out),
            "cpu" => cpu_section(&mut out),
            "modules" => out.push_str("# Modules\r\n"),
            "errorstats" => {
                out.push_str("# Errorstats\r\n");
                state.command_stats.write_errorstats(&mut out);
            }
            "cluster" => out.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
            "keyspace" => keyspace_section(state, &mut out),
            "commandstats" => {
                out.push_str("# Commandstats\r\n");
                state.command_stats.write_commandstats(&mut out);
            }
            "latencystats" => {
                out.push_str("# Latencystats\r\n");
                state.command_stats.write_latencystats(&mut out);
            }
            _ => {}
        }
    }
    out
}

/// One `name:value` line of an INFO section.
pub(crate) fn line(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = write!(out, "{name}:{value}\r\n");
}

fn server_section(server: &Server, out: &mut String) {
    let config = server.config();
    let uptime = server.started.elapsed().as_secs();
    out.push_str("# Server\r\n");
    line(out, "redis_version", crate::REDIS_VERSION);
    line(out, "tandem_version", crate::VERSION);
    line(out, "redis_git_sha1", "00000000");
    line(out, "redis_git_dirty", 0);
    line(out, "redis_build_id", "0");
    line(out, "redis_mode", "standalone");
    line(out, "os", std::env::consts::OS);
    line(out, "arch_bits", 64);
    line(out, "monotonic_clock", "POSIX clock_gettime");
    line(out, "multiplexing_api", "epoll");
    line(out, "atomicvar_api", "c11-builtin");
    line(out, "gcc_version", "0.0.0");
    line(out, "process_id", std::process::id());
    line(out, "process_supervised", "no");
    line(out, "run_id", &server.run_id);
    line(out, "tcp_port", server.port.load(Ordering::Relaxed));
    // tandem additions for operators of a TLS node.
    line(out, "tls_port", config.get("tls-port"));
    if let Some(tls) = &server.tls {
        let cert = tls.summary();
        line(out, "tls_cert_subject", cert.subject);
        line(out, "tls_cert_days_left", cert.days_left);
    }
    line(out, "server_time_usec", crate::keyspace::now_ms() * 1000);
    line(out, "uptime_in_seconds", uptime);
    line(out, "uptime_in_days", uptime / 86400);
    line(out, "hz", config.get("hz"));
    line(out, "configured_hz", config.get("hz"));
    line(
        out,
        "lru_clock",
        (crate::keyspace::now_ms() / 1000) & 0xff_ffff,
    );
    line(
        out,
        "executable",
        std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    line(
        out,
        "config_file",
        config
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    line(
        out,
        "io_threads_active",
        u64::from(config.get_u64("io-threads") > 1),
    );
}

fn clients_section(server: &Server, out: &mut String) {
    let clients = server.clients.all();
    let pubsub = clients
        .iter()
        .filter(|c| c.flags.lock().expect("lock").contains('P'))
        .count();
    out.push_str("# Clients\r\n");
    line(out, "connected_clients", clients.len());
    line(out, "cluster_connections", 0);
    line(out, "maxclients", server.config().get("maxclients"));
    line(out, "client_recent_max_input_buffer", 0);
    line(out, "client_recent_max_output_buffer", 0);
    line(
        out,
        "blocked_clients",
        server.stats.blocked_clients.load(Ordering::Relaxed),
    );
    line(out, "tracking_clients", 0);
    line(out, "pubsub_clients", pubsub);
    line(
        out,
        "clients_in_timeout_table",
        server
            .stats
            .clients_in_timeout_table
            .load(Ordering::Relaxed),
    );
}

/// Resident set size in bytes, from /proc.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

fn memory_section(server: &Server, state: &EngineState, out: &mut String) {
    let rss = rss_bytes();
    let maxmemory = server.config().get_u64("maxmemory");
    out.push_str("# Memory\r\n");
    // A process without the counting allocator (the library's tests) reports its RSS.
    crate::memory::flush_thread();
    let used = match crate::memory::used_memory() {
        0 => rss,
        n => n as u64,
    };
    let peak = (crate::memory::sample_peak() as u64).max(used);
    line(out, "used_memory", used);
    line(out, "used_memory_human", human(used));
    line(out, "used_memory_rss", rss);
    line(out, "used_memory_rss_human", human(rss));
    line(out, "used_memory_peak", peak);
    line(out, "used_memory_peak_human", human(peak));
    line(out, "maxmemory", maxmemory);
    line(out, "maxmemory_human", human(maxmemory));
    line(
        out,
        "maxmemory_policy",
        server.config().get("maxmemory-policy"),
    );
    line(
        out,
        "mem_fragmentation_ratio",
        format!("{:.2}", rss as f64 / used.max(1) as f64),
    );
    line(
        out,
        "mem_not_counted_for_evict",
        crate::evict::not_counted(state),
    );
    line(out, "mem_allocator", "mimalloc-2.3.2");
    line(out, "lazyfree_pending_objects", 0);
}

fn persistence_section(server: &Server, state: &EngineState, out: &mut String) {
    out.push_str("# Persistence\r\n");
    line(out, "loading", 0);
    line(out, "async_loading", 0);
    line(out, "current_cow_peak", 0);
    line(out, "current_cow_size", 0);
    line(out, "current_cow_size_age", 0);
    line(out, "current_fork_perc", "0.00");
    line(out, "current_save_keys_processed", 0);
    line(out, "current_save_keys_total", 0);
    let saves = &server.save_status;
    let ok = |b: bool| if b { "ok" } else { "err" };
    line(
        out,
        "rdb_changes_since_last_save",
        saves.changes_since(state.dirty),
    );
    line(
        out,
        "rdb_bgsave_in_progress",
        saves.in_progress.load(Ordering::Relaxed) as u8,
    );
    line(
        out,
        "rdb_last_save_time",
        saves.last_save.load(Ordering::Relaxed),
    );
    line(
        out,
        "rdb_last_bgsave_status",
        ok(saves.last_ok.load(Ordering::Relaxed)),
    );
    line(
        out,
        "rdb_last_bgsave_time_sec",
        saves
            .last_duration
            .lock()
            .expect("save status")
            .map_or(-1, |d| d as i64),
    );
    line(
        out,
        "rdb_current_bgsave_time_sec",
        saves
            .started
            .lock()
            .expect("save status")
            .map_or(-1, |t| t.elapsed().as_secs() as i64),
    );
    line(out, "rdb_saves", saves.saves.load(Ordering::Relaxed));
    line(out, "rdb_last_cow_size", 0);
    line(out, "rdb_last_load_keys_expired", 0);
    line(out, "rdb_last_load_keys_loaded", 0);
    let Some(aof) = server.aof() else {
        return;
    };
    let info = aof.info();
    let count = |n: &std::sync::atomic::AtomicU64| n.load(Ordering::Relaxed);
    line(out, "aof_enabled", info.enabled as u8);
    line(
        out,
        "aof_rewrite_in_progress",
        aof.rewrite_in_progress.load(Ordering::Relaxed) as u8,
    );
    line(out, "aof_rewrite_scheduled", info.rewrite_scheduled as u8);
    line(
        out,
        "aof_last_rewrite_time_sec",
        aof.last_rewrite_secs.load(Ordering::Relaxed),
    );
    line(
        out,
        "aof_current_rewrite_time_sec",
        aof.current_rewrite_secs(),
    );
    line(
        out,
        "aof_last_bgrewrite_status",
        ok(aof.last_rewrite_ok.load(Ordering::Relaxed)),
    );
    line(out, "aof_rewrites", count(&aof.rewrites));
    line(
        out,
        "aof_rewrites_consecutive_failures",
        count(&aof.consecutive_failures),
    );
    line(out, "aof_last_write_status", ok(info.write_ok));
    line(out, "aof_last_cow_size", 0);
    line(out, "module_fork_in_progress", 0);
    line(out, "module_fork_last_cow_size", 0);
    if server.config().get_bool("appendonly") {
        line(out, "aof_current_size", info.current_size);
        line(out, "aof_base_size", info.base_size);
        line(out, "aof_pending_rewrite", info.rewrite_scheduled as u8);
        line(out, "aof_buffer_length", info.buffer_length);
        line(out, "aof_pending_bio_fsync", 0);
        line(out, "aof_delayed_fsync", 0);
    }
}

fn stats_section(server: &Server, state: &EngineState, out: &mut String) {
    let s = &server.stats;
    let (net_in, net_out) = server.clients.net_totals();
    out.push_str("# Stats\r\n");
    line(
        out,
        "total_connections_received",
        s.connections_received.load(Ordering::Relaxed),
    );
    line(out, "total_commands_processed", state.commands_processed);
    line(out, "instantaneous_ops_per_sec", 0);
    line(out, "total_net_input_bytes", net_in);
    line(out, "total_net_output_bytes", net_out);
    line(out, "instantaneous_input_kbps", "0.00");
    line(out, "instantaneous_output_kbps", "0.00");
    line(
        out,
        "rejected_connections",
        s.rejected_connections.load(Ordering::Relaxed),
    );
    let (full, ok, err) = {
        let st = server.repl.state();
        (st.sync_full, st.sync_partial_ok, st.sync_partial_err)
    };
    line(out, "sync_full", full);
    line(out, "sync_partial_ok", ok);
    line(out, "sync_partial_err", err);
    line(out, "expired_keys", state.stats.expired_keys);
    line(out, "expired_stale_perc", "0.00");
    line(out, "expired_time_cap_reached_count", 0);
    line(out, "expire_cycle_cpu_milliseconds", 0);
    line(out, "evicted_keys", state.stats.evicted_keys);
    line(out, "evicted_clients", 0);
    line(
        out,
        "tls_rejected_handshakes",
        server
            .tls
            .as_ref()
            .map_or(0, |t| t.rejected.load(Ordering::Relaxed)),
    );
    let (exceeded_total, exceeded_now) = state.evictor.exceeded_ms();
    line(out, "total_eviction_exceeded_time", exceeded_total);
    line(out, "current_eviction_exceeded_time", exceeded_now);
    line(out, "keyspace_hits", state.stats.keyspace_hits);
    line(out, "keyspace_misses", state.stats.keyspace_misses);
    line(out, "pubsub_channels", server.pubsub.channels(None).len());
    line(out, "pubsub_patterns", server.pubsub.numpat());
    line(out, "latest_fork_usec", 0);
    // Background snapshot threads: tandem's counterpart of Redis's forks.
    line(out, "total_forks", crate::persistence::background_jobs());
    line(out, "migrate_cached_sockets", server.migrate_sockets.len());
    line(out, "slave_expires_tracked_keys", 0);
    line(out, "active_defrag_hits", 0);
    line(out, "active_defrag_misses", 0);
    line(out, "active_defrag_key_hits", 0);
    line(out, "active_defrag_key_misses", 0);
    line(out, "total_active_defrag_time", 0);
    line(out, "current_active_defrag_time", 0);
    line(out, "tracking_total_keys", 0);
    line(out, "tracking_total_items", 0);
    line(out, "tracking_total_prefixes", 0);
    line(out, "unexpected_error_replies", 0);
    line(
        out,
        "total_error_replies",
        state.command_stats.total_error_replies,
    );
    line(out, "dump_payload_sanitizations", 0);
    line(out, "total_reads_processed", 0);
    line(out, "total_writes_processed", 0);
    line(out, "io_threaded_reads_processed", 0);
    line(out, "io_threaded_writes_processed", 0);
    let reply_buffers = &server.clients.reply_buffers;
    line(
        out,
        "reply_buffer_shrinks",
        reply_buffers.shrinks.load(Ordering::Relaxed),
    );
    line(
        out,
        "reply_buffer_expands",
        reply_buffers.expands.load(Ordering::Relaxed),
    );
}

fn replication_section(server: &Server, out: &mut String) {
    out.push_str("# Replication\r\n");
    server.repl.info_section(&server.config(), out);
}

/// CPU seconds (user, system) from /proc/self/stat.
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the command name (which is in parentheses and may contain spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = 100.0;
    let utime = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / ticks;
    let stime = fields
        .get(12)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / ticks;
    (utime, stime)
}

fn cpu_section(out: &mut String) {
    let (user, sys) = cpu_times();
    out.push_str("# CPU\r\n");
    line(out, "used_cpu_sys", format!("{sys:.6}"));
    line(out, "used_cpu_user", format!("{user:.6}"));
    line(out, "used_cpu_sys_children", "0.000000");
    line(out, "used_cpu_user_children", "0.000000");
    line(out, "used_cpu_sys_main_thread", format!("{sys:.6}"));
    line(out, "used_cpu_user_main_thread", format!("{user:.6}"));
}

fn keyspace_section(state: &EngineState, out: &mut String) {
    out.push_str("# Keyspace\r\n");
    for (i, db) in state.dbs.iter().enumerate() {
        if db.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "db{i}:keys={},expires={},avg_ttl=0\r\n",
            db.len(),
            db.expires_len()
        );
    }
}
