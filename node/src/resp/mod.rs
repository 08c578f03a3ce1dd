//! RESP, the Redis serialization protocol: the request parser and the reply writer.
//!
//! This module knows bytes and frames, nothing of commands. Requests are parsed
//! zero-copy out of the connection's read buffer (each argument is a `Bytes` slice of it);
//! replies are written straight into an output buffer in RESP2 or RESP3.

mod parser;
mod writer;

pub use parser::{parse_request, split_args, ParseLimits, ProtocolError, RequestParser};
pub use writer::{format_double, ReplyWriter};
