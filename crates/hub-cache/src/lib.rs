//! The Hugging Face hub cache on disk, byte-compatible with Python's `huggingface_hub`.
//!
//! Synchronous and dependency-light (std, walkdir, thiserror, tracing): a crate that only inspects or
//! fills the cache takes this crate alone, with no async runtime and no network stack.
//!
//! ```
//! use hub_cache::{Cache, Repo};
//! let cache = Cache::new("/tmp/hub");
//! let repo = Repo::model("openai-community/gpt2").unwrap();
//! assert_eq!(
//!     cache.repo(&repo).path(),
//!     std::path::Path::new("/tmp/hub/models--openai-community--gpt2")
//! );
//! ```

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

pub use cached::CachedRepo;
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
