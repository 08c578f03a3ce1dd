//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

use bytes::Bytes;

use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        multi,
    ),
    spec(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        "transactions",
        exec,
    ),
    spec(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        discard,
    ),
    spec(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        "transactions",
        watch,
    ),
    spec(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        "transactions",
        unwatch,
    ),
];

fn multi(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Vec::new());
    ctx.client.multi_failed = false;
    ctx.client.multi_bytes = 0;
    ctx.client.update_flags();
    ctx.out.ok();
    Ok(())
}

/// Ends a transaction: clears the queue and the WATCHes.
pub(super) fn end_transaction(ctx: &mut Ctx) {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    ctx.client.multi_bytes = 0;
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.state.unwatch_all(ctx.client.id, &watched);
    ctx.client.update_flags();
}

fn exec(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let Some(queued) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    let failed = ctx.client.multi_failed;
    // A watched key that expired since WATCH also aborts, as in Redis.
    let expired_watch = ctx
        .state
        .watched_key_expired(ctx.client.id, &ctx.client.watched, ctx.now);
    let dirty = ctx.state.is_cas_dirty(ctx.client.id) || expired_watch;
    end_transaction(ctx);
    if failed {
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    exec_queued(ctx, queued);
    // EXEC itself is not propagated: the commands inside were, wrapped in MULTI/EXEC.
    ctx.propagate_as = Some(Vec::new());
    Ok(())
}

/// Runs queued commands as one atomic unit, replying with an array of their replies.
pub fn exec_queued(ctx: &mut Ctx, queued: Vec<Vec<Bytes>>) {
    ctx.out.array(queued.len());
    ctx.in_exec = true;
    for args in queued {
        match ctx.server.commands.lookup(&args[0]) {
            Some(spec) => {
                super::run_command(ctx, spec, &args, true);
                ctx.server.feed_monitors(ctx.client, &args, spec);
            }
            None => ctx
                .out
                .error(&super::unknown_command_error(&args).to_string()),
        }
    }
    ctx.in_exec = false;
    ctx.state.flush_propagation(true);
}

fn discard(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    end_transaction(ctx);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for key in &a[1..] {
        if !ctx.client.watched.iter().any(|(d, k)| *d == db && k == key) {
            ctx.client.watched.push((db, key.clone()));
            ctx.state.watch(ctx.client.id, db, key.clone(), ctx.now);
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.state.unwatch_all(ctx.client.id, &watched);
    ctx.out.ok();
    Ok(())
}
