//! `oom-score-adj` and `oom-score-adj-values`: the Linux OOM killer's preference for this
//! process (`/proc/self/oom_score_adj`), by role, as Redis sets it. With `yes` or
//! `relative` the value for the role is added to the score the process had before tandem
//! first changed it; with `absolute` it replaces it; `no` puts that original score back.
//! (The third value, for Redis's forked children, has no process to apply to: tandem's
//! background saves are threads.)

use std::sync::Mutex;

use crate::config::Config;
use crate::warning;

const PROC_FILE: &str = "/proc/self/oom_score_adj";

/// The score the process had before tandem first set one, once it has.
static ORIGINAL: Mutex<Option<i64>> = Mutex::new(None);

/// Why the score could not be set (logged with the cause).
pub const FAILED: &str = "Failed to set current oom_score_adj. Check server logs.";

/// Sets the process's score as `config` says for a master or a replica.
pub fn apply(config: &Config, replica: bool) -> Result<(), String> {
    let mut original = ORIGINAL.lock().unwrap_or_else(|e| e.into_inner());
    let mode = config.get("oom-score-adj");
    let value = if mode == "no" {
        match original.take() {
            Some(score) => score,
            None => return Ok(()),
        }
    } else {
        let base = match *original {
            Some(score) => score,
            None => {
                let score = read_score().map_err(|e| {
                    warning!("Unable to read oom_score_adj: {}", crate::log::strerror(&e));
                    FAILED.to_string()
                })?;
                *original = Some(score);
                score
            }
        };
        let values: Vec<i64> = config
            .get("oom-score-adj-values")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let own = values.get(usize::from(replica)).copied().unwrap_or(0);
        let score = if mode == "absolute" { own } else { base + own };
        score.clamp(-1000, 1000)
    };
    std::fs::write(PROC_FILE, format!("{value}\n")).map_err(|e| {
        warning!(
            "Unable to write oom_score_adj: {}",
            crate::log::strerror(&e)
        );
        FAILED.to_string()
    })
}

fn read_score() -> std::io::Result<i64> {
    let text = std::fs::read_to_string(PROC_FILE)?;
    Ok(text.trim().parse().unwrap_or(0))
}
