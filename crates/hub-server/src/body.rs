//! Response bodies: small in-memory ones, and files read from disk in blocks on the blocking pool,
//! polled by the connection itself (no task or channel in between), applying body faults (drop,
//! corrupt, stall).

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::task::JoinHandle;
use tokio::time::Sleep;

use crate::fault::BodyFaults;

/// Bytes read from disk at once, and handed to hyper as one frame, with up to [`DEPTH`] reads in
/// flight ahead of the connection: 1 MiB x 3 cost a fifth less server CPU per GiB than the former
/// 256 KiB blocks through a task and a channel, where 4 MiB blocks cost a little less CPU again but
/// more wall time (measured in docs/benchmarks.md's notes). A stream holds at most five blocks
/// (two hyper writes, three being read), so all streams together get big blocks only within
/// [`BIG_BLOCKS`].
const BIG_BLOCK: usize = 1 << 20;
/// Reads in flight ahead of the connection for a stream of big blocks (one for small blocks).
const DEPTH: usize = 3;
/// The block of a stream that finds [`BIG_BLOCKS`] used up: a client opening every allowed
/// connection on large files and reading slowly pins under 1 MiB per connection beyond the budget.
const SMALL_BLOCK: usize = 256 << 10;
/// Bytes of big blocks allocated by all streams of the process at once.
const BIG_BLOCKS: usize = 256 << 20;
/// Blocks a stream keeps for reuse once hyper has written them: each is allocated (and its pages
/// touched) once per response, not once per block.
const SPARE: usize = DEPTH + 1;

/// Bytes of big blocks allocated now, against [`BIG_BLOCKS`].
static BIG_BLOCKS_USED: AtomicUsize = AtomicUsize::new(0);

/// A block's memory; a big one counts against [`BIG_BLOCKS`] while it exists.
struct Buffer {
    bytes: Vec<u8>,
    big: bool,
}

impl Buffer {
    /// A buffer for reads of up to `want` bytes: big while the budget allows and `want` needs more
    /// than a small one, else small.
    fn new(want: u64) -> Buffer {
        let size = usize::try_from(want).map_or(BIG_BLOCK, |want| want.min(BIG_BLOCK));
        let big = size > SMALL_BLOCK
            && BIG_BLOCKS_USED
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    (used + size <= BIG_BLOCKS).then_some(used + size)
                })
                .is_ok();
        Buffer {
            bytes: vec![0; if big { size } else { size.min(SMALL_BLOCK) }],
            big,
        }
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        if self.big {
            BIG_BLOCKS_USED.fetch_sub(self.bytes.len(), Ordering::Relaxed);
        }
    }
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Buffer")
            .field("len", &self.bytes.len())
            .field("big", &self.big)
            .finish()
    }
}

/// Why a streamed body ended early; hyper then closes the connection.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// A [`crate::fault::FaultKind::DropAfter`] fault fired.
    #[error("connection dropped by an injected fault after {0} bytes")]
    Dropped(u64),
    /// The file could not be read while serving it.
    #[error("cannot read `{path}`")]
    Read {
        /// The file served.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

/// A response body.
#[derive(Debug)]
pub enum Body {
    /// Bytes in memory (JSON, errors), or nothing.
    Full(Option<Bytes>),
    /// A file read in blocks.
    Stream(Box<FileStream>),
}

impl Body {
    pub(crate) fn empty() -> Body {
        Body::Full(None)
    }

    pub(crate) fn bytes(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body::Full((!bytes.is_empty()).then_some(bytes))
    }

    /// Streams `length` bytes of `path` from `start`, counting what was handed out in `sent`.
    pub(crate) fn file(
        path: PathBuf,
        start: u64,
        length: u64,
        faults: BodyFaults,
        sent: Arc<AtomicU64>,
    ) -> Body {
        Body::Stream(Box::new(FileStream {
            path: Arc::new(path),
            file: None,
            start,
            length,
            limit: faults.drop_after.map_or(length, |n| n.min(length)),
            handed: 0,
            asked: 0,
            faults,
            stalled: false,
            small: false,
            sent,
            reading: VecDeque::new(),
            pause: None,
            ending: End::Running,
            spare: Arc::new(Mutex::new(Vec::new())),
        }))
    }
}

/// A file body that no fault touches, for a connection that sends it itself (`sendfile(2)`):
/// the file, the offset of its first byte, the bytes promised, and the request's sent counter.
#[derive(Debug)]
pub(crate) struct PlainFile<'a> {
    pub path: &'a Path,
    pub start: u64,
    pub length: u64,
    pub sent: &'a Arc<AtomicU64>,
}

impl Body {
    /// This body as a [`PlainFile`]; `None` for bytes in memory and for a file with body faults
    /// (those are sent frame by frame, so that the faults apply).
    pub(crate) fn plain_file(&self) -> Option<PlainFile<'_>> {
        match self {
            Body::Stream(stream) if stream.faults == BodyFaults::default() => Some(PlainFile {
                path: stream.path.as_ref(),
                start: stream.start,
                length: stream.length,
                sent: &stream.sent,
            }),
            _ => None,
        }
    }
}

/// What a block read returns: the file (opened by the first read) and the block.
type Read = std::io::Result<(Arc<File>, Block)>;

/// A file body: one block read ahead on the blocking pool while hyper writes the previous one.
#[derive(Debug)]
pub struct FileStream {
    path: Arc<PathBuf>,
    /// Opened by the first read.
    file: Option<Arc<File>>,
    /// Offset in the file of the first byte sent.
    start: u64,
    /// Bytes promised (the `Content-Length`).
    length: u64,
    /// Bytes to send before a drop fault breaks the connection (`length` without one).
    limit: u64,
    /// Bytes handed to hyper.
    handed: u64,
    /// Bytes handed out or being read.
    asked: u64,
    faults: BodyFaults,
    stalled: bool,
    /// Set once the stream got a small block (the big ones' budget was used up, or the body is
    /// short): it then reads one block ahead, not [`DEPTH`].
    small: bool,
    sent: Arc<AtomicU64>,
    /// Reads in flight, in file order.
    reading: VecDeque<JoinHandle<Read>>,
    /// An injected stall, or the moment left to flush before a drop fault.
    pause: Option<Pin<Box<Sleep>>>,
    ending: End,
    /// Blocks hyper has finished with, for the next reads.
    spare: Arc<Mutex<Vec<Buffer>>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Running,
    /// The drop fault's pause is running; then the error.
    Dropping,
    /// Ended (done, failed or dropped): nothing more is polled.
    Ended,
}

/// A block handed to hyper; its buffer goes back to its stream's spares when hyper drops it.
struct Block {
    buffer: Buffer,
    filled: usize,
    spare: Arc<Mutex<Vec<Buffer>>>,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("filled", &self.filled)
            .finish_non_exhaustive()
    }
}

impl AsRef<[u8]> for Block {
    fn as_ref(&self) -> &[u8] {
        &self.buffer.bytes[..self.filled]
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        let buffer = std::mem::replace(
            &mut self.buffer,
            Buffer {
                bytes: Vec::new(),
                big: false,
            },
        );
        if let Ok(mut spare) = self.spare.lock()
            && spare.len() < SPARE
        {
            spare.push(buffer);
        }
    }
}

impl FileStream {
    fn read_error(&self, source: std::io::Error) -> BodyError {
        BodyError::Read {
            path: self.path.as_ref().clone(),
            source,
        }
    }

    /// The size of the next read: a block, cut at the end and at a stall point not reached yet;
    /// `None` when the next bytes must wait (a stall is due) or there are none.
    fn next_read(&self) -> Option<u64> {
        let mut want = self.limit - self.asked;
        if let Some((after, _)) = self.faults.stall
            && !self.stalled
        {
            if self.asked >= after {
                return None;
            }
            want = want.min(after - self.asked);
        }
        (want > 0).then_some(want)
    }

    /// Starts reading the next block on the blocking pool, into a spare buffer or a new one.
    fn read_ahead(&mut self) {
        // One file for the whole body: the first read opens it, the others wait for it.
        let depth = match (&self.file, self.small) {
            (None, _) | (_, true) => 1,
            (Some(_), false) => DEPTH,
        };
        while self.reading.len() < depth
            && let Some(want) = self.next_read()
        {
            self.read(want);
        }
    }

    fn read(&mut self, want: u64) {
        let reused = self.spare.lock().ok().and_then(|mut spare| spare.pop());
        let mut buffer = reused.unwrap_or_else(|| Buffer::new(want));
        self.small |= !buffer.big;
        let room = buffer.bytes.len();
        let want = usize::try_from(want).map_or(room, |want| want.min(room));
        let offset = self.start + self.asked;
        self.asked += want as u64;
        let file = self.file.clone();
        let path = self.path.clone();
        let spare = self.spare.clone();
        self.reading.push_back(tokio::task::spawn_blocking(move || {
            let file = match file {
                Some(file) => file,
                None => Arc::new(File::open(path.as_ref())?),
            };
            // Fewer bytes than asked for mean the file shrank: the head promised them.
            file.read_exact_at(&mut buffer.bytes[..want], offset)
                .map_err(|error| match error.kind() {
                    std::io::ErrorKind::UnexpectedEof => std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "file shrank while being served",
                    ),
                    _ => error,
                })?;
            let block = Block {
                buffer,
                filled: want,
                spare,
            };
            Ok((file, block))
        }));
    }

    /// A finished read as the next frame, with the read after it started.
    fn hand_out(&mut self, read: Read) -> Result<Bytes, BodyError> {
        let (file, mut block) = read.map_err(|source| self.read_error(source))?;
        self.file = Some(file);
        if let Some(at) = self.faults.corrupt_at
            && (self.handed..self.handed + block.filled as u64).contains(&at)
        {
            let index = usize::try_from(at - self.handed).expect("inside the block");
            block.buffer.bytes[index] = !block.buffer.bytes[index];
        }
        let filled = block.filled as u64;
        self.handed += filled;
        self.sent.fetch_add(filled, Ordering::SeqCst);
        self.read_ahead();
        Ok(Bytes::from_owner(block))
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        loop {
            if let Some(pause) = &mut self.pause {
                ready!(pause.as_mut().poll(cx));
                self.pause = None;
                if self.ending == End::Dropping {
                    self.ending = End::Ended;
                    return Poll::Ready(Some(Err(BodyError::Dropped(self.limit))));
                }
            }
            if self.ending == End::Ended {
                return Poll::Ready(None);
            }
            if let Some(reading) = self.reading.front_mut() {
                let read = ready!(Pin::new(reading).poll(cx))
                    .unwrap_or_else(|_| Err(std::io::Error::other("file reading task failed")));
                self.reading.pop_front();
                let handed = self.hand_out(read);
                if handed.is_err() {
                    self.ending = End::Ended;
                }
                return Poll::Ready(Some(handed));
            }
            if self.asked >= self.limit {
                if self.limit < self.length {
                    // Give the connection a moment to flush what was sent, then break it.
                    self.ending = End::Dropping;
                    self.pause = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50))));
                    continue;
                }
                self.ending = End::Ended;
                return Poll::Ready(None);
            }
            if let Some((_, duration)) = self.faults.stall
                && self.next_read().is_none()
            {
                self.stalled = true;
                self.pause = Some(Box::pin(tokio::time::sleep(duration)));
                continue;
            }
            self.read_ahead();
        }
    }
}

impl HttpBody for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(stream) => stream
                .poll_next(cx)
                .map(|next| next.map(|block| block.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(bytes) => bytes.is_none(),
            Body::Stream(stream) => stream.handed == stream.length,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(stream) => SizeHint::with_exact(stream.length - stream.handed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn big_blocks_stay_within_their_budget() {
        let mut big: Vec<Buffer> = (0..BIG_BLOCKS / BIG_BLOCK)
            .map(|_| Buffer::new(u64::MAX))
            .collect();
        assert!(big.iter().all(|b| b.big && b.bytes.len() == BIG_BLOCK));
        // The budget is used up: small blocks.
        let small = Buffer::new(u64::MAX);
        assert!(!small.big && small.bytes.len() == SMALL_BLOCK);
        // One big block given back makes room for one.
        drop(big.pop());
        let again = Buffer::new(u64::MAX);
        assert!(again.big && again.bytes.len() == BIG_BLOCK);
        assert!(!Buffer::new(u64::MAX).big);
        drop(big);
        drop(again);
        assert_eq!(BIG_BLOCKS_USED.load(Ordering::Relaxed), 0);
        // A short read never takes a big block.
        let short = Buffer::new(1000);
        assert!(!short.big && short.bytes.len() == 1000);
    }
}
