//! Claiming a partial download left by an earlier run, in the cache (`blobs/<etag>.<8hex>.incomplete`)
//! and in a `local_dir` (`.cache/huggingface/download/<dirs>/<b64>.<etag>.<8hex>.incomplete`).
//!
//! The name rule lives here only: `<prefix><8hex>.incomplete` (since 1.18) or `<prefix>incomplete`
//! (0.23 to 1.17), a regular file (never a link). The claim runs under the blob's lock: the largest
//! partial file is renamed to a name unique to this call and opened; the others are removed.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::fs::Dir;

/// Partial downloads with `prefix` in `dir`, largest first: `(name, bytes)`. Links and anything but a
/// regular file are left out. One listing of the folder.
pub fn partials(dir: &Dir, prefix: &str) -> Vec<(String, u64)> {
    let Ok(names) = dir.names() else {
        return Vec::new();
    };
    let mut found: Vec<(String, u64)> = names
        .into_iter()
        .filter(|name| is_partial_name(name, prefix))
        .filter_map(|name| match dir.entry(&name) {
            Ok(Some(crate::fs::EntryKind::File { len, .. })) => Some((name, len)),
            _ => None,
        })
        .collect();
    found.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
    found
}

/// True when `name` is a partial download with `prefix` (either naming generation).
pub fn is_partial_name(name: &str, prefix: &str) -> bool {
    let Some(middle) = name
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix("incomplete"))
    else {
        return false;
    };
    middle.is_empty()
        || (middle.len() == 9
            && middle.ends_with('.')
            && middle[..8].bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A claimed partial download: the file opened for reading and writing, and the bytes already in it.
#[derive(Debug)]
pub struct ClaimedPartial {
    /// The partial file, open for reading and writing (its cursor at the start).
    pub file: File,
    /// Its length when claimed, in bytes: where the download resumes (0 for a fresh file).
    pub resume_from: u64,
}

/// Claims the largest partial download with `prefix` in `dir` (renaming it to `fresh`, a name unique to
/// this call) when `resume`, or creates `fresh` empty; the other partial files are removed. Must run
/// under the lock of the blob. A `fresh` that already exists is an error (`AlreadyExists`); a partial
/// file that vanished meanwhile is skipped.
pub fn claim_partial_in(
    dir: &Dir,
    prefix: &str,
    fresh: &str,
    resume: bool,
) -> io::Result<ClaimedPartial> {
    let mut adopted = false;
    for (index, (name, _)) in partials(dir, prefix).into_iter().enumerate() {
        if resume && index == 0 && dir.rename(&name, dir, fresh).is_ok() {
            adopted = true;
        } else {
            let _ = dir.remove_file(&name);
        }
    }
    let file = if adopted {
        dir.open_rw(fresh)?
    } else {
        dir.create_new(fresh, 0o666)?
    };
    let resume_from = file.metadata()?.len();
    Ok(ClaimedPartial { file, resume_from })
}

/// [`claim_partial_in`] by path: `dir` is created if needed (following links on its way: a cache
/// folder), `fresh` is a path inside it. Returns the file and the bytes already in it.
pub fn claim_partial(
    dir: &Path,
    prefix: &str,
    fresh: &Path,
    resume: bool,
) -> io::Result<(File, u64)> {
    std::fs::create_dir_all(dir)?;
    let name = fresh
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "a fresh name is needed"))?;
    let claimed = claim_partial_in(&Dir::open(dir)?, prefix, name, resume)?;
    Ok((claimed.file, claimed.resume_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_partial_file_is_claimed_and_the_rest_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = Dir::open(tmp.path()).unwrap();
        std::fs::write(tmp.path().join("e.0badf00d.incomplete"), b"abc").unwrap();
        std::fs::write(tmp.path().join("e.incomplete"), b"a").unwrap();
        std::fs::write(tmp.path().join("e.notahex.incomplete"), b"abcdef").unwrap();
        std::fs::write(tmp.path().join("other.0badf00d.incomplete"), b"abcdef").unwrap();
        let outside = tmp.path().join("outside");
        std::fs::write(&outside, b"0123456789").unwrap();
        std::os::unix::fs::symlink(&outside, tmp.path().join("e.12345678.incomplete")).unwrap();
        let claimed = claim_partial_in(&dir, "e.", "e.aaaaaaaa.incomplete", true).unwrap();
        assert_eq!(claimed.resume_from, 3);
        let mut names = dir.names().unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "e.12345678.incomplete",
                "e.aaaaaaaa.incomplete",
                "e.notahex.incomplete",
                "other.0badf00d.incomplete",
                "outside"
            ]
        );
        let fresh = claim_partial_in(&dir, "e.", "e.bbbbbbbb.incomplete", false).unwrap();
        assert_eq!(fresh.resume_from, 0);
        assert_eq!(std::fs::read(&outside).unwrap(), b"0123456789");
    }
}
