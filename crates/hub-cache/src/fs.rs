//! File-system primitives for files hfhub does not trust: a read that is bounded in size, that
//! never blocks on a FIFO or a device, and that refuses anything but a regular file.
//!
//! Every small file hfhub reads from a user's folder or a cache (a token, a ref, a `.metadata`
//! file, a cached listing) goes through [`read_capped`], so a file that is a FIFO, `/dev/zero`, a
//! directory or a multi-gigabyte blob planted where a ref should be gives a named error, never a hang
//! or an unbounded allocation. This module is a leaf: it uses nothing else from the crate.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Cap for the small bookkeeping files: refs, tokens, `.metadata` files (64 KiB; a ref is 40 bytes).
pub const SMALL_FILE_CAP: u64 = 64 * 1024;

/// Whether [`read_capped`] may follow a symlink at the final component.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow it (a token file may legitimately be a symlink into a secrets mount).
    Follow,
    /// Refuse it: the file must itself be a regular file (refs and metadata inside a checked folder).
    Refuse,
}

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing at that path.
    #[error("`{path}` does not exist")]
    Missing { path: PathBuf },
    /// A directory, FIFO, socket, device, or (with [`Links::Refuse`]) a symlink.
    #[error("`{path}` is not a regular file")]
    NotRegular { path: PathBuf },
    /// Larger than the cap the caller set.
    #[error("`{path}` is larger than {cap} bytes")]
    TooLarge { path: PathBuf, cap: u64 },
    /// Not valid UTF-8 (only from [`read_capped_string`]).
    #[error("`{path}` is not valid UTF-8")]
    NotUtf8 { path: PathBuf },
    /// Any other I/O failure.
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl ReadError {
    /// True when nothing exists at the path (callers often treat that as "not set").
    pub fn is_missing(&self) -> bool {
        matches!(self, ReadError::Missing { .. })
    }
}

/// Reads a whole regular file of at most `cap` bytes.
///
/// The file is opened non-blocking (a FIFO with no writer does not hang the open) and checked with
/// `fstat` on the opened handle (no race between check and read); at most `cap + 1` bytes are read,
/// so a file that grows or lies about its size cannot make the read unbounded.
pub fn read_capped(path: &Path, cap: u64, links: Links) -> Result<Vec<u8>, ReadError> {
    let file = open_regular(path, links)?;
    let mut bytes = Vec::new();
    file.take(cap.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| ReadError::Io {
            path: path.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > cap {
        return Err(ReadError::TooLarge {
            path: path.to_owned(),
            cap,
        });
    }
    Ok(bytes)
}

/// [`read_capped`], then UTF-8.
pub fn read_capped_string(path: &Path, cap: u64, links: Links) -> Result<String, ReadError> {
    String::from_utf8(read_capped(path, cap, links)?).map_err(|_| ReadError::NotUtf8 {
        path: path.to_owned(),
    })
}

fn open_regular(path: &Path, links: Links) -> Result<File, ReadError> {
    let mut flags = rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOCTTY;
    if links == Links::Refuse {
        flags |= rustix::fs::OFlags::NOFOLLOW;
    }
    let opened = {
        use std::os::unix::fs::OpenOptionsExt as _;
        OpenOptions::new()
            .read(true)
            .custom_flags(flags.bits() as i32)
            .open(path)
    };
    let file = match opened {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(ReadError::Missing {
                path: path.to_owned(),
            });
        }
        // ELOOP: the final component is a symlink and links are refused.
        Err(error) if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(ReadError::NotRegular {
                path: path.to_owned(),
            });
        }
        Err(source) => {
            return Err(ReadError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let metadata = file.metadata().map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_owned(),
        });
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_files_within_the_cap_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ref");
        std::fs::write(&path, "abc").unwrap();
        assert_eq!(read_capped(&path, 3, Links::Refuse).unwrap(), b"abc");
        assert!(matches!(
            read_capped(&path, 2, Links::Refuse),
            Err(ReadError::TooLarge { cap: 2, .. })
        ));
    }

    #[test]
    fn devices_fifos_directories_and_refused_links_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        // /dev/zero would be read for ever by a plain read_to_string.
        assert!(matches!(
            read_capped(Path::new("/dev/zero"), 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(matches!(
            read_capped(dir.path(), 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // No writer: a blocking open would hang here.
        assert!(matches!(
            read_capped(&fifo, 10, Links::Follow),
            Err(ReadError::NotRegular { .. })
        ));
        let target = dir.path().join("target");
        std::fs::write(&target, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert_eq!(read_capped(&link, 10, Links::Follow).unwrap(), b"x");
        assert!(matches!(
            read_capped(&link, 10, Links::Refuse),
            Err(ReadError::NotRegular { .. })
        ));
        assert!(
            read_capped(&dir.path().join("none"), 10, Links::Follow)
                .unwrap_err()
                .is_missing()
        );
        std::fs::write(&target, [0xff, 0xfe]).unwrap();
        assert!(matches!(
            read_capped_string(&target, 10, Links::Follow),
            Err(ReadError::NotUtf8 { .. })
        ));
    }
}
