//! `tandem [config-file] [--directive value ...]`: starts a node, like redis-server.

use std::sync::Arc;

/// mimalloc: fast frees of memory allocated on another thread (connection tasks allocate
/// values that other tasks later overwrite) and tight size classes; counted for
/// `used_memory` and `maxmemory`.
#[global_allocator]
static GLOBAL: tandem::memory::CountingAllocator = tandem::memory::CountingAllocator;

use tandem::config::Config;
use tandem::server::{self, Server};
use tandem::{notice, warning};

fn usage() {
    eprintln!("Usage: tandem [/path/to/redis.conf] [options] [-]");
    eprintln!("       tandem - (read config from stdin)");
    eprintln!("       tandem -v or --version");
    eprintln!("       tandem -h or --help");
    eprintln!();
    eprintln!("Examples:");
    eprintln!("       tandem (run the server with default config)");
    eprintln!("       tandem /etc/redis/6379.conf");
    eprintln!("       tandem --port 7777");
    eprintln!("       tandem --port 7777 --replicaof 127.0.0.1 8888");
    eprintln!("       tandem /etc/mytandem.conf --loglevel verbose");
}

/// Announces the start as redis-server does: the logo block (with `always-show-logo yes`,
/// or when logging to a terminal) or one line. Redis's test suite reads ` PID: <pid>` from
/// the logo to know the server it spawned is up.
fn startup_banner(config: &Config) {
    use std::io::IsTerminal;
    let port = match config.get_int("port") {
        0 => config.get_int("tls-port"),
        p => p,
    };
    let show_logo = config.get_bool("always-show-logo")
        || (config.get("logfile").is_empty() && std::io::stdout().is_terminal());
    if !show_logo {
        notice!("Running mode=standalone, port={port}.");
        return;
    }
    let version = format!(
        "tandem {} (Redis {} compatible) 64 bit",
        tandem::VERSION,
        tandem::REDIS_VERSION
    );
    let lines = [
        "       __                      __           ".to_string(),
        "      / /_____ _____  ____/ /__  ____ ___   ".to_string(),
        format!("     / __/ __ `/ __ \\/ __  / _ \\/ __ `__ \\    {version}"),
        "    / /_/ /_/ / / / / /_/ /  __/ / / / / /   ".to_string(),
        "    \\__/\\__,_/_/ /_/\\__,_/\\___/_/ /_/ /_/    Running in standalone mode".to_string(),
        format!("                                             Port: {port}"),
        format!(
            "                                             PID: {}",
            std::process::id()
        ),
        "                                             mutual TLS replication".to_string(),
    ];
    tandem::log::write_raw_notice(&format!("\n{}\n\n", lines.join("\n")));
}

fn main() -> std::process::ExitCode {
    // Kept before the process title is written over them (DEBUG RESTART reuses them).
    let args: Vec<String> = tandem::proc_title::original_args()
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match args.first().map(String::as_str) {
        Some("-v") | Some("--version") => {
            println!(
                "tandem v={} (Redis {} compatible) bits=64",
                tandem::VERSION,
                tandem::REDIS_VERSION
            );
            return std::process::ExitCode::SUCCESS;
        }
        Some("-h") | Some("--help") => {
            usage();
            return std::process::ExitCode::SUCCESS;
        }
        _ => {}
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Err(e) = tandem::log::init(
        config.get("logfile"),
        tandem::log::Level::from_name(config.get("loglevel")),
    ) {
        eprintln!("Can't open the log file: {e}");
        return std::process::ExitCode::FAILURE;
    }
    // `disable-thp yes` (the default, as in Redis): with transparent huge pages the kernel
    // backs the allocator's partly used regions with whole 2 MB pages, which measured
    // about 2% more resident memory for the same dataset.
    if config.get_bool("disable-thp") {
        if let Err(e) = rustix::thread::disable_transparent_huge_pages(true) {
            warning!("Could not disable transparent huge pages: {e}");
        }
    }
    // `dir` is the working directory: the RDB and AOF paths are relative to it.
    let dir = config.get("dir").to_string();
    if !dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&dir) {
            warning!("Can't chdir to '{dir}': {e}");
            return std::process::ExitCode::FAILURE;
        }
    }
    if let Err(e) = tandem::oom_score::apply(&config, !config.get("replicaof").is_empty()) {
        warning!("{e}");
    }
    notice!("oO0OoO0OoO0Oo tandem is starting oO0OoO0OoO0Oo");
    notice!(
        "tandem version={} (Redis {} compatible), bits=64, pid={}, just started",
        tandem::VERSION,
        tandem::REDIS_VERSION,
        std::process::id()
    );
    match &config.file {
        Some(f) => notice!("Configuration loaded from {}", f.display()),
        None => notice!("Warning: no config file specified, using the default config. In order to specify a config file use tandem /path/to/redis.conf"),
    }
    // `io-threads` (default 1, as in Redis) sets how many threads serve client sockets.
    // Every command runs under the one engine lock, so more threads only add parallel
    // socket work; on a machine shared with its clients one thread is the fastest (measured
    // with bench/compare on two cores: -P 16 rows 10-20% above two threads). One thread
    // gets tokio's single-threaded scheduler, which skips the work-stealing bookkeeping
    // (about 0.8 us of CPU per -P 1 request, a fifth of tandem's user time, by perf).
    let io_threads = config.get_u64("io-threads").max(1) as usize;
    let mut builder = if io_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(io_threads);
        b
    };
    // Threads hand their allocation counts in as they end (see tandem::memory).
    builder.on_thread_stop(tandem::memory::flush_thread);
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        for warning in tandem::tls::unsupported_directive_warnings(&config) {
            warning!("{warning}");
        }
        let tls = tandem::tls::TlsServer::from_config(&config)
            .map_err(|e| anyhow::anyhow!("Failed to configure TLS: {e}"))?;
        let listeners = tandem::listeners::bind_all(&config)?;
        startup_banner(&config);
        let replicaof = config.get("replicaof").to_string();
        let server = Arc::new(Server::new(config, tls));
        server.set_self_arc();
        notice!("Server initialized");
        tandem::persistence::load_at_startup(&server).map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some((host, port)) = replicaof.split_once(' ') {
            let port: u16 = port
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("Invalid master port in replicaof: {port}"))?;
            let mut engine = server.engine.lock().unwrap_or_else(|e| e.into_inner());
            tandem::replication::replica::start(&server, &mut engine, host.to_string(), port);
        }
        server::run(server, listeners).await
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            warning!("{e}");
            std::process::ExitCode::FAILURE
        }
    }
}
