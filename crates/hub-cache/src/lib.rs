//! The Hugging Face hub cache on disk, byte-compatible with Python's `huggingface_hub`.
//!
//! The crate documentation below is the crate's `README.md`; its examples run as doc tests.
#![doc = include_str!("../README.md")]
#![warn(missing_docs)]

// The supported platforms (README.md, "Platforms"): the no-follow file operations, `flock` locks
// and symlinked snapshots are Unix calls.
#[cfg(not(unix))]
compile_error!(
    "hfhub supports Unix-like systems only (Linux is tested; macOS and the BSDs are meant to work)"
);

pub mod assets;
pub mod cached;
pub mod delete;
pub mod display;
pub mod env;
pub mod error;
pub mod etag;
pub mod format;
pub mod fs;
pub mod hash;
pub mod layout;
pub mod local_dir;
pub mod lock;
pub mod lookup;
pub mod partial;
pub mod refs;
pub mod repo;
pub mod repo_path;
pub mod scan;
pub mod shared_store;
pub mod tree;
pub mod verify;
pub mod write;

pub use cached::RepoLookup;
pub use delete::Plan;
pub use error::Error;
pub use etag::Etag;
pub use format::{Flavour, format_size, format_timesince};
pub use layout::{Cache, RepoDir};
pub use repo::{CommitHash, Repo, RepoId, RepoType};
pub use repo_path::RepoPath;
pub use scan::{Report, scan};

pub use assets::cached_assets_path;
pub use lock::FileLock;
pub use lookup::{CachedFile, CachedSnapshot};
pub use write::{BlobOrigin, RepoWriter, Symlinks, WriteOptions};
