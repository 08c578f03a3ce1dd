//! Replication, the Redis 7.0 protocol (PSYNC2) on both sides of a link.
//!
//! - [`ids`]: replication ids and offsets; [`log`]: the RESP command stream and its
//!   backlog; [`state`]: what this node knows (role, ids, replicas, its master).
//! - [`master`]: the PSYNC decision, the RDB transfer and streaming to a replica;
//!   [`diskless`]: one snapshot serialised once for the replicas that sync together.
//! - [`replica`]: the link to a master: handshake, full sync, applying the stream.
//! - [`failover`]: FAILOVER, handing the master role to a caught-up replica.
//!
//! The master feeds every propagated command, encoded once as RESP, into the log; its
//! retained tail is the backlog that serves partial resyncs, and replica links read from
//! it at their own offsets. A replica feeds the bytes it applied from its master into its
//! own log, so replicas chained below it see the same stream, ids and offsets.

mod diskless;
pub mod failover;
mod ids;
mod log;
pub mod master;
pub mod replica;
pub mod state;

pub use ids::{ReplId, ReplOffset};
pub use log::{encode_command, ReplicationLog, StreamEncoder};
pub use state::{Feed, LinkState, Replication};
