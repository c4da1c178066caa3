//! `cached_assets_path` (`utils/_cache_assets.py`, unchanged 0.23 → 2.4): a folder where a library keeps
//! its own derived files, outside the hub cache and never scanned.
//!
//! ```text
//! <assets_root>/                  HF_ASSETS_CACHE, default $HF_HOME/assets (resolved)
//! └── <library_name>/
//!     └── <namespace>/            default "default"
//!         └── <subfolder>/        default "default"
//! ```
//!
//! In each of the three names every space, `/` and `\` becomes `--` (`Helsinki-NLP/tatoeba_mt` →
//! `Helsinki-NLP--tatoeba_mt`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::lookup::resolve_path;

/// The default namespace and subfolder.
pub const DEFAULT_PART: &str = "default";

/// Why an assets folder could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    /// Upstream's `ValueError("Corrupted assets folder: ...")`.
    #[error("corrupted assets folder: cannot create directory because of an existing file (`{0}`)")]
    Corrupted(PathBuf),
    /// A name that sanitises to `..` (the sanitised name).
    #[error("invalid assets folder name `{0}`: `..` would leave the assets cache")]
    InvalidName(String),
    /// The assets root could not be resolved, or the folder could not be created.
    #[error("cannot create assets folder `{path}`")]
    Io {
        /// The assets root or the folder.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// Upstream's sanitisation of one name: space, `/` and `\` each become `--`.
pub fn sanitize(part: &str) -> String {
    part.replace([' ', '/', '\\'], "--")
}

/// `<assets_root>/<library_name>/<namespace>/<subfolder>/`, created if needed, with `assets_root` resolved
/// like `Path(assets_dir).expanduser().resolve()` (callers expand `~`, e.g. with
/// [`crate::env::Env::expand`]). As with pathlib, an empty or `.` name adds no level; `..` is refused.
/// A file in the way gives [`AssetsError::Corrupted`].
pub fn cached_assets_path(
    assets_root: &Path,
    library_name: &str,
    namespace: Option<&str>,
    subfolder: Option<&str>,
) -> Result<PathBuf, AssetsError> {
    let root = resolve_path(assets_root).map_err(|source| AssetsError::Io {
        path: assets_root.to_path_buf(),
        source,
    })?;
    let mut path = root;
    for part in [
        library_name,
        namespace.unwrap_or(DEFAULT_PART),
        subfolder.unwrap_or(DEFAULT_PART),
    ] {
        let part = sanitize(part);
        match part.as_str() {
            "" | "." => {}
            ".." => return Err(AssetsError::InvalidName(part)),
            _ => path.push(part),
        }
    }
    match fs::create_dir_all(&path) {
        Ok(()) => Ok(path),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::AlreadyExists | io::ErrorKind::NotADirectory
            ) =>
        {
            Err(AssetsError::Corrupted(path))
        }
        Err(source) => Err(AssetsError::Io { path, source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_and_refuses_files_in_the_way() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        let path = cached_assets_path(
            tmp.path(),
            "datasets",
            Some("Helsinki-NLP/tatoeba_mt"),
            None,
        )
        .unwrap();
        assert_eq!(path, root.join("datasets/Helsinki-NLP--tatoeba_mt/default"));
        assert!(path.is_dir());
        fs::write(root.join("lib"), "x").unwrap();
        assert!(matches!(
            cached_assets_path(tmp.path(), "lib", None, None),
            Err(AssetsError::Corrupted(_))
        ));
        assert!(matches!(
            cached_assets_path(tmp.path(), "..", None, None),
            Err(AssetsError::InvalidName(_))
        ));
    }
}
