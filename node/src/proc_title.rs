//! The process title: `proc-title-template` checked as Redis checks it, expanded as
//! Redis expands it, and written where `ps` and `/proc/<pid>/cmdline` read it: over the
//! memory of the process's arguments (and the environment strings after them, moved
//! elsewhere first), as Redis's setproctitle does. This is the one place that writes
//! process memory the C runtime laid out, hence its own `unsafe` allowance.
#![allow(unsafe_code)]

use std::ffi::{CStr, CString, OsString};
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicIsize, AtomicPtr, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::config::Config;

/// The variables a template may use, and whether each always expands to something
/// (an address, a port number) or may be empty (the title when checked, the server mode
/// of a standalone server, the config file, the unix socket).
const VARIABLES: &[(&str, bool)] = &[
    ("title", false),
    ("listen-addr", true),
    ("server-mode", false),
    ("config-file", false),
    ("port", true),
    ("tls-port", true),
    ("unixsocket", false),
];

/// Expands `template`, each `{variable}` by `value` (`{{` is a literal brace): None when a
/// brace is not closed or `value` knows no such variable.
fn expand_with(template: &str, value: impl Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        rest = &rest[open + 1..];
        if let Some(after) = rest.strip_prefix('{') {
            out.push('{');
            rest = after;
            continue;
        }
        let close = rest.find('}')?;
        out.push_str(&value(&rest[..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Expands `template` with the title empty, as Redis does to check it.
fn expand_for_check(template: &str) -> Option<String> {
    expand_with(template, |name| {
        let (_, filled) = VARIABLES.iter().find(|(n, _)| *n == name)?;
        Some(if *filled { "x" } else { "" }.to_string())
    })
}

/// Whether Redis accepts `template`: it expands (with an empty title) to something other
/// than blanks.
pub fn valid_template(template: &str) -> bool {
    expand_for_check(template).is_some_and(|t| !t.trim().is_empty())
}

/// Expands `template` for a server with `config`, `title` being the program name, as
/// Redis's redisProcTitleGetVariable does; None for an invalid template.
pub fn expand(template: &str, title: &str, config: &Config, port: u16) -> Option<String> {
    let tls_port = config.get_int("tls-port");
    let first_bind = config.get("bind").split_whitespace().next().unwrap_or("*");
    let value = |name: &str| -> Option<String> {
        Some(match name {
            "title" => title.to_string(),
            "listen-addr" if port != 0 || tls_port != 0 => {
                let p = if port != 0 { i64::from(port) } else { tls_port };
                format!("{}:{p}", first_bind.trim_start_matches('-'))
            }
            "listen-addr" => format!("unixsocket:{}", config.get("unixsocket")),
            "server-mode" => String::new(),
            "config-file" => config
                .file
                .as_ref()
                .map_or("-".to_string(), |f| f.display().to_string()),
            "port" => port.to_string(),
            "tls-port" => tls_port.to_string(),
            "unixsocket" => config.get("unixsocket").to_string(),
            _ => return None,
        })
    };
    expand_with(template, value).map(|t| t.trim_matches(' ').to_string())
}

/// argc and argv as the C runtime passed them to the program, captured before `main`.
static ARGC: AtomicIsize = AtomicIsize::new(0);
static ARGV: AtomicPtr<*mut c_char> = AtomicPtr::new(std::ptr::null_mut());

/// Called by the C runtime (glibc hands initialisers argc, argv and envp) before `main`.
extern "C" fn capture_argv(argc: c_int, argv: *mut *mut c_char, _envp: *mut *mut c_char) {
    ARGC.store(argc as isize, Ordering::Relaxed);
    ARGV.store(argv, Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static CAPTURE_ARGV: extern "C" fn(c_int, *mut *mut c_char, *mut *mut c_char) = capture_argv;

/// The arguments the process started with, as they were before any title was written
/// (DEBUG RESTART execs them again).
pub fn original_args() -> &'static [OsString] {
    static ARGS: OnceLock<Vec<OsString>> = OnceLock::new();
    ARGS.get_or_init(|| std::env::args_os().collect())
}

/// The memory the title may be written to: the argument strings and the environment
/// strings laid out right after them (start, length), once the environment is moved.
static AREA: Mutex<Option<(usize, usize)>> = Mutex::new(None);

/// Finds the contiguous argument and environment strings and moves the environment
/// strings elsewhere, so their memory can hold the title. None if there is no area.
fn claim_area() -> Option<(usize, usize)> {
    // Keeps the initialiser from being discarded by the linker.
    let _ = std::hint::black_box(&CAPTURE_ARGV);
    let argc = ARGC.load(Ordering::Relaxed);
    let argv = ARGV.load(Ordering::Relaxed);
    if argc <= 0 || argv.is_null() {
        return None;
    }
    // SAFETY: argv holds argc valid NUL-terminated strings from the C runtime, and the
    // environment is the C runtime's NULL-terminated array; both are only read here,
    // before anything is written, and the environment is repointed to copies of its
    // strings (leaked: they live as long as the process) before their memory is reused.
    unsafe {
        let start = *argv as usize;
        let mut end = start;
        for i in 0..argc {
            let s = *argv.offset(i);
            if s as usize != end && i > 0 {
                break;
            }
            end = s as usize + CStr::from_ptr(s).to_bytes().len() + 1;
        }
        let mut env = libc::environ;
        while !env.is_null() && !(*env).is_null() {
            let s = *env;
            if s as usize == end {
                end = s as usize + CStr::from_ptr(s).to_bytes().len() + 1;
                *env = CString::from(CStr::from_ptr(s)).into_raw();
            }
            env = env.add(1);
        }
        Some((start, end - start))
    }
}

/// Writes `title` as the process title (cut to the memory available), as
/// `set-proc-title yes` asks.
pub fn set(title: &str) {
    original_args();
    let mut area = AREA.lock().unwrap_or_else(|e| e.into_inner());
    if area.is_none() {
        *area = claim_area();
    }
    let Some((start, len)) = *area else {
        return;
    };
    let bytes = title.as_bytes();
    let n = bytes.len().min(len - 1);
    // SAFETY: [start, start + len) is the argument and environment string memory found
    // by claim_area; nothing reads it any more (the environment was moved, and the
    // original arguments were copied by original_args first).
    unsafe {
        let dst = start as *mut u8;
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, n);
        std::ptr::write_bytes(dst.add(n), 0, len - n);
    }
}

/// Sets the title from the configuration (`proc-title-template`, when `set-proc-title`).
pub fn apply(config: &Config, port: u16) {
    if !config.get_bool("set-proc-title") {
        return;
    }
    let program = original_args()
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    if let Some(title) = expand(config.get("proc-title-template"), &program, config, port) {
        set(&title);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_as_redis_checks_them() {
        assert!(valid_template("{title} {listen-addr} {server-mode}"));
        assert!(valid_template("TEST {title} {port}"));
        assert!(valid_template("--my--title--template"));
        assert!(!valid_template("{invalid-var}"));
        assert!(!valid_template(""));
        assert!(!valid_template("{title"));
        assert!(!valid_template("  "));
        assert!(!valid_template("{server-mode}"));
    }
}
