//! Loading the append-only file as Redis 7.0 does: an old single-file AOF moved into the
//! directory first (the upgrade), then the base and every incremental file in manifest
//! order. A file starting with `REDIS` is an RDB followed by commands; otherwise it is
//! all commands, with `#` annotation lines (`#TS:`) skipped. Only the last file may end
//! in a torn command or an unfinished MULTI, cut off under `aof-load-truncated yes`.
//!
//! Every failure is logged here with Redis's words, once, and nothing after it: the caller
//! exits (the suite's tests read the last log line).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::time::Instant;

use bytes::Bytes;

use super::{AofPaths, Entry, Manifest};
use crate::{notice, warning};

/// How loading went, when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The manifest lists no file.
    NotExist,
    /// Every listed file is empty.
    Empty,
    Ok,
    /// The last file ended in a torn command, cut off.
    Truncated,
}

/// Loading failed; what went wrong has been logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed;

/// A command the server does not have (the AOF cannot be loaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCommand;

/// What the loaded files are applied to.
pub trait Target {
    /// Loads an RDB (a base, or an old AOF's preamble) from `input`; returns the bytes it
    /// took (the commands of the tail follow them).
    fn load_rdb(&mut self, input: &mut dyn Read) -> Result<u64, String>;
    /// A new file starts: commands run as a new client, in database 0.
    fn start_file(&mut self);
    /// Runs one command; an error when the command is unknown.
    fn run(&mut self, args: &[Bytes]) -> Result<(), UnknownCommand>;
}

/// The sizes INFO reports after a load: all the files, and the base.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sizes {
    pub total: u64,
    pub base: u64,
}

/// Moves an old single-file AOF (`<dir>/<appendfilename>`) into the AOF directory as the
/// base of `manifest`, when there is one and the directory does not already hold an AOF
/// (or holds a manifest whose upgrade was interrupted before the move).
pub fn upgrade_old_aof(paths: &AofPaths, manifest: &mut Manifest) -> Result<(), Failed> {
    let old = std::path::Path::new(&paths.name);
    if !fs::metadata(old).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let interrupted = manifest.base.as_ref().is_some_and(|b| b.name == paths.name)
        && manifest.incrs.is_empty()
        && !paths.dir.join(&paths.name).exists();
    let needed = !paths.dir.is_dir()
        || (manifest.base.is_none() && manifest.incrs.is_empty())
        || interrupted;
    if !needed {
        return Ok(());
    }
    if let Err(e) = fs::create_dir_all(&paths.dir) {
        warning!(
            "Can't open or create append-only dir {}: {e}",
            paths.dir.display()
        );
        return Err(Failed);
    }
    manifest.base = Some(Entry {
        name: paths.name.clone(),
        seq: 1,
    });
    manifest.base_seq = 1;
    if let Err(e) = paths.write_manifest(manifest) {
        warning!("Can't write the AOF manifest: {e}");
        return Err(Failed);
    }
    if let Err(e) = fs::rename(old, paths.dir.join(&paths.name)) {
        warning!(
            "Error trying to move the old AOF file {} into dir {}: {e}",
            paths.name,
            paths.dir.display()
        );
        return Err(Failed);
    }
    notice!(
        "Successfully migrated an old-style AOF file ({}) into the AOF directory ({}).",
        paths.name,
        paths.dir.display()
    );
    Ok(())
}

/// Loads the files `manifest` lists into `target`.
pub fn load_files(
    paths: &AofPaths,
    manifest: &Manifest,
    truncated_ok: bool,
    target: &mut dyn Target,
) -> Result<(Status, Sizes), Failed> {
    let files: Vec<(&Entry, bool)> = manifest
        .base
        .iter()
        .map(|e| (e, true))
        .chain(manifest.incrs.iter().map(|e| (e, false)))
        .collect();
    if files.is_empty() {
        return Ok((Status::NotExist, Sizes::default()));
    }
    let mut sizes = Sizes::default();
    for (entry, is_base) in &files {
        match fs::metadata(paths.dir.join(&entry.name)) {
            Ok(m) => {
                sizes.total += m.len();
                if *is_base {
                    sizes.base = m.len();
                }
            }
            Err(e) => {
                warning!(
                    "Unable to obtain the AOF file {} length. stat: {}",
                    entry.name,
                    crate::log::strerror(&e)
                );
                return Err(Failed);
            }
        }
    }
    if sizes.total == 0 {
        return Ok((Status::Empty, sizes));
    }
    let mut status = Status::Ok;
    let last = files.len() - 1;
    for (i, (entry, is_base)) in files.iter().enumerate() {
        let start = Instant::now();
        let file = FileLoad {
            paths,
            name: &entry.name,
            truncated_ok,
        };
        let loaded = file.load(target)?;
        if loaded == Status::Truncated && i != last {
            warning!("Fatal error: the truncated file is not the last file");
            return Err(Failed);
        }
        if loaded == Status::Truncated {
            status = Status::Truncated;
        }
        if loaded != Status::Empty {
            notice!(
                "DB loaded from {} file {}: {:.3} seconds",
                if *is_base { "base" } else { "incr" },
                entry.name,
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok((status, sizes))
}

/// One file being loaded.
struct FileLoad<'a> {
    paths: &'a AofPaths,
    name: &'a str,
    truncated_ok: bool,
}

/// Why reading commands stopped early.
enum ReadError {
    /// Not the AOF format: a line that should start with `*` or `$` does not.
    Format,
    /// The file ends inside a command.
    UnexpectedEof,
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> ReadError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ReadError::UnexpectedEof
        } else {
            ReadError::Io(e)
        }
    }
}

/// Longest header line (`*<argc>`, `$<len>`) Redis reads.
const LINE_MAX: usize = 1024;

impl FileLoad<'_> {
    fn load(&self, target: &mut dyn Target) -> Result<Status, Failed> {
        let path = self.paths.dir.join(self.name);
        let mut file = match File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                warning!(
                    "Fatal error: can't open the append log file {} for reading: {}",
                    self.name,
                    crate::log::strerror(&e)
                );
                return Err(Failed);
            }
        };
        if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return Ok(Status::Empty);
        }
        target.start_file();
        let old_style = self.name == self.paths.name;
        let mut magic = [0u8; 5];
        let is_rdb = file.read_exact(&mut magic).is_ok() && &magic == b"REDIS";
        let mut offset = 0;
        if is_rdb {
            if old_style {
                notice!("Reading RDB preamble from AOF file...");
            } else {
                notice!("Reading RDB base file on AOF loading...");
            }
            let rdb = file
                .seek(SeekFrom::Start(0))
                .map_err(|e| e.to_string())
                .and_then(|_| target.load_rdb(&mut BufReader::with_capacity(1 << 20, &mut file)));
            match rdb {
                Ok(bytes) => offset = bytes,
                Err(e) => {
                    warning!("{e}");
                    if old_style {
                        warning!(
                            "Error reading the RDB preamble of the AOF file {}, AOF loading aborted",
                            self.name
                        );
                    } else {
                        warning!(
                            "Error reading the RDB base file {}, AOF loading aborted",
                            self.name
                        );
                    }
                    return Err(Failed);
                }
            }
            if old_style {
                notice!("Reading the remaining AOF tail...");
            }
        }
        if let Err(e) = file.seek(SeekFrom::Start(offset)) {
            warning!(
                "Unrecoverable error reading the append only file {}: {e}",
                self.name
            );
            return Err(Failed);
        }
        self.replay(BufReader::with_capacity(1 << 16, file), offset, target)
    }

    /// Runs the commands of the file from `offset` on.
    fn replay(
        &self,
        input: BufReader<File>,
        offset: u64,
        target: &mut dyn Target,
    ) -> Result<Status, Failed> {
        let mut reader = CommandReader {
            input,
            offset,
            line: Vec::with_capacity(LINE_MAX),
        };
        // Where the file is whole up to: after the last command, or before an unfinished
        // MULTI.
        let mut valid_up_to = offset;
        let mut multi_start: Option<u64> = None;
        let end = loop {
            let before = reader.offset;
            match reader.next_command() {
                Ok(Some(args)) => {
                    if target.run(&args).is_err() {
                        warning!(
                            "Unknown command '{}' reading the append only file {}",
                            String::from_utf8_lossy(&args[0]),
                            self.name
                        );
                        return Err(Failed);
                    }
                    if args[0].eq_ignore_ascii_case(b"MULTI") {
                        multi_start.get_or_insert(before);
                    } else if args[0].eq_ignore_ascii_case(b"EXEC")
                        || args[0].eq_ignore_ascii_case(b"DISCARD")
                    {
                        multi_start = None;
                    }
                    valid_up_to = reader.offset;
                }
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        let torn_at = match end {
            None => match multi_start {
                None => return Ok(Status::Ok),
                Some(at) => {
                    warning!(
                        "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                        self.name
                    );
                    at
                }
            },
            Some(ReadError::UnexpectedEof) => multi_start.unwrap_or(valid_up_to),
            Some(ReadError::Format) => {
                warning!(
                    "Bad file format reading the append only file {}: make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                    self.name
                );
                return Err(Failed);
            }
            Some(ReadError::Io(e)) => {
                warning!(
                    "Unrecoverable error reading the append only file {}: {}",
                    self.name,
                    crate::log::strerror(&e)
                );
                return Err(Failed);
            }
        };
        if self.truncated_ok {
            warning!(
                "!!! Warning: short read while loading the AOF file {}!!!",
                self.name
            );
            warning!(
                "!!! Truncating the AOF {} at offset {torn_at} !!!",
                self.name
            );
            match truncate(&self.paths.dir.join(self.name), torn_at) {
                Ok(()) => {
                    warning!(
                        "AOF {} loaded anyway because aof-load-truncated is enabled",
                        self.name
                    );
                    return Ok(Status::Truncated);
                }
                Err(e) => warning!("Error truncating the AOF file {}: {e}", self.name),
            }
        }
        warning!(
            "Unexpected end of file reading the append only file {}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server.",
            self.name
        );
        Err(Failed)
    }
}

/// Cuts a file at `len` and syncs it.
fn truncate(path: &std::path::Path, len: u64) -> io::Result<()> {
    let f = OpenOptions::new().write(true).open(path)?;
    f.set_len(len)?;
    f.sync_all()
}

/// Reads commands in the AOF's RESP form, counting the bytes consumed.
struct CommandReader<R> {
    input: R,
    offset: u64,
    line: Vec<u8>,
}

impl<R: BufRead> CommandReader<R> {
    /// The next command; None at the end of the file between commands.
    fn next_command(&mut self) -> Result<Option<Vec<Bytes>>, ReadError> {
        loop {
            if !self.read_line()? {
                return Ok(None);
            }
            if self.line.first() != Some(&b'#') {
                break;
            }
        }
        let argc = self.header(b'*')?;
        if argc < 1 {
            return Err(ReadError::Format);
        }
        let mut args = Vec::with_capacity((argc as usize).min(1024));
        for _ in 0..argc {
            if !self.read_line()? {
                return Err(ReadError::UnexpectedEof);
            }
            let len = self.header(b'$')?;
            let len = u64::try_from(len).map_err(|_| ReadError::Format)?;
            // Grown as bytes arrive: a length in the file allocates nothing by itself.
            let mut arg = Vec::new();
            let read = (&mut self.input).take(len).read_to_end(&mut arg)?;
            let mut crlf = [0u8; 2];
            if (read as u64) < len || self.input.read_exact(&mut crlf).is_err() {
                return Err(ReadError::UnexpectedEof);
            }
            self.offset += len + 2;
            args.push(Bytes::from(arg));
        }
        Ok(Some(args))
    }

    /// The number after `kind` on the line just read (C's `strtol`: digits after an
    /// optional sign, 0 when there are none).
    fn header(&self, kind: u8) -> Result<i64, ReadError> {
        if self.line.first() != Some(&kind) {
            return Err(ReadError::Format);
        }
        Ok(crate::resp::atoll(&self.line[1..]))
    }

    /// Reads one line (a `#` line whole, others up to [`LINE_MAX`] bytes) into
    /// `self.line`; false at the end of the file. A partial line at the end is a torn
    /// command.
    fn read_line(&mut self) -> Result<bool, ReadError> {
        self.line.clear();
        let n = (&mut self.input)
            .take(LINE_MAX as u64)
            .read_until(b'\n', &mut self.line)?;
        if n == 0 {
            return Ok(false);
        }
        self.offset += n as u64;
        if self.line.last() == Some(&b'\n') {
            return Ok(true);
        }
        if self.line.first() == Some(&b'#') {
            // An annotation longer than a header line: skip the rest of it.
            let mut rest = Vec::new();
            let more = self.input.read_until(b'\n', &mut rest)?;
            self.offset += more as u64;
            return if rest.last() == Some(&b'\n') {
                Ok(true)
            } else {
                Err(ReadError::UnexpectedEof)
            };
        }
        if n < LINE_MAX {
            return Err(ReadError::UnexpectedEof);
        }
        Err(ReadError::Format)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what a load applies.
    #[derive(Default)]
    struct Recorder {
        files: usize,
        commands: Vec<Vec<String>>,
    }

    impl Target for Recorder {
        fn load_rdb(&mut self, _: &mut dyn Read) -> Result<u64, String> {
            Err("no RDB here".into())
        }
        fn start_file(&mut self) {
            self.files += 1;
        }
        fn run(&mut self, args: &[Bytes]) -> Result<(), UnknownCommand> {
            if args[0].eq_ignore_ascii_case(b"bla") {
                return Err(UnknownCommand);
            }
            self.commands.push(
                args.iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect(),
            );
            Ok(())
        }
    }

    fn layout(files: &[(&str, &[u8])]) -> (tempfile::TempDir, AofPaths, Manifest) {
        let dir = tempfile::tempdir().unwrap();
        let paths = AofPaths {
            dir: dir.path().join("appendonlydir"),
            name: "appendonly.aof".into(),
        };
        fs::create_dir_all(&paths.dir).unwrap();
        let mut manifest = Manifest::default();
        for (i, (name, content)) in files.iter().enumerate() {
            fs::write(paths.dir.join(name), content).unwrap();
            manifest.incrs.push(Entry {
                name: name.to_string(),
                seq: i as u64 + 1,
            });
        }
        (dir, paths, manifest)
    }

    const SET_FOO: &[u8] = b"*3\r\n$3\r\nset\r\n$3\r\nfoo\r\n$5\r\nhello\r\n";

    #[test]
    fn annotations_are_skipped_and_each_file_starts_anew() {
        let mut second = b"#TS:1\r\n".to_vec();
        second.extend_from_slice(SET_FOO);
        second.extend_from_slice(b"#TS:2\r\n");
        let (_d, paths, manifest) = layout(&[("a.1.incr.aof", SET_FOO), ("a.2.incr.aof", &second)]);
        let mut target = Recorder::default();
        let (status, sizes) = load_files(&paths, &manifest, false, &mut target).unwrap();
        assert_eq!(status, Status::Ok);
        assert_eq!(target.files, 2);
        assert_eq!(target.commands.len(), 2);
        assert_eq!(sizes.total, (SET_FOO.len() + second.len()) as u64);
    }

    #[test]
    fn a_torn_last_command_is_cut_off_only_when_allowed() {
        let mut torn = SET_FOO.to_vec();
        torn.extend_from_slice(b"*2\r\n$3\r\nget\r\n$3\r\nfo");
        for truncated_ok in [false, true] {
            let (_d, paths, manifest) = layout(&[("a.1.incr.aof", &torn)]);
            let mut target = Recorder::default();
            let result = load_files(&paths, &manifest, truncated_ok, &mut target);
            if truncated_ok {
                assert_eq!(result.unwrap().0, Status::Truncated);
                let len = fs::metadata(paths.dir.join("a.1.incr.aof")).unwrap().len();
                assert_eq!(len, SET_FOO.len() as u64);
            } else {
                assert_eq!(result, Err(Failed));
            }
        }
    }

    #[test]
    fn an_unfinished_multi_is_reverted_to_where_it_began() {
        let mut file = SET_FOO.to_vec();
        file.extend_from_slice(b"*1\r\n$5\r\nmulti\r\n");
        file.extend_from_slice(SET_FOO);
        let (_d, paths, manifest) = layout(&[("a.1.incr.aof", &file)]);
        let mut target = Recorder::default();
        let (status, _) = load_files(&paths, &manifest, true, &mut target).unwrap();
        assert_eq!(status, Status::Truncated);
        let len = fs::metadata(paths.dir.join("a.1.incr.aof")).unwrap().len();
        assert_eq!(len, SET_FOO.len() as u64);
    }

    #[test]
    fn junk_and_unknown_commands_fail_whatever_truncation_allows() {
        let mut junk = SET_FOO.to_vec();
        junk.extend_from_slice(b"!!!!!!\r\n");
        let unknown = b"*1\r\n$3\r\nbla\r\n".to_vec();
        for content in [junk, unknown] {
            let (_d, paths, manifest) = layout(&[("a.1.incr.aof", &content)]);
            let result = load_files(&paths, &manifest, true, &mut Recorder::default());
            assert_eq!(result, Err(Failed));
        }
    }

    #[test]
    fn a_torn_file_that_is_not_the_last_fails() {
        let (_d, paths, manifest) =
            layout(&[("a.1.incr.aof", &SET_FOO[..10]), ("a.2.incr.aof", SET_FOO)]);
        let result = load_files(&paths, &manifest, true, &mut Recorder::default());
        assert_eq!(result, Err(Failed));
    }

    #[test]
    fn a_missing_file_fails_and_empty_files_are_empty() {
        let (_d, paths, mut manifest) = layout(&[("a.1.incr.aof", b"")]);
        let result = load_files(&paths, &manifest, true, &mut Recorder::default());
        assert_eq!(result.unwrap().0, Status::Empty);
        manifest.incrs.push(Entry {
            name: "missing".into(),
            seq: 2,
        });
        let result = load_files(&paths, &manifest, true, &mut Recorder::default());
        assert_eq!(result, Err(Failed));
    }
}
