//! The cache-wide shared blob store of 2.x (`utils/_shared_blobs.py`): one module for what scan,
//! delete plans and their execution know about it.
//!
//! ```text
//! <cache>/blobs/                         marked by `.huggingface-shared-blobs` holding exactly "1\n"
//! ├── .huggingface-shared-blobs
//! └── <2hex>/
//!     ├── <64hex>                        a payload (a Xet hash)
//!     ├── <64hex>.refs                   its manifest: one `<repo_folder>/blobs/<etag>` line per reference
//!     └── <64hex>.lock                   held while the manifest is rewritten or the payload swept
//! <cache>/<type>s--<id>/blobs/<etag>     a link to ../../blobs/<2hex>/<64hex>
//! ```
//!
//! Shared-store files are world-writable (mode 0666, the umask ignored) as upstream's, so every user
//! of a shared cache can take the same lock.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::fs::{AtomicOptions, abspath as absolute_normalized, write_atomic};
use crate::lock::FileLock;
use crate::repo::RepoType;

/// Mode of the store's manifests and locks (upstream ignores the umask for them).
pub const SHARED_FILE_MODE: u32 = 0o666;

/// Name of the cache-wide shared blob store directory (2.x, `utils/_shared_blobs.py`).
pub const SHARED_BLOBS_DIR: &str = "blobs";
/// Marker file that makes `<cache>/blobs` a shared store; its content must be exactly `"1\n"`.
pub const SHARED_BLOBS_MARKER: &str = ".huggingface-shared-blobs";

/// True when `path` is a real directory (not a symlink) holding a regular marker file whose content is
/// exactly `"1\n"` (`is_shared_blobs_dir`).
pub fn is_shared_blobs_dir(path: &Path) -> bool {
    let is_real_dir = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir());
    let marker = path.join(SHARED_BLOBS_MARKER);
    let marker_is_file = fs::symlink_metadata(&marker).is_ok_and(|m| m.file_type().is_file());
    is_real_dir && marker_is_file && fs::read(&marker).is_ok_and(|content| content == b"1\n")
}

pub(crate) fn is_xet_hash(name: &str) -> bool {
    name.len() == 64
        && name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// For a repo blob `<cache>/<type>s--<id>/blobs/<etag>` that is a symlink to a regular payload
/// `<cache>/blobs/<2hex>/<64hex>`, that payload (`shared_blob_target`); `None` otherwise.
pub fn shared_blob_target(blob_path: &Path, cache_dir: &Path) -> Option<PathBuf> {
    let payload = shared_link_target(blob_path, cache_dir)?;
    fs::symlink_metadata(&payload)
        .ok()?
        .file_type()
        .is_file()
        .then_some(payload)
}

/// Like [`shared_blob_target`] without requiring the payload to exist (`_shared_blob_target`).
pub(crate) fn shared_link_target(blob_path: &Path, cache_dir: &Path) -> Option<PathBuf> {
    shared_link_target_checked(blob_path, cache_dir)
        .ok()
        .flatten()
}

/// [`shared_link_target`] reporting I/O failures other than a missing entry, as upstream's
/// `_shared_blob_target(..., raise_on_io_error=True)` does (a manifest with such an entry is unusable).
pub(crate) fn shared_link_target_checked(
    blob_path: &Path,
    cache_dir: &Path,
) -> io::Result<Option<PathBuf>> {
    let Some(blob) = repo_blob_name(blob_path, cache_dir) else {
        return Ok(None);
    };
    let metadata = match fs::symlink_metadata(&blob) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    if !metadata.file_type().is_symlink() {
        return Ok(None);
    }
    let link = match fs::read_link(&blob) {
        Ok(link) => link,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let Some(parent) = blob.parent() else {
        return Ok(None);
    };
    let target = absolute_normalized(&parent.join(link));
    let store = absolute_normalized(cache_dir).join(SHARED_BLOBS_DIR);
    let Ok(relative) = target.strip_prefix(&store) else {
        return Ok(None);
    };
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect();
    let valid = parts.is_some_and(|parts| {
        parts.len() == 2 && is_xet_hash(parts[1]) && parts[0] == &parts[1][..2]
    });
    Ok(valid.then(|| cache_dir.join(SHARED_BLOBS_DIR).join(relative)))
}

/// The absolute, normalised path of `blob_path` when it names `<cache>/<type>s--<id>/blobs/<name>`
/// (`_relative_blob_path` accepts it); `None` otherwise.
fn repo_blob_name(blob_path: &Path, cache_dir: &Path) -> Option<PathBuf> {
    let blob = absolute_normalized(blob_path);
    let cache = absolute_normalized(cache_dir);
    let relative = blob.strip_prefix(&cache).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()?;
    let repo_folder_ok = parts.first().is_some_and(|folder| {
        folder.split_once("--").is_some_and(|(prefix, rest)| {
            RepoType::from_plural(prefix).is_some() && !rest.is_empty() && !rest.contains('\n')
        })
    });
    if parts.len() != 3
        || !repo_folder_ok
        || parts[1] != "blobs"
        || parts[2].is_empty()
        || parts.iter().any(|p| p.contains(['\n', '\r']))
    {
        return None;
    }
    Some(blob)
}

/// Every valid payload of a marked shared store (`shared_store_blob_paths`).
pub fn shared_store_payloads(cache_dir: &Path) -> BTreeSet<PathBuf> {
    let store = cache_dir.join(SHARED_BLOBS_DIR);
    let mut payloads = BTreeSet::new();
    if !is_shared_blobs_dir(&store) {
        return payloads;
    }
    for prefix in crate::fs::list_dir(&store).unwrap_or_default() {
        let Some(prefix) = prefix.to_str().map(str::to_owned) else {
            continue;
        };
        let prefix_dir = store.join(&prefix);
        let prefix_ok = prefix.len() == 2
            && prefix
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !prefix_ok || !fs::symlink_metadata(&prefix_dir).is_ok_and(|m| m.is_dir()) {
            continue;
        }
        for entry in crate::fs::list_dir(&prefix_dir).unwrap_or_default() {
            let Some(name) = entry.to_str() else { continue };
            let path = prefix_dir.join(name);
            if is_xet_hash(name)
                && name.starts_with(&prefix)
                && fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_file())
            {
                payloads.insert(path);
            }
        }
    }
    payloads
}

/// The valid references listed in `<payload>.refs` (repo blob symlinks that still point at the
/// payload); `None` when the manifest is missing or unreadable (`_read_valid_manifest_references`).
pub(crate) fn manifest_references(payload: &Path, cache_dir: &Path) -> Option<BTreeSet<PathBuf>> {
    let mut manifest = payload.as_os_str().to_owned();
    manifest.push(".refs");
    let manifest = PathBuf::from(manifest);
    if !fs::symlink_metadata(&manifest).ok()?.file_type().is_file() {
        return None;
    }
    let text = String::from_utf8(fs::read(&manifest).ok()?).ok()?;
    let mut references = BTreeSet::new();
    // Python's `str.splitlines()` boundaries.
    let boundaries = [
        '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
        '\u{2029}',
    ];
    let text = text.replace("\r\n", "\n");
    let mut lines: Vec<&str> = text.split(boundaries).collect();
    if text.ends_with(boundaries) || text.is_empty() {
        lines.pop();
    }
    for line in lines {
        let relative = Path::new(line);
        if relative.is_absolute()
            || relative
                .components()
                .any(|c| matches!(c, Component::ParentDir))
        {
            continue;
        }
        let candidate = cache_dir.join(relative);
        // Any I/O failure but a missing entry makes the whole manifest unusable (nothing is swept).
        let target = shared_link_target_checked(&candidate, cache_dir).ok()?;
        if target.as_deref() == Some(payload) {
            references.insert(candidate);
        }
    }
    Some(references)
}

/// `sweep_shared_blob`: under the payload's lock, delete it and its manifest when no valid reference
/// remains, else rewrite the manifest with the remaining ones. Returns the bytes freed, or `None` when
/// nothing could be decided (any failure leaves the payload in place, as upstream does).
pub(crate) fn sweep_payload(payload: &Path, cache_dir: &Path) -> Option<u64> {
    let store = cache_dir.join(SHARED_BLOBS_DIR);
    let relative = payload.strip_prefix(&store).ok()?;
    let name = payload.file_name()?.to_str()?;
    let prefix = payload.parent()?.file_name()?.to_str()?;
    if relative.components().count() != 2
        || !is_shared_blobs_dir(&store)
        || name.len() != 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        || prefix != &name[..2]
    {
        return None;
    }
    // Our rule for every deletion: no symlink between the cache root and the path.
    if !fs::symlink_metadata(payload.parent()?).is_ok_and(|m| m.file_type().is_dir()) {
        return None;
    }
    let _lock = FileLock::new(payload.with_file_name(format!("{name}.lock")))
        .with_mode(SHARED_FILE_MODE)
        .acquire()
        .ok()?;
    let references = manifest_references(payload, cache_dir)?;
    let manifest = payload.with_file_name(format!("{name}.refs"));
    if !references.is_empty() {
        rewrite_manifest(&manifest, &references, cache_dir).ok()?;
        return Some(0);
    }
    let metadata = fs::symlink_metadata(payload).ok()?;
    if !metadata.file_type().is_file() {
        return None;
    }
    fs::remove_file(payload).ok()?;
    match fs::remove_file(&manifest) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::NotFound => {}
        Err(_) => return None,
    }
    Some(metadata.len())
}

/// Replaces a manifest atomically with one `relative/posix/path\n` line per reference, sorted.
fn rewrite_manifest(
    manifest: &Path,
    references: &BTreeSet<PathBuf>,
    cache_dir: &Path,
) -> io::Result<()> {
    let mut content = String::new();
    for reference in references {
        let relative = reference
            .strip_prefix(cache_dir)
            .map_err(|_| io::Error::other("reference outside the cache"))?;
        let parts: Vec<_> = relative.iter().map(|p| p.to_string_lossy()).collect();
        content.push_str(&parts.join("/"));
        content.push('\n');
    }
    let options = AtomicOptions {
        mode: SHARED_FILE_MODE,
        exact_mode: true,
        sync: true,
        ..AtomicOptions::default()
    };
    write_atomic(manifest, content.as_bytes(), options)
}
