//! Downloading one file's bytes into a caller's file: resume from an offset, several ranged
//! connections for large files, size and content hash verified before the caller may publish.
//!
//! Each connection copies the body's frames into a batch buffer of the download's pool and writes a
//! full batch at its offset with one `pwrite`; a tracker knows the contiguous prefix that is
//! complete and keeps the batches just written (up to `HELD_BYTES`) for a hasher thread that
//! follows that prefix on a second core: bytes are hashed from memory as the prefix reaches them,
//! and read back from the file only when they did not fit (or were on disk before: a resume). The
//! hash is ready moments after the last byte arrives, and memory stays bounded.
//!
//! The copy is cheaper than what it replaces: frames kept as they came off the connection pinned
//! hyper's read buffer, so most reads went into a freshly allocated one, whose pages the allocator
//! had just given back to the system: 30,000-100,000 page faults per GiB (about a quarter of a
//! second of CPU here). A batch's buffer goes back to the pool once written and hashed, and hyper
//! reads again into the buffer it owns alone.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use hub_cache::etag::Etag;
use hub_cache::hash::{HashKind, Hasher};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, StatusCode};

use crate::error::Error;
use crate::transport::{Redirects, Transport};

/// Bytes gathered before one positional write.
const WRITE_BUFFER: usize = 1 << 20;
/// Full-size batch buffers a download keeps for reuse once written and hashed (beyond them,
/// buffers are freed): with the buffers in use, the held ones and the written ones, memory stays
/// that of the bytes in flight.
const SPARE_BUFFERS: usize = HELD_BYTES / WRITE_BUFFER;
/// Completed bytes kept in memory for the hasher at most (beyond it, they are read back).
const HELD_BYTES: usize = 8 << 20;
/// Bytes read back from the file at once by the hasher.
const READ_BACK: usize = 1 << 20;
/// Files at most this large are hashed on the task that downloaded them, after the last byte,
/// from the page cache: a hasher thread per file costs more than hashing it (a 16 KiB file is
/// tens of microseconds of SHA-256, a thread start and join are a `clone3` and a dozen futex
/// calls). Snapshots of many small files are made of these.
const INLINE_HASH_LIMIT: u64 = 128 * 1024;
/// Writes at most this large are done on the task itself rather than on the blocking pool (a
/// `pwrite` of a few pages into the page cache is cheaper than the hand-off).
const INLINE_WRITE_LIMIT: usize = 64 * 1024;
/// While bytes keep arriving, the buffer is written (and progress reported) at least this often.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

/// When and how a file is fetched over several ranged connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParallelOptions {
    /// Files at least this large (bytes still to fetch) use several connections.
    pub threshold: u64,
    /// Size of each ranged request.
    pub chunk_size: u64,
    /// Connections at once for one file.
    pub connections: usize,
    /// The first range is fetched alone; when it arrives at least this fast (bytes per second:
    /// within `chunk_size / solo_speed` seconds), the rest of the file follows on that one
    /// connection in one request; else, from that moment, the other connections fetch the
    /// following ranges beside it (a slow link loses that fraction of a second, once). On a fast link, more connections only compete for the cores with the hash
    /// and the writes (and arrive out of order, to be read back for the hash); they pay off when
    /// each connection is slow (latency, a per-connection cap). `u64::MAX`: always split.
    pub solo_speed: u64,
}

impl Default for ParallelOptions {
    fn default() -> ParallelOptions {
        ParallelOptions {
            threshold: 64 * 1024 * 1024,
            chunk_size: 16 * 1024 * 1024,
            connections: 4,
            solo_speed: 256 * 1024 * 1024,
        }
    }
}

/// What to download and what it must turn out to be.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    /// The resolve URL on the Hub (decides where the token may go; re-resolved when a signed CDN
    /// location expires).
    pub resolve_url: String,
    /// Where the bytes are (`Resolved::location`).
    pub location: String,
    /// The expected size, when known.
    pub expected_size: Option<u64>,
    /// The blob name (normalised ETag); when it is a sha256 or a git blob sha1 (either case), the
    /// content is verified against it.
    pub etag: Etag,
    /// Bytes already in the file (a partial download to continue).
    pub resume_from: u64,
}

/// The result of a finished download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// The file's full size in bytes (resumed prefix included), checked against the expected size
    /// when one was given.
    pub size: u64,
    /// The verified hash kind, `None` when the ETag is not a content hash (size checked only).
    pub verified: Option<HashKind>,
}

/// Progress of one file, reported as bytes land on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes of the file written so far, resumed prefix included (with parallel ranges, the sum
    /// of what every range wrote).
    pub done: u64,
    /// The file's size in bytes, when known.
    pub total: Option<u64>,
}

/// The contiguous prefix of the file that is complete, shared by writers and the hasher, with
/// in-memory copies of completed ranges the hasher has not reached yet.
struct Tracker {
    state: Mutex<TrackerState>,
    changed: Condvar,
    /// Whether completed ranges are kept in memory for a hasher.
    hashing: bool,
}

struct TrackerState {
    /// Completed intervals beyond the watermark, start → end.
    pending: BTreeMap<u64, u64>,
    watermark: u64,
    /// Completed batches at or beyond the hashed position, start → batch; at most [`HELD_BYTES`]
    /// of buffers in all (a batch that does not fit is read back from the file instead).
    held: BTreeMap<u64, Batch>,
    held_bytes: usize,
    cancelled: bool,
}

/// Batch buffers of one download, kept for reuse (see the module docs).
#[derive(Default)]
struct Pool {
    spare: Mutex<Vec<Vec<u8>>>,
}

impl Pool {
    /// An empty buffer for up to `want` bytes: a spare full-size one when `want` fills one, else
    /// a new one of just that size.
    fn take(&self, want: u64) -> Vec<u8> {
        let want = usize::try_from(want).map_or(WRITE_BUFFER, |want| want.min(WRITE_BUFFER));
        if want == WRITE_BUFFER
            && let Some(buffer) = self.lock().pop()
        {
            return buffer;
        }
        Vec::with_capacity(want)
    }

    fn give_back(&self, mut buffer: Vec<u8>) {
        if buffer.capacity() >= WRITE_BUFFER {
            let mut spare = self.lock();
            if spare.len() < SPARE_BUFFERS {
                buffer.clear();
                spare.push(buffer);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Consecutive bytes of one body, copied into a buffer of the download's pool (returned to it when
/// dropped), written at once.
struct Batch {
    bytes: Vec<u8>,
    pool: Arc<Pool>,
}

impl Batch {
    /// An empty batch; its buffer is taken from `pool` by the first [`Batch::fill`].
    fn new(pool: &Arc<Pool>) -> Batch {
        Batch {
            bytes: Vec::new(),
            pool: pool.clone(),
        }
    }

    fn len(&self) -> usize {
        self.bytes.len()
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The memory the batch holds: its buffer's capacity, which is what [`HELD_BYTES`] bounds (a
    /// server that trickles a few bytes per [`PROGRESS_INTERVAL`] makes batches of a few bytes
    /// in full-size buffers).
    fn footprint(&self) -> usize {
        self.bytes.capacity()
    }

    /// Whether the buffer has no room left.
    fn is_full(&self) -> bool {
        self.bytes.capacity() > 0 && self.bytes.len() == self.bytes.capacity()
    }

    /// Copies the start of `frame` that fits, taking a buffer for up to `want` bytes first when
    /// the batch has none; returns how many bytes were copied (all of `frame` unless the batch
    /// is then full).
    fn fill(&mut self, frame: &[u8], want: u64) -> usize {
        if self.bytes.capacity() == 0 {
            self.bytes = self.pool.take(want.max(frame.len() as u64));
        }
        let n = frame.len().min(self.bytes.capacity() - self.bytes.len());
        self.bytes.extend_from_slice(&frame[..n]);
        n
    }

    /// Writes every byte at `offset`.
    fn write_all_at(&self, file: &File, offset: u64) -> std::io::Result<()> {
        file.write_all_at(&self.bytes, offset)
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        self.pool.give_back(std::mem::take(&mut self.bytes));
    }
}

/// What the hasher does next.
enum Step {
    /// Hash these bytes (the next ones, in memory).
    Memory(Batch),
    /// Read the next bytes back from the file, up to this offset.
    Disk(u64),
}

impl Tracker {
    fn new(watermark: u64, hashing: bool) -> Tracker {
        Tracker {
            state: Mutex::new(TrackerState {
                pending: BTreeMap::new(),
                watermark,
                held: BTreeMap::new(),
                held_bytes: 0,
                cancelled: false,
            }),
            changed: Condvar::new(),
            hashing,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks `batch`, written at `start`, complete. The hasher may keep the bytes (they are then
    /// not read back from the file).
    fn complete(&self, start: u64, batch: Batch) {
        let end = start + batch.len() as u64;
        let mut state = self.lock();
        // Bytes below the watermark were complete already (and may be hashed): never again.
        if start >= state.watermark && end > start {
            state.pending.insert(start, end);
            if self.hashing && state.held_bytes + batch.footprint() <= HELD_BYTES {
                state.held_bytes += batch.footprint();
                state.held.insert(start, batch);
            }
            while let Some(end) = {
                let w = state.watermark;
                state.pending.remove(&w)
            } {
                state.watermark = end;
            }
            self.changed.notify_all();
        }
    }

    fn cancel(&self) {
        self.lock().cancelled = true;
        self.changed.notify_all();
    }

    /// Waits until the bytes after `hashed` are complete and says where they are; `None` when
    /// cancelled.
    fn next_step(&self, hashed: u64) -> Option<Step> {
        let mut state = self.lock();
        loop {
            if state.cancelled {
                return None;
            }
            if state.watermark > hashed {
                if let Some(batch) = state.held.remove(&hashed) {
                    state.held_bytes -= batch.footprint();
                    return Some(Step::Memory(batch));
                }
                let next_held = state
                    .held
                    .range(hashed..)
                    .next()
                    .map_or(u64::MAX, |(start, _)| *start);
                return Some(Step::Disk(state.watermark.min(next_held)));
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Why one range stopped; progress made so far is kept for the retry.
struct RangeFailure {
    error: Error,
    /// The server ignored `Range` (answered 200 to a ranged request).
    range_ignored: bool,
}

impl From<Error> for RangeFailure {
    fn from(error: Error) -> RangeFailure {
        RangeFailure {
            error,
            range_ignored: false,
        }
    }
}

/// The ranges of `[start, total)`, `chunk` bytes each, taken in order by the connections.
struct Ranges {
    /// The index of the next range to take.
    next: AtomicU64,
    /// Set when a connection gave up: the others take no new range.
    failed: AtomicBool,
    start: u64,
    total: u64,
    chunk: u64,
}

impl Ranges {
    fn count(&self) -> u64 {
        (self.total - self.start).div_ceil(self.chunk)
    }
}

/// What one download shares between its connections.
struct Transfer {
    transport: Arc<Transport>,
    parallel: ParallelOptions,
    request: DownloadRequest,
    file: Arc<File>,
    tracker: Tracker,
    /// Batch buffers for reuse.
    pool: Arc<Pool>,
    /// Bytes on disk so far, for progress.
    done: AtomicU64,
    /// Where the bytes are now: a signed CDN location may be replaced by a fresh one.
    location: Mutex<String>,
    on_progress: Box<dyn Fn(Progress) + Send + Sync>,
    /// The expected size, `None` when the Hub did not give one.
    total: Option<u64>,
}

/// Downloads `request` into `file`, continuing after `resume_from` bytes, and verifies size and
/// hash (see `Client::download`).
pub(crate) async fn download(
    transport: Arc<Transport>,
    parallel: ParallelOptions,
    request: &DownloadRequest,
    file: File,
    on_progress: impl Fn(Progress) + Send + Sync + 'static,
) -> Result<Downloaded, Error> {
    {
        let kind = request.etag.hash_kind();
        let resume_from = match request.expected_size {
            Some(total) if request.resume_from <= total => request.resume_from,
            _ => 0,
        };
        let transfer = Arc::new(Transfer {
            transport,
            parallel,
            request: request.clone(),
            file: Arc::new(file),
            tracker: Tracker::new(
                resume_from,
                kind.is_some()
                    && request
                        .expected_size
                        .is_some_and(|total| total > INLINE_HASH_LIMIT),
            ),
            pool: Arc::default(),
            done: AtomicU64::new(resume_from),
            location: Mutex::new(request.location.clone()),
            on_progress: Box::new(on_progress),
            total: request.expected_size,
        });
        transfer
            .file
            .set_len(resume_from)
            .map_err(|source| transfer.io_error(source))?;
        (transfer.on_progress)(Progress {
            done: resume_from,
            total: transfer.total,
        });
        match transfer.total {
            Some(total) => transfer.download_known_size(kind, resume_from, total).await,
            None => transfer.download_unknown_size(kind).await,
        }
    }
}

impl Transfer {
    fn io_error(&self, source: std::io::Error) -> Error {
        Error::Io {
            url: self.request.location.clone(),
            source,
        }
    }

    fn hash_mismatch(&self, kind: HashKind, actual: String) -> Error {
        Error::HashMismatch {
            url: self.request.location.clone(),
            kind,
            expected: self.request.etag.to_string(),
            actual,
        }
    }

    /// Fetches `[resume_from, total)` while a hasher thread follows the written prefix (a small
    /// file is hashed once complete, on this task: see [`INLINE_HASH_LIMIT`]).
    async fn download_known_size(
        self: &Arc<Self>,
        kind: Option<HashKind>,
        resume_from: u64,
        total: u64,
    ) -> Result<Downloaded, Error> {
        let inline = total <= INLINE_HASH_LIMIT;
        let hasher = kind
            .filter(|_| !inline)
            .map(|kind| spawn_hasher(kind, total, self.clone()));
        if let Err(error) = self.fetch_all(resume_from, total).await {
            self.tracker.cancel();
            if let Some(hasher) = hasher {
                let _ = tokio::task::spawn_blocking(move || hasher.join()).await;
            }
            return Err(error);
        }
        let size = self.file.metadata().map_err(|e| self.io_error(e))?.len();
        if size != total {
            self.tracker.cancel();
            return Err(Error::SizeMismatch {
                url: self.request.location.clone(),
                expected: total,
                actual: size,
            });
        }
        if let (true, Some(kind)) = (inline, kind) {
            // `total` is at most INLINE_HASH_LIMIT and the file was just checked to be that long.
            let mut bytes = vec![0u8; usize::try_from(total).unwrap_or(0)];
            self.file
                .read_exact_at(&mut bytes, 0)
                .map_err(|e| self.io_error(e))?;
            let mut hasher = Hasher::new(kind, total);
            hasher.update(&bytes);
            let digest = hasher.finish();
            if !self.request.etag.matches_digest(&digest) {
                return Err(self.hash_mismatch(kind, digest));
            }
        }
        if let (Some(hasher), Some(kind)) = (hasher, kind) {
            let digest = tokio::task::spawn_blocking(move || hasher.join())
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
                .ok_or_else(|| {
                    self.io_error(std::io::Error::other(
                        "the hash of the download could not be computed",
                    ))
                })?;
            if !self.request.etag.matches_digest(&digest) {
                return Err(self.hash_mismatch(kind, digest));
            }
        }
        Ok(Downloaded {
            size: total,
            verified: kind,
        })
    }

    /// No expected size (the metadata had none): one stream, then hash the whole file.
    async fn download_unknown_size(
        self: &Arc<Self>,
        kind: Option<HashKind>,
    ) -> Result<Downloaded, Error> {
        let mut position = 0;
        let url = self.request.location.clone();
        match self.fetch_range(&url, &mut position, u64::MAX, false).await {
            Ok(()) => {}
            // The body simply ended: with no size to reach, that is the end of the file.
            Err(failure) if matches!(failure.error, Error::Transport { .. }) && position > 0 => {}
            Err(failure) => return Err(failure.error),
        }
        let size = self.file.metadata().map_err(|e| self.io_error(e))?.len();
        if let Some(kind) = kind {
            let file = self.file.clone();
            let digest = tokio::task::spawn_blocking(move || {
                hub_cache::hash::hash_reader(kind, size, ReadAt::new(&file))
            })
            .await
            .map_err(|join| self.io_error(std::io::Error::other(join.to_string())))?
            .map_err(|e| self.io_error(e))?;
            if !self.request.etag.matches_digest(&digest) {
                return Err(self.hash_mismatch(kind, digest));
            }
        }
        Ok(Downloaded {
            size,
            verified: kind,
        })
    }

    /// Fetches `[start, total)`: one connection, or several ranged ones for a large remainder.
    async fn fetch_all(self: &Arc<Self>, start: u64, total: u64) -> Result<(), Error> {
        if start == total {
            return Ok(());
        }
        let parallel = &self.parallel;
        let remaining = total - start;
        if parallel.connections <= 1 || remaining < parallel.threshold || parallel.chunk_size == 0 {
            return self.fetch_range_with_retries(start, total, false).await;
        }
        // The first range alone: when it completes within the time `solo_speed` allows, its
        // connection takes the rest in one request; else the other connections start on the
        // following ranges, and the first joins them when its range is done.
        let chunk = parallel.chunk_size;
        let probe_end = start.saturating_add(chunk).min(total);
        let probe = self.fetch_range_with_retries(start, probe_end, true);
        tokio::pin!(probe);
        let budget = (parallel.solo_speed > 0).then(|| {
            Duration::try_from_secs_f64((probe_end - start) as f64 / parallel.solo_speed as f64)
                .unwrap_or(Duration::MAX)
        });
        let fast = match budget {
            None => Some(probe.as_mut().await),
            Some(budget) => tokio::time::timeout(budget, probe.as_mut()).await.ok(),
        };
        match fast {
            Some(Err(error)) => return Err(error),
            Some(Ok(())) if probe_end == total => return Ok(()),
            Some(Ok(())) => return self.fetch_range_with_retries(probe_end, total, true).await,
            None => {}
        }
        // Ranges are computed as they are taken, never listed up front: the size comes from a
        // header, and must not size an allocation.
        let ranges = Arc::new(Ranges {
            next: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            start: probe_end,
            total,
            chunk,
        });
        let mut workers = tokio::task::JoinSet::new();
        let others = u64::try_from(parallel.connections - 1).unwrap_or(u64::MAX);
        for _ in 0..others.min(ranges.count()) {
            let (transfer, ranges) = (self.clone(), ranges.clone());
            workers.spawn(async move { transfer.take_ranges(&ranges).await });
        }
        let first = async {
            if let Err(error) = probe.await {
                ranges.failed.store(true, Ordering::Relaxed);
                return Err(error);
            }
            self.take_ranges(&ranges).await
        };
        let rest = async {
            let mut first_error = None;
            while let Some(joined) = workers.join_next().await {
                let result = joined.unwrap_or_else(|join| {
                    Err(self.io_error(std::io::Error::other(join.to_string())))
                });
                if let Err(error) = result {
                    first_error.get_or_insert(error);
                }
            }
            first_error.map_or(Ok(()), Err)
        };
        let (first, rest) = tokio::join!(first, rest);
        first.and(rest)
    }

    /// Fetches the next range not taken yet, until none is left or a connection failed.
    async fn take_ranges(&self, ranges: &Ranges) -> Result<(), Error> {
        while !ranges.failed.load(Ordering::Relaxed) {
            let index = ranges.next.fetch_add(1, Ordering::Relaxed);
            if index >= ranges.count() {
                break;
            }
            let from = ranges.start + index * ranges.chunk;
            let to = from.saturating_add(ranges.chunk).min(ranges.total);
            if let Err(error) = self.fetch_range_with_retries(from, to, true).await {
                ranges.failed.store(true, Ordering::Relaxed);
                return Err(error);
            }
        }
        Ok(())
    }

    /// Fetches `[from, to)` with retries, resuming inside the range after each failure.
    async fn fetch_range_with_retries(
        &self,
        from: u64,
        to: u64,
        parallel: bool,
    ) -> Result<(), Error> {
        let policy = self.transport.retry();
        let mut position = from;
        let mut failures = 0u32;
        let mut relocations = 0u32;
        // The server ignored `Range` on a whole-file download: ask for the whole body again and
        // skip what is on disk already (those bytes may be hashed: they are never rewritten).
        let mut whole = false;
        loop {
            let current = self
                .location
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            let ranged = !whole && (parallel || position > 0);
            let failure = match self.fetch_range(&current, &mut position, to, ranged).await {
                Ok(()) => return Ok(()),
                Err(failure) => failure,
            };
            if failure.range_ignored {
                if parallel || from > 0 {
                    return Err(Error::BadResponse {
                        url: current,
                        reason: "the server ignored the Range header".to_owned(),
                    });
                }
                // Whole-file download from a server that ignores Range: the whole body again.
                whole = true;
                failures += 1;
                if failures > policy.max_retries {
                    return Err(failure.error);
                }
                continue;
            }
            let error = failure.error;
            // A signed CDN location that expired or covers one range only: ask the Hub again.
            let expired = matches!(error.status(), Some(403) | Some(410))
                || matches!(
                    &error,
                    Error::Status {
                        status: 400 | 401,
                        ..
                    }
                );
            if expired && current != self.request.resolve_url && relocations < 3 {
                relocations += 1;
                tracing::info!(url = %crate::url::shown(&current), "download location refused; resolving it again");
                let fresh = crate::api::resolve(&self.transport, &self.request.resolve_url).await?;
                *self.location.lock().unwrap_or_else(|p| p.into_inner()) = fresh.location;
                continue;
            }
            if !error.is_retryable() || failures >= policy.max_retries {
                return Err(error);
            }
            failures += 1;
            let delay = policy.delay(failures, error.retry_after());
            tracing::warn!(
                "{error}; resuming at byte {position} in {:.1}s [retry {failures}/{}]",
                delay.as_secs_f64(),
                policy.max_retries
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One request for `[*position, to)`; advances `*position` as bytes are written. Unranged, the
    /// body starts at byte 0: the bytes before `*position` are skipped.
    async fn fetch_range(
        &self,
        start_url: &str,
        position: &mut u64,
        to: u64,
        ranged: bool,
    ) -> Result<(), RangeFailure> {
        if *position >= to {
            return Ok(());
        }
        let mut headers = HeaderMap::new();
        if ranged {
            let value = format!("bytes={}-{}", *position, to - 1);
            headers.insert(
                header::RANGE,
                HeaderValue::from_str(&value).expect("a byte range is a valid header value"),
            );
        }
        let answer = self
            .transport
            .fetch(
                Method::GET,
                start_url,
                &self.request.resolve_url,
                &headers,
                Redirects::Any,
                self.transport.download_timeout(),
            )
            .await?;
        let url = answer.url().to_owned();
        let status = answer.status();
        if ranged && status == StatusCode::OK {
            return Err(RangeFailure {
                error: Error::BadResponse {
                    url,
                    reason: "the server ignored the Range header".to_owned(),
                },
                range_ignored: true,
            });
        }
        if ranged && status != StatusCode::PARTIAL_CONTENT {
            return Err(Error::BadResponse {
                url,
                reason: format!("unexpected status {status} for a ranged request"),
            }
            .into());
        }
        let body_start = if ranged { *position } else { 0 };
        let mut skip = *position - body_start;
        let expected_len = to - body_start;
        if let Some(length) = answer
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && to != u64::MAX
            && length != expected_len
        {
            return Err(Error::BadResponse {
                url,
                reason: format!("Content-Length {length} where {expected_len} bytes were expected"),
            }
            .into());
        }
        let mut body = self.transport.download_body(answer);
        let mut buffer = Batch::new(&self.pool);
        // On a slow link the buffer also goes to disk every PROGRESS_INTERVAL, so progress (and a
        // resumable partial file) advances steadily rather than once per WRITE_BUFFER.
        let mut last_flush = tokio::time::Instant::now();
        loop {
            let frame = if buffer.is_empty() {
                body.next().await
            } else {
                // Bytes are waiting in memory: when nothing more arrives for a while (a stall, a
                // trickle), they go to disk now instead of at the next chunk. Dropping the pending
                // read is safe (no frame is lost) and restarts its stall deadline at most once per
                // pause, since the buffer is empty afterwards.
                match tokio::time::timeout_at(last_flush + PROGRESS_INTERVAL, body.next()).await {
                    Ok(frame) => frame,
                    Err(_) => {
                        self.flush(&mut buffer, position, &url).await?;
                        last_flush = tokio::time::Instant::now();
                        continue;
                    }
                }
            };
            let chunk = match frame.transpose() {
                None => break,
                Some(Err(error)) => {
                    // Keep what arrived, then report.
                    self.flush(&mut buffer, position, &url).await?;
                    return Err(error.into());
                }
                Some(Ok(chunk)) if skip > 0 => {
                    let skipped = chunk.len().min(usize::try_from(skip).unwrap_or(usize::MAX));
                    skip -= skipped as u64;
                    chunk.slice(skipped..)
                }
                Some(Ok(chunk)) => chunk,
            };
            if position.saturating_add((buffer.len() + chunk.len()) as u64) > to {
                return Err(Error::BadResponse {
                    url,
                    reason: format!("more than the {expected_len} bytes expected"),
                }
                .into());
            }
            let mut rest = &chunk[..];
            while !rest.is_empty() {
                let want = to - *position - buffer.len() as u64;
                rest = &rest[buffer.fill(rest, want)..];
                if buffer.is_full() || last_flush.elapsed() >= PROGRESS_INTERVAL {
                    self.flush(&mut buffer, position, &url).await?;
                    last_flush = tokio::time::Instant::now();
                }
            }
        }
        self.flush(&mut buffer, position, &url).await?;
        if to != u64::MAX && *position < to {
            let received = *position - body_start - skip;
            return Err(Error::Transport {
                url,
                source: format!("the body ended after {received} of {expected_len} bytes").into(),
            }
            .into());
        }
        Ok(())
    }

    /// Writes `buffer` at `*position`, marks it complete and reports progress; empties the buffer
    /// and advances `*position`.
    async fn flush(&self, buffer: &mut Batch, position: &mut u64, url: &str) -> Result<(), Error> {
        if buffer.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(buffer, Batch::new(&self.pool));
        let offset = *position;
        let (result, data) = if data.len() <= INLINE_WRITE_LIMIT {
            (data.write_all_at(&self.file, offset), data)
        } else {
            let writer = self.file.clone();
            tokio::task::spawn_blocking(move || {
                let result = data.write_all_at(&writer, offset);
                (result, data)
            })
            .await
            .map_err(|join| Error::Io {
                url: url.to_owned(),
                source: std::io::Error::other(join.to_string()),
            })?
        };
        result.map_err(|source| Error::Io {
            url: url.to_owned(),
            source,
        })?;
        let len = data.len() as u64;
        self.tracker.complete(offset, data);
        *position = offset + len;
        let done = self.done.fetch_add(len, Ordering::Relaxed) + len;
        (self.on_progress)(Progress {
            done,
            total: self.total,
        });
        Ok(())
    }
}

/// Hashes `[0, total)` as the tracker's watermark advances: from the connections' buffers when
/// the tracker kept them, else read back from `file`; `None` when cancelled.
fn spawn_hasher(
    kind: HashKind,
    total: u64,
    transfer: Arc<Transfer>,
) -> std::thread::JoinHandle<Option<String>> {
    std::thread::spawn(move || {
        let (file, tracker) = (&transfer.file, &transfer.tracker);
        let mut hasher = Hasher::new(kind, total);
        let mut hashed = 0u64;
        let mut buffer = Vec::new();
        while hashed < total {
            match tracker.next_step(hashed)? {
                Step::Memory(batch) => {
                    hasher.update(&batch.bytes);
                    hashed += batch.len() as u64;
                }
                Step::Disk(end) => {
                    if buffer.is_empty() {
                        buffer = vec![0u8; READ_BACK];
                    }
                    while hashed < end {
                        let n = ((end - hashed) as usize).min(buffer.len());
                        file.read_exact_at(&mut buffer[..n], hashed).ok()?;
                        hasher.update(&buffer[..n]);
                        hashed += n as u64;
                    }
                }
            }
        }
        Some(hasher.finish())
    })
}

/// A `Read` over a file by position (the file handle is shared).
struct ReadAt<'a> {
    file: &'a File,
    position: u64,
}

impl<'a> ReadAt<'a> {
    fn new(file: &'a File) -> ReadAt<'a> {
        ReadAt { file, position: 0 }
    }
}

impl std::io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.file.read_at(buf, self.position)?;
        self.position += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_batches_are_bounded_by_their_buffers_not_their_bytes() {
        // A trickling connection ahead of the prefix completes batches of ten bytes, each in a
        // full-size buffer: the tracker keeps only as many as HELD_BYTES of buffers.
        let pool = Arc::new(Pool::default());
        let tracker = Tracker::new(0, true);
        for i in 1..=100u64 {
            let mut batch = Batch::new(&pool);
            assert_eq!(batch.fill(&[7; 10], u64::MAX), 10);
            tracker.complete(i * 10, batch);
        }
        let state = tracker.lock();
        assert_eq!(state.held.len(), HELD_BYTES / WRITE_BUFFER);
        assert!(state.held_bytes <= HELD_BYTES);
        assert_eq!(state.pending.len(), 100);
    }

    #[test]
    fn a_batch_copies_what_fits_and_its_buffer_is_reused_once_dropped() {
        let pool = Arc::new(Pool::default());
        let mut batch = Batch::new(&pool);
        let frame: Vec<u8> = (0..WRITE_BUFFER / 3 + 5).map(|i| i as u8).collect();
        let mut copied = Vec::new();
        // Frames that do not divide the buffer: the last one is cut where the buffer is full.
        let mut rest: &[u8] = &[];
        for _ in 0..3 {
            let n = batch.fill(&frame, u64::MAX);
            copied.extend_from_slice(&frame[..n]);
            rest = &frame[n..];
        }
        assert!(batch.is_full());
        assert_eq!(batch.len(), WRITE_BUFFER);
        assert_eq!(rest.len(), 3 * frame.len() - WRITE_BUFFER);
        assert_eq!(batch.bytes, copied);
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("out");
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("create");
        file.write_all_at(&[0xAA; 5], 0).expect("prefix");
        batch.write_all_at(&file, 5).expect("written");
        let mut expected = vec![0xAA; 5];
        expected.extend_from_slice(&copied);
        assert_eq!(std::fs::read(&path).expect("read"), expected);
        // Dropped (written and hashed), its memory serves the next batch: no fresh pages.
        let address = batch.bytes.as_ptr();
        drop(batch);
        let mut next = Batch::new(&pool);
        assert_eq!(next.fill(rest, u64::MAX), rest.len());
        assert_eq!(next.bytes.as_ptr(), address);
        assert_eq!(next.bytes, rest);
        // A short body's batch takes a buffer of its size, not a full one.
        let mut short = Batch::new(&pool);
        assert_eq!(short.fill(b"abc", 10), 3);
        assert!(short.bytes.capacity() < WRITE_BUFFER);
        // The pool keeps only so many spares.
        let many: Vec<Batch> = (0..SPARE_BUFFERS + 3)
            .map(|_| {
                let mut batch = Batch::new(&pool);
                batch.fill(b"x", u64::MAX);
                batch
            })
            .collect();
        drop(many);
        drop(next);
        assert_eq!(pool.lock().len(), SPARE_BUFFERS);
    }
}
