//! The `tandem` binary's command line: version, help, and configuration errors at start-up.

use std::process::Command;

fn tandem() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
}

#[test]
fn version_names_tandem_and_redis_compatibility() {
    let out = tandem().arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("tandem v="), "{text}");
    assert!(text.contains("7.0.15"), "{text}");
}

#[test]
fn unknown_directive_stops_startup_with_file_line_and_reason() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "port 6399\n# comment\nfrobnicate yes\n").unwrap();
    let out = tandem().arg(&conf).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains("bad.conf"), "{err}");
    assert!(err.contains("at line 3"), "{err}");
    assert!(err.contains(">>> 'frobnicate yes'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
}

#[test]
fn malformed_value_on_command_line_is_refused() {
    let out = tandem().args(["--port", "notaport"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("(command line)"), "{err}");
    assert!(
        err.contains("argument couldn't be parsed into an integer"),
        "{err}"
    );
}
