//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH, SELECT, CLIENT.

use std::sync::atomic::Ordering;

use bytes::Bytes;

use super::args::{self, is};
use super::flags::*;
use super::{spec, unknown_subcommand, CmdError, CmdResult, CommandSpec, Ctx};
use crate::auth::PasswordCheck;
use crate::clients::ReplyMode;

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "ping",
        -1,
        FAST | SUBSCRIBE_OK,
        (0, 0, 0),
        "connection",
        ping,
    ),
    spec(
        "echo",
        2,
        FAST | LOADING | STALE,
        (0, 0, 0),
        "connection",
        echo,
    ),
    spec(
        "quit",
        -1,
        NO_AUTH | FAST | STALE | LOADING | SUBSCRIBE_OK | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        quit,
    ),
    spec(
        "reset",
        1,
        NO_AUTH | FAST | STALE | LOADING | SUBSCRIBE_OK | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        reset,
    ),
    spec(
        "hello",
        -1,
        NO_AUTH | FAST | STALE | LOADING | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        hello,
    ),
    spec(
        "auth",
        -2,
        NO_AUTH | FAST | STALE | LOADING | ALLOW_BUSY,
        (0, 0, 0),
        "connection",
        auth,
    ),
    spec(
        "select",
        2,
        FAST | STALE | LOADING,
        (0, 0, 0),
        "connection",
        select,
    ),
    spec(
        "client",
        -2,
        ADMIN | STALE | LOADING | CONTAINER,
        (0, 0, 0),
        "connection",
        client,
    ),
];

fn ping(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    if a.len() > 2 {
        return Err(CmdError::Arity("ping".into()));
    }
    if ctx.client.in_pubsub() && !ctx.out.is_resp3() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(a.get(1).map_or(&b""[..], |m| m));
    } else if let Some(msg) = a.get(1) {
        ctx.out.bulk(msg);
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&a[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.client.close_after_reply = true;
    ctx.out.ok();
    Ok(())
}

fn reset(ctx: &mut Ctx, _a: &[Bytes]) -> CmdResult {
    ctx.client.multi = None;
    ctx.client.multi_failed = false;
    let watched = std::mem::take(&mut ctx.client.watched);
    ctx.state.unwatch_all(ctx.client.id, &watched);
    super::pubsub::unsubscribe_all(ctx, false, false);
    super::pubsub::unsubscribe_all(ctx, true, false);
    ctx.client.set_db(0);
    ctx.client.reply_mode = ReplyMode::On;
    ctx.client.monitor = false;
    ctx.server.remove_monitor(ctx.client.id);
    *ctx.client.info.name.lock().expect("lock") = None;
    ctx.client.authenticated = !ctx.server.auth().required();
    ctx.out.set_resp3(false);
    ctx.client.info.resp.store(2, Ordering::Relaxed);
    ctx.client.update_flags();
    ctx.out.simple("RESET");
    Ok(())
}

/// Checks AUTH credentials for the default user; on a hashed password the check runs off
/// the engine lock (the connection finishes it).
fn check_credentials(
    ctx: &mut Ctx,
    user: Option<&Bytes>,
    password: &Bytes,
) -> Result<bool, CmdError> {
    let auth = ctx.server.auth();
    if !auth.required() {
        if user.is_none() {
            return Err(CmdError::msg("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
        }
        // `AUTH default <anything>` succeeds when the default user has no password.
        return Ok(user.is_some_and(|u| u.as_ref() == b"default"));
    }
    if user.is_some_and(|u| u.as_ref() != b"default") {
        return Ok(false);
    }
    match auth.check(password) {
        PasswordCheck::Match => Ok(true),
        PasswordCheck::Mismatch => Ok(false),
        PasswordCheck::NeedsSlowVerify => {
            ctx.client.pending_auth = Some(password.clone());
            Ok(true)
        }
    }
}

pub const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let (user, password) = match a.len() {
        2 => (None, &a[1]),
        3 => (Some(&a[1]), &a[2]),
        _ => return Err(CmdError::Syntax),
    };
    if !check_credentials(ctx, user, password)? {
        return Err(CmdError::msg(WRONGPASS));
    }
    if ctx.client.pending_auth.is_none() {
        ctx.client.authenticated = true;
        ctx.out.ok();
    }
    Ok(())
}

fn hello(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if a.len() > 1 {
        let v = args::int_or(
            &a[1],
            CmdError::msg("ERR Protocol version is not an integer or out of range"),
        )?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        proto = Some(v);
        i = 2;
    }
    let mut setname = None;
    let mut creds = None;
    while i < a.len() {
        let more = a.len() - i - 1;
        if is(&a[i], "AUTH") && more >= 2 {
            creds = Some((a[i + 1].clone(), a[i + 2].clone()));
            i += 3;
        } else if is(&a[i], "SETNAME") && more >= 1 {
            setname = Some(a[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(&a[i])
            )));
        }
    }
    if let Some((user, pass)) = &creds {
        if !check_credentials(ctx, Some(user), pass)? {
            ctx.client.pending_auth = None;
            return Err(CmdError::msg(WRONGPASS));
        }
        if ctx.client.pending_auth.is_some() {
            // The connection verifies, then re-runs HELLO without AUTH.
            ctx.client.pending_hello = Some(
                a.iter()
                    .enumerate()
                    .filter(|(j, x)| {
                        !(is(x, "AUTH")
                            || (*j > 0 && is(&a[j - 1], "AUTH"))
                            || (*j > 1 && is(&a[j - 2], "AUTH")))
                    })
                    .map(|(_, x)| x.clone())
                    .collect(),
            );
            return Ok(());
        }
        ctx.client.authenticated = true;
    }
    if !ctx.client.authenticated {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(name) = setname {
        validate_client_name(&name)?;
        *ctx.client.info.name.lock().expect("lock") = (!name.is_empty()).then_some(name);
    }
    if let Some(p) = proto {
        ctx.out.set_resp3(p == 3);
        ctx.client.info.resp.store(p as usize, Ordering::Relaxed);
    }
    let role = ctx.server.role_name();
    ctx.out.map(7);
    ctx.out.bulk(b"server");
    ctx.out.bulk(b"redis");
    ctx.out.bulk(b"version");
    ctx.out.bulk(crate::REDIS_VERSION.as_bytes());
    ctx.out.bulk(b"proto");
    ctx.out.int(if ctx.out.is_resp3() { 3 } else { 2 });
    ctx.out.bulk(b"id");
    ctx.out.int(ctx.client.id as i64);
    ctx.out.bulk(b"mode");
    ctx.out.bulk(b"standalone");
    ctx.out.bulk(b"role");
    ctx.out.bulk(role.as_bytes());
    ctx.out.bulk(b"modules");
    ctx.out.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let db = super::generic::parse_db_index(ctx, &a[1])?;
    ctx.client.set_db(db);
    ctx.out.ok();
    Ok(())
}

fn validate_client_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    let argc = a.len();
    let arity = |n: bool| {
        if n {
            Ok(())
        } else {
            Err(CmdError::Arity(format!(
                "client|{}",
                String::from_utf8_lossy(sub).to_ascii_lowercase()
            )))
        }
    };
    if is(sub, "ID") {
        arity(argc == 2)?;
        ctx.out.int(ctx.client.id as i64);
    } else if is(sub, "SETNAME") {
        arity(argc == 3)?;
        validate_client_name(&a[2])?;
        *ctx.client.info.name.lock().expect("lock") = (!a[2].is_empty()).then(|| a[2].clone());
        ctx.out.ok();
    } else if is(sub, "GETNAME") {
        arity(argc == 2)?;
        match ctx.client.info.name.lock().expect("lock").clone() {
            Some(n) => ctx.out.bulk(&n),
            None => ctx.out.null(),
        }
    } else if is(sub, "INFO") {
        arity(argc == 2)?;
        // The caller's line names this command, as in Redis.
        ctx.client.publish_last_cmd();
        let line = ctx.client.info.list_line() + "\n";
        ctx.out.verbatim(&line);
    } else if is(sub, "LIST") {
        let mut text = String::new();
        let clients = ctx.server.clients.all();
        let mut filter_ids: Option<Vec<u64>> = None;
        let mut filter_type: Option<String> = None;
        let mut i = 2;
        while i < argc {
            if is(&a[i], "ID") {
                let ids: Result<Vec<u64>, _> = a[i + 1..].iter().map(|x| args::uint(x)).collect();
                filter_ids = Some(ids.map_err(|_| CmdError::msg("ERR Invalid client ID"))?);
                break;
            } else if is(&a[i], "TYPE") && i + 1 < argc {
                filter_type = Some(client_type(&a[i + 1])?);
                i += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        ctx.client.publish_last_cmd();
        for c in clients {
            if filter_ids.as_ref().is_some_and(|ids| !ids.contains(&c.id)) {
                continue;
            }
            if filter_type.as_ref().is_some_and(|t| !c.is_kind(t)) {
                continue;
            }
            text.push_str(&c.list_line());
            text.push('\n');
        }
        ctx.out.verbatim(&text);
    } else if is(sub, "KILL") {
        client_kill(ctx, a)?;
    } else if is(sub, "UNBLOCK") {
        arity(argc == 3 || argc == 4)?;
        let id = args::int(&a[2])?;
        let error = match a.get(3) {
            None => false,
            Some(how) if is(how, "TIMEOUT") => false,
            Some(how) if is(how, "ERROR") => true,
            Some(_) => {
                return Err(CmdError::msg(
                    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                ))
            }
        };
        let target = ctx
            .server
            .clients
            .all()
            .into_iter()
            .find(|c| c.id as i64 == id && c.is_blocked());
        match target {
            Some(c) => {
                c.unblock(error);
                ctx.out.int(1);
            }
            None => ctx.out.int(0),
        }
    } else if is(sub, "REPLY") {
        arity(argc == 3)?;
        let mode = &a[2];
        if is(mode, "ON") {
            ctx.client.reply_mode = ReplyMode::On;
            ctx.out.ok();
        } else if is(mode, "OFF") {
            ctx.client.reply_mode = ReplyMode::Off;
        } else if is(mode, "SKIP") {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        } else {
            return Err(CmdError::Syntax);
        }
    } else if is(sub, "NO-EVICT") || is(sub, "NO-TOUCH") {
        arity(argc == 3)?;
        if !is(&a[2], "ON") && !is(&a[2], "OFF") {
            return Err(CmdError::Syntax);
        }
        ctx.out.ok();
    } else if is(sub, "HELP") {
        let lines = [
            "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
            "LIST [options ...]",
            "    Return information about client connections.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
    } else {
        return Err(unknown_subcommand("client", sub));
    }
    Ok(())
}

/// A client type argument of CLIENT LIST / KILL, lower-cased; Redis's error, quoting it
/// as given, for a type it does not know.
fn client_type(arg: &[u8]) -> Result<String, CmdError> {
    let name = String::from_utf8_lossy(arg).to_ascii_lowercase();
    if !["normal", "master", "replica", "slave", "pubsub"].contains(&name.as_str()) {
        return Err(CmdError::msg(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(arg)
        )));
    }
    Ok(name)
}

fn client_kill(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    // Without a filter it would kill everyone: Redis refuses it (arity -3).
    if a.len() < 3 {
        return Err(CmdError::Arity("client|kill".into()));
    }
    let clients = ctx.server.clients.all();
    if a.len() == 3 {
        // Old form: CLIENT KILL addr:port
        let addr = String::from_utf8_lossy(&a[2]);
        match clients.iter().find(|c| c.addr == addr) {
            Some(c) => {
                if c.id == ctx.client.id {
                    ctx.client.close_after_reply = true;
                } else {
                    c.kill();
                }
                ctx.out.ok();
                return Ok(());
            }
            None => return Err(CmdError::msg("ERR No such client")),
        }
    }
    if !a.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut skipme = true;
    let (mut id, mut addr, mut laddr, mut kind) = (None, None, None, None);
    for pair in a[2..].chunks(2) {
        let v = String::from_utf8_lossy(&pair[1]).into_owned();
        if is(&pair[0], "ID") {
            id = Some(
                args::uint(&pair[1])
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?,
            );
        } else if is(&pair[0], "ADDR") {
            addr = Some(v);
        } else if is(&pair[0], "LADDR") {
            laddr = Some(v);
        } else if is(&pair[0], "TYPE") {
            kind = Some(client_type(&pair[1])?);
        } else if is(&pair[0], "USER") {
            if v != "default" {
                return Err(CmdError::msg(format!("ERR No such user '{v}'")));
            }
        } else if is(&pair[0], "SKIPME") {
            skipme = match v.to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(CmdError::Syntax),
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut killed = 0;
    for c in clients {
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|x| *x != c.addr)
            || laddr.as_ref().is_some_and(|x| *x != c.laddr)
        {
            continue;
        }
        if kind.as_ref().is_some_and(|k| !c.is_kind(k)) {
            continue;
        }
        if c.id == ctx.client.id {
            if skipme {
                continue;
            }
            ctx.client.close_after_reply = true;
        } else {
            c.kill();
        }
        killed += 1;
    }
    ctx.out.int(killed);
    Ok(())
}
