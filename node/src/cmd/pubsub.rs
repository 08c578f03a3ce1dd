//! Pub/Sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB.

use bytes::Bytes;

use super::args::is;
use super::flags::*;
use super::{spec, unknown_subcommand, CmdError, CmdResult, CommandSpec, Ctx};

pub static COMMANDS: &[CommandSpec] = &[
    spec(
        "subscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBE_OK,
        (0, 0, 0),
        "pubsub",
        subscribe,
    ),
    spec(
        "unsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBE_OK,
        (0, 0, 0),
        "pubsub",
        unsubscribe,
    ),
    spec(
        "psubscribe",
        -2,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBE_OK,
        (0, 0, 0),
        "pubsub",
        psubscribe,
    ),
    spec(
        "punsubscribe",
        -1,
        PUBSUB | NOSCRIPT | LOADING | STALE | SUBSCRIBE_OK,
        (0, 0, 0),
        "pubsub",
        punsubscribe,
    ),
    spec(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST,
        (0, 0, 0),
        "pubsub",
        publish,
    ),
    spec(
        "pubsub",
        -2,
        PUBSUB | LOADING | STALE | CONTAINER,
        (0, 0, 0),
        "pubsub",
        pubsub,
    ),
];

/// Writes one subscription confirmation: `[kind, channel, count]` as a push.
fn confirm(ctx: &mut Ctx, kind: &str, channel: Option<&Bytes>) {
    ctx.out.push(3);
    ctx.out.bulk(kind.as_bytes());
    match channel {
        Some(c) => ctx.out.bulk(c),
        None => ctx.out.null(),
    }
    ctx.out.int(ctx.client.subscription_count() as i64);
}

fn subscribe_generic(ctx: &mut Ctx, a: &[Bytes], pattern: bool) -> CmdResult {
    let kind = if pattern { "psubscribe" } else { "subscribe" };
    for ch in &a[1..] {
        let set = if pattern {
            &mut ctx.client.patterns
        } else {
            &mut ctx.client.channels
        };
        if set.insert(ch.clone()) {
            ctx.server.pubsub.subscribe(
                ch.clone(),
                &ctx.client.messages,
                &ctx.client.info,
                pattern,
            );
        }
        confirm(ctx, kind, Some(ch));
    }
    ctx.client.update_flags();
    Ok(())
}

/// Unsubscribes from every channel (or pattern); replies for each when `reply`.
pub(super) fn unsubscribe_all(ctx: &mut Ctx, pattern: bool, reply: bool) {
    let all: Vec<Bytes> = if pattern {
        ctx.client.patterns.iter().cloned().collect()
    } else {
        ctx.client.channels.iter().cloned().collect()
    };
    let kind = if pattern {
        "punsubscribe"
    } else {
        "unsubscribe"
    };
    if all.is_empty() && reply {
        confirm(ctx, kind, None);
    }
    for ch in all {
        unsubscribe_one(ctx, &ch, pattern, reply);
    }
    ctx.client.update_flags();
}

fn unsubscribe_one(ctx: &mut Ctx, ch: &Bytes, pattern: bool, reply: bool) {
    let set = if pattern {
        &mut ctx.client.patterns
    } else {
        &mut ctx.client.channels
    };
    if set.remove(ch) {
        ctx.server.pubsub.unsubscribe(ch, ctx.client.id, pattern);
    }
    if reply {
        confirm(
            ctx,
            if pattern {
                "punsubscribe"
            } else {
                "unsubscribe"
            },
            Some(ch),
        );
    }
}

fn unsubscribe_generic(ctx: &mut Ctx, a: &[Bytes], pattern: bool) -> CmdResult {
    if a.len() == 1 {
        unsubscribe_all(ctx, pattern, true);
    } else {
        for ch in &a[1..] {
            unsubscribe_one(ctx, ch, pattern, true);
        }
        ctx.client.update_flags();
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, a, false)
}

fn psubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    subscribe_generic(ctx, a, true)
}

fn unsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, a, false)
}

fn punsubscribe(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    unsubscribe_generic(ctx, a, true)
}

fn publish(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let n = ctx.server.publish(&a[1], &a[2]);
    // PUBLISH goes to replicas too, so their subscribers hear it.
    ctx.modified += 1;
    ctx.propagate(a.to_vec());
    ctx.out.int(n as i64);
    Ok(())
}

fn pubsub(ctx: &mut Ctx, a: &[Bytes]) -> CmdResult {
    let sub = &a[1];
    if is(sub, "HELP") && a.len() == 2 {
        let lines = [
            "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
            "HELP",
            "    Prints this help.",
        ];
        super::reply_help(ctx, &lines);
    } else if is(sub, "CHANNELS") || is(sub, "SHARDCHANNELS") {
        if a.len() > 3 {
            return Err(CmdError::Arity("pubsub|channels".into()));
        }
        let list = if is(sub, "CHANNELS") {
            ctx.server.pubsub.channels(a.get(2).map(|p| p.as_ref()))
        } else {
            Vec::new()
        };
        ctx.out.array(list.len());
        for c in &list {
            ctx.out.bulk(c);
        }
    } else if is(sub, "NUMSUB") || is(sub, "SHARDNUMSUB") {
        // A flat array of channel, count pairs, in RESP3 too, as Redis 7.0 replies.
        ctx.out.array((a.len() - 2) * 2);
        for ch in &a[2..] {
            ctx.out.bulk(ch);
            let n = if is(sub, "NUMSUB") {
                ctx.server.pubsub.numsub(ch)
            } else {
                0
            };
            ctx.out.int(n as i64);
        }
    } else if is(sub, "NUMPAT") {
        if a.len() != 2 {
            return Err(CmdError::Arity("pubsub|numpat".into()));
        }
        ctx.out.int(ctx.server.pubsub.numpat() as i64);
    } else {
        return Err(unknown_subcommand("pubsub", sub));
    }
    Ok(())
}
