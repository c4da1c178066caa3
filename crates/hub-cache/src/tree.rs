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

use serde_json::Value;

use crate::fs::{AtomicOptions, Dir, DirError, ReadError};

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
        let mut out = String::from("{\n \"format_version\": 1,\n \"files\": ");
        if self.files.is_empty() {
            out.push_str("{}");
        } else {
            out.push_str("{\n");
            for (i, (path, entry)) in self.files.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                out.push_str("  ");
                push_json_string(&mut out, path);
                out.push_str(": {\n");
                let mut fields = vec![
                    ("size", entry.size.to_string()),
                    ("blob_id", json_string(&entry.blob_id)),
                ];
                if let Some(sha) = &entry.lfs_sha256 {
                    fields.push(("lfs_sha256", json_string(sha)));
                    fields.push((
                        "lfs_size",
                        entry
                            .lfs_size
                            .map_or_else(|| "null".to_owned(), |s| s.to_string()),
                    ));
                }
                if let Some(xet) = &entry.xet_hash {
                    fields.push(("xet_hash", json_string(xet)));
                }
                let body: Vec<String> = fields
                    .into_iter()
                    .map(|(key, value)| format!("   \"{key}\": {value}"))
                    .collect();
                out.push_str(&body.join(",\n"));
                out.push_str("\n  }");
            }
            out.push_str("\n }");
        }
        out.push_str("\n}");
        out
    }

    /// Parses a listing file's content. `Ok(None)` for another `format_version`.
    pub fn from_json(text: &str) -> Result<Option<Listing>, String> {
        Listing::from_value(serde_json::from_str(text).map_err(|e| e.to_string())?)
    }

    /// [`Listing::from_json`] from a reader (a listing file as it is read).
    pub fn from_reader(reader: impl io::Read) -> Result<Option<Listing>, String> {
        Listing::from_value(
            serde_json::from_reader(io::BufReader::new(reader)).map_err(|e| e.to_string())?,
        )
    }

    fn from_value(data: Value) -> Result<Option<Listing>, String> {
        let object = data.as_object().ok_or("not a JSON object")?;
        let version = object.get("format_version");
        if version.and_then(Value::as_f64) != Some(FORMAT_VERSION as f64) {
            return Ok(None);
        }
        let files = object
            .get("files")
            .and_then(Value::as_object)
            .ok_or("`files` is not an object")?;
        let mut listing = Listing::default();
        for (path, info) in files {
            let field = |name: &str| info.get(name).filter(|v| !v.is_null());
            let entry = Entry {
                size: field("size")
                    .and_then(Value::as_u64)
                    .ok_or_else(|| format!("bad `size` for `{path}`"))?,
                blob_id: field("blob_id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("bad `blob_id` for `{path}`"))?
                    .to_owned(),
                lfs_sha256: field("lfs_sha256")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                lfs_size: field("lfs_size").and_then(Value::as_u64),
                xet_hash: field("xet_hash").and_then(Value::as_str).map(str::to_owned),
            };
            listing.files.insert(path.clone(), entry);
        }
        Ok(Some(listing))
    }
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
    let parsed = Listing::from_reader(&mut counted);
    if counted.limit() == 0 {
        warn(&ReadError::TooLarge {
            path: path.clone(),
            cap: MAX_LISTING_BYTES,
        });
        return None;
    }
    match parsed {
        Ok(listing) => listing.filter(Listing::is_valid),
        Err(e) => {
            warn(&e);
            None
        }
    }
}

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
    let options = AtomicOptions {
        tmp_prefix: true,
        mode: 0o600,
        exact_mode: false,
        sync: true,
    };
    dir.write_atomic(
        format!("{commit}.json"),
        listing.to_json().as_bytes(),
        options,
    )
    .map_err(fail)?;
    Ok(true)
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
}
