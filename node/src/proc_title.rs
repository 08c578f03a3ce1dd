//! `proc-title-template`: the template Redis 7.0 builds its process title from, checked
//! as Redis checks it. tandem accepts and keeps the template, but does not rewrite its
//! process title: that needs writing over the memory of the process's arguments.

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

/// Expands `template` with the title empty, as Redis does to check it: None when a brace
/// is not closed or a variable is unknown.
fn expand_for_check(template: &str) -> Option<String> {
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
        let (_, filled) = VARIABLES.iter().find(|(name, _)| *name == &rest[..close])?;
        if *filled {
            out.push('x');
        }
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Whether Redis accepts `template`: it expands (with an empty title) to something other
/// than blanks.
pub fn valid_template(template: &str) -> bool {
    expand_for_check(template).is_some_and(|t| !t.trim().is_empty())
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
