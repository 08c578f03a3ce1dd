//! The latency monitor (`latency-monitor-threshold`, in milliseconds; 0 turns it off):
//! for each event class, the worst latency of every second in which one reached the
//! threshold, the last 160 such seconds, as LATENCY LATEST, HISTORY, GRAPH, RESET and
//! DOCTOR report them. The events tandem records are its commands': `command`,
//! `fast-command` for commands flagged fast, and `command-unblocking` for serving a
//! blocked command, as Redis names them.

use std::fmt::Write;

/// Seconds of history kept per event.
const HISTORY_LEN: usize = 160;
const GRAPH_COLUMNS: usize = 80;
const GRAPH_ROWS: usize = 4;
/// The characters of a filled sparkline, lowest first; `|` fills below them.
const GRAPH_FILL: [char; 3] = ['_', 'o', '#'];

#[derive(Debug, Clone, Copy, Default)]
struct Sample {
    /// Unix seconds; 0 for a slot never used.
    time: u64,
    latency_ms: u64,
}

#[derive(Debug)]
struct Series {
    samples: [Sample; HISTORY_LEN],
    /// The slot the next second's sample goes to.
    next: usize,
    /// The worst latency since the event was first recorded or reset.
    max: u64,
}

impl Series {
    fn latest(&self) -> Sample {
        self.samples[(self.next + HISTORY_LEN - 1) % HISTORY_LEN]
    }

    /// The samples, oldest first.
    fn chronological(&self) -> impl Iterator<Item = Sample> + '_ {
        (0..HISTORY_LEN)
            .map(|i| self.samples[(self.next + i) % HISTORY_LEN])
            .filter(|s| s.time != 0)
    }
}

/// Event time series, in the order the events first occurred.
#[derive(Debug, Default)]
pub struct LatencyMonitor {
    threshold_ms: u64,
    events: Vec<(&'static str, Box<Series>)>,
}

/// What LATENCY DOCTOR's advice depends on besides the events.
#[derive(Debug, Clone, Copy)]
pub struct DoctorContext {
    pub now: u64,
    /// `slowlog-log-slower-than`, microseconds.
    pub slowlog_slower_than: i64,
}

impl LatencyMonitor {
    pub fn configure(&mut self, threshold_ms: u64) {
        self.threshold_ms = threshold_ms;
    }

    /// Records `latency_ms` for `event` at `now` (Unix seconds, read only then) when the
    /// monitor is on and the latency reaches its threshold.
    #[inline]
    pub fn sample_if_needed(
        &mut self,
        event: &'static str,
        latency_ms: u64,
        now: impl Fn() -> u64,
    ) {
        if self.threshold_ms > 0 && latency_ms >= self.threshold_ms {
            self.add(event, latency_ms, now());
        }
    }

    fn add(&mut self, event: &'static str, latency_ms: u64, now: u64) {
        let index = match self.events.iter().position(|(e, _)| *e == event) {
            Some(i) => i,
            None => {
                self.events.push((
                    event,
                    Box::new(Series {
                        samples: [Sample::default(); HISTORY_LEN],
                        next: 0,
                        max: 0,
                    }),
                ));
                self.events.len() - 1
            }
        };
        let series = &mut self.events[index].1;
        series.max = series.max.max(latency_ms);
        // One sample per second: the worst.
        let prev = (series.next + HISTORY_LEN - 1) % HISTORY_LEN;
        if series.samples[prev].time == now {
            let sample = &mut series.samples[prev];
            sample.latency_ms = sample.latency_ms.max(latency_ms);
            return;
        }
        series.samples[series.next] = Sample {
            time: now,
            latency_ms,
        };
        series.next = (series.next + 1) % HISTORY_LEN;
    }

    fn series(&self, event: &[u8]) -> Option<(&'static str, &Series)> {
        self.events
            .iter()
            .find(|(e, _)| e.as_bytes() == event)
            .map(|(e, s)| (*e, &**s))
    }

    /// LATENCY LATEST: each event with the time and latency of its latest sample and its
    /// all-time worst.
    pub fn latest(&self) -> Vec<(&'static str, u64, u64, u64)> {
        self.events
            .iter()
            .map(|(e, s)| {
                let last = s.latest();
                (*e, last.time, last.latency_ms, s.max)
            })
            .collect()
    }

    /// LATENCY HISTORY: `(time, latency)` of each sample of `event`, oldest first.
    pub fn history(&self, event: &[u8]) -> Vec<(u64, u64)> {
        self.series(event).map_or_else(Vec::new, |(_, s)| {
            s.chronological().map(|x| (x.time, x.latency_ms)).collect()
        })
    }

    /// LATENCY RESET: forgets `event` (any case), or every event; how many were reset.
    pub fn reset(&mut self, event: Option<&[u8]>) -> usize {
        let before = self.events.len();
        self.events
            .retain(|(e, _)| event.is_some_and(|name| !e.as_bytes().eq_ignore_ascii_case(name)));
        before - self.events.len()
    }

    /// LATENCY GRAPH: the samples of `event` as Redis draws them, or None without samples.
    pub fn graph(&self, event: &[u8], now: u64) -> Option<String> {
        let (name, series) = self.series(event)?;
        let samples: Vec<(u64, String)> = series
            .chronological()
            .map(|s| (s.latency_ms, age_label(now.saturating_sub(s.time))))
            .collect();
        let high = samples.iter().map(|s| s.0).max().unwrap_or(0);
        let low = samples.iter().map(|s| s.0).min().unwrap_or(0);
        let mut out = format!(
            "{name} - high {high} ms, low {low} ms (all time high {} ms)\n",
            series.max
        );
        out.push_str(&"-".repeat(GRAPH_COLUMNS));
        out.push('\n');
        for (i, chunk) in samples.chunks(GRAPH_COLUMNS).enumerate() {
            if i > 0 {
                out.push('\n');
            }
            draw_sparkline(&mut out, chunk, (low, high));
        }
        Some(out)
    }

    /// LATENCY DOCTOR: Redis's report on the events and its advice.
    pub fn doctor(&self, ctx: DoctorContext) -> String {
        if self.events.is_empty() && self.threshold_ms == 0 {
            return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
        }
        let mut report = String::new();
        let mut advice = Advice::default();
        for (n, (event, series)) in self.events.iter().enumerate() {
            if n == 0 {
                report.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
            }
            let stats = EventStats::of(series, ctx.now);
            let _ = write!(
                report,
                "{}. {event}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
                n + 1,
                stats.samples,
                stats.avg,
                stats.mad,
                stats.period as f64 / stats.samples as f64,
                series.max
            );
            match *event {
                "command" => {
                    if ctx.slowlog_slower_than < 0 {
                        advice.slowlog_enable = true;
                    } else if ctx.slowlog_slower_than / 1000 > self.threshold_ms as i64 {
                        advice.slowlog_tune = true;
                    }
                    advice.slowlog_inspect = true;
                    advice.large_objects = true;
                }
                "fast-command" => advice.scheduler = true,
                _ => {}
            }
            report.push('\n');
        }
        // Redis also advises against transparent huge pages when the process has any: their
        // cost is the copy-on-write of a forked save, and tandem never forks.
        if !advice.any() {
            if self.events.is_empty() {
                report.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
            } else {
                report.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
            }
            return report;
        }
        report.push_str("\nI have a few advices for you:\n\n");
        let threshold_us = self.threshold_ms.saturating_mul(1000);
        if advice.slowlog_enable {
            let _ = writeln!(report, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if advice.slowlog_tune {
            let _ = writeln!(report, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.");
        }
        if advice.slowlog_inspect {
            report.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if advice.scheduler {
            report.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if advice.large_objects {
            report.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        report
    }
}

/// The advice LATENCY DOCTOR gives for the events tandem records.
#[derive(Debug, Default)]
struct Advice {
    slowlog_enable: bool,
    slowlog_tune: bool,
    slowlog_inspect: bool,
    scheduler: bool,
    large_objects: bool,
}

impl Advice {
    fn any(&self) -> bool {
        self.slowlog_enable
            || self.slowlog_tune
            || self.slowlog_inspect
            || self.scheduler
            || self.large_objects
    }
}

/// An event's samples summarised as DOCTOR reports them (integer milliseconds).
struct EventStats {
    samples: u64,
    avg: u64,
    /// Mean absolute deviation from the average.
    mad: u64,
    /// Seconds from the oldest sample to now (at least 1).
    period: u64,
}

impl EventStats {
    fn of(series: &Series, now: u64) -> EventStats {
        let samples: Vec<Sample> = series.chronological().collect();
        let n = samples.len() as u64;
        if n == 0 {
            return EventStats {
                samples: 0,
                avg: 0,
                mad: 0,
                period: 0,
            };
        }
        let avg = samples.iter().map(|s| s.latency_ms).sum::<u64>() / n;
        let mad = samples
            .iter()
            .map(|s| avg.abs_diff(s.latency_ms))
            .sum::<u64>()
            / n;
        let oldest = samples.iter().map(|s| s.time).min().unwrap_or(now);
        EventStats {
            samples: n,
            avg,
            mad,
            period: now.saturating_sub(oldest).max(1),
        }
    }
}

/// How long ago a sample was, as the graph labels it: `12s`, `5m`, `3h`, `2d`.
fn age_label(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 86400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

/// Draws `samples` (value, label) as a filled sparkline of GRAPH_ROWS rows scaled between
/// `low` and `high`, each sample's label written downwards under its column after a blank
/// line (every sample has a label, its age).
fn draw_sparkline(out: &mut String, samples: &[(u64, String)], (low, high): (u64, u64)) {
    let range = if high == low {
        1.0
    } else {
        (high - low) as f64
    };
    let steps = (GRAPH_FILL.len() * GRAPH_ROWS) as i64;
    let levels: Vec<i64> = samples
        .iter()
        .map(|(v, _)| {
            // The sample's height in steps, truncated twice as Redis computes it.
            let scaled = ((v - low) as f64 * steps as f64) as i64;
            ((scaled as f64 / range) as i64).clamp(0, steps - 1)
        })
        .collect();
    for row in 0.. {
        let line: Option<String> = if row < GRAPH_ROWS {
            let base = ((GRAPH_ROWS - row - 1) * GRAPH_FILL.len()) as i64;
            Some(
                levels
                    .iter()
                    .map(|&level| match level - base {
                        i if i < 0 => ' ',
                        i if (i as usize) < GRAPH_FILL.len() => GRAPH_FILL[i as usize],
                        _ => '|',
                    })
                    .collect(),
            )
        } else if row == GRAPH_ROWS {
            Some(" ".repeat(samples.len()))
        } else {
            let at = row - GRAPH_ROWS - 1;
            samples.iter().any(|(_, label)| label.len() > at).then(|| {
                samples
                    .iter()
                    .map(|(_, label)| label.as_bytes().get(at).map_or(' ', |&b| b as char))
                    .collect()
            })
        };
        match line {
            Some(line) => {
                out.push_str(&line);
                out.push('\n');
            }
            None => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(threshold: u64) -> LatencyMonitor {
        let mut m = LatencyMonitor::default();
        m.configure(threshold);
        m
    }

    #[test]
    fn samples_keep_the_worst_of_each_second() {
        let mut m = monitor(10);
        m.sample_if_needed("command", 5, || unreachable!("below the threshold"));
        m.sample_if_needed("command", 20, || 100);
        m.sample_if_needed("command", 30, || 100);
        m.sample_if_needed("command", 12, || 100);
        m.sample_if_needed("command", 15, || 101);
        assert_eq!(m.history(b"command"), vec![(100, 30), (101, 15)]);
        assert_eq!(m.latest(), vec![("command", 101, 15, 30)]);
        assert!(m.history(b"COMMAND").is_empty());
        for t in 0..200 {
            m.sample_if_needed("command", 11, || 1000 + t);
        }
        let h = m.history(b"command");
        assert_eq!(h.len(), HISTORY_LEN);
        assert_eq!(h[0].0, 1040);
        assert_eq!(m.reset(Some(b"COMMAND")), 1);
        assert_eq!(m.reset(None), 0);
    }

    #[test]
    fn graph_is_drawn_as_redis_draws_it() {
        let mut m = monitor(1);
        m.sample_if_needed("command", 10, || 100);
        m.sample_if_needed("command", 40, || 130);
        let graph = m.graph(b"command", 135).unwrap();
        let expected = format!(
            "command - high 40 ms, low 10 ms (all time high 40 ms)\n{}\n #\n |\n |\n_|\n  \n35\n5s\ns \n",
            "-".repeat(80)
        );
        assert_eq!(graph, expected);
        assert!(m.graph(b"fast-command", 135).is_none());
    }

    #[test]
    fn doctor_reports_events_and_advice() {
        let ctx = DoctorContext {
            now: 110,
            slowlog_slower_than: 10_000,
        };
        assert!(monitor(0).doctor(ctx).starts_with("I'm sorry, Dave"));
        assert!(monitor(5).doctor(ctx).starts_with("Dave, no latency spike"));
        let mut m = monitor(5);
        m.sample_if_needed("command", 20, || 100);
        m.sample_if_needed("command", 40, || 105);
        let report = m.doctor(ctx);
        assert!(report.starts_with("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n1. command: 2 latency spikes (average 30ms, mean deviation 10ms, period 5.00 sec). Worst all time event 40ms.\n\nI have a few advices for you:\n\n- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than 5000'.\n- Check your Slow Log"), "{report}");
    }
}
