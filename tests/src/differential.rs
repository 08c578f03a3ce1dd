//! Differential testing: the same commands against tandem and a real redis-server 7.0,
//! asserting byte-identical replies. This is how exact reply shapes and error texts are
//! checked without hard-coding them.

use crate::client::{parse_reply, Client, Reply};
use crate::server::Node;

/// A tandem node and a redis-server node fed the same commands.
#[derive(Debug)]
pub struct Differential {
    pub tandem: Node,
    pub redis: Node,
    pub t: Client,
    pub r: Client,
}

impl Differential {
    /// Starts both servers with the same extra arguments; None when redis-server is absent
    /// (the test is skipped, or fails under TANDEM_REQUIRE_REDIS=1).
    pub fn start(extra: &[&str]) -> Option<Differential> {
        let redis = Node::redis(extra)?;
        let tandem = Node::tandem(extra);
        let t = tandem.client();
        let r = redis.client();
        Some(Differential {
            tandem,
            redis,
            t,
            r,
        })
    }

    /// Sends `args` to both and asserts the replies are byte-identical; returns the reply.
    #[track_caller]
    pub fn check(&mut self, args: &[&str]) -> Reply {
        let t = self.t.raw(args);
        let r = self.r.raw(args);
        assert_eq!(
            String::from_utf8_lossy(&t),
            String::from_utf8_lossy(&r),
            "tandem (left) and redis (right) differ on {args:?}"
        );
        parse_reply(&t).expect("complete").0
    }

    /// Like [`check`](Self::check) for replies whose element order is unspecified
    /// (SMEMBERS, HGETALL of a large hash...): compares the sorted elements.
    #[track_caller]
    pub fn check_unordered(&mut self, args: &[&str]) -> Reply {
        let t = self.t.cmd(args);
        let r = self.r.cmd(args);
        assert_eq!(
            sorted(&t),
            sorted(&r),
            "tandem (left) and redis (right) differ on {args:?}"
        );
        t
    }

    /// Sends the blocking command `args` on a new client of each server and returns those
    /// clients once both servers have them blocked.
    pub fn block(&mut self, args: &[&str]) -> (Client, Client) {
        let mut t = self.tandem.client();
        let mut r = self.redis.client();
        t.send(args);
        r.send(args);
        self.wait_both_blocked();
        (t, r)
    }

    /// Waits until each server has one blocked client. Both are polled as often, so their
    /// INFO counts stay equal.
    pub fn wait_both_blocked(&mut self) {
        let blocked = |c: &mut Client| {
            c.cmd(&["INFO", "clients"]).info_field("blocked_clients") == Some("1".into())
        };
        crate::wait_until(
            std::time::Duration::from_secs(5),
            "a blocked client on both",
            || blocked(&mut self.t) & blocked(&mut self.r),
        );
    }

    /// Sends `args` to both and returns both replies without comparing (for values that
    /// legitimately differ, like run ids or random members).
    pub fn both(&mut self, args: &[&str]) -> (Reply, Reply) {
        (self.t.cmd(args), self.r.cmd(args))
    }
}

fn sorted(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = match r {
        Reply::Array(items) | Reply::Set(items) => items.iter().map(|i| format!("{i:?}")).collect(),
        Reply::Map(pairs) => pairs.iter().map(|p| format!("{p:?}")).collect(),
        other => vec![format!("{other:?}")],
    };
    v.sort();
    v
}
