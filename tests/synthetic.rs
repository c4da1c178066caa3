//! Synthetic repositories for reliability tests: one repo folder of a hub cache (refs, blobs named by
//! their real hash, relative snapshot symlinks), written through [`crate::tree::Tree`], with seeded
//! content of any size and file count, for hub-server to serve.
//!
//! ```text
//! <cache>/models--<org>--<name>/
//! ├── refs/main                          the commit
//! ├── blobs/<sha1 or sha256>             one per distinct content
//! └── snapshots/<commit>/<path>          -> ../../blobs/<etag>
//! ```

use std::io;
use std::path::{Path, PathBuf};

use crate::fixtures::{commit_hash, folder_name};
use crate::hash;
use crate::tree::Tree;

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
    let folder = folder_name(hub_cache::RepoType::Model, repo_id);
    let commit = commit_hash(label);
    let mut tree = Tree::at(cache);
    let mut description = format!("{folder}/blobs/\n{folder}/refs/{ref_name} = {commit}\n");
    let mut out = Vec::new();
    for (index, (repo_path, content, lfs)) in files.iter().enumerate() {
        if repo_path.contains(['\n', '\r'])
            || [" = ", " -> ", " => "]
                .iter()
                .any(|op| repo_path.contains(op))
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{repo_path:?} cannot be written as a tree line"),
            ));
        }
        let kind = if *lfs { "lfs" } else { "git" };
        tree.with(&index.to_string(), content.as_slice());
        description.push_str(&format!(
            "{folder}/snapshots/{commit}/{repo_path} => {kind} ${index}\n"
        ));
        out.push(SyntheticFile {
            path: repo_path.clone(),
            etag: hash::etag(content, *lfs),
            lfs: *lfs,
            content: content.clone(),
        });
    }
    tree.try_write(&description)?;
    Ok(SyntheticRepo {
        path: cache.join(folder),
        commit,
        files: out,
    })
}
