//! tandem: a Redis-compatible server node that replicates over mutual TLS.
//!
//! The binary (`main.rs`) parses the configuration and runs [`server::run`]. Requests flow
//! socket → [`connection`] → [`resp`] parser → [`cmd`] dispatch → [`engine`] state →
//! reply writer → socket.

pub mod atomic_file;
pub mod auth;
pub mod busy_poll;
pub mod clients;
pub mod cmd;
pub mod config;
pub mod connection;
pub mod engine;
pub mod evict;
pub mod info;
pub mod keyspace;
pub mod listeners;
pub mod log;
pub mod memory;
pub mod notify;
pub mod oom_score;
pub mod persistence;
pub mod proc_title;
pub mod pubsub;
pub mod rdb;
pub mod replication;
pub mod resp;
pub mod server;
pub mod stats;
pub mod tls;

/// tandem's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Redis version tandem is compatible with, reported where clients look for it
/// (`redis_version` in INFO, `version` in HELLO) so feature checks in client libraries pass.
pub const REDIS_VERSION: &str = "7.0.15";
