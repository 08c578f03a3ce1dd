//! Directive values: parsing each kind into the canonical text CONFIG GET shows, with
//! Redis's error texts, and formatting values back for CONFIG REWRITE.

use super::table::{Directive, Kind};
use super::ConfigError;

/// Parses an integer as Redis's `string2ll`: an optional `-`, no `+`, no spaces, no
/// leading zeros, within i64.
pub fn parse_strict_int(text: &str) -> Option<i64> {
    crate::keyspace::value::parse_canonical_i64(text.as_bytes())
}

/// Parses a byte count as Redis's `memtoull`: digits (none means 0) and an optional unit,
/// `k`=1000, `kb`=1024, up to `gb`; no sign. Values past 2^64 - 1 saturate, as in Redis.
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let (digits, mul): (&str, u64) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1_000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suffix, mul)| lower.strip_suffix(suffix).map(|d| (d, *mul)))
    .unwrap_or((lower.as_str(), 1));
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(n.saturating_mul(mul))
}

/// A byte count as CONFIG REWRITE writes it: the largest exact unit among gb, mb and kb.
pub fn format_memory(n: u64) -> String {
    for (unit, size) in [("gb", 1u64 << 30), ("mb", 1 << 20), ("kb", 1 << 10)] {
        if n != 0 && n.is_multiple_of(size) {
            return format!("{}{unit}", n / size);
        }
    }
    n.to_string()
}

/// C's `strtoll` in base 8, as Redis reads `unixsocketperm`: leading blanks and a sign
/// allowed, every other character an octal digit; empty is 0.
fn parse_octal(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    let n = i64::from_str_radix(if digits.is_empty() { "0" } else { digits }, 8).ok()?;
    Some(if neg { -n } else { n })
}

/// C's `strtoll` in base 10 over the whole text (leading blanks and a sign allowed), as
/// Redis parses the numbers of `save` and the seconds of `client-output-buffer-limit`.
fn parse_c_int(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let t = t.strip_prefix('+').unwrap_or(t);
    if t.is_empty() || t == "-" {
        return None;
    }
    t.parse().ok()
}

/// Checks the arguments of directive `dir` and returns its canonical text. `from_file`
/// says whether they come from a config file or the command line (where a multi-argument
/// directive given one argument has it split again) rather than CONFIG SET.
pub fn canonical(dir: &Directive, args: &[String]) -> Result<String, ConfigError> {
    if !matches!(dir.kind, Kind::Special | Kind::Flags(_)) && args.len() != 1 {
        return Err(ConfigError::Arity);
    }
    let v = args.first().map(String::as_str).unwrap_or("");
    match dir.kind {
        Kind::Bool => match v.to_ascii_lowercase().as_str() {
            "yes" => Ok("yes".into()),
            "no" => Ok("no".into()),
            _ => Err(ConfigError::NotBool),
        },
        Kind::Int(lo, hi) => {
            let n = parse_strict_int(v).ok_or(ConfigError::NotInteger)?;
            in_range(n as i128, lo, hi)?;
            Ok(n.to_string())
        }
        Kind::Memory(lo, hi) => {
            let n = parse_memory(v).ok_or(ConfigError::NotMemory)?;
            in_range(n as i128, lo, hi)?;
            Ok(n.to_string())
        }
        Kind::MemoryOrPercent => {
            if let Some(p) = v.strip_suffix('%') {
                let n = parse_strict_int(p)
                    .filter(|n| *n >= 0)
                    .ok_or(ConfigError::NotMemoryOrPercent)?;
                if n > 100 {
                    return Err(ConfigError::PercentTooBig);
                }
                return Ok(format!("{n}%"));
            }
            let n = parse_memory(v).ok_or(ConfigError::NotMemoryOrPercent)?;
            in_range(n as i128, 0, i64::MAX as i128)?;
            Ok(n.to_string())
        }
        Kind::Octal(max) => {
            let n = parse_octal(v).ok_or(ConfigError::NotOctal)?;
            if n < 0 || n > i64::from(max) {
                return Err(ConfigError::OutOfRange("0".into(), format!("{max:o}")));
            }
            Ok(format!("{n:o}"))
        }
        Kind::Enum(words) => {
            let lower = v.to_ascii_lowercase();
            if !words.contains(&lower.as_str()) {
                return Err(ConfigError::NotInEnum(words.join(", ")));
            }
            // `relative` is `yes` under another name.
            Ok(if dir.name == "oom-score-adj" && lower == "relative" {
                "yes".into()
            } else {
                lower
            })
        }
        Kind::Flags(words) => canonical_flags(words, args),
        Kind::Str => {
            validate_string(dir.name, v)?;
            Ok(v.to_string())
        }
        Kind::Special => special(dir.name, args),
    }
}

fn in_range(n: i128, lo: i128, hi: i128) -> Result<(), ConfigError> {
    if n < lo || n > hi {
        return Err(ConfigError::OutOfRange(lo.to_string(), hi.to_string()));
    }
    Ok(())
}

/// `shutdown-on-sigint` and `shutdown-on-sigterm`: any of the words, in table order, or
/// `default` for none.
fn canonical_flags(words: &[&str], args: &[String]) -> Result<String, ConfigError> {
    let all = || {
        let mut names = vec!["default"];
        names.extend(words);
        ConfigError::NotInEnum(names.join(", "))
    };
    let given: Vec<String> = args
        .iter()
        .flat_map(|a| {
            a.split(' ')
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .collect();
    if given.is_empty() {
        return Err(all());
    }
    let mut set = vec![false; words.len()];
    for word in &given {
        if word == "default" {
            continue;
        }
        let i = words.iter().position(|w| w == word).ok_or_else(all)?;
        set[i] = true;
    }
    if set[0] && set[1] {
        return Err(ConfigError::Invalid(
            "shutdown options SAVE and NOSAVE can't be used simultaneously".into(),
        ));
    }
    let chosen: Vec<&str> = words
        .iter()
        .zip(&set)
        .filter(|(_, on)| **on)
        .map(|(w, _)| *w)
        .collect();
    Ok(if chosen.is_empty() {
        "default".into()
    } else {
        chosen.join(" ")
    })
}

/// The checks Redis makes on some string directives.
fn validate_string(name: &str, v: &str) -> Result<(), ConfigError> {
    let invalid = |text: &str| Err(ConfigError::Invalid(text.into()));
    match name {
        "dbfilename" if v.contains(['/', '\\']) => {
            invalid("dbfilename can't be a path, just a filename")
        }
        "appendfilename" if v.is_empty() => invalid("appendfilename can't be empty"),
        "appendfilename" if v.contains(['/', '\\']) => {
            invalid("appendfilename can't be a path, just a filename")
        }
        "appenddirname" if v.is_empty() => invalid("appenddirname can't be empty"),
        "appenddirname" if v.contains(['/', '\\']) => {
            invalid("appenddirname can't be a path, just a dirname")
        }
        "cluster-announce-hostname" if v.len() >= 256 => {
            invalid("Hostnames must be less than 256 characters")
        }
        "cluster-announce-hostname"
            if !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') =>
        {
            invalid("Hostnames may only contain alphanumeric characters, hyphens or dots")
        }
        "proc-title-template" if !crate::proc_title::valid_template(v) => {
            invalid("template format is invalid or contains unknown variables")
        }
        "requirepass-hash" if !v.is_empty() && !crate::auth::valid_phc(v) => {
            invalid("not an argon2 PHC string (make one with `pki hash-password`)")
        }
        _ => Ok(()),
    }
}

/// The directives with their own syntax.
fn special(name: &str, args: &[String]) -> Result<String, ConfigError> {
    match name {
        "save" => {
            if args.is_empty() || (args.len() == 1 && args[0].is_empty()) {
                return Ok(String::new());
            }
            let invalid = || ConfigError::Invalid("Invalid save parameters".into());
            if !args.len().is_multiple_of(2) {
                return Err(invalid());
            }
            let mut out = Vec::new();
            for pair in args.chunks(2) {
                let secs = parse_c_int(&pair[0])
                    .filter(|n| *n >= 1)
                    .ok_or_else(invalid)?;
                let changes = parse_c_int(&pair[1])
                    .filter(|n| *n >= 0)
                    .ok_or_else(invalid)?;
                out.push(format!("{secs} {changes}"));
            }
            Ok(out.join(" "))
        }
        "bind" => {
            if args.len() == 1 && args[0].is_empty() {
                return Ok(String::new());
            }
            if args.len() > 16 {
                return Err(ConfigError::Invalid(
                    "Too many bind addresses specified.".into(),
                ));
            }
            Ok(args.join(" "))
        }
        "replicaof" => {
            if args.len() != 2 {
                return Err(ConfigError::Arity);
            }
            if args[0].eq_ignore_ascii_case("no") && args[1].eq_ignore_ascii_case("one") {
                return Ok(String::new());
            }
            parse_c_int(&args[1])
                .filter(|p| (0..=65535).contains(p))
                .ok_or_else(|| ConfigError::Invalid("Invalid master port".into()))?;
            Ok(format!("{} {}", args[0], args[1].trim()))
        }
        "dir" => {
            if args.len() != 1 {
                return Err(ConfigError::Arity);
            }
            Ok(args[0].clone())
        }
        "notify-keyspace-events" => {
            if args.len() != 1 {
                return Err(ConfigError::Arity);
            }
            // Kept as given: Redis's way of showing the classes drops `n` when `A` is set,
            // and the stored value must keep it.
            match crate::notify::parse_flags(&args[0]) {
                Some(_) => Ok(args[0].clone()),
                None => Err(ConfigError::Invalid(crate::notify::INVALID_FLAGS.into())),
            }
        }
        "latency-tracking-info-percentiles" => {
            let text = if args.len() == 1 {
                args[0].clone()
            } else {
                args.join(" ")
            };
            let values = crate::stats::parse_percentiles(&text)
                .map_err(|e| ConfigError::Invalid(e.into()))?;
            Ok(values
                .iter()
                .map(|v| {
                    let s = format!("{v:.6}");
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                })
                .collect::<Vec<_>>()
                .join(" "))
        }
        "oom-score-adj-values" => {
            if args.len() != 3 {
                return Err(ConfigError::Arity);
            }
            let values: Vec<i64> = args
                .iter()
                .map(|a| parse_c_int(a).filter(|n| (-2000..=2000).contains(n)))
                .collect::<Option<_>>()
                .ok_or_else(|| {
                    ConfigError::Invalid(
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .into(),
                    )
                })?;
            Ok(values
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" "))
        }
        "client-output-buffer-limit" => {
            if !args.len().is_multiple_of(4) {
                return Err(ConfigError::Invalid(
                    "Wrong number of arguments in buffer limit configuration.".into(),
                ));
            }
            for chunk in args.chunks(4) {
                if super::OutputBufferClass::from_name(&chunk[0]).is_none() {
                    return Err(ConfigError::Invalid(
                        "Invalid client class specified in buffer limit configuration.".into(),
                    ));
                }
                let seconds_ok =
                    chunk[3].is_empty() || parse_c_int(&chunk[3]).is_some_and(|n| n >= 0);
                if parse_memory(&chunk[1]).is_none()
                    || parse_memory(&chunk[2]).is_none()
                    || !seconds_ok
                {
                    return Err(ConfigError::Invalid(
                        "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                            .into(),
                    ));
                }
            }
            Ok(args.join(" "))
        }
        _ => Ok(args.join(" ")),
    }
}

/// Quotes a string the way CONFIG REWRITE writes strings (and Redis's `sdscatrepr`).
pub fn quote(value: &str) -> String {
    let mut out = String::from("\"");
    for b in value.bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_units_as_redis_reads_them() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("512MB"), Some(512 << 20));
        assert_eq!(parse_memory("100k"), Some(100_000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory(""), Some(0));
        assert_eq!(parse_memory("x"), None);
        assert_eq!(parse_memory("-1"), None);
        assert_eq!(parse_memory("99999999999999999999999"), Some(u64::MAX));
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(3000), "3000");
        assert_eq!(format_memory(4096), "4kb");
        assert_eq!(format_memory(0), "0");
    }

    #[test]
    fn octal_and_percent_values() {
        assert_eq!(parse_octal("755"), Some(0o755));
        assert_eq!(parse_octal(" 0700"), Some(0o700));
        assert_eq!(parse_octal(""), Some(0));
        assert_eq!(parse_octal("800"), None);
        let mmc = super::super::find("maxmemory-clients").unwrap();
        assert_eq!(canonical(mmc, &["10%".into()]).unwrap(), "10%");
        assert_eq!(
            canonical(mmc, &["200%".into()]),
            Err(ConfigError::PercentTooBig)
        );
        assert_eq!(canonical(mmc, &["1mb".into()]).unwrap(), "1048576");
    }

    #[test]
    fn shutdown_flags_in_table_order() {
        let d = super::super::find("shutdown-on-sigint").unwrap();
        assert_eq!(
            canonical(d, &["force now save".into()]).unwrap(),
            "save now force"
        );
        assert_eq!(canonical(d, &["default".into()]).unwrap(), "default");
        assert!(canonical(d, &["save nosave".into()]).is_err());
    }
}
