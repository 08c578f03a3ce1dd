//! Replication: ids and offsets, the command stream and its backlog.
//!
//! The master side feeds every propagated command, encoded once as RESP, into the
//! [`ReplicationLog`]; its retained tail is the backlog that serves partial resyncs, and
//! replica links read from it at their own offsets. (The handshake, PSYNC and the replica
//! side build on this; see `shared/spec/replication-protocol.md`.)

mod ids;
mod log;

pub use ids::{ReplId, ReplOffset};
pub use log::{encode_command, ReplicationLog};
