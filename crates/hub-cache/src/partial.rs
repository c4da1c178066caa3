//! Claiming a partial download left by an earlier run, in the cache (`blobs/<etag>.<8hex>.incomplete`)
//! and in a `local_dir` (`.cache/huggingface/download/<dirs>/<b64>.<etag>.<8hex>.incomplete`).
//!
//! The name rule lives here only: `<prefix><8hex>.incomplete` (since 1.18) or `<prefix>incomplete`
//! (0.23 to 1.17), a regular file (never a link). The claim runs under the blob's lock: the largest
//! partial file is renamed to a name unique to this call and opened; the others are removed.
//!
//! A snapshot claims for thousands of blobs in the same `blobs/`: [`PartialIndex`] lists the folder
//! once and then answers each claim from the names it found, so a claim costs one `stat` per
//! candidate instead of a listing of the whole folder (which made a snapshot quadratic in its size).
//! A partial file created after the listing (by a process that was downloading the same blob and
//! died meanwhile) is left for the next run, which lists again.

use std::collections::HashMap;
use std::fs::File;
use std::io;

use crate::fs::Dir;

/// Partial downloads with `prefix` in `dir`, largest first: `(name, bytes)`. Links and anything but a
/// regular file are left out. One listing of the folder.
pub fn partials(dir: &Dir, prefix: &str) -> Vec<(String, u64)> {
    let Ok(names) = dir.names() else {
        return Vec::new();
    };
    regular_files(
        dir,
        names
            .into_iter()
            .filter(|name| is_partial_name(name, prefix)),
    )
}

/// The `names` that are regular files in `dir` now (one no-follow `stat` each), largest first.
fn regular_files(dir: &Dir, names: impl Iterator<Item = String>) -> Vec<(String, u64)> {
    let mut found: Vec<(String, u64)> = names
        .filter_map(|name| match dir.entry(&name) {
            Ok(Some(crate::fs::EntryKind::File { len, .. })) => Some((name, len)),
            _ => None,
        })
        .collect();
    found.sort_by_key(|(_, len)| std::cmp::Reverse(*len));
    found
}

/// The partial-download names of one folder, from one listing, by the prefix they could have
/// (`<prefix><8hex>.incomplete` or `<prefix>incomplete`, where the prefix ends with `.`).
#[derive(Debug, Default, Clone)]
pub struct PartialIndex {
    by_prefix: HashMap<String, Vec<String>>,
}

impl PartialIndex {
    /// Lists `dir` once (an unreadable folder has no partial file).
    pub fn list(dir: &Dir) -> PartialIndex {
        PartialIndex::from_names(dir.names().unwrap_or_default())
    }

    /// The index of these names (those that cannot be a partial file are left out).
    pub fn from_names(names: impl IntoIterator<Item = String>) -> PartialIndex {
        let mut by_prefix: HashMap<String, Vec<String>> = HashMap::new();
        for name in names {
            let Some(rest) = name.strip_suffix("incomplete") else {
                continue;
            };
            // `<prefix>incomplete`: the prefix is all the rest. `<prefix><8hex>.incomplete`: the
            // prefix stops before the 8 hex digits. A name can be both; it is listed under both.
            let mut prefixes = vec![rest.to_owned()];
            if let Some(prefix) = rest.len().checked_sub(9).and_then(|cut| rest.get(..cut))
                && is_partial_name(&name, prefix)
            {
                prefixes.push(prefix.to_owned());
            }
            for prefix in prefixes {
                if prefix.ends_with('.') {
                    by_prefix.entry(prefix).or_default().push(name.clone());
                }
            }
        }
        PartialIndex { by_prefix }
    }

    /// The partial files with `prefix` that are still regular files in `dir`, largest first
    /// (one no-follow `stat` per name the listing found).
    pub fn partials(&self, dir: &Dir, prefix: &str) -> Vec<(String, u64)> {
        let names = self.by_prefix.get(prefix).into_iter().flatten();
        regular_files(
            dir,
            names.filter(|name| is_partial_name(name, prefix)).cloned(),
        )
    }

    /// [`claim_partial_in`] among the names of this index instead of a new listing of `dir`.
    pub fn claim(
        &self,
        dir: &Dir,
        prefix: &str,
        fresh: &str,
        resume: bool,
    ) -> io::Result<ClaimedPartial> {
        claim_among(dir, self.partials(dir, prefix), fresh, resume)
    }
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
    claim_among(dir, partials(dir, prefix), fresh, resume)
}

/// Claims the first (largest) of `found` as `fresh` when `resume`, removes the others.
fn claim_among(
    dir: &Dir,
    found: Vec<(String, u64)>,
    fresh: &str,
    resume: bool,
) -> io::Result<ClaimedPartial> {
    let mut adopted = false;
    for (index, (name, _)) in found.into_iter().enumerate() {
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

    /// The index claims what a listing at claim time would, among the names it found: links,
    /// FIFOs and folders with a partial name are neither claimed nor removed, a name that vanished
    /// since the listing is skipped, and one that was replaced by a link is not followed.
    #[test]
    fn the_index_claims_as_a_listing_would() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let write = |name: &str, len: usize| std::fs::write(root.join(name), vec![b'x'; len]);
        write("e.0badf00d.incomplete", 3).unwrap();
        write("e.incomplete", 1).unwrap();
        write("e.notahex.incomplete", 6).unwrap();
        write("ee.0badf00d.incomplete", 9).unwrap();
        write("e.0badf00d.0badf00e.incomplete", 9).unwrap();
        write("f.12345678.incomplete", 2).unwrap();
        write("gone.12345678.incomplete", 2).unwrap();
        write("swapped.12345678.incomplete", 2).unwrap();
        let outside = root.join("outside");
        std::fs::write(&outside, b"0123456789").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("e.12345678.incomplete")).unwrap();
        std::fs::create_dir(root.join("e.aaaaaaab.incomplete")).unwrap();
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("e.aaaaaaac.incomplete"),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let dir = Dir::open(root).unwrap();
        let index = PartialIndex::list(&dir);
        std::fs::remove_file(root.join("gone.12345678.incomplete")).unwrap();
        std::fs::remove_file(root.join("swapped.12345678.incomplete")).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("swapped.12345678.incomplete")).unwrap();

        let resumed = index
            .claim(&dir, "e.", "e.aaaaaaaa.incomplete", true)
            .unwrap()
            .resume_from;
        assert_eq!(resumed, 3);
        // The old-generation name of an ETag ending in `.0badf00d`.
        let resumed = index
            .claim(&dir, "e.0badf00d.", "e.0badf00d.cccccccc.incomplete", true)
            .unwrap()
            .resume_from;
        assert_eq!(
            resumed, 9,
            "`e.0badf00d.0badf00e.incomplete`, not the one claimed above"
        );
        let resumed = index
            .claim(&dir, "f.", "f.aaaaaaaa.incomplete", false)
            .unwrap()
            .resume_from;
        assert_eq!(resumed, 0, "not resumed: removed");
        for prefix in ["gone.", "swapped.", "absent."] {
            let fresh = format!("{prefix}aaaaaaaa.incomplete");
            let resumed = index.claim(&dir, prefix, &fresh, true).unwrap().resume_from;
            assert_eq!(resumed, 0, "{prefix}");
        }
        let mut names = Dir::open(root).unwrap().names().unwrap();
        names.sort();
        assert_eq!(
            names,
            [
                "absent.aaaaaaaa.incomplete",
                "e.0badf00d.cccccccc.incomplete",
                "e.12345678.incomplete",
                "e.aaaaaaaa.incomplete",
                "e.aaaaaaab.incomplete",
                "e.aaaaaaac.incomplete",
                "e.notahex.incomplete",
                "ee.0badf00d.incomplete",
                "f.aaaaaaaa.incomplete",
                "gone.aaaaaaaa.incomplete",
                "outside",
                "swapped.12345678.incomplete",
                "swapped.aaaaaaaa.incomplete",
            ]
        );
        assert_eq!(std::fs::read(&outside).unwrap(), b"0123456789");
    }
}
