//! Configuration: redis.conf parsing, command-line overrides, and CONFIG GET / SET /
//! REWRITE, as redis-server 7.0 does them.
//!
//! Every directive of redis-server 7.0 is in [`table::DIRECTIVES`] with its kind, bounds,
//! default and flags. Values are kept in their canonical text form (what CONFIG GET
//! prints: memory in bytes, booleans as yes/no) and checked once when set, so readers
//! parse known-good text.

mod rewrite;
pub mod table;
mod values;

use std::collections::HashMap;
use std::path::PathBuf;

pub use table::{find, flag, Directive, Kind, DIRECTIVES};
pub use values::{format_memory, parse_memory, quote};

/// A configuration problem, with Redis's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("Bad directive or wrong number of arguments")]
    Unknown,
    #[error("wrong number of arguments")]
    Arity,
    #[error("argument must be 'yes' or 'no'")]
    NotBool,
    #[error("argument couldn't be parsed into an integer")]
    NotInteger,
    #[error("argument must be a memory value")]
    NotMemory,
    #[error("argument must be a memory or percent value")]
    NotMemoryOrPercent,
    #[error("argument couldn't be parsed as an octal number")]
    NotOctal,
    #[error("argument must be between {0} and {1} inclusive")]
    OutOfRange(String, String),
    #[error("percentage argument must be less or equal to 100")]
    PercentTooBig,
    #[error("argument(s) must be one of the following: {0}")]
    NotInEnum(String),
    #[error("{0}")]
    Invalid(String),
    #[error("can't set immutable config")]
    Immutable,
    #[error("can't set protected config")]
    Protected,
    #[error("duplicate parameter")]
    Duplicate,
}

/// The client classes that have their own output buffer limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputBufferClass {
    Normal,
    Replica,
    Pubsub,
}

impl OutputBufferClass {
    fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "normal" => Some(Self::Normal),
            "slave" | "replica" => Some(Self::Replica),
            "pubsub" => Some(Self::Pubsub),
            _ => None,
        }
    }

    /// The name CONFIG GET shows (`slave` for replicas, as Redis shows it).
    fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Replica => "slave",
            Self::Pubsub => "pubsub",
        }
    }
}

/// An output buffer limit: disconnect above `hard` bytes, or above `soft` for `soft_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutputBufferLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

/// A start-up configuration error: file, line and reason, in redis-server's layout (the
/// file is named: tandem's addition).
#[derive(Debug, thiserror::Error)]
#[error("\n*** FATAL CONFIG FILE ERROR (tandem {version}) ***\nReading the configuration file {file}, at line {line}\n>>> '{text}'\n{reason}")]
pub struct StartupError {
    pub version: &'static str,
    pub file: String,
    pub line: usize,
    pub text: String,
    pub reason: String,
}

fn startup_error(file: &str, line: usize, text: &str, reason: &str) -> StartupError {
    StartupError {
        version: crate::VERSION,
        file: file.to_string(),
        line,
        text: text.to_string(),
        reason: reason.to_string(),
    }
}

/// A CONFIG SET that failed: the argument it names and why.
#[derive(Debug)]
pub struct SetError {
    /// The directive's name as the error names it.
    pub name: String,
    pub error: ConfigError,
}

impl std::fmt::Display for SetError {
    /// The whole error line Redis replies with.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.error {
            ConfigError::Unknown => write!(
                f,
                "ERR Unknown option or number of arguments for CONFIG SET - '{}'",
                self.name
            ),
            ref e => write!(
                f,
                "ERR CONFIG SET failed (possibly related to argument '{}') - {e}",
                self.name
            ),
        }
    }
}

/// The running configuration.
#[derive(Debug, Clone)]
pub struct Config {
    values: HashMap<&'static str, String>,
    /// Commands renamed (or disabled, when the new name is empty) by `rename-command`.
    pub renamed_commands: Vec<(String, String)>,
    /// The config file, when started with one (CONFIG REWRITE writes it back).
    pub file: Option<PathBuf>,
    /// Loading: whether a `save` line was read yet (the first replaces the default save
    /// points, later ones add to them, as in Redis).
    save_seen: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            values: DIRECTIVES
                .iter()
                .map(|d| (d.name, d.default.to_string()))
                .collect(),
            renamed_commands: Vec::new(),
            file: None,
            save_seen: false,
        }
    }
}

/// Splits a config line into arguments with redis.conf quoting rules.
fn split_config_line(line: &str) -> Option<Vec<String>> {
    crate::resp::split_args(line.as_bytes()).ok().map(|args| {
        args.into_iter()
            .map(|a| String::from_utf8_lossy(&a).into_owned())
            .collect()
    })
}

/// A command-line value as redis-server puts it into its config text: quoted.
fn quote_value(value: &str) -> String {
    values::quote(value)
}

/// The config text redis-server builds from its command-line options (after the config
/// file): `--name value ...` pairs become lines. A value may itself start with `--` only
/// as an option's first value; `--save` alone (last, or before another option) means
/// `save ""`; one argument holding `--name value` is a whole line.
pub fn command_line_text(args: &[String]) -> String {
    let mut text = String::new();
    // The current option has no value yet.
    let mut waiting = false;
    let mut current = String::new();
    for (i, arg) in args.iter().enumerate() {
        if let Some(name) = arg.strip_prefix("--") {
            let is_value = waiting && current != "save";
            if !is_value {
                if current == "save" && waiting {
                    text.push_str("\"\"");
                }
                text.push('\n');
                text.push_str(name);
                text.push(' ');
                current = name
                    .split_whitespace()
                    .next()
                    .unwrap_or("")
                    .to_ascii_lowercase();
                waiting = split_config_line(name).is_none_or(|t| t.len() < 2);
                if current == "save" && i + 1 == args.len() {
                    text.push_str("\"\"");
                }
                continue;
            }
        }
        text.push_str(&quote_value(arg));
        text.push(' ');
        waiting = false;
    }
    text
}

impl Config {
    /// Builds the configuration from `tandem [file] [--name value ...]` arguments.
    pub fn from_args(args: &[String]) -> Result<Config, StartupError> {
        let mut config = Config::default();
        let mut rest = args;
        if let Some(first) = args.first() {
            if !first.starts_with("--") {
                let path = PathBuf::from(first);
                let text = if first == "-" {
                    let mut s = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map_err(|e| {
                        startup_error("stdin", 0, "", &format!("cannot read stdin: {e}"))
                    })?;
                    s
                } else {
                    std::fs::read_to_string(&path).map_err(|e| {
                        startup_error(
                            first,
                            0,
                            "",
                            &format!("Fatal error, can't open config file '{first}': {e}"),
                        )
                    })?
                };
                config.load_text(&text, first, 0)?;
                if first != "-" {
                    config.file = Some(std::fs::canonicalize(&path).unwrap_or(path));
                }
                rest = &args[1..];
            }
        }
        config.load_text(&command_line_text(rest), "(command line)", 0)?;
        config.save_seen = false;
        Ok(config)
    }

    /// Applies redis.conf text. `depth` bounds `include` recursion.
    pub fn load_text(&mut self, text: &str, file: &str, depth: u32) -> Result<(), StartupError> {
        for (n, raw) in text.lines().enumerate() {
            let line_no = n + 1;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason: &str| startup_error(file, line_no, line, reason);
            let args = split_config_line(line)
                .ok_or_else(|| fail("Unbalanced quotes in configuration line"))?;
            if args.is_empty() {
                continue;
            }
            let name = args[0].to_ascii_lowercase();
            let values = &args[1..];
            match name.as_str() {
                "include" => {
                    if values.len() != 1 {
                        return Err(fail("Bad directive or wrong number of arguments"));
                    }
                    if depth > 16 {
                        return Err(fail("include nesting too deep"));
                    }
                    let inc = &values[0];
                    let text = std::fs::read_to_string(inc).map_err(|e| {
                        fail(&format!("Fatal error, can't open config file '{inc}': {e}"))
                    })?;
                    self.load_text(&text, inc, depth + 1)?;
                }
                "rename-command" => {
                    if values.len() != 2 {
                        return Err(fail("Bad directive or wrong number of arguments"));
                    }
                    self.renamed_commands.push((
                        values[0].to_ascii_lowercase(),
                        values[1].to_ascii_lowercase(),
                    ));
                }
                "user" => {
                    // What CONFIG REWRITE of a Redis without ACL users writes: the default
                    // user as it is anyway. Other users come with ACL (issue 26).
                    let default_user = ["default", "on", "nopass", "~*", "&*", "+@all"];
                    if values.len() != default_user.len()
                        || values
                            .iter()
                            .zip(default_user)
                            .any(|(v, d)| !v.eq_ignore_ascii_case(d))
                    {
                        return Err(fail(
                            "ACL users are not supported by tandem yet; use requirepass (or requirepass-hash)",
                        ));
                    }
                }
                "loadmodule" => return Err(fail("modules are not supported by tandem")),
                _ if table::DEPRECATED.contains(&name.as_str()) => {
                    if values.len() != 1 {
                        return Err(fail("Bad directive or wrong number of arguments"));
                    }
                }
                _ => {
                    let dir = find(&name)
                        .ok_or_else(|| fail("Bad directive or wrong number of arguments"))?;
                    self.load_directive(dir, values)
                        .map_err(|e| fail(&e.to_string()))?;
                }
            }
        }
        Ok(())
    }

    /// Applies one directive line of a config file or the command line.
    fn load_directive(
        &mut self,
        dir: &'static Directive,
        values: &[String],
    ) -> Result<(), ConfigError> {
        // A multi-argument directive given one non-empty argument has it split again.
        let split;
        let values = if dir.has(flag::MULTI_ARG) && values.len() == 1 && !values[0].is_empty() {
            split = split_config_line(&values[0]).ok_or(ConfigError::Arity)?;
            &split[..]
        } else {
            values
        };
        let value = values::canonical(dir, values)?;
        match dir.name {
            "client-output-buffer-limit" => {
                let merged = self.merge_output_buffer_limit(&value);
                self.values.insert(dir.name, merged);
            }
            "save" if self.save_seen && !value.is_empty() => {
                let current = self.get("save");
                let merged = if current.is_empty() {
                    value
                } else {
                    format!("{current} {value}")
                };
                self.values.insert(dir.name, merged);
            }
            "hz" => {
                let hz = value.parse::<i64>().unwrap_or(10).clamp(1, 500);
                self.values.insert(dir.name, hz.to_string());
            }
            _ => {
                self.values.insert(dir.name, value);
            }
        }
        if dir.name == "save" {
            self.save_seen = true;
        }
        Ok(())
    }

    /// Merges `client-output-buffer-limit` settings (one or more classes) into the stored
    /// value of all three classes.
    fn merge_output_buffer_limit(&self, value: &str) -> String {
        let mut limits = self.output_buffer_limits();
        let words: Vec<&str> = value.split(' ').collect();
        for chunk in words.chunks(4).filter(|c| c.len() == 4) {
            let Some(class) = OutputBufferClass::from_name(chunk[0]) else {
                continue;
            };
            let limit = OutputBufferLimit {
                hard: parse_memory(chunk[1]).unwrap_or(0),
                soft: parse_memory(chunk[2]).unwrap_or(0),
                soft_secs: chunk[3].trim().parse().unwrap_or(0),
            };
            limits
                .iter_mut()
                .find(|(c, _)| *c == class)
                .expect("all classes")
                .1 = limit;
        }
        limits
            .iter()
            .map(|(c, l)| format!("{} {} {} {}", c.name(), l.hard, l.soft, l.soft_secs))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The current value of a directive, in canonical text.
    pub fn get(&self, name: &str) -> &str {
        let dir = find(name).unwrap_or_else(|| panic!("directive {name} is not in the table"));
        self.values.get(dir.name).map(String::as_str).unwrap_or("")
    }

    pub fn get_bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    pub fn get_int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn get_u64(&self, name: &str) -> u64 {
        self.get(name).parse().unwrap_or(0)
    }

    /// `unixsocketperm`, stored in octal.
    pub fn get_octal(&self, name: &str) -> u32 {
        u32::from_str_radix(self.get(name), 8).unwrap_or(0)
    }

    /// `maxmemory-clients` in bytes: a percentage is of `maxmemory`.
    pub fn maxmemory_clients(&self) -> u64 {
        let text = self.get("maxmemory-clients");
        match text.strip_suffix('%') {
            Some(p) => self.get_u64("maxmemory") / 100 * p.parse::<u64>().unwrap_or(0),
            None => text.parse().unwrap_or(0),
        }
    }

    /// Sets directives at runtime (CONFIG SET `pairs`), checking them as Redis does:
    /// every name first (unknown, immutable, protected unless `protected_ok`, given twice),
    /// then every value, all or nothing. Returns the directives set.
    pub fn set_many(
        &mut self,
        pairs: &[(String, String)],
        protected_ok: bool,
    ) -> Result<Vec<&'static Directive>, SetError> {
        let mut first_error: Option<SetError> = None;
        let mut seen: Vec<String> = Vec::new();
        let mut dirs = Vec::new();
        for (name, _) in pairs {
            let lower = name.to_ascii_lowercase();
            let error = match find(name) {
                None => Some(ConfigError::Unknown),
                Some(d) if !d.mutable() => Some(ConfigError::Immutable),
                Some(d) if d.has(flag::PROTECTED) && !protected_ok => Some(ConfigError::Protected),
                Some(_) if seen.contains(&lower) => Some(ConfigError::Duplicate),
                Some(d) => {
                    dirs.push(d);
                    None
                }
            };
            seen.push(lower);
            if let (Some(error), None) = (error, &first_error) {
                first_error = Some(SetError {
                    name: name.clone(),
                    error,
                });
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        let mut next = self.clone();
        for ((name, value), dir) in pairs.iter().zip(&dirs) {
            next.set_one(dir, value).map_err(|error| SetError {
                name: name.to_ascii_lowercase(),
                error,
            })?;
        }
        *self = next;
        Ok(dirs)
    }

    /// One CONFIG SET value: multi-argument values split on single spaces (no quoting),
    /// as Redis splits them.
    fn set_one(&mut self, dir: &'static Directive, value: &str) -> Result<(), ConfigError> {
        let args: Vec<String> = if dir.has(flag::MULTI_ARG) {
            if value.is_empty() {
                Vec::new()
            } else {
                value.split(' ').map(str::to_string).collect()
            }
        } else {
            vec![value.to_string()]
        };
        let canonical = match dir.name {
            // An empty value sets no class: nothing changes.
            "client-output-buffer-limit" if args.is_empty() => self.get(dir.name).to_string(),
            "client-output-buffer-limit" => {
                let v = values::canonical(dir, &args)?;
                self.merge_output_buffer_limit(&v)
            }
            "hz" => {
                let v = values::canonical(dir, &args)?;
                v.parse::<i64>().unwrap_or(10).clamp(1, 500).to_string()
            }
            "repl-backlog-size" => {
                let v = values::canonical(dir, &args)?;
                v.parse::<u64>().unwrap_or(0).max(16 * 1024).to_string()
            }
            "bind" if args.is_empty() => String::new(),
            _ => values::canonical(dir, &args)?,
        };
        self.values.insert(dir.name, canonical);
        Ok(())
    }

    /// The value CONFIG GET shows for `dir`.
    fn shown(&self, dir: &Directive) -> String {
        let stored = self.values.get(dir.name).cloned().unwrap_or_default();
        match dir.name {
            "dir" => std::env::current_dir()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            "notify-keyspace-events" => crate::notify::parse_flags(&stored)
                .map(crate::notify::flags_to_string)
                .unwrap_or_default(),
            _ => stored,
        }
    }

    /// CONFIG GET `pattern`: a name without glob characters is looked up exactly (hidden
    /// directives included) and answered under the name as given; a pattern matches
    /// names and aliases, hidden directives left out.
    pub fn matching(&self, pattern: &[u8]) -> Vec<(String, String)> {
        let text = String::from_utf8_lossy(pattern);
        if !pattern.iter().any(|b| matches!(b, b'*' | b'?' | b'[')) {
            return find(&text)
                .map(|d| vec![(text.into_owned(), self.shown(d))])
                .unwrap_or_default();
        }
        let mut out = Vec::new();
        for dir in DIRECTIVES.iter().filter(|d| !d.has(flag::HIDDEN)) {
            for name in std::iter::once(dir.name).chain(dir.alias) {
                if crate::keyspace::glob_match(pattern, name.as_bytes(), true) {
                    out.push((name.to_string(), self.shown(dir)));
                }
            }
        }
        out
    }

    /// The output buffer limit of each client class.
    pub fn output_buffer_limits(&self) -> [(OutputBufferClass, OutputBufferLimit); 3] {
        let mut out = [
            (OutputBufferClass::Normal, OutputBufferLimit::default()),
            (OutputBufferClass::Replica, OutputBufferLimit::default()),
            (OutputBufferClass::Pubsub, OutputBufferLimit::default()),
        ];
        let text = self.get("client-output-buffer-limit");
        let parts: Vec<&str> = text.split_whitespace().collect();
        for chunk in parts.chunks(4).filter(|c| c.len() == 4) {
            if let Some(class) = OutputBufferClass::from_name(chunk[0]) {
                let limit = OutputBufferLimit {
                    hard: parse_memory(chunk[1]).unwrap_or(0),
                    soft: parse_memory(chunk[2]).unwrap_or(0),
                    soft_secs: chunk[3].parse().unwrap_or(0),
                };
                out.iter_mut()
                    .find(|(c, _)| *c == class)
                    .expect("all classes")
                    .1 = limit;
            }
        }
        out
    }

    pub fn output_buffer_limit(&self, class: OutputBufferClass) -> OutputBufferLimit {
        self.output_buffer_limits()
            .into_iter()
            .find(|(c, _)| *c == class)
            .map(|(_, l)| l)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c =
            Config::from_args(&args(&["--port", "7000", "--replicaof", "db1", "6379"])).unwrap();
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.get("replicaof"), "db1 6379");
        assert_eq!(c.get("databases"), "16");
        assert_eq!(c.get("proto-max-bulk-len"), "536870912");
    }

    #[test]
    fn command_line_options_as_redis_reads_them() {
        let c = Config::from_args(&args(&[
            "--proc-title-template",
            "--my--title",
            "--loglevel",
            "verbose",
        ]))
        .unwrap();
        assert_eq!(c.get("proc-title-template"), "--my--title");
        assert_eq!(c.get("loglevel"), "verbose");
        let c = Config::from_args(&args(&[
            "--maxmemory 700mb",
            "--maxmemory-policy volatile-lru",
        ]))
        .unwrap();
        assert_eq!(c.get("maxmemory"), "734003200");
        assert_eq!(c.get("maxmemory-policy"), "volatile-lru");
        for given in [
            &["--save", "--loglevel", "verbose"][..],
            &["--loglevel", "verbose", "--save"],
        ] {
            let c = Config::from_args(&args(given)).unwrap();
            assert_eq!(c.get("save"), "");
            assert_eq!(c.get("loglevel"), "verbose");
        }
        let c = Config::from_args(&args(&["--save", "100", "10", "--save", "200", "20"])).unwrap();
        assert_eq!(c.get("save"), "100 10 200 20");
        let c =
            Config::from_args(&args(&["--shutdown-on-sigint", "nosave", "force", "now"])).unwrap();
        assert_eq!(c.get("shutdown-on-sigint"), "nosave now force");
        let err = Config::from_args(&args(&["--port", "6379", "6380"])).unwrap_err();
        assert_eq!(err.text, "port \"6379\" \"6380\"");
        assert_eq!(err.reason, "wrong number of arguments");
        let err =
            Config::from_args(&args(&["--port", "--bla", "--loglevel", "verbose"])).unwrap_err();
        assert_eq!(err.text, "port \"--bla\"");
        assert_eq!(err.reason, "argument couldn't be parsed into an integer");
    }

    #[test]
    fn save_lines_replace_the_default_then_add() {
        let mut c = Config::default();
        c.load_text("save 900 1\n", "f", 0).unwrap();
        c.load_text(
            &command_line_text(&args(&["--save", "100", "100"])),
            "cl",
            0,
        )
        .unwrap();
        assert_eq!(c.get("save"), "900 1 100 100");
        let c = Config::from_args(&args(&["--save", ""])).unwrap();
        assert_eq!(c.get("save"), "");
    }

    #[test]
    fn tutorial_config_loads() {
        let mut c = Config::default();
        c.load_text("# Bind\nbind 0.0.0.0\nrequirepass mypassword\nappendonly yes\nreplicaof redis-master 6379\nmasterauth mypassword\n", "redis.conf", 0)
            .unwrap();
        assert_eq!(c.get("requirepass"), "mypassword");
        assert!(c.get_bool("appendonly"));
        assert_eq!(c.get("slaveof"), "redis-master 6379");
    }

    #[test]
    fn unknown_directive_names_file_line_and_reason() {
        let mut c = Config::default();
        let err = c
            .load_text("port 6379\nfrobnicate yes\n", "my.conf", 0)
            .unwrap_err();
        assert_eq!(err.file, "my.conf");
        assert_eq!(err.line, 2);
        assert!(err.to_string().contains("Bad directive"));
        let err = c.load_text("maxmemory lots\n", "my.conf", 0).unwrap_err();
        assert!(err.reason.contains("memory value"), "{}", err.reason);
        let err = c.load_text("port 70000\n", "my.conf", 0).unwrap_err();
        assert!(err.reason.contains("between 0 and 65535"));
        // Accepted and ignored, as Redis 7.0 does.
        c.load_text("list-max-ziplist-entries 5\n", "my.conf", 0)
            .unwrap();
    }

    #[test]
    fn output_buffer_limit_lines_merge() {
        let mut c = Config::default();
        c.load_text(
            "client-output-buffer-limit replica 512mb 128mb 30\n",
            "f",
            0,
        )
        .unwrap();
        assert_eq!(
            c.get("client-output-buffer-limit"),
            "normal 0 0 0 slave 536870912 134217728 30 pubsub 33554432 8388608 60"
        );
    }

    #[test]
    fn config_set_checks_names_then_values_all_or_nothing() {
        let mut c = Config::default();
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let e = c
            .set_many(&pairs(&[("maxmemory", "1"), ("MAXMEMORY", "2")]), true)
            .unwrap_err();
        assert_eq!(e.to_string(), "ERR CONFIG SET failed (possibly related to argument 'MAXMEMORY') - duplicate parameter");
        let e = c
            .set_many(&pairs(&[("daemonize", "yes")]), true)
            .unwrap_err();
        assert!(e.to_string().ends_with("can't set immutable config"));
        let e = c.set_many(&pairs(&[("dir", "/tmp")]), false).unwrap_err();
        assert!(e.to_string().ends_with("can't set protected config"));
        let e = c
            .set_many(
                &pairs(&[("maxmemory", "10"), ("maxmemory-clients", "200%")]),
                true,
            )
            .unwrap_err();
        assert_eq!(e.to_string(), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100");
        assert_eq!(c.get("maxmemory"), "0");
        // An alias and its name are not a duplicate; the last wins.
        c.set_many(
            &pairs(&[("slave-priority", "5"), ("replica-priority", "6")]),
            true,
        )
        .unwrap();
        assert_eq!(c.get("replica-priority"), "6");
        c.set_many(&pairs(&[("hz", "1000"), ("repl-backlog-size", "1")]), true)
            .unwrap();
        assert_eq!(c.get("hz"), "500");
        assert_eq!(c.get("repl-backlog-size"), "16384");
    }

    #[test]
    fn config_get_hides_hidden_directives_from_patterns() {
        let c = Config::default();
        assert!(c.matching(b"*").iter().all(|(n, _)| n != "key-load-delay"));
        assert_eq!(c.matching(b"key-load-delay").len(), 1);
        assert_eq!(
            c.matching(b"PORT")[0],
            ("PORT".to_string(), "6379".to_string())
        );
        let names: Vec<String> = c.matching(b"*of").into_iter().map(|(n, _)| n).collect();
        assert!(names.contains(&"slaveof".to_string()) && names.contains(&"replicaof".to_string()));
    }
}
