//! What Redis 7.0 counts about the commands it runs: per-command calls, time, rejections
//! and failures (INFO commandstats), latency percentiles (INFO latencystats, LATENCY
//! HISTOGRAM), error replies by code (INFO errorstats, `total_error_replies`), the slow
//! log and the latency monitor. All of it lives in the engine state and is updated under
//! the engine lock by the command path: one clock reading per command, and a table lookup
//! only when a client's command changes.

pub mod histogram;
pub mod latency_monitor;
pub mod slowlog;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

pub use histogram::LatencyHistogram;
pub use latency_monitor::LatencyMonitor;
pub use slowlog::SlowLog;

use crate::resp::ReplyWriter;

/// Distinct error codes counted; further codes only count in `total_error_replies` (the
/// codes come from error texts, so this bounds the table whatever the texts are).
const MAX_ERROR_CODES: usize = 128;

/// One command's counters (a subcommand such as `config|get` has its own).
#[derive(Debug, Default)]
pub struct Counters {
    pub calls: u64,
    pub usec: u64,
    /// Refused before running: wrong arity, NOAUTH, a read-only replica...
    pub rejected_calls: u64,
    /// Ran and replied with an error.
    pub failed_calls: u64,
    /// Allocated with the first timed call, as Redis does.
    pub latency: Option<Box<LatencyHistogram>>,
}

/// How a command's execution ended, for its counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// Ran to completion (its reply may be an error).
    Completed { failed: bool },
    /// Started and blocked: counted as a call now, timed when it completes.
    Blocked,
    /// A blocked command completing after its wait.
    Unblocked { failed: bool },
}

/// Per-command and per-error counters with the latency-tracking settings.
#[derive(Debug)]
pub struct CommandStats {
    /// Counters by slot; a slot, once given to a command, stays its own (RESETSTAT zeroes
    /// it), so a client can remember the slot of the command it repeats.
    slots: Vec<(&'static str, Counters)>,
    slot_of: HashMap<&'static str, usize, foldhash::fast::RandomState>,
    errors: BTreeMap<Box<str>, u64>,
    pub total_error_replies: u64,
    /// `latency-tracking`.
    tracking: bool,
    /// `latency-tracking-info-percentiles`.
    percentiles: Vec<f64>,
}

impl Default for CommandStats {
    fn default() -> Self {
        CommandStats {
            slots: Vec::new(),
            slot_of: HashMap::default(),
            errors: BTreeMap::new(),
            total_error_replies: 0,
            tracking: true,
            percentiles: vec![50.0, 99.0, 99.9],
        }
    }
}

impl CommandStats {
    /// Applies `latency-tracking` and `latency-tracking-info-percentiles`.
    pub fn configure(&mut self, tracking: bool, percentiles: Vec<f64>) {
        self.tracking = tracking;
        self.percentiles = percentiles;
    }

    /// The slot of `name`'s counters, given on first use.
    pub fn slot(&mut self, name: &'static str) -> usize {
        *self.slot_of.entry(name).or_insert_with(|| {
            self.slots.push((name, Counters::default()));
            self.slots.len() - 1
        })
    }

    /// Counts one execution of the command in `slot` that took `usec` microseconds.
    pub fn record(&mut self, slot: usize, usec: u64, run: Run) {
        let tracking = self.tracking;
        let c = &mut self.slots[slot].1;
        c.usec += usec;
        let (failed, timed) = match run {
            Run::Completed { failed } => {
                c.calls += 1;
                (failed, true)
            }
            Run::Blocked => {
                c.calls += 1;
                (false, false)
            }
            Run::Unblocked { failed } => (failed, true),
        };
        if failed {
            c.failed_calls += 1;
        }
        if timed && tracking {
            // Redis times in whole microseconds and records nanoseconds.
            c.latency
                .get_or_insert_with(Default::default)
                .record(usec * 1000);
        }
    }

    /// Counts a failure of the command in `slot` found after it ran (a hashed password
    /// verified off the engine lock).
    pub fn record_failed(&mut self, slot: usize) {
        self.slots[slot].1.failed_calls += 1;
    }

    /// Counts a command in `slot` refused before it ran.
    pub fn record_rejected(&mut self, slot: usize) {
        self.slots[slot].1.rejected_calls += 1;
    }

    /// Counts an error reply with code `code` (`ERR`, `WRONGTYPE`...).
    pub fn record_error(&mut self, code: &str) {
        self.total_error_replies += 1;
        if let Some(n) = self.errors.get_mut(code) {
            *n += 1;
        } else if self.errors.len() < MAX_ERROR_CODES {
            self.errors.insert(code.into(), 1);
        }
    }

    /// Counts the error replies `out` wrote since last asked (only forgets them when
    /// `record` is false). True when there were any.
    #[inline]
    pub fn count_errors(&mut self, out: &mut ReplyWriter, record: bool) -> bool {
        if !out.has_errors() {
            return false;
        }
        self.count_written_errors(out, record);
        true
    }

    #[cold]
    fn count_written_errors(&mut self, out: &mut ReplyWriter, record: bool) {
        for code in out.take_errors() {
            if record {
                self.record_error(&code);
            }
        }
    }

    /// CONFIG RESETSTAT: forgets every counter and histogram.
    pub fn reset(&mut self) {
        for (_, c) in &mut self.slots {
            *c = Counters::default();
        }
        self.errors.clear();
        self.total_error_replies = 0;
    }

    /// Counters by command name, sorted by name.
    fn sorted(&self) -> Vec<(&'static str, &Counters)> {
        let mut all: Vec<_> = self.slots.iter().map(|(n, c)| (*n, c)).collect();
        all.sort_unstable_by_key(|(n, _)| *n);
        all
    }

    /// The lines of INFO commandstats.
    pub fn write_commandstats(&self, out: &mut String) {
        for (name, c) in self.sorted() {
            if c.calls == 0 && c.failed_calls == 0 && c.rejected_calls == 0 {
                continue;
            }
            let per_call = if c.calls == 0 {
                0.0
            } else {
                c.usec as f64 / c.calls as f64
            };
            let _ = write!(
                out,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per_call:.2},rejected_calls={},failed_calls={}\r\n",
                c.calls, c.usec, c.rejected_calls, c.failed_calls
            );
        }
    }

    /// The lines of INFO latencystats: the configured percentiles in microseconds (none
    /// while tracking is off, as in Redis; LATENCY HISTOGRAM still shows what was kept).
    pub fn write_latencystats(&self, out: &mut String) {
        if !self.tracking {
            return;
        }
        for (name, c) in self.sorted() {
            let Some(h) = &c.latency else { continue };
            let _ = write!(out, "latency_percentiles_usec_{name}:");
            for (i, p) in self.percentiles.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                let _ = write!(out, "p{p}={:.3}", h.percentile(*p) as f64 / 1000.0);
            }
            out.push_str("\r\n");
        }
    }

    /// The lines of INFO errorstats, by code.
    pub fn write_errorstats(&self, out: &mut String) {
        for (code, n) in &self.errors {
            let _ = write!(out, "errorstat_{code}:count={n}\r\n");
        }
    }

    /// The latency histograms of the commands `wanted` accepts, by name.
    pub fn histograms(
        &self,
        wanted: impl Fn(&str) -> bool,
    ) -> Vec<(&'static str, &LatencyHistogram)> {
        self.sorted()
            .into_iter()
            .filter(|(name, _)| wanted(name))
            .filter_map(|(name, c)| Some((name, c.latency.as_deref()?)))
            .collect()
    }
}

/// Parses `latency-tracking-info-percentiles`: numbers from 0 to 100, or Redis's error.
pub fn parse_percentiles(text: &str) -> Result<Vec<f64>, &'static str> {
    text.split_whitespace()
        .map(|w| match w.parse::<f64>() {
            Ok(p) if p.is_nan() => Err("Invalid latency-tracking-info-percentiles parameters"),
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
            Ok(_) => {
                Err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
            }
            Err(_) => Err("Invalid latency-tracking-info-percentiles parameters"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_have_redis_fields() {
        let mut s = CommandStats::default();
        let set = s.slot("set");
        let blpop = s.slot("blpop");
        s.record(set, 3, Run::Completed { failed: false });
        s.record(set, 1, Run::Completed { failed: true });
        s.record(blpop, 2, Run::Blocked);
        s.record(blpop, 5, Run::Unblocked { failed: false });
        assert_eq!(s.slot("set"), set);
        let config_get = s.slot("config|get");
        s.record_rejected(config_get);
        let mut out = String::new();
        s.write_commandstats(&mut out);
        assert_eq!(
            out,
            "cmdstat_blpop:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0\r\n\
             cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n\
             cmdstat_set:calls=2,usec=4,usec_per_call=2.00,rejected_calls=0,failed_calls=1\r\n"
        );
        let mut out = String::new();
        s.write_latencystats(&mut out);
        assert_eq!(
            out,
            "latency_percentiles_usec_blpop:p50=5.023,p99=5.023,p99.9=5.023\r\n\
             latency_percentiles_usec_set:p50=1.003,p99=3.007,p99.9=3.007\r\n"
        );
    }

    #[test]
    fn errors_are_counted_by_code_up_to_a_bound() {
        let mut s = CommandStats::default();
        s.record_error("WRONGTYPE");
        s.record_error("ERR");
        s.record_error("ERR");
        let mut out = String::new();
        s.write_errorstats(&mut out);
        assert_eq!(
            out,
            "errorstat_ERR:count=2\r\nerrorstat_WRONGTYPE:count=1\r\n"
        );
        for i in 0..200 {
            s.record_error(&format!("E{i}"));
        }
        assert_eq!(s.errors.len(), MAX_ERROR_CODES);
        assert_eq!(s.total_error_replies, 203);
    }

    #[test]
    fn percentiles_setting_is_checked() {
        assert_eq!(parse_percentiles("50 99 99.9"), Ok(vec![50.0, 99.0, 99.9]));
        assert_eq!(parse_percentiles(""), Ok(vec![]));
        assert!(parse_percentiles("50 101")
            .unwrap_err()
            .contains("[0.0,100.0]"));
        assert!(parse_percentiles("fifty")
            .unwrap_err()
            .starts_with("Invalid"));
    }
}
