//! Persistence commands: SAVE, BGSAVE, BGREWRITEAOF, LASTSAVE.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use crate::warning;

use super::args::is;
use super::flags::*;
use super::{spec, CmdError, CmdResult, CommandSpec, Ctx};
use crate::persistence;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_MULTI | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        save,
    ),
    spec(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        bgsave,
    ),
    spec(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        (0, 0, 0),
        "server",
        bgrewriteaof,
    ),
    spec(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        (0, 0, 0),
        "server",
        lastsave,
    ),
];

fn save(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    if ctx.server.save_status.in_progress.load(Ordering::Acquire) {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    let snap = ctx.server.snapshot(ctx.state);
    let path = persistence::rdb_path(&ctx.server.config());
    // SAVE blocks the server, as in Redis: the engine lock is held while it writes.
    if persistence::save_now(&ctx.server.save_status, snap, &path) {
        ctx.out.ok();
        Ok(())
    } else {
        Err(CmdError::msg("ERR"))
    }
}

fn bgsave(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let schedule = match a.get(1) {
        None => false,
        Some(opt) if is(opt, "schedule") && a.len() == 2 => true,
        Some(_) => return Err(CmdError::Syntax),
    };
    let status = ctx.server.save_status.clone();
    if status.in_progress.load(Ordering::Acquire) {
        if schedule {
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    let snap = ctx.server.snapshot(ctx.state);
    let path = persistence::rdb_path(&ctx.server.config());
    if !persistence::save_in_background(&status, snap, path) {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    ctx.out.simple("Background saving started");
    Ok(())
}

/// BGREWRITEAOF: a new base from the dataset now, whether the AOF is on or not (off, the
/// manifest ends up naming only that base).
fn bgrewriteaof(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    let aof = ctx.server.aof_arc();
    if ctx.in_exec {
        // As Redis: inside a transaction the rewrite is left to the cron.
        if !aof.schedule_rewrite() {
            return Err(CmdError::msg(
                "ERR Background append only file rewriting already in progress",
            ));
        }
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    let snapshot = ctx.server.aof_snapshot(ctx.state);
    match aof.start_rewrite(snapshot) {
        Ok(true) => {
            ctx.out
                .simple("Background append only file rewriting started");
            Ok(())
        }
        Ok(false) => Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        )),
        Err(e) => {
            warning!("{e}");
            Err(CmdError::msg(
                "ERR Can't execute an AOF background rewriting. Please check the server logs for more information.",
            ))
        }
    }
}

fn lastsave(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.out
        .int(ctx.server.save_status.last_save.load(Ordering::Relaxed) as i64);
    Ok(())
}
