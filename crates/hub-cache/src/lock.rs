//! Cross-process locks on the same files Python's `filelock.FileLock` locks, so both libraries exclude
//! each other (`utils/_fixes.py::WeakFileLock` in 2.x).
//!
//! ```text
//! <cache>/.locks/<repo_folder>/<etag>.lock                  around one blob download (Cache::blob_lock_path)
//! <local_dir>/.cache/huggingface/download/<path>.lock       around a local_dir download
//! ```
//!
//! On POSIX the lock is `flock(LOCK_EX)` on the whole file (std's `File::lock`/`try_lock` are `flock` on
//! Linux), the same as `filelock.UnixFileLock`. A new lock file gets mode 0o664 (group-writable, as 2.x);
//! lock files stay on disk after release. Waiting has no hard timeout unless asked, and logs
//! `Still waiting to acquire lock on {path} (elapsed: {s:.1f} seconds)` at INFO every 10 seconds. Filesystems
//! without `flock` (upstream falls back to a `SoftFileLock`) are reported as an error here.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::fs::Dir;

/// Upstream's `FILELOCK_LOG_EVERY_SECONDS`.
pub const LOG_EVERY: Duration = Duration::from_secs(10);

/// Mode of a newly created lock file (2.x passes `mode=0o664` to `FileLock`).
pub const LOCK_FILE_MODE: u32 = 0o664;

/// How a lock on a file is taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileLock {
    path: PathBuf,
    mode: u32,
    timeout: Option<Duration>,
    log_every: Duration,
    poll_interval: Duration,
    /// A trusted folder above the lock file: the folders between them are reached without
    /// following a link ([`FileLock::beneath`]).
    root: Option<PathBuf>,
}

/// Why a lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock was held elsewhere for longer than [`FileLock::with_timeout`] allows.
    #[error("timed out after {waited:.1?} waiting for the lock on `{path}`")]
    Timeout {
        /// The lock file.
        path: PathBuf,
        /// How long this process waited.
        waited: Duration,
    },
    /// The lock file (or its folder) could not be created, opened or locked.
    #[error("cannot {action} lock file `{path}`")]
    Io {
        /// What was being done (`create`, `open`, `lock`...), for the message.
        action: &'static str,
        /// The lock file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}

/// A held lock: released when dropped (the lock file stays on disk).
#[derive(Debug)]
pub struct Guard {
    file: File,
    path: PathBuf,
}

impl Guard {
    /// The lock file held.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // Closing the descriptor releases the flock too; unlocking first makes it explicit. Errors are
        // swallowed, as upstream's `WeakFileLock` does on release.
        let _ = self.file.unlock();
    }
}

impl FileLock {
    /// A lock on `path`: no timeout, INFO log every 10 s, polling every 50 ms (filelock's default).
    pub fn new(path: impl Into<PathBuf>) -> FileLock {
        FileLock {
            path: path.into(),
            mode: LOCK_FILE_MODE,
            timeout: None,
            log_every: LOG_EVERY,
            poll_interval: Duration::from_millis(50),
            root: None,
        }
    }

    /// The folders between the trusted `root` (the cache root) and the lock file are created and
    /// opened without following a link, so a link planted in `.locks/` is refused rather than
    /// written through. Without it (or for a lock file outside `root`), the folders are reached by
    /// path; the lock file itself is never reached through a link.
    pub fn beneath(mut self, root: impl Into<PathBuf>) -> FileLock {
        self.root = Some(root.into());
        self
    }

    /// Mode of a newly created lock file, set exactly (the umask ignored); [`LOCK_FILE_MODE`] unless
    /// changed (the shared blob store's locks are 0o666).
    pub fn with_mode(mut self, mode: u32) -> FileLock {
        self.mode = mode;
        self
    }

    /// Give up with [`LockError::Timeout`] after this long (upstream's optional `timeout=`).
    pub fn with_timeout(mut self, timeout: Duration) -> FileLock {
        self.timeout = Some(timeout);
        self
    }

    /// Interval of the "Still waiting" INFO log.
    pub fn with_log_every(mut self, every: Duration) -> FileLock {
        self.log_every = every;
        self
    }

    /// How often a held lock is tried again (50 ms unless changed).
    pub fn with_poll_interval(mut self, interval: Duration) -> FileLock {
        self.poll_interval = interval;
        self
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the lock, waiting as long as needed (or until the timeout), creating the parent
    /// directories and the lock file.
    pub fn acquire(&self) -> Result<Guard, LockError> {
        let file = self.open()?;
        if let Some(guard) = self.simulated(&file)? {
            return Ok(guard);
        }
        let start = Instant::now();
        let mut next_log = self.log_every;
        loop {
            match file.try_lock() {
                Ok(()) => {
                    return Ok(Guard {
                        file,
                        path: self.path.clone(),
                    });
                }
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(source)) => {
                    return Err(LockError::Io {
                        action: "lock",
                        path: self.path.clone(),
                        source,
                    });
                }
            }
            let waited = start.elapsed();
            if let Some(timeout) = self.timeout
                && waited >= timeout
            {
                return Err(LockError::Timeout {
                    path: self.path.clone(),
                    waited,
                });
            }
            if waited >= next_log {
                tracing::info!(
                    "Still waiting to acquire lock on {} (elapsed: {:.1} seconds)",
                    self.path.display(),
                    waited.as_secs_f64()
                );
                next_log += self.log_every;
            }
            let mut pause = self.poll_interval;
            if let Some(timeout) = self.timeout {
                pause = pause.min(timeout.saturating_sub(waited));
            }
            std::thread::sleep(pause);
        }
    }

    /// Takes the lock if it is free right now; `Ok(None)` if another process (or handle) holds it.
    pub fn try_acquire(&self) -> Result<Option<Guard>, LockError> {
        let file = self.open()?;
        if let Some(guard) = self.simulated(&file)? {
            return Ok(Some(guard));
        }
        match file.try_lock() {
            Ok(()) => Ok(Some(Guard {
                file,
                path: self.path.clone(),
            })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(LockError::Io {
                action: "lock",
                path: self.path.clone(),
                source,
            }),
        }
    }

    /// `HFHUB_TEST_LOCKS` (tests only) simulates a filesystem where `flock` does not work: `noop`
    /// gives a guard without locking, `fail` fails every lock.
    fn simulated(&self, file: &File) -> Result<Option<Guard>, LockError> {
        static MODE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let mode = MODE.get_or_init(|| {
            crate::env::Env::from_process()
                .get(crate::env::HFHUB_TEST_LOCKS)
                .map(str::to_owned)
        });
        match mode.as_deref() {
            Some("noop") => Ok(Some(Guard {
                file: file.try_clone().map_err(|source| LockError::Io {
                    action: "open",
                    path: self.path.clone(),
                    source,
                })?,
                path: self.path.clone(),
            })),
            Some("fail") => Err(LockError::Io {
                action: "lock",
                path: self.path.clone(),
                source: io::Error::new(
                    io::ErrorKind::Unsupported,
                    "file locking does not work here (HFHUB_TEST_LOCKS=fail)",
                ),
            }),
            _ => Ok(None),
        }
    }

    fn open(&self) -> Result<File, LockError> {
        let fail = |action| {
            let path = self.path.clone();
            move |source| LockError::Io {
                action,
                path,
                source,
            }
        };
        let beneath = self.root.as_deref().and_then(|root| {
            let relative = self.path.parent()?.strip_prefix(root).ok()?.to_str()?;
            Some((root, relative, self.path.file_name()?))
        });
        if let Some((root, relative, name)) = beneath {
            fs::create_dir_all(root).map_err(fail("create the folder of"))?;
            let folder = Dir::open(root)
                .and_then(|root| root.open_beneath(relative, true).map_err(io::Error::other))
                .map_err(fail("create the folder of"))?;
            return match folder.create_new(name, self.mode) {
                Ok(file) => {
                    set_mode(&file, self.mode);
                    Ok(file)
                }
                // An existing lock file is opened without following a link at its name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    folder.open_rw(name).map_err(fail("open"))
                }
                Err(e) => Err(fail("create")(e)),
            };
        }
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(fail("create the folder of"))?;
        }
        let mut create = OpenOptions::new();
        create.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut create, self.mode);
        match create.open(&self.path) {
            Ok(file) => {
                set_mode(&file, self.mode);
                Ok(file)
            }
            // An existing lock file is opened without following a link at its name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let mut open = OpenOptions::new();
                open.read(true).write(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::custom_flags(
                    &mut open,
                    rustix::fs::OFlags::NOFOLLOW.bits() as i32,
                );
                let file = open.open(&self.path).map_err(fail("open"))?;
                if !file.metadata().map_err(fail("inspect"))?.is_file() {
                    return Err(fail("open")(io::Error::other("not a regular file")));
                }
                Ok(file)
            }
            Err(e) => Err(fail("create")(e)),
        }
    }
}

/// The umask may have narrowed a new lock file's mode; filelock sets it explicitly too.
fn set_mode(file: &File, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = file.set_permissions(fs::Permissions::from_mode(mode));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_within_and_across_handles() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(".locks/models--a/etag.lock");
        let lock = FileLock::new(&path);
        let guard = lock.acquire().unwrap();
        assert!(path.is_file());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, LOCK_FILE_MODE);
        }
        assert!(lock.try_acquire().unwrap().is_none());
        let timed = FileLock::new(&path)
            .with_timeout(Duration::from_millis(200))
            .acquire();
        assert!(matches!(timed, Err(LockError::Timeout { .. })));
        drop(guard);
        assert!(path.is_file(), "the lock file stays after release");
        assert!(lock.try_acquire().unwrap().is_some());
    }
}
