//! The one path rule of the workspace: which file paths inside a repository hfhub will download,
//! write into a snapshot or a `local_dir`, or serve.
//!
//! A [`RepoPath`] passed upstream's filename check ([`validate_filename`]) and the
//! stricter shape of [`crate::layout::check_repo_path`], and in addition has no component that git
//! treats as its own folder (`.git`, and the case, NTFS and HFS+ look-alikes git itself refuses, by
//! `gix-validate`), and does not lie under `.cache/huggingface/`, where a `local_dir` keeps hfhub's
//! bookkeeping. A server that lists `.git/config` could otherwise plant a git configuration that
//! runs a command of its choosing on the next `git status` in a `local_dir` that is a checkout.

use std::fmt;

use crate::display::Escaped;

/// A repo file name upstream refuses (`_local_folder.py::_validate_relative_filename`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidFilename {
    /// A `..` segment, split on `/` or `\` (the name as given).
    #[error("invalid filename `{0}`: cannot contain a `..` path segment")]
    ParentSegment(String),
    /// Absolute, drive-relative or UNC (the name as given).
    #[error("invalid filename `{0}`: cannot be an absolute, drive-relative or UNC path")]
    Anchored(String),
}

/// Upstream's filename check, exactly: no `..` segment when split on `/` or `\`; not anchored (root,
/// drive or UNC) as a POSIX path, nor any of its `/`-separated parts as a Windows path. Names it accepts
/// such as `a//b`, `./a` or `a/` pass here too (see [`crate::layout::check_repo_path`] for the stricter rule
/// used where we write).
pub fn validate_filename(filename: &str) -> Result<(), InvalidFilename> {
    if filename.replace('\\', "/").split('/').any(|s| s == "..") {
        return Err(InvalidFilename::ParentSegment(filename.to_owned()));
    }
    // PurePosixPath: a root is a leading `/`. PureWindowsPath of each part (no `/` left in it): a root is a
    // leading `\` (also the start of UNC), a drive is an ASCII letter followed by `:` (Python 3.11's
    // pathlib, the oracle's; 3.12+ takes any character before `:` as a drive).
    let windows_anchored = |part: &str| {
        let bytes = part.as_bytes();
        part.starts_with('\\')
            || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    };
    if filename.starts_with('/') || filename.split('/').any(windows_anchored) {
        return Err(InvalidFilename::Anchored(filename.to_owned()));
    }
    Ok(())
}

/// A validated file path inside a repository, `/`-separated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoPath(String);

/// Why a path is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("refused file path `{}` in repository: {reason}", Escaped(.path))]
pub struct InvalidRepoPath {
    /// The path as listed or given (shown escaped).
    pub path: String,
    /// What is wrong with it.
    pub reason: RepoPathReason,
}

/// What makes a repo path unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepoPathReason {
    /// Absolute, `..`, empty or `.` segments, NUL: it would leave its folder or name no file.
    Escapes,
    /// A `.git` component or a look-alike.
    GitFolder,
    /// `.cache/huggingface` or under it, hfhub's bookkeeping in a `local_dir`.
    Bookkeeping,
    /// Longer than [`MAX_REPO_PATH_LEN`].
    TooLong,
}

impl fmt::Display for RepoPathReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RepoPathReason::Escapes => {
                "it must be relative and must not contain `..`, empty segments or NUL"
            }
            RepoPathReason::GitFolder => "it has a `.git` component, which git reserves",
            RepoPathReason::Bookkeeping => {
                "it is under `.cache/huggingface/`, where hfhub keeps its own records"
            }
            RepoPathReason::TooLong => "it is too long",
        })
    }
}

/// Longest repo path accepted (Linux `PATH_MAX`).
pub const MAX_REPO_PATH_LEN: usize = 4096;

impl RepoPath {
    /// Applies the rule to a path from a listing, a URL or the command line.
    pub fn parse(path: &str) -> Result<RepoPath, InvalidRepoPath> {
        let refuse = |reason| InvalidRepoPath {
            path: path.chars().take(MAX_REPO_PATH_LEN).collect(),
            reason,
        };
        if path.len() > MAX_REPO_PATH_LEN {
            return Err(refuse(RepoPathReason::TooLong));
        }
        if validate_filename(path).is_err() || crate::layout::check_repo_path(path).is_err() {
            return Err(refuse(RepoPathReason::Escapes));
        }
        let options = gix_validate::path::component::Options {
            protect_windows: false,
            protect_hfs: true,
            protect_ntfs: true,
        };
        for component in path.split('/') {
            if let Err(gix_validate::path::component::Error::DotGitDir) =
                gix_validate::path::component(component.into(), None, options)
            {
                return Err(refuse(RepoPathReason::GitFolder));
            }
        }
        let mut components = path.split('/');
        if let (Some(first), Some(second)) = (components.next(), components.next())
            && first.eq_ignore_ascii_case(".cache")
            && second.eq_ignore_ascii_case("huggingface")
        {
            return Err(refuse(RepoPathReason::Bookkeeping));
        }
        Ok(RepoPath(path.to_owned()))
    }

    /// The path, `/`-separated, as listed.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its components.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        Escaped(&self.0).fmt(f)
    }
}

impl AsRef<str> for RepoPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_paths_pass() {
        for ok in [
            "config.json",
            ".gitattributes",
            ".gitignore",
            "a/.github/workflow.yml",
            "données/résumé.txt",
            ".cache/other/file",
            "git/x",
            "a..b",
        ] {
            assert_eq!(RepoPath::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn git_folders_and_look_alikes_are_refused() {
        for bad in [
            ".git/config",
            "sub/.git/hooks/pre-commit",
            ".GIT/config",
            ".Git/config",
            "git~1/config",
            ".git./config",
            ".git /config",
            "a/.g\u{200c}it/config",
            ".git",
        ] {
            assert_eq!(
                RepoPath::parse(bad).unwrap_err().reason,
                RepoPathReason::GitFolder,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bookkeeping_and_escapes_are_refused() {
        for bad in [
            ".cache/huggingface",
            ".cache/huggingface/download/x.metadata",
            ".Cache/HuggingFace/trees/c.json",
        ] {
            assert_eq!(
                RepoPath::parse(bad).unwrap_err().reason,
                RepoPathReason::Bookkeeping
            );
        }
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a\\..\\x",
            "a//b",
            "C:x",
        ] {
            assert_eq!(
                RepoPath::parse(bad).unwrap_err().reason,
                RepoPathReason::Escapes,
                "{bad:?}"
            );
        }
        let shown = RepoPath::parse(".git/\x1b[2J").unwrap_err().to_string();
        assert!(!shown.contains('\x1b'), "{shown}");
    }
}
