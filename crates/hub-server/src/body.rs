//! Response bodies: small in-memory ones, and files streamed from disk in chunks by a task that
//! also applies body faults (drop, corrupt, stall).

use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

use crate::fault::BodyFaults;

const CHUNK: usize = 64 * 1024;

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
    /// A file streamed by a reading task.
    Stream {
        receiver: mpsc::Receiver<Result<Bytes, BodyError>>,
        remaining: u64,
    },
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
        let (sender, receiver) = mpsc::channel(4);
        tokio::spawn(stream_file(path, start, length, faults, sent, sender));
        Body::Stream {
            receiver,
            remaining: length,
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
            Body::Stream {
                receiver,
                remaining,
            } => match receiver.poll_recv(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    *remaining = remaining.saturating_sub(chunk.len() as u64);
                    Poll::Ready(Some(Ok(Frame::data(chunk))))
                }
                Poll::Ready(Some(Err(error))) => Poll::Ready(Some(Err(error))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(bytes) => bytes.is_none(),
            Body::Stream { remaining, .. } => *remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream { remaining, .. } => SizeHint::with_exact(*remaining),
        }
    }
}

async fn stream_file(
    path: PathBuf,
    start: u64,
    length: u64,
    faults: BodyFaults,
    sent: Arc<AtomicU64>,
    sender: mpsc::Sender<Result<Bytes, BodyError>>,
) {
    let read_error = |source| BodyError::Read {
        path: path.clone(),
        source,
    };
    let mut file = match tokio::fs::File::open(&path).await {
        Ok(file) => file,
        Err(source) => {
            let _ = sender.send(Err(read_error(source))).await;
            return;
        }
    };
    if let Err(source) = file.seek(std::io::SeekFrom::Start(start)).await {
        let _ = sender.send(Err(read_error(source))).await;
        return;
    }
    let limit = faults.drop_after.map_or(length, |n| n.min(length));
    let mut offset = 0u64;
    let mut stalled = false;
    let mut buffer = vec![0u8; CHUNK];
    while offset < limit {
        // Cut chunks at the stall point so the stall happens exactly there.
        let mut want = (limit - offset).min(CHUNK as u64);
        if let Some((after, _)) = faults.stall
            && !stalled
            && after > offset
        {
            want = want.min(after - offset);
        }
        if let Some((after, duration)) = faults.stall
            && !stalled
            && offset >= after
        {
            stalled = true;
            tokio::time::sleep(duration).await;
        }
        let want = usize::try_from(want).expect("a chunk fits in memory");
        let read = match file.read(&mut buffer[..want]).await {
            Ok(0) => {
                let source = std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "file shrank while being served",
                );
                let _ = sender.send(Err(read_error(source))).await;
                return;
            }
            Ok(read) => read,
            Err(source) => {
                let _ = sender.send(Err(read_error(source))).await;
                return;
            }
        };
        let mut chunk = buffer[..read].to_vec();
        if let Some(at) = faults.corrupt_at
            && (offset..offset + read as u64).contains(&at)
        {
            let index = usize::try_from(at - offset).expect("inside the chunk");
            chunk[index] = !chunk[index];
        }
        if sender.send(Ok(Bytes::from(chunk))).await.is_err() {
            return; // the client went away
        }
        offset += read as u64;
        sent.fetch_add(read as u64, Ordering::SeqCst);
    }
    if limit < length {
        // Give the connection a moment to flush what was sent, then break it.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = sender.send(Err(BodyError::Dropped(limit))).await;
    }
}
