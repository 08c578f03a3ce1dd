//! The AOF manifest (`<appendfilename>.manifest`): which files make the append-only file,
//! as Redis 7.0 writes and reads it. One line per file, `file <name> seq <n> type <b|h|i>`:
//! the base, the history files waiting to be deleted, and the incremental files in order.
//! Parsing is as strict as Redis's, with its messages, so a damaged manifest stops
//! start-up instead of loading part of the data.

/// One file the manifest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub seq: u64,
}

/// The manifest, and the sequence numbers the next base and incremental files get.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<Entry>,
    /// Files a rewrite replaced, newest first, until they are deleted.
    pub history: Vec<Entry>,
    /// Incremental files, in order.
    pub incrs: Vec<Entry>,
    /// The seq of the last base made (the base's, when loaded).
    pub base_seq: u64,
    /// The seq of the last incremental file made (the last one's, when loaded).
    pub incr_seq: u64,
}

/// A manifest that cannot be read, with what Redis logs about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The line being read (1-based) and its text, when the error is about one line.
    pub line: Option<(usize, String)>,
    pub message: &'static str,
}

impl ManifestError {
    /// The log lines Redis prints for it, in order.
    pub fn log_lines(&self) -> Vec<String> {
        let mut lines = vec!["\n*** FATAL AOF MANIFEST FILE ERROR ***\n".to_string()];
        if let Some((n, text)) = &self.line {
            lines.push(format!("Reading the manifest file, at line {n}\n"));
            lines.push(format!(">>> '{text}'\n"));
        }
        lines.push(format!("{}\n", self.message));
        lines
    }
}

/// Longest manifest line Redis reads, newline included.
const MAX_LINE: usize = 1024;

const INVALID_FORMAT: &str = "Invalid AOF manifest file format";

impl Manifest {
    /// Parses manifest text as Redis's aofLoadManifestFromFile does.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let mut m = Manifest::default();
        if text.is_empty() {
            return Err(ManifestError {
                line: None,
                message: "Found an empty AOF manifest",
            });
        }
        let mut rest = text;
        let mut line_no = 0;
        while !rest.is_empty() {
            // Redis reads at most 1023 characters and a newline at a time.
            let cut = rest.len().min(MAX_LINE);
            let chunk = &rest[..cut];
            line_no += 1;
            let (raw, next) = match chunk.find('\n') {
                Some(nl) => (&rest[..nl], &rest[nl + 1..]),
                None if chunk.starts_with('#') => (chunk, &rest[cut..]),
                None => {
                    return Err(ManifestError {
                        line: None,
                        message: "The AOF manifest file contains too long line",
                    })
                }
            };
            rest = next;
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim_matches([' ', '\t', '\r', '\n']);
            let fail = |message| ManifestError {
                line: Some((line_no, trimmed.to_string())),
                message,
            };
            let words = crate::resp::split_args(trimmed.as_bytes())
                .ok()
                .filter(|w| w.len() >= 6 && w.len() % 2 == 0)
                .ok_or_else(|| fail(INVALID_FORMAT))?;
            let (mut name, mut seq, mut kind) = (None, 0i64, None);
            for pair in words.chunks(2) {
                let value = String::from_utf8_lossy(&pair[1]).into_owned();
                match String::from_utf8_lossy(&pair[0])
                    .to_ascii_lowercase()
                    .as_str()
                {
                    "file" => {
                        if value.contains(['/', '\\']) {
                            return Err(fail("File can't be a path, just a filename"));
                        }
                        name = Some(value.split('\0').next().unwrap_or("").to_string());
                    }
                    "seq" => seq = crate::resp::atoll(value.as_bytes()),
                    "type" => kind = value.chars().next(),
                    _ => {}
                }
            }
            let (Some(name), Some(kind)) = (name, kind) else {
                return Err(fail(INVALID_FORMAT));
            };
            if seq == 0 {
                return Err(fail(INVALID_FORMAT));
            }
            let seq_u = seq.max(0) as u64;
            match kind {
                'b' if m.base.is_some() => {
                    return Err(fail("Found duplicate base file information"))
                }
                'b' => {
                    m.base_seq = seq_u;
                    m.base = Some(Entry { name, seq: seq_u });
                }
                'h' => m.history.push(Entry { name, seq: seq_u }),
                'i' => {
                    let last = m.incrs.last().map_or(0, |e| e.seq as i64);
                    if seq <= last {
                        return Err(fail("Found a non-monotonic sequence number"));
                    }
                    m.incr_seq = seq_u;
                    m.incrs.push(Entry { name, seq: seq_u });
                }
                _ => return Err(fail("Unknown AOF file type")),
            }
        }
        Ok(m)
    }

    /// The manifest as Redis writes it: the base, the history, then the incremental files.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let mut line = |e: &Entry, kind: char| {
            out.push_str(&format!(
                "file {} seq {} type {kind}\n",
                quote_name(&e.name),
                e.seq
            ));
        };
        if let Some(b) = &self.base {
            line(b, 'b');
        }
        for e in &self.history {
            line(e, 'h');
        }
        for e in &self.incrs {
            line(e, 'i');
        }
        out
    }

    /// Whether it lists no data file at all.
    pub fn is_empty(&self) -> bool {
        self.base.is_none() && self.incrs.is_empty()
    }
}

/// A file name as the manifest writes it: bare, or quoted with escapes when it holds
/// blanks, quotes or unprintable bytes.
fn quote_name(name: &str) -> String {
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\' && b != b'\'');
    if plain && !name.is_empty() {
        name.to_string()
    } else {
        crate::config::quote(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> &'static str {
        Manifest::parse(text).unwrap_err().message
    }

    #[test]
    fn manifest_round_trip() {
        let text = "file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\nfile appendonly.aof.2.incr.aof seq 2 type i\n";
        let m = Manifest::parse(text).unwrap();
        assert_eq!(m.base.as_ref().unwrap().name, "appendonly.aof.1.base.rdb");
        assert_eq!((m.base_seq, m.incr_seq), (1, 2));
        assert_eq!(m.render(), text);
        let spaced = Manifest {
            base: Some(Entry {
                name: " file seq \n.aof .1.base.rdb".into(),
                seq: 1,
            }),
            ..Manifest::default()
        };
        assert_eq!(Manifest::parse(&spaced.render()).unwrap().base, spaced.base);
    }

    #[test]
    fn errors_as_redis_words_them() {
        assert_eq!(err(""), "Found an empty AOF manifest");
        assert_eq!(err("file a seq 1 type b\n\n"), INVALID_FORMAT);
        assert_eq!(err("filx a seq 1 type b\n"), INVALID_FORMAT);
        assert_eq!(err("file a seq 1\n"), INVALID_FORMAT);
        assert_eq!(err("file a seq 1 type b newkey\n"), INVALID_FORMAT);
        assert_eq!(err("file a seq 0 type b\n"), INVALID_FORMAT);
        assert_eq!(
            err("file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(err("file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(
            err("file a seq 2 type i\nfile b seq 1 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            err(&format!("file {} seq 1 type b\n", "a".repeat(1100))),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(
            err("file a seq 1 type b"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(
            err("file ../x seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        // Extra keys are ignored; keys are case-insensitive; comments are skipped.
        let m = Manifest::parse("# c\nFILE a SEQ 1 TYPE b newkey newvalue\n").unwrap();
        assert_eq!(m.base.unwrap().name, "a");
        let e = Manifest::parse("file a seq 2 type i\nfile b seq 1 type i\n").unwrap_err();
        assert_eq!(e.line, Some((2, "file b seq 1 type i".to_string())));
    }
}
