//! Cached tree listings, `trees/<commit>.json` (huggingface_hub 1.22+, `_tree_cache.py`).
//!
//! ```text
//! <folder>/                        <repo_dir> in cache mode, <local_dir>/.cache/huggingface in local_dir mode
//! └── trees/
//!     ├── <commit>.json            the listing: format_version 1, files sorted by path
//!     └── tmpXXXXXXXX.tmp          transient (written then renamed over <commit>.json)
//! ```
//!
//! The bytes are those of Python's `json.dump(data, f, indent=1)`: one-space indentation, `", "`/`": "`
//! separators, ASCII only (`\uXXXX` escapes, surrogate pairs beyond the BMP), no trailing newline.
//! Written files get mode 0600 (upstream writes through `mkstemp`).
//! A commit never changes, so a listing never goes stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use crate::fs::{AtomicOptions, Dir, DirError, ReadError};

mod stream;

/// Largest `trees/<commit>.json` read (256 MiB): about a million entries at upstream's indentation,
/// beyond the largest repositories on the Hub. It is parsed from the file as it is read, never
/// copied whole into memory first.
pub const MAX_LISTING_BYTES: u64 = 256 * 1024 * 1024;

/// The only `format_version` read and written.
pub const FORMAT_VERSION: u64 = 1;

/// One file of a listing, mirroring the `/tree` endpoint fields upstream keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file's size in bytes, as listed.
    pub size: u64,
    /// Git blob id (sha1).
    pub blob_id: String,
    /// LFS sha256 (the blob name of an LFS file).
    pub lfs_sha256: Option<String>,
    /// Written (possibly as `null`) whenever `lfs_sha256` is present, as upstream does.
    pub lfs_size: Option<u64>,
    /// The Xet hash (64 hex digits) when the file is stored on Xet; a listing with an invalid one is
    /// not written.
    pub xet_hash: Option<String>,
}

/// A repository's files at one commit: path (`/`-separated) → entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Every file of the commit (folders are not listed), keyed by its repo path.
    pub files: BTreeMap<String, Entry>,
}

/// `trees/<commit>.json` inside a tree-cache folder.
pub fn path(folder: &Path, commit: &str) -> PathBuf {
    folder.join("trees").join(format!("{commit}.json"))
}

/// Upstream's `is_valid_xet_hash`: exactly 64 hex digits (either case).
pub fn is_valid_xet_hash(hash: &str) -> bool {
    hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Listing {
    /// Whether every Xet hash is valid; upstream neither writes nor trusts a listing with a bad one.
    pub fn is_valid(&self) -> bool {
        self.files
            .values()
            .all(|e| e.xet_hash.as_deref().is_none_or(is_valid_xet_hash))
    }

    /// The exact bytes upstream writes for this listing.
    pub fn to_json(&self) -> String {
        let mut out = String::from(HEADER);
        if self.files.is_empty() {
            out.push_str("{}");
        } else {
            for (i, (path, entry)) in self.files.iter().enumerate() {
                out.push_str(if i == 0 { "{\n" } else { ",\n" });
                push_entry(&mut out, path, entry);
            }
            out.push_str("\n }");
        }
        out.push_str("\n}");
        out
    }

    /// Parses a listing file's content. `Ok(None)` for another `format_version`.
    pub fn from_json(text: &str) -> Result<Option<Listing>, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let parsed = parse(&mut deserializer, &mut |_: &str| true)?;
        Ok(parsed.map(|(selected, _)| selected.listing))
    }

    /// [`Listing::from_json`] from a reader (a listing file as it is read).
    pub fn from_reader(reader: impl io::Read) -> Result<Option<Listing>, String> {
        let mut deserializer = serde_json::Deserializer::from_reader(io::BufReader::new(reader));
        let parsed = parse(&mut deserializer, &mut |_: &str| true)?;
        Ok(parsed.map(|(selected, _)| selected.listing))
    }
}

/// The start of a listing file, up to the `files` object.
const HEADER: &str = "{\n \"format_version\": 1,\n \"files\": ";

/// Appends one `"path": {...}` member of the `files` object, as upstream indents it.
fn push_entry(out: &mut String, path: &str, entry: &Entry) {
    out.push_str("  ");
    push_json_string(out, path);
    let _ = write!(out, ": {{\n   \"size\": {},\n   \"blob_id\": ", entry.size);
    push_json_string(out, &entry.blob_id);
    if let Some(sha) = &entry.lfs_sha256 {
        out.push_str(",\n   \"lfs_sha256\": ");
        push_json_string(out, sha);
        match entry.lfs_size {
            Some(size) => {
                let _ = write!(out, ",\n   \"lfs_size\": {size}");
            }
            None => out.push_str(",\n   \"lfs_size\": null"),
        }
    }
    if let Some(xet) = &entry.xet_hash {
        out.push_str(",\n   \"xet_hash\": ");
        push_json_string(out, xet);
    }
    out.push_str("\n  }");
}

/// The files of a listing a caller kept (see [`read_selected`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selected {
    /// The files the caller's test kept.
    pub listing: Listing,
    /// Entries in the whole listing (kept or not).
    pub total: usize,
}

/// Parses a listing as it is read (one entry at a time, never a whole document in memory),
/// keeping only the files `keep` accepts; every entry is still checked (the types of `size` and
/// `blob_id`). `Ok(None)` for another `format_version`; with the kept files, whether every Xet
/// hash of the listing is valid.
fn parse<'de, R: serde_json::de::Read<'de>>(
    deserializer: &mut serde_json::Deserializer<R>,
    keep: &mut dyn FnMut(&str) -> bool,
) -> Result<Option<(Selected, bool)>, String> {
    let top = stream::Top::parse(&mut *deserializer, keep).map_err(|e| e.to_string())?;
    deserializer.end().map_err(|e| e.to_string())?;
    if top.version != Some(FORMAT_VERSION as f64) {
        return Ok(None);
    }
    let files = top.files.ok_or("`files` is not an object")?;
    if let Some(error) = files.error {
        return Err(error);
    }
    let selected = Selected {
        listing: Listing { files: files.kept },
        total: files.total,
    };
    Ok(Some((selected, files.valid)))
}

/// Python's `json.dumps(s)` of a string (`ensure_ascii=True`: everything outside `' '..='~'`
/// escaped as `\uXXXX`, UTF-16 surrogate pairs beyond the BMP), as the tree cache and 2.x's JSON
/// output write it.
pub fn json_string(s: &str) -> String {
    let mut out = String::new();
    push_json_string(&mut out, s);
    out
}

/// [`json_string`] appended to `out`.
pub fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// The `trees/` folder of a tree-cache folder, reached without following links below the trusted
/// root: in cache mode the repo folder is the root; in `local_dir` mode (`folder` is
/// `<local_dir>/.cache/huggingface`) the root is the `local_dir`, so a planted `.cache`,
/// `.cache/huggingface` or `trees` link is refused rather than followed.
fn trees_dir(folder: &Path, create: bool) -> Result<Dir, DirError> {
    let local_root = folder
        .parent()
        .filter(|_| folder.file_name() == Some("huggingface".as_ref()))
        .filter(|cache| cache.file_name() == Some(".cache".as_ref()))
        .and_then(Path::parent);
    let (root, components): (&Path, &[&str]) = match local_root {
        Some(root) => (root, &[".cache", "huggingface", "trees"]),
        None => (folder, &["trees"]),
    };
    if create {
        std::fs::create_dir_all(root).map_err(|source| DirError::Io {
            path: root.to_owned(),
            source,
        })?;
    }
    let root = Dir::open(root).map_err(|source| DirError::Io {
        path: root.to_owned(),
        source,
    })?;
    root.walk(components.iter().copied(), create)
}

/// Reads `trees/<commit>.json` under `folder` (`read_tree_cache`): `None` when absent, of another format
/// version, holding an invalid Xet hash, or corrupted (logged as a warning, as upstream). The file must
/// be a regular file (not a link) of at most [`MAX_LISTING_BYTES`]; one that is not is named in a warning.
pub fn read(folder: &Path, commit: &str) -> Option<Listing> {
    read_selected(folder, commit, &mut |_: &str| true).map(|selected| selected.listing)
}

/// [`read`] keeping only the files `keep` accepts: the file is parsed as it is read and the others
/// are checked and dropped, so a huge listing filtered to a few files costs the memory of those.
pub fn read_selected(
    folder: &Path,
    commit: &str,
    keep: &mut dyn FnMut(&str) -> bool,
) -> Option<Selected> {
    let path = path(folder, commit);
    let warn = |error: &dyn std::fmt::Display| {
        tracing::warn!(
            "ignoring corrupted tree cache file `{}`: {error}",
            path.display()
        );
    };
    let dir = match trees_dir(folder, false) {
        Ok(dir) => dir,
        Err(error) if error.is_missing() => return None,
        Err(error) => {
            warn(&error);
            return None;
        }
    };
    let file = match dir.open_read(format!("{commit}.json")) {
        Ok(file) => file,
        Err(error) if error.is_missing() => return None,
        Err(error) => {
            warn(&error);
            return None;
        }
    };
    let mut counted = file.take(MAX_LISTING_BYTES + 1);
    // A listing of up to `WHOLE_BUFFER` bytes (some 40,000 files) is read whole and parsed from
    // memory, several times faster than through a reader; a larger one is parsed as it is read,
    // starting with the bytes already read.
    let mut head = Vec::new();
    if let Err(error) = (&mut counted)
        .take(WHOLE_BUFFER as u64 + 1)
        .read_to_end(&mut head)
    {
        warn(&error);
        return None;
    }
    let parsed = if head.len() <= WHOLE_BUFFER {
        parse(&mut serde_json::Deserializer::from_slice(&head), keep)
    } else {
        parse(
            &mut serde_json::Deserializer::from_reader(io::BufReader::with_capacity(
                READ_BUFFER,
                io::Cursor::new(head).chain(&mut counted),
            )),
            keep,
        )
    };
    if counted.limit() == 0 {
        warn(&ReadError::TooLarge {
            path: path.clone(),
            cap: MAX_LISTING_BYTES,
        });
        return None;
    }
    match parsed {
        Ok(Some((selected, true))) => Some(selected),
        Ok(_) => None,
        Err(e) => {
            warn(&e);
            None
        }
    }
}

/// Bytes read from a listing file at once.
const READ_BUFFER: usize = 256 * 1024;

/// The largest listing file read whole before it is parsed (4 MiB).
const WHOLE_BUFFER: usize = 4 * 1024 * 1024;

/// Why a listing could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write tree cache file `{path}`")]
pub struct WriteTreeError {
    /// The listing file (`trees/<commit>.json`) that was not written.
    pub path: PathBuf,
    /// The operating system's error (a planted link is reported as one).
    #[source]
    pub source: io::Error,
}

/// Writes `trees/<commit>.json` under `folder` atomically (`write_tree_cache`): a `tmpXXXXXXXX.tmp` file
/// (mode 0600) in `trees/`, renamed over the listing; no link is followed below the trusted root (see
/// `trees_dir`): a planted one is an error and nothing is written. A listing with an invalid Xet hash
/// is not written (`Ok(false)`). Upstream logs and ignores errors; they are returned here.
pub fn write(folder: &Path, commit: &str, listing: &Listing) -> Result<bool, WriteTreeError> {
    if !listing.is_valid() {
        return Ok(false);
    }
    let path = path(folder, commit);
    let fail = |source| WriteTreeError {
        path: path.clone(),
        source,
    };
    let dir = trees_dir(folder, true).map_err(|error| fail(io::Error::other(error)))?;
    dir.write_atomic(
        format!("{commit}.json"),
        listing.to_json().as_bytes(),
        ATOMIC,
    )
    .map_err(fail)?;
    Ok(true)
}

/// How listing files are written: upstream's `mkstemp` name and mode, synced before the rename.
const ATOMIC: AtomicOptions = AtomicOptions {
    tmp_prefix: true,
    mode: 0o600,
    exact_mode: false,
    sync: true,
};

/// [`write()`] entry by entry, as a listing arrives: the entries go to an unnamed temporary file
/// (the system's temporary folder) as they are pushed, so memory stays that of one entry and
/// nothing appears in the cache before the caller trusts the listing; [`Writer::finish`] then
/// copies it to a `tmpXXXXXXXX.tmp` file in `trees/` (in the kernel) and renames that over
/// `<commit>.json`. Entries pushed in path order (as the Hub lists them) are written as they come;
/// out of order or repeated, the listing is sorted when finished (the last of a repeated path
/// kept), which then holds it in memory once.
pub struct Writer {
    out: io::BufWriter<std::fs::File>,
    /// The last path pushed.
    last: String,
    entries: usize,
    sorted: bool,
    valid: bool,
    /// One entry's text.
    scratch: String,
}

impl Writer {
    /// A listing with no entry yet.
    pub fn new() -> io::Result<Writer> {
        let mut writer = Writer {
            out: io::BufWriter::with_capacity(READ_BUFFER, tempfile::tempfile()?),
            last: String::new(),
            entries: 0,
            sorted: true,
            valid: true,
            scratch: String::new(),
        };
        io::Write::write_all(&mut writer.out, HEADER.as_bytes())?;
        Ok(writer)
    }

    /// Appends one file of the listing.
    pub fn push(&mut self, path: &str, entry: &Entry) -> io::Result<()> {
        if self.entries > 0 && path <= self.last.as_str() {
            self.sorted = false;
        }
        self.valid &= entry.xet_hash.as_deref().is_none_or(is_valid_xet_hash);
        let mut text = std::mem::take(&mut self.scratch);
        text.clear();
        text.push_str(if self.entries == 0 { "{\n" } else { ",\n" });
        push_entry(&mut text, path, entry);
        let result = io::Write::write_all(&mut self.out, text.as_bytes());
        self.scratch = text;
        result?;
        self.entries += 1;
        self.last.clear();
        self.last.push_str(path);
        Ok(())
    }

    /// Writes `trees/<commit>.json` under `folder` from the entries pushed, as [`write()`] does
    /// (same folders, name, mode and checks). A listing with an invalid Xet hash is not written
    /// (`Ok(false)`).
    pub fn finish(mut self, folder: &Path, commit: &str) -> Result<bool, WriteTreeError> {
        use io::{Seek as _, Write as _};
        if !self.valid {
            return Ok(false);
        }
        let path = path(folder, commit);
        let fail = |source| WriteTreeError {
            path: path.clone(),
            source,
        };
        let tail: &[u8] = if self.entries == 0 {
            b"{}\n}"
        } else {
            b"\n }\n}"
        };
        self.out.write_all(tail).map_err(fail)?;
        self.out.flush().map_err(fail)?;
        let mut file = self.out.get_ref();
        file.seek(io::SeekFrom::Start(0)).map_err(fail)?;
        if !self.sorted {
            let listing = Listing::from_reader(file)
                .map_err(|e| fail(io::Error::other(e)))?
                .ok_or_else(|| fail(io::Error::other("the listing was not written whole")))?;
            return write(folder, commit, &listing);
        }
        let dir = trees_dir(folder, true).map_err(|error| fail(io::Error::other(error)))?;
        let (tmp, mut out) = dir.create_unique("", "tmp", ATOMIC.mode).map_err(fail)?;
        let result = (|| {
            io::copy(&mut file, &mut out)?;
            out.sync_all()?;
            drop(out);
            dir.rename(&tmp, &dir, format!("{commit}.json"))
        })();
        if result.is_err() {
            let _ = dir.remove_file(&tmp);
        }
        result.map_err(fail)?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn entry(xet: Option<&str>) -> Entry {
        Entry {
            size: 3,
            blob_id: "b".repeat(40),
            lfs_sha256: None,
            lfs_size: None,
            xet_hash: xet.map(str::to_owned),
        }
    }

    #[test]
    fn round_trip_and_validity() {
        let tmp = tempfile::tempdir().unwrap();
        let mut listing = Listing::default();
        listing.files.insert("a/é.txt".into(), entry(None));
        listing
            .files
            .insert("m.bin".into(), entry(Some(&"A1".repeat(32))));
        assert!(write(tmp.path(), "c", &listing).unwrap());
        assert_eq!(read(tmp.path(), "c"), Some(listing.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(path(tmp.path(), "c"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        listing.files.insert("x".into(), entry(Some("zz")));
        assert!(!write(tmp.path(), "d", &listing).unwrap());
        assert!(!path(tmp.path(), "d").exists());
        fs::write(path(tmp.path(), "d"), listing.to_json()).unwrap();
        assert_eq!(read(tmp.path(), "d"), None);

        fs::write(
            path(tmp.path(), "e"),
            "{\"format_version\": 2, \"files\": {}}",
        )
        .unwrap();
        assert_eq!(read(tmp.path(), "e"), None);
        fs::write(path(tmp.path(), "f"), "{not json").unwrap();
        assert_eq!(read(tmp.path(), "f"), None);
        assert_eq!(read(tmp.path(), "missing"), None);
    }

    fn names(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder.join("trees"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn sample() -> Vec<(String, Entry)> {
        let lfs = Entry {
            size: 7,
            blob_id: "a".repeat(40),
            lfs_sha256: Some("f".repeat(64)),
            lfs_size: None,
            xet_hash: Some("0A".repeat(32)),
        };
        vec![
            ("a/b".to_owned(), entry(None)),
            ("a\"q\u{1F600}".to_owned(), lfs.clone()),
            ("a.txt".to_owned(), entry(None)),
            ("z".to_owned(), lfs),
        ]
    }

    #[test]
    fn the_streaming_writer_writes_what_write_writes_in_any_order() {
        let tmp = tempfile::tempdir().unwrap();
        let entries = sample();
        let listing = Listing {
            files: entries.iter().cloned().collect(),
        };
        let mut sorted = entries.clone();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        // In order, out of order, with a repeated path (the last one wins), and empty.
        let mut repeated = sorted.clone();
        let mut stale = repeated[0].1.clone();
        stale.size = 99;
        repeated.insert(0, (repeated[0].0.clone(), stale));
        let mut reversed = sorted.clone();
        reversed.reverse();
        for (commit, pushed, expected) in [
            ("sorted", &sorted, &listing),
            ("reversed", &reversed, &listing),
            ("repeated", &repeated, &listing),
            ("empty", &Vec::new(), &Listing::default()),
        ] {
            let mut writer = Writer::new().unwrap();
            for (path, entry) in pushed {
                writer.push(path, entry).unwrap();
            }
            assert!(writer.finish(tmp.path(), commit).unwrap(), "{commit}");
            let written = fs::read_to_string(path(tmp.path(), commit)).unwrap();
            assert_eq!(written, expected.to_json(), "{commit}");
            assert_eq!(
                read(tmp.path(), commit).as_ref(),
                Some(expected),
                "{commit}"
            );
        }
        let all = ["empty", "repeated", "reversed", "sorted"].map(|c| format!("{c}.json"));
        assert_eq!(names(tmp.path()), all, "no temporary file left");

        // An invalid Xet hash: nothing written.
        let mut writer = Writer::new().unwrap();
        writer.push("x", &entry(Some("zz"))).unwrap();
        assert!(!writer.finish(tmp.path(), "bad").unwrap());
        assert_eq!(names(tmp.path()), all);
        // Nothing appears before `finish`.
        let mut writer = Writer::new().unwrap();
        writer.push("x", &entry(None)).unwrap();
        assert!(!tmp.path().join("fresh").exists());
        drop(writer);
    }

    /// A listing larger than what is read whole (parsed as it is read, from the bytes already
    /// read on) reads as the same listing does from memory, and a truncated one is refused.
    #[test]
    fn a_listing_past_the_whole_read_size_reads_the_same() {
        let tmp = tempfile::tempdir().unwrap();
        let entry = |i: usize| Entry {
            size: i as u64,
            blob_id: format!("{i:040x}"),
            lfs_sha256: None,
            lfs_size: None,
            xet_hash: None,
        };
        let big = Listing {
            files: (0..60_000)
                .map(|i| (format!("folder-{}/file-{i:06}.json", i % 50), entry(i)))
                .collect(),
        };
        assert!(write(tmp.path(), "big", &big).unwrap());
        assert!(fs::metadata(path(tmp.path(), "big")).unwrap().len() > WHOLE_BUFFER as u64);
        let mut seen = 0;
        let selected = read_selected(tmp.path(), "big", &mut |p: &str| {
            seen += 1;
            p.ends_with("7.json")
        })
        .unwrap();
        assert_eq!(seen, 60_000);
        assert_eq!(selected.total, 60_000);
        assert_eq!(selected.listing.files.len(), 6_000);
        assert_eq!(read(tmp.path(), "big").unwrap(), big);
        let text = big.to_json();
        fs::write(path(tmp.path(), "cut"), &text[..text.len() - 10]).unwrap();
        assert_eq!(read(tmp.path(), "cut"), None);
        // The same on either side of the size read whole.
        let small = Listing {
            files: big
                .files
                .iter()
                .take(100)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        assert!(write(tmp.path(), "small", &small).unwrap());
        assert_eq!(read(tmp.path(), "small").unwrap(), small);
        let text = small.to_json();
        fs::write(path(tmp.path(), "small-cut"), &text[..text.len() - 10]).unwrap();
        assert_eq!(read(tmp.path(), "small-cut"), None);
    }

    #[test]
    fn a_selected_read_keeps_the_selection_and_checks_every_entry() {
        let tmp = tempfile::tempdir().unwrap();
        let listing = Listing {
            files: sample().into_iter().collect(),
        };
        assert!(write(tmp.path(), "c", &listing).unwrap());
        let selected = read_selected(tmp.path(), "c", &mut |p: &str| p.ends_with(".txt")).unwrap();
        assert_eq!(selected.total, 4);
        assert_eq!(selected.listing.files.keys().collect::<Vec<_>>(), ["a.txt"]);
        assert_eq!(selected.listing.files["a.txt"], listing.files["a.txt"]);

        // An entry the selection leaves out still makes the listing untrusted when it is wrong.
        let text = listing.to_json();
        let bad_xet = text.replace(&"0A".repeat(32), "zz");
        let bad_size = text.replacen("\"size\": 7", "\"size\": -7", 1);
        let null_blob = text.replacen(
            &format!("\"blob_id\": \"{}\"", "a".repeat(40)),
            "\"blob_id\": null",
            1,
        );
        for (name, text) in [("x", bad_xet), ("s", bad_size), ("n", null_blob)] {
            fs::write(path(tmp.path(), name), &text).unwrap();
            assert_eq!(
                read_selected(tmp.path(), name, &mut |p: &str| p == "a.txt"),
                None,
                "{name}"
            );
        }
        // Loose types read as `Value` read them: a string `lfs_size` is absent, `format_version`
        // 1.0 is 1, the last of repeated keys wins, unknown keys are skipped.
        let loose = "{\"files\": {\"p\": {\"size\": 1, \"size\": 2, \"blob_id\": \"b\", \
                     \"lfs_sha256\": \"s\", \"lfs_size\": \"3\", \"more\": [1, {}]}}, \
                     \"format_version\": 1.0, \"extra\": null}";
        let parsed = Listing::from_json(loose).unwrap().unwrap();
        assert_eq!(
            parsed.files["p"],
            Entry {
                size: 2,
                blob_id: "b".into(),
                lfs_sha256: Some("s".into()),
                lfs_size: None,
                xet_hash: None,
            }
        );
        assert!(Listing::from_json("{\"format_version\": 1, \"files\": {}} x").is_err());
        assert!(Listing::from_json("[]").is_err());
        assert_eq!(Listing::from_json("{\"format_version\": 2}"), Ok(None));
    }
}
