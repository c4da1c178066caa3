//! Reading `refs/<revision>` files, the one place a ref's content enters from disk.
//!
//! A ref is read only when it is a regular file itself (a symlink to a file elsewhere is refused, so
//! a planted `refs/main -> /etc/shadow` is never read nor printed), and only up to
//! [`crate::fs::SMALL_FILE_CAP`] bytes; a refused ref is named in a warning and treated as absent.
//! Wherever a ref's content is shown, at most [`SHOWN_REF_LEN`] characters of it are
//! ([`shown_ref`]).

use std::path::Path;

use crate::fs::{Links, ReadError, SMALL_FILE_CAP, read_capped};
use crate::layout::RepoDir;
use crate::repo::{self, InvalidRevision};

/// Longest part of a ref's content ever shown: a commit hash.
pub const SHOWN_REF_LEN: usize = 40;

/// Why a ref could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadRefError {
    /// The revision could not name a ref file ([`crate::repo::check_revision`]).
    #[error(transparent)]
    InvalidRevision(#[from] InvalidRevision),
    /// The ref file exists but could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
}

/// The content of the ref file at `path` as Python's text mode reads it (`\r\n` and `\r` become
/// `\n`, nothing stripped): `Ok(None)` when absent, or when it is not a regular file, is larger than
/// the cap or not UTF-8 (each named in a warning).
pub fn read_ref_file(path: &Path) -> Result<Option<String>, ReadError> {
    match read_capped(path, SMALL_FILE_CAP, Links::Refuse) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => Ok(Some(universal_newlines(text))),
            Err(_) => {
                tracing::warn!("ignoring ref `{}`: it is not valid UTF-8", path.display());
                Ok(None)
            }
        },
        Err(error) if error.is_missing() => Ok(None),
        Err(error @ (ReadError::NotRegular { .. } | ReadError::TooLarge { .. })) => {
            tracing::warn!("ignoring ref: {error}");
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// At most the first [`SHOWN_REF_LEN`] characters of a ref's content (and the one line break a
/// hand-written ref may end with, so a Python-filled cache shows as Python shows it), with `…` when
/// cut.
pub fn shown_ref(content: &str) -> std::borrow::Cow<'_, str> {
    match content.char_indices().nth(SHOWN_REF_LEN) {
        Some((index, _)) if &content[index..] == "\n" => content.into(),
        Some((index, _)) => format!("{}…", &content[..index]).into(),
        None => content.into(),
    }
}

impl RepoDir {
    /// The raw content of `refs/<revision>` (no stripping, as upstream's readers), `None` when it is
    /// not a regular file (see [`read_ref_file`]).
    pub fn read_ref(&self, revision: &str) -> Result<Option<String>, ReadRefError> {
        repo::check_revision(revision)?;
        Ok(read_ref_file(&self.ref_path(revision))?)
    }
}

/// Python's text-mode reading: `\r\n` and lone `\r` become `\n`.
pub(crate) fn universal_newlines(content: String) -> String {
    if content.contains('\r') {
        content.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        content
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_read_only_as_regular_files_and_shown_short() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secret");
        std::fs::write(&outside, "top secret").unwrap();
        let link = dir.path().join("main");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert_eq!(read_ref_file(&link).unwrap(), None);
        let plain = dir.path().join("dev");
        std::fs::write(&plain, "abc\r\n").unwrap();
        assert_eq!(read_ref_file(&plain).unwrap().as_deref(), Some("abc\n"));
        assert_eq!(read_ref_file(&dir.path().join("none")).unwrap(), None);
        std::fs::write(&plain, vec![b'a'; SMALL_FILE_CAP as usize + 1]).unwrap();
        assert_eq!(read_ref_file(&plain).unwrap(), None);
        assert_eq!(shown_ref(&"a".repeat(40)), "a".repeat(40));
        assert_eq!(shown_ref(&"b".repeat(41)), format!("{}…", "b".repeat(40)));
        let with_newline = format!("{}\n", "c".repeat(40));
        assert_eq!(shown_ref(&with_newline), with_newline);
    }
}
