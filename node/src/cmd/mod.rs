//! Commands: the command table (name, arity, flags, key positions) and dispatch.
//!
//! Each family lives in its own file and exposes a `COMMANDS` slice of [`CommandSpec`]s.
//! A handler parses its arguments, applies itself through [`Ctx`] (which holds the engine
//! state under its lock, the client, and the reply writer), and writes its reply.

pub mod args;
mod bits;
mod connection;
mod debug;
pub mod docs;
mod dump;
mod generic;
mod hashes;
mod lists;
pub mod long_double;
pub mod migrate;
mod persistence;
mod pubsub;
mod replication;
mod server;
mod sets;
mod sort;
mod strings;
mod transactions;
mod zsets;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

use crate::clients::ClientState;
use crate::engine::EngineState;
use crate::keyspace::{Db, Entry, Value, ValueKind};
use crate::resp::ReplyWriter;
use crate::server::Server;
use crate::stats::slowlog::Caller;
use crate::stats::Run;

pub use connection::WRONGPASS;
pub use transactions::exec_queued;

/// Command flags, as COMMAND INFO reports them.
pub mod flags {
    pub const WRITE: u32 = 1;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const FAST: u32 = 1 << 9;
    /// Allowed before AUTH when a password is set.
    pub const NO_AUTH: u32 = 1 << 10;
    /// Refused inside MULTI (`Command not allowed inside a transaction`).
    pub const NO_MULTI: u32 = 1 << 11;
    /// Allowed in RESP2 subscribe mode.
    pub const SUBSCRIBE_OK: u32 = 1 << 12;
    pub const SKIP_MONITOR: u32 = 1 << 13;
    /// Has subcommands (CLIENT LIST names the command `parent|sub`). Not a flag COMMAND
    /// reports, so not in NAMES.
    pub const CONTAINER: u32 = 1 << 14;
    /// Never logged in the slow log (EXEC: the commands it ran are logged instead).
    pub const SKIP_SLOWLOG: u32 = 1 << 15;
    /// Refused unless `enable-debug-command` allows it (DEBUG). Hidden, as in Redis.
    pub const PROTECTED: u32 = 1 << 16;
    /// Allowed while a script runs too long (Redis's -BUSY); reported by COMMAND.
    pub const ALLOW_BUSY: u32 = 1 << 17;
    /// Refused while a replica loads its master's dataset asynchronously; reported.
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    /// Accepted on a cluster node for a slot being imported (RESTORE-ASKING); reported.
    pub const ASKING: u32 = 1 << 19;

    /// The flags COMMAND reports, in Redis's order (`movablekeys` is derived from the
    /// key positions and goes between `no_multi` and `allow_busy`).
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ASKING, "asking"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
    ];
}

pub type Handler = fn(&mut Ctx, &[Bytes]) -> CmdResult;
pub type CmdResult = Result<(), CmdError>;

/// A command: what COMMAND reports about it and the function that runs it.
#[derive(Debug)]
pub struct CommandSpec {
    pub name: &'static str,
    /// Argument count including the name; negative means "at least -arity".
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub group: &'static str,
    pub handler: Handler,
}

impl CommandSpec {
    pub fn is_write(&self) -> bool {
        self.flags & flags::WRITE != 0
    }

    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    /// The key arguments of `args`, from the key positions.
    /// Whether the command takes key arguments at all.
    pub fn has_keys(&self) -> bool {
        self.first_key > 0 || movable_keys_of(self.name).is_some()
    }

    pub fn keys<'a>(&self, args: &'a [Bytes]) -> Vec<&'a Bytes> {
        if let Some(keys) = movable_keys(self.name, args) {
            return keys;
        }
        if self.first_key <= 0 {
            return Vec::new();
        }
        let last = if self.last_key < 0 {
            args.len() as i32 + self.last_key
        } else {
            self.last_key
        };
        let step = self.step.max(1) as usize;
        (self.first_key as usize..=last.max(0) as usize)
            .step_by(step)
            .filter_map(|i| args.get(i))
            .collect()
    }
}

/// Where the keys of a command whose key positions depend on its arguments are (Redis's
/// movable keys).
#[derive(Debug, Clone, Copy)]
enum MovableKeys {
    /// A count at `count_at` followed by that many keys, after a key at `dest` if any.
    Counted {
        count_at: usize,
        dest: Option<usize>,
    },
    /// SORT's key, and the destination of its STORE option (`store`: SORT, not SORT_RO).
    Sort { store: bool },
    /// The key after a container command's subcommand (OBJECT ENCODING, MEMORY USAGE).
    AfterSubcommand,
}

/// Whether the command's keys are found by parsing its arguments (COMMAND's
/// `movablekeys`).
pub(crate) fn has_movable_keys(name: &str) -> bool {
    movable_keys_of(name).is_some()
}

fn movable_keys_of(name: &str) -> Option<MovableKeys> {
    use MovableKeys::*;
    Some(match name {
        "zunionstore" | "zinterstore" | "zdiffstore" => Counted {
            count_at: 2,
            dest: Some(1),
        },
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            Counted {
                count_at: 1,
                dest: None,
            }
        }
        "blmpop" | "bzmpop" => Counted {
            count_at: 2,
            dest: None,
        },
        "sort" => Sort { store: true },
        "sort_ro" => Sort { store: false },
        "object" | "memory" => AfterSubcommand,
        _ => return None,
    })
}

/// The keys of a movable-keys command in `args` (empty when a count does not fit the
/// arguments); None for the others, whose keys first/last/step locate.
fn movable_keys<'a>(name: &str, args: &'a [Bytes]) -> Option<Vec<&'a Bytes>> {
    Some(match movable_keys_of(name)? {
        MovableKeys::Counted { count_at, dest } => {
            let first = count_at + 1;
            let n = args
                .get(count_at)
                .and_then(|c| args::int(c).ok())
                .filter(|&n| n >= 1 && n as usize <= args.len().saturating_sub(first));
            match n {
                Some(n) => dest
                    .map(|d| &args[d])
                    .into_iter()
                    .chain(&args[first..first + n as usize])
                    .collect(),
                None => Vec::new(),
            }
        }
        MovableKeys::Sort { store } => {
            let mut keys: Vec<&Bytes> = args.get(1).into_iter().collect();
            // STORE may be given several times: the last one is the destination.
            let mut destination = None;
            let mut j = 2;
            while j < args.len() {
                let opt = &args[j];
                if args::is(opt, "LIMIT") {
                    j += 2;
                } else if args::is(opt, "GET") || args::is(opt, "BY") {
                    j += 1;
                } else if store && args::is(opt, "STORE") && j + 1 < args.len() {
                    destination = Some(&args[j + 1]);
                    j += 1;
                }
                j += 1;
            }
            keys.extend(destination);
            keys
        }
        MovableKeys::AfterSubcommand => {
            let names_key = args.get(1).is_some_and(|sub| {
                ["USAGE", "ENCODING", "FREQ", "IDLETIME", "REFCOUNT"]
                    .iter()
                    .any(|s| args::is(sub, s))
            });
            args.get(2).filter(|_| names_key).into_iter().collect()
        }
    })
}

/// Shorthand for table entries.
pub(crate) const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    handler: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        group,
        handler,
    }
}

/// An error reply. `Display` gives the exact line Redis 7.0 sends (without the `-`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CmdError {
    #[error("WRONGTYPE Operation against a key holding the wrong kind of value")]
    WrongType,
    #[error("ERR syntax error")]
    Syntax,
    #[error("ERR value is not an integer or out of range")]
    NotInteger,
    #[error("ERR value is not a valid float")]
    NotFloat,
    #[error("ERR increment or decrement would overflow")]
    Overflow,
    #[error("ERR no such key")]
    NoSuchKey,
    #[error("ERR index out of range")]
    IndexOutOfRange,
    #[error("ERR wrong number of arguments for '{0}' command")]
    Arity(String),
    #[error("ERR timeout is not a float or out of range")]
    BadTimeout,
    #[error("ERR timeout is negative")]
    NegativeTimeout,
    /// A container command (CONFIG, CLIENT...) with a subcommand it does not have.
    #[error("{0}")]
    UnknownSubcommand(String),
    /// Any other error, in Redis's exact words (code included).
    #[error("{0}")]
    Message(Cow<'static, str>),
}

impl CmdError {
    pub fn msg(text: impl Into<Cow<'static, str>>) -> CmdError {
        CmdError::Message(text.into())
    }
}

/// A blocked command's wait: the keys that can unblock it and until when.
#[derive(Debug)]
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    /// None blocks forever.
    pub timeout: Option<Duration>,
    /// Signalled when one of the keys is written.
    pub waker: Arc<Notify>,
}

/// Everything a command handler works with.
pub struct Ctx<'a> {
    pub server: &'a Server,
    pub state: &'a mut EngineState,
    pub client: &'a mut ClientState,
    pub out: &'a mut ReplyWriter,
    /// Time of execution, Unix ms (fixed for the whole command, as Redis does).
    pub now: u64,
    /// The last clock reading: when the previous command of the batch ended, which is
    /// when this one starts (one reading per command times a pipeline). A TSC reading
    /// where the CPU has an invariant one: a fraction of clock_gettime's cost.
    pub clock: quanta::Instant,
    /// Set by a blocking command that found nothing to serve.
    pub block: Option<BlockRequest>,
    /// True when re-run after a wake-up or timeout (a blocking command then replies nil
    /// on timeout instead of blocking again).
    pub timed_out: bool,
    /// True while a command that blocked runs again (woken, or timed out). Redis 7.0 serves
    /// a blocked client only from a key of the type it waits for: a key that meanwhile
    /// became another type is skipped then, not a WRONGTYPE error as on the first run.
    pub retrying: bool,
    /// The propagated form when it differs from the command as received; `Some(vec![])`
    /// propagates nothing.
    pub propagate_as: Option<Vec<Vec<Bytes>>>,
    /// Keys modified by this command (each counted as one change).
    pub modified: u64,
    /// True while EXEC runs queued commands: blocking commands must not block then.
    pub in_exec: bool,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("client", &self.client.id)
            .finish()
    }
}

impl<'a> Ctx<'a> {
    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.state.dbs[self.client.db]
    }

    /// Records a modification of `key` in the current db (WATCH, blocked clients, dirty).
    pub fn modified(&mut self, key: &Bytes) {
        self.modified += 1;
        let db = self.client.db;
        self.state.signal_modified(db, key);
        // A replica (whose databases keep expired keys for its master's DEL) written to by
        // its own clients.
        if !self.state.dbs[db].delete_expired && !self.client.is_master {
            self.state.note_replica_write(db, key);
        }
    }

    /// Reports keyspace event `event` of `class` (see [`crate::notify::class`]) on `key`
    /// in the current database, published after the command if that class is enabled.
    pub fn notify(&mut self, class: u16, event: &'static str, key: &[u8]) {
        let db = self.client.db;
        self.state.notify(class, event, db, key);
    }

    /// A read of `key` found nothing: the `keymiss` event, for the lookups that do not go
    /// through [`Ctx::read`] (EXISTS, TYPE, TTL...).
    pub fn missed(&mut self, key: &[u8]) {
        self.notify(crate::notify::class::KEY_MISS, "keymiss", key);
    }

    /// Propagates `args` (in addition to anything already chosen) instead of the command
    /// as received.
    pub fn propagate(&mut self, args: Vec<Bytes>) {
        self.propagate_as.get_or_insert_with(Vec::new).push(args);
    }

    /// Looks `key` up for reading, counting a hit or a miss.
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        self.state.read(self.client.db, key, self.now)
    }

    /// Reads `key` expecting a value of `kind`: `Ok(None)` when absent, WRONGTYPE otherwise.
    pub fn read_typed(&mut self, key: &[u8], kind: ValueKind) -> Result<Option<&Value>, CmdError> {
        match self.read(key) {
            None => Ok(None),
            Some(e) if e.value.kind() == kind => Ok(Some(&e.value)),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// Reads `key` expecting `kind` and lends the reply writer alongside, so a stored value
    /// is written to the reply without being cloned (a clone of a stored `Bytes` would
    /// give it a shared header it keeps for life).
    pub fn read_for_reply(
        &mut self,
        key: &[u8],
        kind: ValueKind,
    ) -> Result<(Option<&Value>, &mut ReplyWriter), CmdError> {
        let value = match self.state.read(self.client.db, key, self.now) {
            Some(e) if e.value.kind() != kind => return Err(CmdError::WrongType),
            Some(e) => Some(&e.value),
            None => None,
        };
        Ok((value, &mut *self.out))
    }

    /// Looks `key` up for writing, expecting `kind` (absent is fine).
    pub fn write_typed(
        &mut self,
        key: &[u8],
        kind: ValueKind,
    ) -> Result<Option<&mut Value>, CmdError> {
        let now = self.now;
        match self.db().get_mut(key, now) {
            None => Ok(None),
            Some(e) if e.value.kind() == kind => Ok(Some(&mut e.value)),
            Some(_) => Err(CmdError::WrongType),
        }
    }

    /// The value a pop may take from `key`: a write lookup (no keyspace hit or miss, as
    /// the pops make in Redis), WRONGTYPE for another type, except while a blocked command
    /// is [retrying](Ctx::retrying), when such a key is passed over as absent.
    pub fn pop_source(
        &mut self,
        key: &[u8],
        kind: ValueKind,
    ) -> Result<Option<&mut Value>, CmdError> {
        let retrying = self.retrying;
        match self.write_typed(key, kind) {
            Err(CmdError::WrongType) if retrying => Ok(None),
            found => found,
        }
    }

    /// The value of `key` of `kind`, created empty with `make` when absent.
    pub fn write_or_create(
        &mut self,
        key: &[u8],
        kind: ValueKind,
        make: fn() -> Value,
    ) -> Result<&mut Value, CmdError> {
        let now = self.now;
        let entry = self.db().get_or_insert_with(key, now, make);
        if entry.value.kind() != kind {
            return Err(CmdError::WrongType);
        }
        Ok(&mut entry.value)
    }

    /// Deletes `key` if its collection became empty (Redis never keeps empty collections),
    /// reporting the `del` event; the caller reports its own event (`lpop`, `srem`...)
    /// first, as Redis orders them.
    pub fn remove_if_empty(&mut self, key: &[u8]) {
        let db = self.db();
        if db.peek(key).is_some_and(|e| e.value.is_empty_collection()) {
            db.remove(key);
            self.notify(crate::notify::class::GENERIC, "del", key);
        }
    }

    /// Whether a blocking command that found nothing must reply as timed out instead of
    /// blocking: after its timeout, or inside a transaction, where nothing may block.
    pub fn must_not_block(&self) -> bool {
        self.timed_out || self.in_exec
    }

    /// Replaces `dst` with a collection built by a *STORE command, deleting `dst` when the
    /// collection is empty (Redis never keeps empty collections). Reports `event` of
    /// `class` for a stored result, `del` for a deleted `dst`.
    pub fn store_collection(&mut self, dst: &Bytes, value: Value, class: u16, event: &'static str) {
        if value.is_empty_collection() {
            if self.db().remove(dst).is_some() {
                self.modified(dst);
                self.notify(crate::notify::class::GENERIC, "del", dst);
            }
        } else {
            self.db().insert(dst, value, 0);
            self.modified(dst);
            self.notify(class, event, dst);
        }
    }

    /// Asks the connection to block this command on `keys` until `timeout`.
    pub fn block_on(&mut self, keys: Vec<Bytes>, timeout: Option<Duration>) {
        let waker = Arc::new(Notify::new());
        let db = self.client.db;
        for k in &keys {
            self.state.block_on(db, k.clone(), waker.clone());
        }
        self.block = Some(BlockRequest {
            keys,
            timeout,
            waker,
        });
    }
}

/// All commands by lower-case name.
#[derive(Debug)]
pub struct CommandTable {
    by_name: HashMap<Vec<u8>, &'static CommandSpec, foldhash::fast::RandomState>,
}

impl CommandTable {
    /// The full table, with `rename-command` renames (an empty new name disables).
    pub fn new(renames: &[(String, String)]) -> CommandTable {
        let mut by_name: HashMap<Vec<u8>, &'static CommandSpec, foldhash::fast::RandomState> =
            HashMap::default();
        for family in [
            connection::COMMANDS,
            generic::COMMANDS,
            dump::COMMANDS,
            migrate::COMMANDS,
            sort::COMMANDS,
            strings::COMMANDS,
            bits::COMMANDS,
            lists::COMMANDS,
            hashes::COMMANDS,
            sets::COMMANDS,
            zsets::COMMANDS,
            pubsub::COMMANDS,
            transactions::COMMANDS,
            server::COMMANDS,
            debug::COMMANDS,
            replication::COMMANDS,
            persistence::COMMANDS,
        ] {
            for spec in family {
                by_name.insert(spec.name.as_bytes().to_vec(), spec);
            }
        }
        for (old, new) in renames {
            if let Some(spec) = by_name.remove(old.as_bytes()) {
                if !new.is_empty() {
                    by_name.insert(new.as_bytes().to_vec(), spec);
                }
            }
        }
        CommandTable { by_name }
    }

    pub fn lookup(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let mut lower = [0u8; 32];
        if name.len() > lower.len() {
            return None;
        }
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name.get(&lower[..name.len()]).copied()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &'static CommandSpec)> + '_ {
        self.by_name.iter().map(|(n, s)| (n.as_slice(), *s))
    }
}

/// The error for an unknown command, worded as Redis 7.0 words it.
pub fn unknown_command_error(args: &[Bytes]) -> CmdError {
    let mut text = format!(
        "ERR unknown command '{}', with args beginning with: ",
        String::from_utf8_lossy(&args[0][..args[0].len().min(128)])
    );
    for a in args.iter().skip(1) {
        text.push('\'');
        text.push_str(&String::from_utf8_lossy(&a[..a.len().min(128)]));
        text.push_str("' ");
        if text.len() > 1024 {
            break;
        }
    }
    CmdError::msg(text)
}

/// The error for an unknown subcommand (CONFIG FOO, CLIENT FOO...).
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
    CmdError::UnknownSubcommand(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        cmd.to_ascii_uppercase()
    ))
}

/// Replies to a `HELP` subcommand: one status line per line of text.
pub fn reply_help(ctx: &mut Ctx, lines: &[&str]) {
    ctx.out.array(lines.len());
    for line in lines {
        ctx.out.simple(line);
    }
}

/// Whether `args` has the arity `spec` demands.
pub fn arity_ok(spec: &CommandSpec, argc: usize) -> bool {
    arity_matches(spec.arity, argc)
}

/// Whether `argc` arguments fit `arity` as COMMAND gives it: exactly that many, or at
/// least `-arity` when negative.
fn arity_matches(arity: i32, argc: usize) -> bool {
    (arity > 0 && argc == arity as usize) || (arity < 0 && argc >= arity.unsigned_abs() as usize)
}

/// Checks a subcommand's argument count against the arity Redis's table gives it, with
/// Redis's error naming it `parent|sub`.
pub fn subcommand_arity(full_name: &str, arity: i32, argc: usize) -> CmdResult {
    if arity_matches(arity, argc) {
        Ok(())
    } else {
        Err(CmdError::Arity(full_name.into()))
    }
}

/// Commands that still run immediately inside MULTI (everything else is queued).
fn runs_inside_multi(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// Runs one command outside a client connection (the master link on a replica, AOF
/// replay): the same checks and effects, with the reply left in `out` for the caller.
pub fn execute_detached(
    server: &Server,
    state: &mut EngineState,
    client: &mut ClientState,
    out: &mut ReplyWriter,
    args: &[Bytes],
    now: u64,
) {
    let mut ctx = Ctx {
        server,
        state,
        client,
        out,
        now,
        clock: quanta::Instant::now(),
        block: None,
        timed_out: true,
        retrying: false,
        propagate_as: None,
        modified: 0,
        in_exec: false,
    };
    dispatch(&mut ctx, args);
}

/// Executes one request from a client: lookup, arity, authentication, subscribe mode,
/// MULTI queueing, read-only replica check, then the command itself.
pub fn dispatch(ctx: &mut Ctx, args: &[Bytes]) {
    // Pipelines usually repeat one command: remember the last lookup (by the name the
    // client sent, so a `rename-command` cannot be bypassed through the cache).
    let spec = match &ctx.client.last_spec {
        Some((name, spec)) if name.eq_ignore_ascii_case(&args[0]) => *spec,
        _ => match ctx.server.commands.lookup(&args[0]) {
            Some(spec) => {
                ctx.client.last_spec = Some((Bytes::copy_from_slice(&args[0]), spec));
                spec
            }
            None => return reject(ctx, None, unknown_command_error(args)),
        },
    };
    if !arity_ok(spec, args.len()) {
        return reject(
            ctx,
            Some(full_name(spec, args)),
            CmdError::Arity(spec.name.to_string()),
        );
    }
    if spec.has(flags::PROTECTED) && !local_or_yes(ctx, "enable-debug-command") {
        return reject(
            ctx,
            Some(spec.name),
            CmdError::msg(
                "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.",
            ),
        );
    }
    if !ctx.client.authenticated && !spec.has(flags::NO_AUTH) {
        return reject(
            ctx,
            Some(full_name(spec, args)),
            CmdError::msg("NOAUTH Authentication required."),
        );
    }
    // Over maxmemory: evict, and refuse what may add memory if that was not enough. Not
    // for AOF replay or a blocked command served at last; the master's stream is never
    // refused (a replica follows its master).
    if ctx.state.evictor.enabled()
        && !ctx.client.uncounted
        && !ctx.client.resumed_call
        && crate::evict::enforce(ctx.server, ctx.state) == crate::evict::Outcome::Failed
        && !ctx.client.is_master
        && refused_out_of_memory(ctx, spec)
    {
        return reject(
            ctx,
            Some(full_name(spec, args)),
            CmdError::msg(crate::evict::OOM_ERROR),
        );
    }
    if ctx.client.in_pubsub() && !ctx.out.is_resp3() && !spec.has(flags::SUBSCRIBE_OK) {
        return reject(
            ctx,
            Some(full_name(spec, args)),
            CmdError::msg(format!(
                "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
                spec.name
            )),
        );
    }
    // Before queueing, as in Redis: a write queued in MULTI on a read-only replica is
    // refused (and spoils the transaction) rather than run by EXEC.
    if !ctx.client.is_master {
        if writes_something(ctx, spec) {
            if let Some(waker) = crate::replication::failover::pause_writer(ctx.server) {
                // FAILOVER fixes the dataset: the write runs when it ends.
                ctx.block = Some(BlockRequest {
                    keys: Vec::new(),
                    timeout: None,
                    waker,
                });
                return;
            }
        }
        if let Some(err) = persistence_refusal(ctx, spec) {
            return reject(ctx, Some(full_name(spec, args)), err);
        }
        if let Some(err) = replication_refusal(ctx, spec) {
            return reject(ctx, Some(full_name(spec, args)), err);
        }
    }
    if ctx.client.multi.is_some() && spec.has(flags::NO_MULTI) {
        return reject(
            ctx,
            Some(full_name(spec, args)),
            CmdError::msg("ERR Command not allowed inside a transaction"),
        );
    }
    if let Some(queue) = ctx.client.multi.as_mut() {
        if !runs_inside_multi(spec) {
            ctx.client.multi_bytes += args.iter().map(|a| a.len()).sum::<usize>();
            queue.push(args.to_vec());
            ctx.out.simple("QUEUED");
            return;
        }
    }
    // A blocked command re-run after its wait was shown when it first ran.
    let show = !ctx.client.resumed_call;
    ctx.client.last_cmd = Some(full_name(spec, args));
    run_command(ctx, spec, args, false);
    if show && ctx.server.has_monitors() {
        // After running, as Redis does: EXEC comes after the commands it ran, SELECT
        // shows the database it selected. Not charged to the next command's time.
        ctx.server.feed_monitors(ctx.client, args, spec);
        ctx.clock = quanta::Instant::now();
    }
}

/// The name Redis gives the command `args` runs: `config|get` for a subcommand.
pub fn full_name(spec: &'static CommandSpec, args: &[Bytes]) -> &'static str {
    if spec.has(flags::CONTAINER) {
        docs::full_name(spec.name, args)
    } else {
        spec.name
    }
}

/// Whether a `yes` / `local` / `no` setting (`enable-debug-command`,
/// `enable-protected-configs`) lets this client in: `yes`, or `local` and the client
/// connected from the loopback address or a unix socket.
fn local_or_yes(ctx: &Ctx, setting: &str) -> bool {
    match ctx.server.config().get(setting) {
        "yes" => true,
        "local" => ctx.client.info.local,
        _ => false,
    }
}

/// Whether running `spec` now may change the dataset: a write command, or EXEC of a
/// transaction that queued one.
fn writes_something(ctx: &Ctx, spec: &CommandSpec) -> bool {
    runs_flagged(ctx, spec, flags::WRITE)
}

/// Whether `spec`, or the transaction it EXECs, has a command with `flag`.
fn runs_flagged(ctx: &Ctx, spec: &CommandSpec, flag: u32) -> bool {
    spec.has(flag) || queued_any(ctx, spec, |s| s.has(flag))
}

/// Whether `spec` is EXEC of a transaction that queued a command for which `test` holds.
fn queued_any(ctx: &Ctx, spec: &CommandSpec, test: impl Fn(&CommandSpec) -> bool) -> bool {
    spec.name == "exec"
        && ctx.client.multi.as_ref().is_some_and(|queue| {
            queue
                .iter()
                .any(|args| ctx.server.commands.lookup(&args[0]).is_some_and(&test))
        })
}

/// Whether memory over `maxmemory` refuses `spec`, as Redis decides: a command that may
/// grow the dataset (or EXEC of one), and inside MULTI anything but EXEC, DISCARD, QUIT
/// and RESET, since even queueing takes memory.
fn refused_out_of_memory(ctx: &Ctx, spec: &CommandSpec) -> bool {
    runs_flagged(ctx, spec, flags::DENYOOM)
        || (ctx.client.multi.is_some()
            && !matches!(spec.name, "exec" | "discard" | "quit" | "reset"))
}

/// Why replication state forbids a client command: a write on a read-only replica, any
/// data command on a replica whose link is down with `replica-serve-stale-data no`, or a
/// write on a master without `min-replicas-to-write` good replicas.
/// MISCONF: writes (and PING, as in Redis) are refused while the data cannot be
/// persisted: the last RDB save failed with `stop-writes-on-bgsave-error yes` and save
/// points set, or writes to the AOF fail.
fn persistence_refusal(ctx: &Ctx, spec: &CommandSpec) -> Option<CmdError> {
    if !(spec.name == "ping" || writes_something(ctx, spec)) {
        return None;
    }
    let server = ctx.server;
    let rdb_failed = !server
        .save_status
        .last_ok
        .load(std::sync::atomic::Ordering::Relaxed)
        && {
            let config = server.config();
            config.get_bool("stop-writes-on-bgsave-error") && !config.get("save").is_empty()
        };
    if rdb_failed {
        return Some(CmdError::msg(
            "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.",
        ));
    }
    server
        .aof()
        .and_then(|aof| aof.write_refusal())
        .map(CmdError::msg)
}

fn replication_refusal(ctx: &Ctx, spec: &CommandSpec) -> Option<CmdError> {
    let repl = &ctx.server.repl;
    if repl.is_replica() {
        let config = ctx.server.config();
        if writes_something(ctx, spec) && config.get_bool("replica-read-only") {
            return Some(CmdError::msg(
                "READONLY You can't write against a read only replica.",
            ));
        }
        let needs_data = !spec.has(flags::STALE) || queued_any(ctx, spec, |s| !s.has(flags::STALE));
        if needs_data && !config.get_bool("replica-serve-stale-data") && !repl.link_up() {
            return Some(CmdError::msg(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.",
            ));
        }
        return None;
    }
    let min = repl.min_replicas_to_write();
    if min > 0 && writes_something(ctx, spec) {
        let max_lag = ctx.server.config().get_u64("min-replicas-max-lag");
        if (repl.state().good_replicas(max_lag) as u64) < min {
            return Some(CmdError::msg(
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
    }
    None
}

/// Replies with an error for a command that could not be queued or run (`name` when it
/// is a known command, whose `rejected_calls` it counts); inside MULTI the transaction is
/// marked to abort, and a refused EXEC discards it, as Redis does.
fn reject(ctx: &mut Ctx, name: Option<&'static str>, err: CmdError) {
    ctx.client.resumed_call = false;
    if name == Some("exec") {
        // Redis's execCommandAbort: the transaction (if any) is discarded, and the reason
        // is given without the ERR code its plain reply would carry.
        transactions::end_transaction(ctx);
        let reason = err.to_string();
        let reason = reason.strip_prefix("ERR ").unwrap_or(&reason);
        ctx.out.error(&format!(
            "EXECABORT Transaction discarded because of: {reason}"
        ));
    } else {
        if ctx.client.multi.is_some() {
            ctx.client.multi_failed = true;
        }
        ctx.out.error(&err.to_string());
    }
    let counted = !ctx.client.uncounted;
    ctx.state.command_stats.count_errors(ctx.out, counted);
    if let Some(name) = name.filter(|_| counted) {
        let slot = stats_slot(ctx, name);
        ctx.state.command_stats.record_rejected(slot);
    }
}

/// Runs a command that passed the checks and queues its propagation. `in_exec` defers the
/// flush to the end of the transaction.
pub fn run_command(ctx: &mut Ctx, spec: &'static CommandSpec, args: &[Bytes], in_exec: bool) {
    let repl_end = ctx.state.repl_end;
    ctx.modified = 0;
    ctx.propagate_as = None;
    // Errors written before this command are not its own.
    ctx.state
        .command_stats
        .count_errors(ctx.out, !ctx.client.uncounted);
    let resumed = std::mem::take(&mut ctx.client.resumed_call);
    ctx.retrying = resumed;
    ctx.state.dbs[ctx.client.db].begin_command();
    let started = ctx.clock;
    let result = (spec.handler)(ctx, args);
    let refusal = result.as_ref().err().and_then(|e| Refusal::of(spec, e));
    if let Err(e) = result {
        ctx.out.error(&e.to_string());
    }
    let db = ctx.client.db;
    // Lazily expired keys go out as DEL before the command that found them.
    ctx.state.propagate_expired(db);
    crate::notify::publish(ctx.server, ctx.state);
    if ctx.state.propagating() {
        match ctx.propagate_as.take() {
            Some(list) => {
                for cmd in list {
                    ctx.state.propagate(db, cmd);
                }
            }
            None if spec.is_write() && ctx.modified > 0 => ctx.state.propagate(db, args.to_vec()),
            None => {}
        }
    }
    if !in_exec {
        ctx.state.flush_propagation(false);
    }
    if ctx.state.repl_end != repl_end {
        ctx.client.woff = ctx.state.repl_end;
    }
    // Read after propagation, so copying a large command into the backlog or the AOF is
    // charged to that command rather than to the next one of the batch.
    ctx.clock = quanta::Instant::now();
    let usec = ctx.clock.duration_since(started).as_micros() as u64;
    account(ctx, spec, args, usec, resumed, refusal);
    // Before the next command may evict what this one added.
    crate::memory::sample_peak();
}

/// A command refused by its own handler before doing anything, which Redis refuses
/// before running it: a subcommand with the wrong number of arguments (counted in the
/// subcommand's `rejected_calls`), or an unknown subcommand (not counted for any command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Counted,
    Uncounted,
}

impl Refusal {
    fn of(spec: &CommandSpec, err: &CmdError) -> Option<Refusal> {
        match err {
            CmdError::Arity(name) if name.contains('|') => Some(Refusal::Counted),
            CmdError::UnknownSubcommand(_) if spec.has(flags::CONTAINER) => {
                Some(Refusal::Uncounted)
            }
            _ => None,
        }
    }
}

/// Counts a command that ran `usec` microseconds: its error replies, its counters and
/// latency, the slow log. A command that blocked is counted as a call when it blocks and
/// timed when it completes (`resumed`), as Redis does; one that times out is not timed.
fn account(
    ctx: &mut Ctx,
    spec: &'static CommandSpec,
    args: &[Bytes],
    usec: u64,
    resumed: bool,
    refusal: Option<Refusal>,
) {
    let counted = !ctx.client.uncounted;
    let failed = ctx.state.command_stats.count_errors(ctx.out, counted);
    if !counted {
        return;
    }
    let slot = stats_slot(ctx, full_name(spec, args));
    let run = match (refusal, ctx.block.is_some(), resumed) {
        (Some(Refusal::Counted), _, _) => return ctx.state.command_stats.record_rejected(slot),
        (Some(Refusal::Uncounted), _, _) => return,
        (None, true, resumed) => {
            ctx.client.resumed_call = true;
            if resumed {
                return;
            }
            Run::Blocked
        }
        // Redis times neither a blocked command that timed out nor a WAIT it releases.
        (None, false, true) if ctx.timed_out || spec.name == "wait" => return,
        (None, false, true) => Run::Unblocked { failed },
        (None, false, false) => Run::Completed { failed },
    };
    ctx.state.command_stats.record(slot, usec, run);
    let event = match run {
        Run::Unblocked { .. } => "command-unblocking",
        _ if spec.has(flags::FAST) => "fast-command",
        _ => "command",
    };
    ctx.state
        .latency_monitor
        .sample_if_needed(event, usec / 1000, || crate::keyspace::now_ms() / 1000);
    if !matches!(run, Run::Unblocked { .. }) {
        ctx.state.commands_processed += 1;
    }
    if run == Run::Blocked || spec.has(flags::SKIP_SLOWLOG) {
        return;
    }
    ctx.state.slowlog.trim();
    if ctx.state.slowlog.is_slow(usec) {
        let name = ctx
            .client
            .info
            .name
            .lock()
            .expect("client name lock")
            .clone();
        ctx.state.slowlog.push(
            args,
            |i| redacted_arg(spec, args, i),
            usec,
            crate::keyspace::now_ms() / 1000,
            Caller {
                peer: &ctx.client.info.addr,
                name: name.as_ref(),
            },
        );
    }
}

/// The slot of `name`'s counters, remembered by the client for the next command (a
/// pipeline usually repeats one).
fn stats_slot(ctx: &mut Ctx, name: &'static str) -> usize {
    match ctx.client.stats_slot {
        Some((last, slot)) if std::ptr::eq(last, name) => slot,
        _ => {
            let slot = ctx.state.command_stats.slot(name);
            ctx.client.stats_slot = Some((name, slot));
            slot
        }
    }
}

/// Whether argument `i` of `args` is a secret that the slow log and MONITOR show as
/// `(redacted)`, as Redis does: AUTH's credentials, HELLO's and MIGRATE's AUTH / AUTH2
/// credentials, and the values of sensitive directives in CONFIG SET.
pub fn redacted_arg(spec: &CommandSpec, args: &[Bytes], i: usize) -> bool {
    match spec.name {
        "auth" => i >= 1,
        "hello" => {
            // HELLO protover [AUTH user pass] [SETNAME name]
            let mut j = 2;
            while j < args.len() {
                if args[j].eq_ignore_ascii_case(b"AUTH") && j + 2 < args.len() {
                    if i == j + 1 || i == j + 2 {
                        return true;
                    }
                    j += 3;
                } else if args[j].eq_ignore_ascii_case(b"SETNAME") {
                    j += 2;
                } else {
                    break;
                }
            }
            false
        }
        "migrate" => {
            // MIGRATE host port key db timeout [COPY] [REPLACE] [AUTH pw] [AUTH2 user pw]
            // [KEYS key ...]
            let mut j = 6;
            while j < args.len() {
                if args[j].eq_ignore_ascii_case(b"AUTH") {
                    if i == j + 1 {
                        return true;
                    }
                    j += 2;
                } else if args[j].eq_ignore_ascii_case(b"AUTH2") {
                    if i == j + 1 || i == j + 2 {
                        return true;
                    }
                    j += 3;
                } else if args[j].eq_ignore_ascii_case(b"KEYS") {
                    break;
                } else {
                    j += 1;
                }
            }
            false
        }
        "config" => {
            i >= 3
                && i % 2 == 1
                && args[1].eq_ignore_ascii_case(b"SET")
                && std::str::from_utf8(&args[i - 1])
                    .ok()
                    .and_then(|name| crate::config::find(&name.to_ascii_lowercase()))
                    .is_some_and(|d| d.sensitive())
        }
        _ => false,
    }
}
