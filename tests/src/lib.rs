//! The black-box test harness: starts the real `tandem` binary (and real `redis-server`
//! peers) on free loopback ports, talks RESP to them, and kills them when a test ends.

pub mod certs;
pub mod client;
pub mod dataset;
pub mod differential;
pub mod server;
pub mod tools;

pub use client::{assert_reply, Client, Reply};
pub use differential::Differential;
pub use server::{Node, NodeKind};
pub use tools::{redis_tool, wait_until};
