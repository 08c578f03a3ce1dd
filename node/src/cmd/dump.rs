//! DUMP and RESTORE: a key's value as an RDB-encoded payload, and back.
//!
//! The payload is the one Redis 7.0 produces (see [`crate::rdb::payload`]), so values move
//! between tandem and redis-server in both directions. RESTORE with a relative TTL is
//! propagated with the absolute time and `ABSTTL`, as Redis does, so replicas and the AOF
//! get the same expiry.

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::keyspace::RecordedAccess;
use crate::rdb::{dump_payload, restore_payload};

pub static COMMANDS: &[CommandSpec] = &[
    spec("dump", 2, READONLY, (1, 1, 1), "generic", dump),
    spec(
        "restore",
        -4,
        WRITE | DENYOOM,
        (1, 1, 1),
        "generic",
        restore,
    ),
    // What a cluster's MIGRATE sends; outside cluster mode the same as RESTORE.
    spec(
        "restore-asking",
        -4,
        WRITE | DENYOOM | ASKING,
        (1, 1, 1),
        "server",
        restore,
    ),
];

fn dump(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    match ctx.read(&a[1]) {
        Some(entry) => {
            let payload = dump_payload(&entry.value);
            ctx.out.bulk(&payload);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// `RESTORE key ttl payload [REPLACE] [ABSTTL] [IDLETIME s] [FREQ f]`.
struct RestoreArgs {
    replace: bool,
    absttl: bool,
    /// IDLETIME (seconds since the key's last access, applied unless the policy is LFU)
    /// or FREQ (the LFU counter, applied under an LFU policy), as in Redis.
    access: RecordedAccess,
}

fn parse_options(a: &[Bytes]) -> Result<RestoreArgs, CmdError> {
    let mut opts = RestoreArgs {
        replace: false,
        absttl: false,
        access: RecordedAccess::default(),
    };
    let mut j = 4;
    while j < a.len() {
        let has_value = j + 1 < a.len();
        if is(&a[j], "REPLACE") {
            opts.replace = true;
        } else if is(&a[j], "ABSTTL") {
            opts.absttl = true;
        } else if is(&a[j], "IDLETIME") && has_value && opts.access.freq.is_none() {
            let secs = u64::try_from(args::int(&a[j + 1])?)
                .map_err(|_| CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"))?;
            opts.access.idle_secs = Some(secs);
            j += 1;
        } else if is(&a[j], "FREQ") && has_value && opts.access.idle_secs.is_none() {
            let freq = u8::try_from(args::int(&a[j + 1])?)
                .map_err(|_| CmdError::msg("ERR Invalid FREQ value, must be >= 0 and <= 255"))?;
            opts.access.freq = Some(freq);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(opts)
}

fn restore(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let opts = parse_options(a)?;
    let key = &a[1];
    let now = ctx.now;
    if !opts.replace && ctx.db().contains(key, now) {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let ttl = args::int(&a[2])?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let mut value = restore_payload(&a[3], key).map_err(|e| CmdError::msg(e.to_string()))?;
    ctx.state.encoding.settle_loaded(&mut value);
    let deleted = opts.replace && ctx.db().remove(key).is_some();
    let expire_at = if ttl != 0 && !opts.absttl {
        ttl.saturating_add(now as i64)
    } else {
        ttl
    };
    // A master (not a replica applying its master's stream) drops an already expired key.
    if expire_at != 0 && expire_at <= now as i64 && !ctx.client.is_master {
        if deleted {
            ctx.modified(key);
            ctx.notify(crate::notify::class::GENERIC, "del", key);
            ctx.propagate(vec![Bytes::from_static(b"DEL"), key.clone()]);
        } else {
            ctx.propagate_as = Some(Vec::new());
        }
        ctx.out.ok();
        return Ok(());
    }
    let db = ctx.db();
    db.insert(key, value, expire_at as u64);
    if let Some(stamp) = db.access.restored(opts.access, db.clock_secs) {
        db.set_access_stamp(key, stamp);
    }
    ctx.modified(key);
    ctx.notify(crate::notify::class::GENERIC, "restore", key);
    if ttl != 0 && !opts.absttl {
        let mut propagated = a.to_vec();
        propagated[2] = args::int_bytes(expire_at);
        propagated.push(Bytes::from_static(b"ABSTTL"));
        ctx.propagate(propagated);
    }
    ctx.out.ok();
    Ok(())
}
