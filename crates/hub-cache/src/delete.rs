//! Deleting revisions or files: upstream's `HFCacheInfo.delete_revisions` / `delete_files` plans and
//! `DeleteCacheStrategy.execute`.
//!
//! ```text
//! <cache>/<type>s--<id>/          removed whole when every revision of the repo is selected
//!     ├── snapshots/<commit>/     removed for each selected revision otherwise
//!     ├── refs/<ref>              removed when it points to a selected revision (empty parents stay)
//!     └── blobs/<etag>            removed when no remaining revision of the repo links it
//! ```
//! `.no_exist/<commit>` and `trees/<commit>.json` are left alone, as upstream does.
//!
//! Execution removes single snapshot files, then repos, snapshots, refs, then blobs, so an interruption
//! never leaves a ref or pointer aimed at a deleted blob; 2.x plans finish by sweeping the shared blob
//! store (`<cache>/blobs/<2hex>/<64hex>` payloads the deleted repo blobs linked to). Unlike upstream it refuses any path that is not strictly
//! inside the scanned cache root or that has a symlink among its ancestors below the root (a symlinked
//! repo folder, or a pointer whose target lies outside the cache), and it removes a symlink as a link.
//!
//! ```
//! # use std::io::Write as _;
//! # use hub_cache::{BlobOrigin, Cache, CommitHash, Repo, WriteOptions};
//! # let tmp = tempfile::tempdir().expect("a temporary folder");
//! # let cache = Cache::new(tmp.path());
//! # let writer = cache.writer(&Repo::model("org/name")?, WriteOptions::default());
//! # for (commit, etag, content, r#ref) in [
//! #     ("9338f7b671827df886678df2bdd7cc7b4f36dffd", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "old", "v1"),
//! #     ("1111111111111111111111111111111111111111", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "new", "main"),
//! # ] {
//! #     let commit = CommitHash::new(commit).expect("40 hex");
//! #     let mut blob = writer.create_incomplete_blob(etag)?;
//! #     blob.file.write_all(content.as_bytes()).expect("write");
//! #     writer.publish_blob(&blob.path, etag)?;
//! #     writer.link_pointer(&commit, "config.json", etag, BlobOrigin::Downloaded)?;
//! #     writer.write_ref(r#ref, &commit)?;
//! # }
//! // A cache holding `org/name` at two commits, `v1` (old) and `main`.
//! let report = hub_cache::scan(cache.root())?;
//! let plan = report.delete_revisions(&["9338f7b671827df886678df2bdd7cc7b4f36dffd"]);
//! assert_eq!(plan.expected_freed_size, 3); // the old blob: no kept revision links it
//! let outcome = plan.execute()?;
//! assert!(outcome.warnings.is_empty());
//! assert!(cache.model("org/name").revision("v1").get("config.json").is_err());
//! assert!(cache.model("org/name").get("config.json").is_ok());
//! # Ok::<(), hub_cache::Error>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::format::Flavour;
use crate::scan::{CachedRepo, IncompleteFile, Report};
use crate::shared_store::{
    SHARED_BLOBS_DIR, is_shared_blobs_dir, manifest_references, shared_blob_target, sweep_payload,
};

/// What to delete, computed by [`Report::delete_revisions`] without touching the disk (except, with a
/// marked shared store, reading its manifests to size shared payloads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The scanned cache root; nothing outside it is ever deleted.
    pub cache_dir: PathBuf,
    /// Bytes the plan frees, computed as upstream does for the report's flavour.
    pub expected_freed_size: u64,
    /// Whole repo folders.
    pub repos: BTreeSet<PathBuf>,
    /// `snapshots/<commit>` folders.
    pub snapshots: BTreeSet<PathBuf>,
    /// `refs/<ref>` files.
    pub refs: BTreeSet<PathBuf>,
    /// `blobs/<etag>` entries.
    pub blobs: BTreeSet<PathBuf>,
    /// Individual snapshot entries (plans from [`Report::delete_files`], 2.x).
    pub files: BTreeSet<PathBuf>,
    /// Requested hashes that match no revision, in the order given (duplicates dropped).
    pub not_found: Vec<String>,
    /// 2.x plans also collect shared-store payloads left without references; 0.2x plans do not.
    pub flavour: Flavour,
}

impl Plan {
    /// Upstream's warning for unknown hashes: `Revision(s) not found - cannot delete them: a, b`.
    pub fn not_found_message(&self) -> Option<String> {
        (!self.not_found.is_empty()).then(|| {
            format!(
                "Revision(s) not found - cannot delete them: {}",
                self.not_found.join(", ")
            )
        })
    }

    /// True when the plan deletes nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.repos.is_empty()
            && self.snapshots.is_empty()
            && self.refs.is_empty()
            && self.blobs.is_empty()
    }

    /// Deletes individual snapshot files, then repos, snapshots, refs, and blobs. A snapshot file
    /// already gone is skipped silently; any other path already gone or not permitted becomes a
    /// warning (as upstream logs it); a path outside the cache root or below a symlink is refused with a
    /// warning; any other I/O failure stops execution with an error.
    ///
    /// 2.x plans then sweep the shared store: every payload a deleted repo blob linked to is removed
    /// (with its manifest) when no valid reference to it remains, else its manifest is rewritten with the
    /// remaining references, under the payload's `.lock` (`_shared_blobs.py::sweep_shared_blob`).
    pub fn execute(&self) -> Result<Outcome, DeleteError> {
        let mut outcome = Outcome::default();
        let payloads = match self.flavour {
            Flavour::V2x => self.linked_payloads(),
            Flavour::V0x => BTreeSet::new(),
        };
        let steps = [
            (PathKind::File, &self.files),
            (PathKind::Repo, &self.repos),
            (PathKind::Snapshot, &self.snapshots),
            (PathKind::Ref, &self.refs),
            (PathKind::Blob, &self.blobs),
        ];
        for (kind, paths) in steps {
            for path in paths {
                delete_one(&self.cache_dir, kind, path, &mut outcome)?;
            }
        }
        for payload in payloads {
            if let Some(freed) = sweep_payload(&payload, &self.cache_dir) {
                outcome.swept.push((payload, freed));
            }
        }
        Ok(outcome)
    }

    /// Shared-store payloads that the plan's blobs, or the blobs of its repos, link to.
    fn linked_payloads(&self) -> BTreeSet<PathBuf> {
        let store = self.cache_dir.join(SHARED_BLOBS_DIR);
        if !is_shared_blobs_dir(&store) {
            return BTreeSet::new();
        }
        let mut blobs: BTreeSet<PathBuf> = self.blobs.clone();
        for repo in &self.repos {
            if let Ok(entries) = fs::read_dir(repo.join("blobs")) {
                blobs.extend(
                    entries
                        .filter_map(|entry| entry.ok())
                        .map(|entry| entry.path()),
                );
            }
        }
        blobs
            .iter()
            .filter_map(|blob| shared_blob_target(blob, &self.cache_dir))
            .collect()
    }
}

/// What kind of path a plan entry is (upstream's `path_type` in its log lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathKind {
    /// A single snapshot entry (removed as a file or link, never as a folder).
    File,
    /// A whole repo folder.
    Repo,
    /// A `snapshots/<commit>` folder.
    Snapshot,
    /// A `refs/<name>` file.
    Ref,
    /// A `blobs/<etag>` entry (file, or link into the shared store).
    Blob,
    /// A `blobs/*.incomplete` partial download (removed as a file, a missing one is skipped).
    Incomplete,
}

impl PathKind {
    /// Removed with a plain unlink, never as a folder, and silently skipped when already gone.
    fn single_file(self) -> bool {
        matches!(self, PathKind::File | PathKind::Incomplete)
    }
}

impl fmt::Display for PathKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PathKind::File => "file",
            PathKind::Repo => "repo",
            PathKind::Snapshot => "snapshot",
            PathKind::Ref => "ref",
            PathKind::Blob => "blob",
            PathKind::Incomplete => "incomplete file",
        })
    }
}

/// What [`Plan::execute`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Paths removed, in execution order.
    pub deleted: Vec<(PathKind, PathBuf)>,
    /// Paths left in place, with the reason.
    pub warnings: Vec<DeleteWarning>,
    /// Shared-store payloads swept (2.x), with the bytes freed (0 when references remain).
    pub swept: Vec<(PathBuf, u64)>,
}

/// A plan entry that was not deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteWarning {
    /// `Couldn't delete {kind}: file not found ({path})` (upstream's text).
    NotFound {
        /// What the path is.
        kind: PathKind,
        /// The path already gone.
        path: PathBuf,
    },
    /// `Couldn't delete {kind}: permission denied ({path})` (upstream's text).
    PermissionDenied {
        /// What the path is.
        kind: PathKind,
        /// The path left in place.
        path: PathBuf,
    },
    /// Another failure where upstream goes on with a warning (an incomplete file in `prune`).
    Failed {
        /// What the path is.
        kind: PathKind,
        /// The path left in place.
        path: PathBuf,
        /// The operating system's message.
        message: String,
    },
    /// Refused by our safety rules (upstream would have deleted it).
    Refused {
        /// What the path is.
        kind: PathKind,
        /// The path left in place.
        path: PathBuf,
        /// Which rule refused it.
        reason: Refusal,
    },
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not strictly inside the cache root (lexically, without `.`/`..`).
    OutsideCache,
    /// This ancestor, below the cache root, is a symlink.
    SymlinkAncestor(PathBuf),
}

impl fmt::Display for DeleteWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeleteWarning::NotFound { kind, path } => write!(
                f,
                "Couldn't delete {kind}: file not found ({})",
                path.display()
            ),
            DeleteWarning::PermissionDenied { kind, path } => write!(
                f,
                "Couldn't delete {kind}: permission denied ({})",
                path.display()
            ),
            DeleteWarning::Failed {
                kind,
                path,
                message,
            } => write!(f, "could not delete {kind} `{}`: {message}", path.display()),
            DeleteWarning::Refused {
                kind,
                path,
                reason: Refusal::OutsideCache,
            } => write!(
                f,
                "refused to delete {kind} `{}`: it is outside the cache directory",
                path.display()
            ),
            DeleteWarning::Refused {
                kind,
                path,
                reason: Refusal::SymlinkAncestor(link),
            } => write!(
                f,
                "refused to delete {kind} `{}`: `{}` is a symlink",
                path.display(),
                link.display()
            ),
        }
    }
}

/// A deletion failed for a reason other than a missing path or a permission.
#[derive(Debug, thiserror::Error)]
#[error("cannot delete {kind} `{}`", path.display())]
pub struct DeleteError {
    /// What the path is.
    pub kind: PathKind,
    /// The path that could not be deleted.
    pub path: PathBuf,
    /// The failure.
    #[source]
    pub source: io::Error,
}

impl Report {
    /// The plan deleting these revisions (exact commit hashes), as upstream's `delete_revisions`.
    ///
    /// A hash selects the revision of the first repo (by path) holding it, as upstream selects it in
    /// one repo only. A repo whose revisions are all selected is deleted whole; otherwise its selected
    /// snapshots, the refs pointing to them and the blobs no remaining revision links are deleted.
    pub fn delete_revisions<S: AsRef<str>>(&self, hashes: &[S]) -> Plan {
        let mut remaining: Vec<&str> = Vec::new();
        for hash in hashes {
            if !remaining.contains(&hash.as_ref()) {
                remaining.push(hash.as_ref());
            }
        }
        // Repo index -> indices of its selected revisions.
        let mut selected: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for (repo_index, repo) in self.repos.iter().enumerate() {
            for (revision_index, revision) in repo.revisions.iter().enumerate() {
                if let Some(position) = remaining.iter().position(|h| *h == revision.commit_hash) {
                    remaining.remove(position);
                    selected
                        .entry(repo_index)
                        .or_default()
                        .insert(revision_index);
                }
            }
        }

        let mut plan = Plan {
            cache_dir: self.cache_dir.clone(),
            expected_freed_size: 0,
            repos: BTreeSet::new(),
            snapshots: BTreeSet::new(),
            refs: BTreeSet::new(),
            blobs: BTreeSet::new(),
            files: BTreeSet::new(),
            not_found: remaining.iter().map(|h| (*h).to_owned()).collect(),
            flavour: self.flavour,
        };
        // 2.x: every entry unlinked, path -> scanned size (summed, or sized through the shared store).
        let mut unlinked: BTreeMap<PathBuf, u64> = BTreeMap::new();
        for (repo_index, revision_indices) in selected {
            let repo = &self.repos[repo_index];
            if revision_indices.len() == repo.revisions.len() {
                plan.repos.insert(repo.repo_path.clone());
                match self.flavour {
                    Flavour::V0x => plan.expected_freed_size += repo.size_on_disk,
                    Flavour::V2x => {
                        for file in repo.revisions.iter().flat_map(|r| &r.files) {
                            unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                        }
                    }
                }
                continue;
            }
            plan_partial(
                self.flavour,
                repo,
                &revision_indices,
                &mut plan,
                &mut unlinked,
            );
        }
        if self.flavour == Flavour::V2x {
            plan.expected_freed_size = expected_freed_size(&unlinked, &self.cache_dir);
        }
        plan
    }
}

impl Report {
    /// The plan deleting individual snapshot files (2.x `delete_files`), selected by their
    /// `file_path` as this report lists them (paths the report does not list are ignored).
    ///
    /// Only the snapshot entries go, plus each blob no unselected file of any repo still links; refs
    /// and snapshot folders stay, even when a snapshot ends up empty. A file stored in the snapshot
    /// itself (no symlink) is counted once and removed as the entry.
    pub fn delete_files<P: AsRef<Path>>(&self, file_paths: &[P]) -> Plan {
        let wanted: BTreeSet<&Path> = file_paths.iter().map(AsRef::as_ref).collect();
        let all_files = self
            .repos
            .iter()
            .flat_map(|repo| &repo.revisions)
            .flat_map(|revision| &revision.files);
        let (selected, kept): (Vec<_>, Vec<_>) =
            all_files.partition(|file| wanted.contains(file.file_path.as_path()));
        let kept_blobs: BTreeSet<&Path> = kept.iter().map(|f| f.blob_path.as_path()).collect();
        let unlinked: BTreeMap<PathBuf, u64> = selected
            .iter()
            .filter(|file| !kept_blobs.contains(file.blob_path.as_path()))
            .map(|file| (file.blob_path.clone(), file.size_on_disk))
            .collect();
        let files: BTreeSet<PathBuf> = selected.iter().map(|f| f.file_path.clone()).collect();
        Plan {
            cache_dir: self.cache_dir.clone(),
            expected_freed_size: expected_freed_size(&unlinked, &self.cache_dir),
            repos: BTreeSet::new(),
            snapshots: BTreeSet::new(),
            refs: BTreeSet::new(),
            blobs: unlinked
                .keys()
                .filter(|blob| !files.contains(*blob))
                .cloned()
                .collect(),
            files,
            not_found: Vec::new(),
            flavour: Flavour::V2x,
        }
    }
}

/// What 2.x `hf cache prune` removes: every detached revision (no ref), every incomplete download,
/// and every shared-store payload that no valid manifest reference points to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prune {
    /// Detached revision hashes, sorted.
    pub detached: Vec<String>,
    /// `delete_revisions(detached)`.
    pub revisions: Plan,
    /// The report's incomplete downloads.
    pub incomplete_files: Vec<IncompleteFile>,
    /// Unreferenced shared-store payloads with their sizes.
    pub unreferenced_shared_blobs: BTreeMap<PathBuf, u64>,
}

impl Prune {
    /// Upstream's announced total: the revisions plan's expected size, plus the incomplete files and
    /// the unreferenced payloads.
    pub fn expected_freed_size(&self) -> u64 {
        self.revisions.expected_freed_size
            + self
                .incomplete_files
                .iter()
                .map(|f| f.size_on_disk)
                .sum::<u64>()
            + self.unreferenced_shared_blobs.values().sum::<u64>()
    }

    /// True when there is nothing to prune.
    pub fn is_empty(&self) -> bool {
        self.detached.is_empty()
            && self.incomplete_files.is_empty()
            && self.unreferenced_shared_blobs.is_empty()
    }

    /// Executes the revisions plan, unlinks the incomplete files (already gone: skipped; other
    /// failures: warnings), then sweeps the unreferenced payloads.
    pub fn execute(&self) -> Result<Outcome, DeleteError> {
        let cache_dir = &self.revisions.cache_dir;
        let mut outcome = self.revisions.execute()?;
        for file in &self.incomplete_files {
            let path = &file.file_path;
            if let Err(error) = delete_one(cache_dir, PathKind::Incomplete, path, &mut outcome) {
                outcome.warnings.push(DeleteWarning::Failed {
                    kind: PathKind::Incomplete,
                    path: path.clone(),
                    message: error.source.to_string(),
                });
            }
        }
        for payload in self.unreferenced_shared_blobs.keys() {
            if let Some(freed) = sweep_payload(payload, cache_dir) {
                outcome.swept.push((payload.clone(), freed));
            }
        }
        Ok(outcome)
    }
}

impl Report {
    /// The prune plan (2.x `hf cache prune`).
    pub fn prune(&self) -> Prune {
        let mut detached: Vec<String> = self
            .repos
            .iter()
            .flat_map(|repo| &repo.revisions)
            .filter(|revision| revision.refs.is_empty())
            .map(|revision| revision.commit_hash.clone())
            .collect();
        detached.sort();
        detached.dedup();
        Prune {
            revisions: self.delete_revisions(&detached),
            detached,
            incomplete_files: self.incomplete_files.clone(),
            unreferenced_shared_blobs: unreferenced_shared_blobs(&self.cache_dir),
        }
    }
}

/// Payloads of a marked shared store whose manifest is readable and lists no valid reference
/// (`unreferenced_shared_blobs`); a payload with a missing or unreadable manifest is not listed.
pub fn unreferenced_shared_blobs(cache_dir: &Path) -> BTreeMap<PathBuf, u64> {
    crate::shared_store::shared_store_payloads(cache_dir)
        .into_iter()
        .filter(|payload| manifest_references(payload, cache_dir).is_some_and(|r| r.is_empty()))
        .filter_map(|payload| {
            let size = fs::symlink_metadata(&payload).ok()?.len();
            Some((payload, size))
        })
        .collect()
}

fn plan_partial(
    flavour: Flavour,
    repo: &CachedRepo,
    selected: &BTreeSet<usize>,
    plan: &mut Plan,
    unlinked: &mut BTreeMap<PathBuf, u64>,
) {
    let kept_blobs: BTreeSet<&Path> = repo
        .revisions
        .iter()
        .enumerate()
        .filter(|(index, _)| !selected.contains(index))
        .flat_map(|(_, revision)| &revision.files)
        .map(|file| file.blob_path.as_path())
        .collect();
    for &index in selected {
        let revision = &repo.revisions[index];
        plan.snapshots.insert(revision.snapshot_path.clone());
        for name in &revision.refs {
            let mut ref_path = repo.repo_path.join("refs");
            ref_path.extend(name.split('/'));
            plan.refs.insert(ref_path);
        }
        for file in &revision.files {
            match flavour {
                Flavour::V2x => {
                    // A file stored in the snapshot itself goes with the snapshot folder: counted only.
                    if file.blob_path.starts_with(&revision.snapshot_path)
                        && file.blob_path != revision.snapshot_path
                    {
                        unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                        continue;
                    }
                    if !kept_blobs.contains(file.blob_path.as_path()) {
                        plan.blobs.insert(file.blob_path.clone());
                        unlinked.insert(file.blob_path.clone(), file.size_on_disk);
                    }
                }
                Flavour::V0x => {
                    if !kept_blobs.contains(file.blob_path.as_path())
                        && plan.blobs.insert(file.blob_path.clone())
                    {
                        plan.expected_freed_size += file.size_on_disk;
                    }
                }
            }
        }
    }
}

/// 2.x `_expected_freed_size`: the unlinked entries' sizes, except that a repo blob linking into a
/// marked shared store counts its payload once, and only when every valid manifest reference to that
/// payload is being unlinked.
fn expected_freed_size(unlinked: &BTreeMap<PathBuf, u64>, cache_dir: &Path) -> u64 {
    let store = cache_dir.join(SHARED_BLOBS_DIR);
    if !is_shared_blobs_dir(&store) {
        return unlinked.values().sum();
    }
    let mut total = 0;
    let mut payloads = BTreeSet::new();
    for (path, size) in unlinked {
        match shared_blob_target(path, cache_dir) {
            Some(payload) => {
                payloads.insert(payload);
            }
            None => total += size,
        }
    }
    for payload in payloads {
        let Some(references) = manifest_references(&payload, cache_dir) else {
            continue;
        };
        let all_unlinked = references.iter().all(|r| unlinked.contains_key(r));
        if !references.is_empty() && all_unlinked {
            total += fs::symlink_metadata(&payload)
                .ok()
                .filter(|m| m.file_type().is_file())
                .map_or(0, |m| m.len());
        }
    }
    total
}

fn delete_one(
    cache_dir: &Path,
    kind: PathKind,
    path: &Path,
    outcome: &mut Outcome,
) -> Result<(), DeleteError> {
    let refuse = |reason| DeleteWarning::Refused {
        kind,
        path: path.to_path_buf(),
        reason,
    };
    let relative = match path.strip_prefix(cache_dir) {
        Ok(relative)
            if relative.components().next().is_some()
                && relative
                    .components()
                    .all(|c| matches!(c, Component::Normal(_))) =>
        {
            relative
        }
        _ => {
            outcome.warnings.push(refuse(Refusal::OutsideCache));
            return Ok(());
        }
    };
    let not_found = || DeleteWarning::NotFound {
        kind,
        path: path.to_path_buf(),
    };
    let mut ancestor = cache_dir.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len() - 1] {
        ancestor.push(part);
        match fs::symlink_metadata(&ancestor) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                outcome
                    .warnings
                    .push(refuse(Refusal::SymlinkAncestor(ancestor)));
                return Ok(());
            }
            Ok(_) => {}
            Err(error) if is_gone(&error) => {
                if !kind.single_file() {
                    outcome.warnings.push(not_found());
                }
                return Ok(());
            }
            Err(source) => {
                return Err(DeleteError {
                    kind,
                    path: path.to_path_buf(),
                    source,
                });
            }
        }
    }
    let result = fs::symlink_metadata(path).and_then(|metadata| {
        if metadata.is_dir() && !kind.single_file() {
            // Never follows symlinks found inside: they are unlinked.
            fs::remove_dir_all(path)
        } else {
            fs::remove_file(path)
        }
    });
    match result {
        Ok(()) => outcome.deleted.push((kind, path.to_path_buf())),
        // Upstream unlinks snapshot entries with `missing_ok=True`.
        Err(error) if is_gone(&error) && kind.single_file() => {}
        Err(error) if is_gone(&error) => outcome.warnings.push(not_found()),
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            outcome.warnings.push(DeleteWarning::PermissionDenied {
                kind,
                path: path.to_path_buf(),
            })
        }
        Err(source) => {
            return Err(DeleteError {
                kind,
                path: path.to_path_buf(),
                source,
            });
        }
    }
    Ok(())
}

fn is_gone(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
