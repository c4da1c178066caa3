//! Synthetic repositories for reliability tests: one repo folder of a hub cache written with `std::fs`
//! (refs, blobs named by their real hash, relative snapshot symlinks), with seeded content of any
//! size and file count, for hub-server to serve.
//!
//! ```text
//! <cache>/models--<org>--<name>/
//! ├── refs/main                          the commit
//! ├── blobs/<sha1 or sha256>             one per distinct content
//! └── snapshots/<commit>/<path>          -> ../../blobs/<etag>
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::fixtures::{commit_hash, git_blob_sha1, pointer_target, sha256};

/// One file of a synthetic repository.
#[derive(Debug, Clone)]
pub struct SyntheticFile {
    pub path: String,
    /// sha256 for LFS files, git blob sha1 otherwise.
    pub etag: String,
    pub lfs: bool,
    pub content: Vec<u8>,
}

/// A repository written by [`write_model`].
#[derive(Debug, Clone)]
pub struct SyntheticRepo {
    /// `<cache>/models--org--name`.
    pub path: PathBuf,
    pub commit: String,
    pub files: Vec<SyntheticFile>,
}

/// Deterministic bytes: a xorshift stream seeded by `seed`.
pub fn seeded_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Writes model `repo_id` into `cache` with `files` as `(path, content, lfs)` at the commit named by
/// `label` (see [`commit_hash`]), referenced by `refs/<ref_name>`. Several calls may add revisions to
/// one repository; blobs with the same content are shared.
pub fn write_model(
    cache: &Path,
    repo_id: &str,
    label: &str,
    ref_name: &str,
    files: &[(String, Vec<u8>, bool)],
) -> io::Result<SyntheticRepo> {
    let folder = crate::fixtures::folder_name(hub_cache::RepoType::Model, repo_id);
    let path = cache.join(folder);
    let commit = commit_hash(label);
    fs::create_dir_all(path.join("refs"))?;
    fs::create_dir_all(path.join("blobs"))?;
    fs::write(path.join("refs").join(ref_name), &commit)?;
    let snapshot = path.join("snapshots").join(&commit);
    let mut out = Vec::new();
    for (repo_path, content, lfs) in files {
        let etag = if *lfs {
            sha256(content)
        } else {
            git_blob_sha1(content)
        };
        let blob = path.join("blobs").join(&etag);
        if !blob.exists() {
            fs::write(&blob, content)?;
        }
        let pointer = snapshot.join(repo_path);
        fs::create_dir_all(pointer.parent().expect("a pointer has a parent"))?;
        std::os::unix::fs::symlink(pointer_target(repo_path, &etag), &pointer)?;
        out.push(SyntheticFile {
            path: repo_path.clone(),
            etag,
            lfs: *lfs,
            content: content.clone(),
        });
    }
    Ok(SyntheticRepo {
        path,
        commit,
        files: out,
    })
}
