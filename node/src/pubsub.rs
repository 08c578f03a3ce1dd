//! Pub/Sub: channel and pattern subscriptions, and message delivery to subscribers.
//!
//! Each subscriber has a queue drained by its connection task; the bytes queued are
//! accounted so the pubsub output buffer limit can disconnect a slow subscriber.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::clients::{ClientId, ClientInfo};
use crate::keyspace::glob_match;

/// What a connection receives from other tasks besides its own replies.
#[derive(Debug, Clone)]
pub enum Outbound {
    /// A published message for a subscriber.
    PubSub(Message),
    /// A MONITOR line, already in RESP.
    Monitor(Bytes),
    /// CLIENT KILL or an output limit: close the connection. Sent through the queue the
    /// idle connection already waits on, so waiting for input needs no second waker.
    Kill,
    /// CLIENT UNBLOCK: the blocked command ends as timed out, or with an error.
    Unblock { error: bool },
}

/// A message for a subscriber.
#[derive(Debug, Clone)]
pub struct Message {
    /// The pattern that matched, for `pmessage`.
    pub pattern: Option<Bytes>,
    pub channel: Bytes,
    pub payload: Bytes,
}

impl Message {
    pub fn size(&self) -> usize {
        self.channel.len() + self.payload.len() + self.pattern.as_ref().map_or(0, |p| p.len()) + 32
    }
}

#[derive(Debug, Clone)]
struct Subscriber {
    tx: mpsc::UnboundedSender<Outbound>,
    info: Arc<ClientInfo>,
}

/// The subscription registry.
#[derive(Debug, Default)]
pub struct PubSub {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    channels: HashMap<Bytes, HashMap<ClientId, Subscriber>>,
    patterns: HashMap<Bytes, HashMap<ClientId, Subscriber>>,
}

impl PubSub {
    pub fn subscribe(
        &self,
        channel: Bytes,
        tx: &mpsc::UnboundedSender<Outbound>,
        info: &Arc<ClientInfo>,
        pattern: bool,
    ) {
        let mut reg = self.inner.lock().expect("pubsub lock");
        let map = if pattern {
            &mut reg.patterns
        } else {
            &mut reg.channels
        };
        map.entry(channel).or_default().insert(
            info.id,
            Subscriber {
                tx: tx.clone(),
                info: info.clone(),
            },
        );
    }

    pub fn unsubscribe(&self, channel: &Bytes, client: ClientId, pattern: bool) {
        let mut reg = self.inner.lock().expect("pubsub lock");
        let map = if pattern {
            &mut reg.patterns
        } else {
            &mut reg.channels
        };
        if let Some(subs) = map.get_mut(channel) {
            subs.remove(&client);
            if subs.is_empty() {
                map.remove(channel);
            }
        }
    }

    /// Delivers a message; returns the number of receivers. A subscriber over its output
    /// limits (see [`ClientInfo::output_over_limit`]) is killed instead.
    pub fn publish(
        &self,
        channel: &Bytes,
        payload: &Bytes,
        limit: &crate::config::OutputBufferLimit,
    ) -> usize {
        let reg = self.inner.lock().expect("pubsub lock");
        let now = crate::keyspace::now_ms();
        let mut n = 0;
        let mut deliver = |sub: &Subscriber, msg: Message| {
            if sub.info.killed.load(Ordering::Relaxed) {
                // Already over its limit and closing: queue nothing more.
                return;
            }
            sub.info
                .queued_bytes
                .fetch_add(msg.size(), Ordering::Relaxed);
            if sub.info.output_over_limit(limit, now) {
                crate::warning!(
                    "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                    sub.info.id,
                    sub.info.addr
                );
                sub.info.kill();
                return;
            }
            if sub.tx.send(Outbound::PubSub(msg)).is_ok() {
                n += 1;
            }
        };
        if let Some(subs) = reg.channels.get(channel) {
            for sub in subs.values() {
                deliver(
                    sub,
                    Message {
                        pattern: None,
                        channel: channel.clone(),
                        payload: payload.clone(),
                    },
                );
            }
        }
        for (pattern, subs) in reg.patterns.iter() {
            if glob_match(pattern, channel, false) {
                for sub in subs.values() {
                    deliver(
                        sub,
                        Message {
                            pattern: Some(pattern.clone()),
                            channel: channel.clone(),
                            payload: payload.clone(),
                        },
                    );
                }
            }
        }
        n
    }

    /// Active channels, optionally filtered by a glob (PUBSUB CHANNELS).
    pub fn channels(&self, pattern: Option<&[u8]>) -> Vec<Bytes> {
        let reg = self.inner.lock().expect("pubsub lock");
        reg.channels
            .keys()
            .filter(|c| pattern.is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect()
    }

    pub fn numsub(&self, channel: &[u8]) -> usize {
        let reg = self.inner.lock().expect("pubsub lock");
        reg.channels.get(channel).map_or(0, |s| s.len())
    }

    pub fn numpat(&self) -> usize {
        self.inner.lock().expect("pubsub lock").patterns.len()
    }
}
