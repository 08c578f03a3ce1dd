//! Busy polling: after serving requests, the event loop keeps checking its sockets for a
//! short window (`busy-poll-us`) before it sleeps in `epoll_wait`.
//!
//! Why: a server that sleeps between requests has to be woken by each one, and on Linux the
//! wake-up is paid by the *sender*: the client's `send()` runs the loopback receive path and
//! `try_to_wake_up` of the sleeping thread. With one request in flight per connection
//! (redis-benchmark `-P 1`) the client, not the server, is the bottleneck, so that cost set
//! the rate: tandem sleeps after 35-60% of its requests where redis-server, spending more
//! CPU per request, rarely sleeps, and the client spent about 12% more system time per
//! request against tandem (measured with `time` on both sides, see the README's Benchmarks).
//! Polling through the gap removes the wake-ups. The cost: each gap between requests
//! shorter than the window is spent polling, so under steady traffic with gaps below
//! `busy-poll-us` (from about 20,000 requests a second at the default 50 us) the event-loop
//! thread keeps its core busy, however little the requests themselves cost; when the
//! traffic stops it polls for one window more, then sleeps. 0 turns it off, for hosts
//! where that core is wanted by others (or counted against a CPU quota).
//!
//! Only the single-threaded runtime (`io-threads 1`) polls this way: its one thread is the
//! event loop. Tokio's multi-threaded workers already spin looking for work before parking.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Shared between the connections, which report activity, and the polling task.
#[derive(Debug, Default)]
pub struct BusyPoll {
    /// The window in microseconds; zero turns polling off.
    window_us: AtomicU64,
    /// Bumped for every batch of request bytes read.
    activity: AtomicU64,
    /// The polling task is asleep and waits for `wake`.
    parked: AtomicBool,
    wake: Notify,
}

impl BusyPoll {
    pub fn new(window_us: u64) -> Self {
        BusyPoll {
            window_us: AtomicU64::new(window_us),
            ..Default::default()
        }
    }

    /// CONFIG SET busy-poll-us: applies at once (the polling task re-reads the window on
    /// every turn, and is woken if polling was off).
    pub fn set_window(&self, window_us: u64) {
        if self.window_us.swap(window_us, Ordering::Relaxed) != window_us {
            self.wake.notify_one();
        }
    }

    fn window(&self) -> Duration {
        Duration::from_micros(self.window_us.load(Ordering::Relaxed))
    }

    /// Called when a connection read requests: restarts the polling window, and wakes the
    /// polling task if it was asleep. One uncontended atomic add on the hot path.
    pub fn note_activity(&self) {
        self.activity.fetch_add(1, Ordering::Relaxed);
        if self.parked.load(Ordering::Relaxed) && self.parked.swap(false, Ordering::AcqRel) {
            self.wake.notify_one();
        }
    }

    /// Runs for the life of the server on the current-thread runtime: yields to the
    /// scheduler in a loop while requests keep coming (each yield makes tokio check its
    /// sockets with a zero timeout instead of sleeping), and sleeps once the window has
    /// passed with none, until the next request (or, when polling is off, until
    /// [`BusyPoll::set_window`] turns it on). The window is re-read on every turn, so a
    /// CONFIG SET applies even while traffic keeps the loop polling.
    pub async fn run(self: Arc<Self>) {
        loop {
            if self.window().is_zero() {
                self.wake.notified().await;
                continue;
            }
            let mut seen = self.activity.load(Ordering::Relaxed);
            let mut last_active = Instant::now();
            loop {
                tokio::task::yield_now().await;
                let now = self.activity.load(Ordering::Relaxed);
                if now != seen {
                    seen = now;
                    last_active = Instant::now();
                }
                if last_active.elapsed() >= self.window() {
                    break;
                }
            }
            self.parked.store(true, Ordering::Release);
            // A permit stored by a notify_one that raced with this store is not lost.
            self.wake.notified().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn parks_after_the_window_and_wakes_on_activity() {
        let poll = Arc::new(BusyPoll::new(200));
        let task = tokio::spawn(poll.clone().run());
        let deadline = Instant::now() + Duration::from_secs(10);
        while !poll.parked.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "never parked");
            tokio::task::yield_now().await;
        }
        poll.note_activity();
        assert!(!poll.parked.load(Ordering::Acquire), "activity unparks");
        while !poll.parked.load(Ordering::Acquire) {
            assert!(Instant::now() < deadline, "never parked again");
            tokio::task::yield_now().await;
        }
        task.abort();
    }
}
