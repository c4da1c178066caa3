//! Serve a Hugging Face hub cache directory as a Hub endpoint that ordinary clients
//! (`HF_ENDPOINT=http://127.0.0.1:PORT`, huggingface_hub, transformers, hfhub) download from.
//!
//! A complete cache holds what the Hub says about the files it contains: `refs/` give branches,
//! tags and PR refs, `snapshots/<commit>/` gives each commit's tree, and a blob's name tells a
//! regular git file (40-hex git blob sha1) from an LFS file (64-hex sha256). The server is read-only.
//!
//! Two listeners run: the Hub (resolve, repo info, tree) and a "CDN" on another origin that LFS
//! files are redirected to with a signed, expiring link, as the real Hub redirects to its storage.
//! Both listeners have timeouts and caps ([`Limits`]). For tests the server records the requests it
//! answered ([`RequestLog`], bounded; off in `hfhub serve`) and can inject faults ([`fault`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), hub_server::Error> {
//! let server = hub_server::Server::builder("/path/to/hub/cache").start().await?;
//! println!("HF_ENDPOINT={}", server.endpoint());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod access;
mod body;
mod conn;
mod evict;
pub mod fault;
mod h1;
pub mod log;
mod metrics;
mod mirror;
mod route;
mod server;
mod sign;
mod store;
mod upstream;

use std::net::SocketAddr;
use std::path::PathBuf;

pub use body::BodyError;
pub use conn::Limits;
pub use log::{Origin, RequestLog, RequestRecord};
pub use server::{BlockingServer, Builder, DEFAULT_LINK_LIFETIME, RunningServer, Server};
pub use sign::CdnKey;
pub use upstream::Upstream;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cache directory could not be opened or resolved.
    #[error("cannot serve cache directory `{path}`")]
    CacheDir {
        /// The directory given.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A listener could not be bound (the address is in use or not available).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The runtime of a [`BlockingServer`] could not be started.
    #[error("cannot start the async runtime")]
    Runtime(#[source] std::io::Error),
    /// The operating system's random source failed, so no key could sign CDN links.
    #[error("cannot make a key to sign CDN links with")]
    Key(#[source] std::io::Error),
    /// The mirror's upstream Hub client could not be built (`hfhub serve --upstream`).
    #[error("cannot set up the upstream `{url}`")]
    Upstream {
        /// The upstream endpoint, without credentials.
        url: String,
        /// Why the client could not be built.
        #[source]
        source: Box<hub_sync::Error>,
    },
}
