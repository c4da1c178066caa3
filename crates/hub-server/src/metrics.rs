//! Counters for `/metrics`, in the Prometheus text format (version 0.0.4): requests per listener,
//! body bytes answered and those sent by `sendfile(2)`, and for a mirror file hits and misses, upstream bytes and evictions.
//!
//! Counters only grow (a fixed set of atomics: no state grows with the requests served).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::log::Origin;

/// The server's counters, shared by every request.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    hub_requests: AtomicU64,
    cdn_requests: AtomicU64,
    served_bytes: AtomicU64,
    sendfile_bytes: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    upstream_bytes: AtomicU64,
    evicted_revisions: AtomicU64,
    evicted_bytes: AtomicU64,
}

impl Metrics {
    /// A request answered by `origin` with a body of `bytes` (its declared length).
    pub(crate) fn answered(&self, origin: Origin, bytes: u64) {
        let requests = match origin {
            Origin::Hub => &self.hub_requests,
            Origin::Cdn => &self.cdn_requests,
        };
        requests.fetch_add(1, Ordering::Relaxed);
        self.served_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Body bytes the CDN listener sent with `sendfile(2)` (no copy through the server's memory).
    pub(crate) fn sent_by_sendfile(&self, bytes: u64) {
        self.sendfile_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A file a mirror found in its cache.
    pub(crate) fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// A file a mirror downloaded from upstream: `bytes` is its verified size.
    pub(crate) fn miss(&self, bytes: u64) {
        self.misses.fetch_add(1, Ordering::Relaxed);
        self.upstream_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// `revisions` evicted from a mirror's cache, freeing `bytes`.
    pub(crate) fn evicted(&self, revisions: u64, bytes: u64) {
        self.evicted_revisions
            .fetch_add(revisions, Ordering::Relaxed);
        self.evicted_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The page.
    pub(crate) fn render(&self) -> String {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let mut page = String::new();
        let mut counter = |name: &str, help: &str, samples: &[(&str, u64)]| {
            let _ = writeln!(page, "# HELP {name} {help}\n# TYPE {name} counter");
            for (labels, value) in samples {
                let _ = writeln!(page, "{name}{labels} {value}");
            }
        };
        counter(
            "hfhub_requests_total",
            "Requests answered, by listener.",
            &[
                ("{listener=\"hub\"}", get(&self.hub_requests)),
                ("{listener=\"cdn\"}", get(&self.cdn_requests)),
            ],
        );
        counter(
            "hfhub_served_bytes_total",
            "Body bytes answered (declared lengths).",
            &[("", get(&self.served_bytes))],
        );
        counter(
            "hfhub_sendfile_bytes_total",
            "Body bytes the CDN listener sent with sendfile(2).",
            &[("", get(&self.sendfile_bytes))],
        );
        counter(
            "hfhub_mirror_hits_total",
            "Files a mirror request found in the cache.",
            &[("", get(&self.hits))],
        );
        counter(
            "hfhub_mirror_misses_total",
            "Files a mirror downloaded from the upstream.",
            &[("", get(&self.misses))],
        );
        counter(
            "hfhub_mirror_upstream_bytes_total",
            "Verified bytes of the files downloaded from the upstream.",
            &[("", get(&self.upstream_bytes))],
        );
        counter(
            "hfhub_mirror_evicted_revisions_total",
            "Revisions evicted under --max-cache-size.",
            &[("", get(&self.evicted_revisions))],
        );
        counter(
            "hfhub_mirror_evicted_bytes_total",
            "Bytes the evictions freed.",
            &[("", get(&self.evicted_bytes))],
        );
        page
    }
}
