//! The pull-through mirror (`hfhub serve --upstream`): before a Hub request is answered from the
//! cache, make the cache able to answer it.
//!
//! - A revision is resolved upstream (repo info), a branch or tag at most once per freshness window,
//!   a commit once; the answer's `refs/<revision>` is written to the cache as hfhub writes it, and
//!   the repository's access (public, gated, private) is remembered.
//! - Repo info and tree listings of a commit are answered from the upstream's recursive listing,
//!   validated entry by entry ([`RepoPath`], [`Etag`], bounded sizes) and kept in memory (bounded).
//! - A file `GET` downloads the file into the cache through hub-sync (what `hfhub download` stores:
//!   verified, locked, the same layout), once however many clients ask at the same time (one flight
//!   per blob; the others wait and then read the verified file). Clients receive bytes only after
//!   verification: a file is served once it is complete, not while it arrives.
//! - When the upstream cannot be reached, commits the cache holds keep being served (and branch
//!   names with [`crate::Upstream::with_serve_stale`]); anything else answers 504 at once.
//!
//! A client only ever makes the mirror fetch a file the upstream's listing of that commit names,
//! from the configured upstream, into the cache; upstream transfers are bounded by a semaphore.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hub_cache::repo::{CommitHash, check_revision, is_commit_hash};
use hub_cache::write::WriteOptions;
use hub_cache::{Cache, Etag, Repo, RepoPath};
use hyper::StatusCode;
use tokio::sync::{RwLock, Semaphore};

use crate::access::Access;
use crate::evict::evict;
use crate::metrics::Metrics;
use crate::route::{self, Route, Target};
use crate::store::{BlobKind, FileEntry, Snapshot, TreeItem, lfs_pointer};
use crate::upstream::{Failure, Upstream, failure, sync_failure};

/// Revisions, and LFS files redirected to the CDN, remembered (then the table starts over).
const MAX_REVISIONS: usize = 10_000;
/// Listings kept in memory: at most this many commits, and this many entries in all.
const MAX_LISTINGS: usize = 64;
const MAX_LISTED_ENTRIES: usize = 2_000_000;

/// What the upstream said about a revision.
#[derive(Debug, Clone)]
struct Known {
    commit: String,
    access: Option<Access>,
    at: Instant,
}

/// The gate of one piece of upstream work: when and how it last failed.
type Gate = tokio::sync::Mutex<Option<(Instant, Failure)>>;

/// A task that stopped without an answer.
const INTERNAL: Failure = Failure {
    status: StatusCode::INTERNAL_SERVER_ERROR,
    code: None,
    message: "internal error",
    unreachable: false,
};

/// A file an LFS redirect was given for: repository, commit, entry.
type Redirected = (Repo, String, FileEntry);

#[derive(Debug)]
struct Listed {
    snapshot: Arc<Snapshot>,
    last_used: u64,
}

/// A mirror's state, shared by every request.
pub(crate) struct Mirror {
    downloader: hub_sync::Downloader<hub_http::Client>,
    cache: Cache,
    ttl: Duration,
    serve_stale: bool,
    fetches: Semaphore,
    /// (repo folder, revision) -> what upstream said.
    revisions: Mutex<HashMap<(String, String), Known>>,
    /// (repo folder, commit) -> its listing.
    listings: Mutex<HashMap<(String, String), Listed>>,
    /// (repo folder, sha256) -> the file an LFS redirect was given for, for the CDN request that
    /// follows it.
    redirected: Mutex<HashMap<(String, String), Redirected>>,
    /// One gate per piece of upstream work in flight (`rev:`, `list:`, `blob:` keys), holding the
    /// last failure of that work.
    flights: Mutex<HashMap<String, Arc<Gate>>>,
    clock: AtomicU64,
    metrics: Arc<Metrics>,
    max_cache_size: Option<u64>,
    /// (repo folder, commit) -> when a request last asked for it (the eviction order).
    used: Mutex<HashMap<(String, String), u64>>,
    /// Downloads hold it shared; an eviction holds it alone (so it never sees half-linked files).
    writing: RwLock<()>,
    evicting: AtomicBool,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("cache", &self.cache.root())
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// How a request continues after the mirror prepared the cache.
pub(crate) enum Prepared<R> {
    /// Answer from this listing (files in the cache, or fetched for this request).
    Listing(Arc<Snapshot>),
    /// Answer from the cache as a plain server does (not a mirrored route, or upstream unreachable
    /// and the cache can answer).
    Cache,
    /// The client may not read the repository: this refusal.
    Refused(R),
    /// The upstream failed and the cache cannot answer.
    Failed(Failure),
}

impl Mirror {
    /// `cache_root` is the canonical cache folder the server serves.
    pub(crate) fn new(
        upstream: &Upstream,
        cache_root: PathBuf,
        metrics: Arc<Metrics>,
    ) -> Result<Mirror, Box<hub_sync::Error>> {
        Ok(Mirror {
            downloader: upstream.downloader(&cache_root)?,
            cache: Cache::new(cache_root),
            ttl: upstream.ttl,
            serve_stale: upstream.serve_stale,
            fetches: Semaphore::new(upstream.max_fetches),
            revisions: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
            redirected: Mutex::new(HashMap::new()),
            flights: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
            metrics,
            max_cache_size: upstream.max_cache_size,
            used: Mutex::new(HashMap::new()),
            writing: RwLock::new(()),
            evicting: AtomicBool::new(false),
        })
    }

    /// How long a branch answer may be cached by HTTP caches in front.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Makes the cache able to answer a Hub request (see the module documentation); `deny` says
    /// whether a repository with this access is refused to this client.
    pub(crate) async fn prepare<R>(
        self: &Arc<Self>,
        method: &str,
        path: &str,
        deny: impl Fn(&Target, Access) -> Option<R>,
        cached: impl AsyncFnOnce() -> bool,
    ) -> Prepared<R> {
        let (target, revision, file) = match route::parse(path) {
            Route::Resolve {
                target,
                revision,
                path,
            } => (target, revision, Some(path)),
            Route::Info { target, revision }
            | Route::Tree {
                target, revision, ..
            } => (target, revision, None),
            Route::NotFound | Route::BadRequest(_) => return Prepared::Cache,
        };
        if check_revision(&revision).is_err() {
            return Prepared::Cache;
        }
        let repo = Repo::new(target.repo_type, target.id.clone());
        let known = match self.revision(&repo, &revision).await {
            Ok(known) => known,
            Err(failed) => {
                return self
                    .fall_back(failed, &target, &revision, cached, &deny)
                    .await;
            }
        };
        if let Some(denied) = known.access.and_then(|access| deny(&target, access)) {
            return Prepared::Refused(denied);
        }
        self.touch(&repo, &known.commit);
        let listing = match self.listing(&repo, &known.commit).await {
            Ok(listing) => listing,
            Err(failed) => {
                return self
                    .fall_back(failed, &target, &revision, cached, &deny)
                    .await;
            }
        };
        let Some(entry) = file.and_then(|path| listing.file(&path).ok().cloned()) else {
            return Prepared::Listing(listing);
        };
        if let BlobKind::Lfs { sha256, .. } = &entry.kind {
            // Clients fetch it from the CDN listener, with or without this GET first.
            let mut redirected = self.redirected.lock().expect("redirect table lock");
            if redirected.len() >= MAX_REVISIONS {
                redirected.clear();
            }
            redirected.insert(
                (repo.folder_name(), sha256.clone()),
                (repo.clone(), known.commit.clone(), entry.clone()),
            );
        }
        // An LFS file's content is fetched when the CDN listener is asked for it (Python goes there
        // straight from the `HEAD`); a regular file's before this answer.
        if method == "GET"
            && !matches!(entry.kind, BlobKind::Lfs { .. })
            && let Err(failed) = self.fetch_detached(repo, known.commit, entry).await
        {
            return Prepared::Failed(failed);
        }
        Prepared::Listing(listing)
    }

    /// Makes the cache hold the LFS blob a validly signed CDN path (`/<folder>/<sha256>`) names,
    /// when a resolve of this mirror redirected to it.
    pub(crate) async fn prepare_blob<R>(self: &Arc<Self>, path: &str) -> Prepared<R> {
        let Some((folder, sha256)) = path.strip_prefix('/').and_then(|p| p.split_once('/')) else {
            return Prepared::Cache;
        };
        let wanted = self
            .redirected
            .lock()
            .expect("redirect table lock")
            .get(&(folder.to_owned(), sha256.to_owned()))
            .cloned();
        match wanted {
            Some((repo, commit, entry)) => match self.fetch_detached(repo, commit, entry).await {
                Ok(()) => Prepared::Cache,
                Err(failed) => Prepared::Failed(failed),
            },
            None => Prepared::Cache,
        }
    }

    /// [`Mirror::fetch`] in a task of its own: a client that goes away does not abandon a transfer
    /// others wait for.
    async fn fetch_detached(
        self: &Arc<Self>,
        repo: Repo,
        commit: String,
        entry: FileEntry,
    ) -> Result<(), Failure> {
        let mirror = self.clone();
        tokio::spawn(async move { mirror.fetch(&repo, &commit, &entry).await })
            .await
            .unwrap_or(Err(INTERNAL))
    }

    /// The upstream failed: answer from the cache when it can (commits; branch names only with
    /// `serve_stale`, and only for a repository whose access is known), else the failure.
    async fn fall_back<R>(
        &self,
        failed: Failure,
        target: &Target,
        revision: &str,
        cached: impl AsyncFnOnce() -> bool,
        deny: impl Fn(&Target, Access) -> Option<R>,
    ) -> Prepared<R> {
        if !failed.unreachable || !(is_commit_hash(revision) || self.serve_stale) {
            return Prepared::Failed(failed);
        }
        // A repository the upstream never described is served to accepted tokens only.
        let repo = Repo::new(target.repo_type, target.id.clone());
        if let Some(denied) = self
            .last_known_access(&repo)
            .and_then(|access| deny(target, access))
        {
            return Prepared::Refused(denied);
        }
        if cached().await {
            Prepared::Cache
        } else {
            Prepared::Failed(failed)
        }
    }

    /// The access the upstream last gave `repo` (`Some(Private)` when it never answered for it).
    fn last_known_access(&self, repo: &Repo) -> Option<Access> {
        let folder = repo.folder_name();
        let revisions = self.revisions.lock().expect("revision table lock");
        revisions
            .iter()
            .filter(|((known_folder, _), _)| *known_folder == folder)
            .max_by_key(|(_, known)| known.at)
            .map_or(Some(Access::Private), |(_, known)| known.access)
    }

    /// The commit and access of `revision`: remembered (a commit always, a branch within the
    /// window), else asked upstream once however many requests wait for it.
    async fn revision(&self, repo: &Repo, revision: &str) -> Result<Known, Failure> {
        let key = (repo.folder_name(), revision.to_owned());
        let remembered = || {
            let revisions = self.revisions.lock().expect("revision table lock");
            revisions
                .get(&key)
                .filter(|known| is_commit_hash(revision) || known.at.elapsed() < self.ttl)
                .cloned()
        };
        if let Some(known) = remembered() {
            return Ok(known);
        }
        let flight = format!("rev:{}:{revision}", key.0);
        self.once(&flight, async || {
            if let Some(known) = remembered() {
                return Ok(known);
            }
            let info = {
                let _permit = self.fetches.acquire().await;
                self.downloader
                    .remote()
                    .repo_info(repo, revision)
                    .await
                    .map_err(|error| failure(&error))?
            };
            let commit = CommitHash::new(&info.sha.to_ascii_lowercase()).ok_or_else(|| {
                failure(&hub_http::Error::BadResponse {
                    url: String::new(),
                    reason: "invalid commit".to_owned(),
                })
            })?;
            if is_commit_hash(revision) && commit.as_str() != revision.to_ascii_lowercase() {
                return Err(failure(&hub_http::Error::BadResponse {
                    url: String::new(),
                    reason: "another commit".to_owned(),
                }));
            }
            if !is_commit_hash(revision) {
                self.write_ref(repo, revision, &commit);
            }
            let access = if info.private {
                Some(Access::Private)
            } else if info.gated.is_gated() {
                Some(Access::Gated)
            } else {
                None
            };
            let known = Known {
                commit: commit.as_str().to_owned(),
                access,
                at: Instant::now(),
            };
            let mut revisions = self.revisions.lock().expect("revision table lock");
            if revisions.len() >= MAX_REVISIONS {
                revisions.clear();
            }
            // The commit itself is known now too (clients ask for it next).
            revisions.insert((key.0.clone(), known.commit.clone()), known.clone());
            revisions.insert(key.clone(), known.clone());
            Ok(known)
        })
        .await
    }

    /// Records `refs/<revision>` as a download by hfhub would (a failure only costs the offline
    /// fallback for that name).
    fn write_ref(&self, repo: &Repo, revision: &str, commit: &CommitHash) {
        let writer = self.cache.writer(repo, WriteOptions::default());
        if let Err(error) = writer.write_ref(revision, commit) {
            tracing::warn!(%error, repo = %repo, "cannot record a ref in the mirror's cache");
        }
    }

    /// The listing of `commit`, from memory or from upstream (once however many requests wait).
    async fn listing(&self, repo: &Repo, commit: &str) -> Result<Arc<Snapshot>, Failure> {
        let key = (repo.folder_name(), commit.to_owned());
        let remembered = || {
            let mut listings = self.listings.lock().expect("listing table lock");
            let now = self.clock.fetch_add(1, Ordering::Relaxed);
            listings.get_mut(&key).map(|listed| {
                listed.last_used = now;
                listed.snapshot.clone()
            })
        };
        if let Some(snapshot) = remembered() {
            return Ok(snapshot);
        }
        let flight = format!("list:{}:{commit}", key.0);
        self.once(&flight, async || {
            if let Some(snapshot) = remembered() {
                return Ok(snapshot);
            }
            let entries = {
                let _permit = self.fetches.acquire().await;
                self.downloader
                    .remote()
                    .list_tree(repo, commit)
                    .await
                    .map_err(|error| failure(&error))?
            };
            let blobs = self.cache.repo(repo).blobs_dir();
            let snapshot = Arc::new(snapshot_of(commit, &blobs, entries));
            let mut listings = self.listings.lock().expect("listing table lock");
            let now = self.clock.fetch_add(1, Ordering::Relaxed);
            listings.insert(
                key.clone(),
                Listed {
                    snapshot: snapshot.clone(),
                    last_used: now,
                },
            );
            drop_old_listings(&mut listings);
            Ok(snapshot)
        })
        .await
    }

    /// Downloads `entry` of `commit` into the cache, unless it is there; one flight per blob. Then,
    /// over `--max-cache-size`, evicts the least recently used revisions (never this one). The
    /// request counts as a hit (the blob was in the cache) or a miss (it came from upstream).
    async fn fetch(&self, repo: &Repo, commit: &str, entry: &FileEntry) -> Result<(), Failure> {
        let pointer = self.cache.repo(repo).pointer_path(commit, &entry.path);
        let present = || std::fs::metadata(&pointer).is_ok_and(|meta| meta.is_file());
        let hit = || self.metrics.hit();
        if present() {
            hit();
            return Ok(());
        }
        let etag = match &entry.kind {
            BlobKind::Regular { sha1 } => sha1,
            BlobKind::Lfs { sha256, .. } => sha256,
        };
        let flight = format!("blob:{}:{etag}", repo.folder_name());
        let downloaded = self
            .once(&flight, async || {
                if present() {
                    hit();
                    return Ok(false);
                }
                let _writing = self.writing.read().await;
                // Linked from a blob another revision brought: no upstream bytes.
                let had_blob = std::fs::metadata(&entry.blob_path).is_ok_and(|m| m.is_file());
                let _permit = self.fetches.acquire().await;
                let request = hub_sync::FileRequest::new(repo.clone(), entry.path.clone())
                    .with_revision(commit.to_owned());
                self.downloader
                    .download_file(&request)
                    .await
                    .map_err(|error| {
                        tracing::warn!(%error, "mirror download failed");
                        sync_failure(&error)
                    })?;
                if had_blob {
                    hit();
                } else {
                    self.metrics.miss(entry.size);
                }
                Ok(!had_blob)
            })
            .await?;
        if downloaded && let Some(max_size) = self.max_cache_size {
            self.evict(max_size, (repo.folder_name(), commit.to_owned()))
                .await;
        }
        Ok(())
    }

    /// Records that a request asked for `commit` (the eviction order).
    fn touch(&self, repo: &Repo, commit: &str) {
        let now = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut used = self.used.lock().expect("use table lock");
        if used.len() >= MAX_REVISIONS {
            used.clear();
        }
        used.insert((repo.folder_name(), commit.to_owned()), now);
    }

    /// One eviction pass at a time, while no download runs; `keep` stays.
    async fn evict(&self, max_size: u64, keep: (String, String)) {
        if self.evicting.swap(true, Ordering::AcqRel) {
            return;
        }
        let _alone = self.writing.write().await;
        let root = self.cache.root().to_path_buf();
        let used = self.used.lock().expect("use table lock").clone();
        let done = tokio::task::spawn_blocking(move || evict(&root, max_size, &used, &keep)).await;
        match done {
            Ok(Ok(evicted)) => {
                self.metrics
                    .evicted(evicted.revisions.len() as u64, evicted.freed);
                for (folder, commit) in &evicted.revisions {
                    tracing::info!(%folder, %commit, "evicted a revision");
                }
            }
            Ok(Err(error)) => tracing::warn!(%error, "cache eviction failed"),
            Err(_) => tracing::warn!("cache eviction stopped"),
        }
        self.evicting.store(false, Ordering::Release);
    }

    /// Runs `work` while holding the gate of `key`: one at a time per key. The others wait, then
    /// run theirs (which finds the first one's result in the cache or the tables), or share its
    /// failure when it failed while they waited (so a dead upstream costs one timeout, not one per
    /// waiting client).
    async fn once<T>(
        &self,
        key: &str,
        work: impl AsyncFnOnce() -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        let arrived = Instant::now();
        let gate = self
            .flights
            .lock()
            .expect("flight table lock")
            .entry(key.to_owned())
            .or_default()
            .clone();
        let result = {
            let mut last_failure = gate.lock().await;
            match *last_failure {
                Some((at, failed)) if at >= arrived => Err(failed),
                _ => {
                    let result = work().await;
                    if let Err(failed) = &result {
                        *last_failure = Some((Instant::now(), *failed));
                    }
                    result
                }
            }
        };
        let mut flights = self.flights.lock().expect("flight table lock");
        // Ours and the table's: nobody else waits for this gate.
        if Arc::strong_count(&gate) == 2 {
            flights.remove(key);
        }
        result
    }
}

/// Drops the least recently used listings past the bounds (never the newest one).
fn drop_old_listings(listings: &mut HashMap<(String, String), Listed>) {
    loop {
        let entries: usize = listings.values().map(|l| l.snapshot.len()).sum();
        if listings.len() <= 1 || (listings.len() <= MAX_LISTINGS && entries <= MAX_LISTED_ENTRIES)
        {
            return;
        }
        let oldest = listings
            .iter()
            .min_by_key(|(_, listed)| listed.last_used)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => listings.remove(&key),
            None => return,
        };
    }
}

/// The index of an upstream listing. Entries that fail the boundary (a path [`RepoPath`] refuses,
/// a blob id that is not an [`Etag`] of the right kind, a size over [`hub_sync::MAX_FILE_SIZE`], a
/// repeated path) are dropped with a warning; folders the listing omits are added.
fn snapshot_of(commit: &str, blobs: &Path, entries: Vec<hub_http::TreeEntry>) -> Snapshot {
    let mut items: HashMap<String, TreeItem> = HashMap::new();
    for entry in entries {
        let Ok(path) = RepoPath::parse(&entry.path) else {
            tracing::warn!(path = %hub_cache::display::Escaped(&entry.path), "upstream listed an invalid path");
            continue;
        };
        let path = path.as_str().to_owned();
        let item = if entry.is_file() {
            match file_entry(&path, blobs, &entry) {
                Some(file) => TreeItem::File(file),
                None => {
                    tracing::warn!(path = %hub_cache::display::Escaped(&path), "upstream listed an invalid file");
                    continue;
                }
            }
        } else if entry.kind == "directory" {
            TreeItem::Directory {
                path: path.clone(),
                oid: if is_hex(&entry.oid, 40) {
                    entry.oid.to_ascii_lowercase()
                } else {
                    String::new()
                },
            }
        } else {
            continue;
        };
        items.entry(path).or_insert(item);
    }
    let parents: Vec<String> = items
        .keys()
        .flat_map(|path| {
            path.match_indices('/')
                .map(|(at, _)| path[..at].to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    for parent in parents {
        items
            .entry(parent.clone())
            .or_insert_with(|| TreeItem::Directory {
                path: parent,
                oid: String::new(),
            });
    }
    let mut items: Vec<TreeItem> = items.into_values().collect();
    // Pre-order: siblings by name, each folder followed by its content, as the tree endpoint lists.
    items.sort_by(|a, b| a.path().split('/').cmp(b.path().split('/')));
    Snapshot::from_items(commit, None, items, Vec::new())
}

fn file_entry(path: &str, blobs: &Path, entry: &hub_http::TreeEntry) -> Option<FileEntry> {
    let (kind, size) = match &entry.lfs {
        Some(lfs) => {
            let sha256 = lfs.oid.to_ascii_lowercase();
            if !is_hex(&sha256, 64) || !is_hex(&entry.oid, 40) {
                return None;
            }
            let pointer_size = lfs
                .pointer_size
                .unwrap_or_else(|| lfs_pointer(&sha256, lfs.size).len() as u64);
            (
                BlobKind::Lfs {
                    sha256,
                    pointer_oid: entry.oid.to_ascii_lowercase(),
                    pointer_size,
                },
                lfs.size,
            )
        }
        None => {
            if !is_hex(&entry.oid, 40) {
                return None;
            }
            (
                BlobKind::Regular {
                    sha1: entry.oid.to_ascii_lowercase(),
                },
                entry.size,
            )
        }
    };
    if size > hub_sync::MAX_FILE_SIZE {
        return None;
    }
    let etag = match &kind {
        BlobKind::Regular { sha1 } => sha1,
        BlobKind::Lfs { sha256, .. } => sha256,
    };
    let etag = Etag::parse(etag).ok()?;
    Some(FileEntry {
        path: path.to_owned(),
        blob_path: blobs.join(etag.as_str()),
        size,
        kind,
    })
}

fn is_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        kind: &str,
        path: &str,
        oid: &str,
        size: u64,
        lfs: Option<&str>,
    ) -> hub_http::TreeEntry {
        hub_http::TreeEntry {
            kind: kind.to_owned(),
            path: path.to_owned(),
            size,
            oid: oid.to_owned(),
            lfs: lfs.map(|sha256| hub_http::LfsInfo {
                oid: sha256.to_owned(),
                size,
                pointer_size: None,
            }),
            xet_hash: None,
        }
    }

    #[test]
    fn a_hostile_listing_loses_its_bad_entries_and_keeps_the_tree_order() {
        let sha1 = "a".repeat(40);
        let sha256 = "b".repeat(64);
        let blobs = Path::new("/cache/models--x/blobs");
        let listing = vec![
            entry("file", "b/c.txt", &sha1, 3, None),
            entry("file", "../escape", &sha1, 3, None),
            entry("file", ".git/config", &sha1, 3, None),
            entry("file", "bad-oid", "not-hex", 3, None),
            entry("file", "huge", &sha1, hub_sync::MAX_FILE_SIZE + 1, None),
            entry("file", "lfs-bad", &sha1, 3, Some("short")),
            entry("file", "a.bin", &sha1, 7, Some(&sha256)),
            entry("file", "b/c.txt", &"c".repeat(40), 9, None),
            entry("symlink", "odd", &sha1, 3, None),
            entry("file", "b-c", &sha1, 3, None),
        ];
        let snapshot = snapshot_of(&"d".repeat(40), blobs, listing);
        let paths: Vec<&str> = snapshot
            .tree("", true)
            .expect("root")
            .expect("a folder")
            .iter()
            .map(|item| item.path())
            .collect();
        // The missing folder `b` is added; each folder is followed by its content.
        assert_eq!(paths, ["a.bin", "b", "b/c.txt", "b-c"]);
        let lfs = snapshot.file("a.bin").expect("a.bin");
        assert_eq!(lfs.blob_path, blobs.join(&sha256));
        assert_eq!(lfs.size, 7);
        // The first of two entries for one path wins.
        assert_eq!(snapshot.file("b/c.txt").expect("b/c.txt").size, 3);
        assert!(snapshot.file("../escape").is_err());
    }
}
