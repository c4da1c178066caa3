//! A tree listing as it arrives, page by page: the files the caller's patterns select are kept
//! (the only ones a snapshot plans), and every file goes straight to the cached listing's
//! unnamed temporary file (`hub_cache::tree::Writer`), which becomes `trees/<commit>.json` only
//! once the run verified what it fetched (nothing is written in the cache or the `local_dir`
//! before). A listing of a million files costs the memory of one page.

use std::path::Path;

use hub_cache::display::Escaped;
use hub_cache::tree::{self, Entry, Listing};
use hub_http::TreeEntry;

use crate::pattern::Filter;

/// The selected files of a listing being received, and its cached copy being written.
pub(crate) struct Listed<'a> {
    filter: &'a Filter,
    folder: &'a Path,
    commit: &'a str,
    /// The files the filter selects.
    pub(crate) selected: Listing,
    /// Files in the whole listing.
    pub(crate) files: usize,
    /// The cached listing, from the first page on, until a write fails.
    writer: Option<tree::Writer>,
    started: bool,
}

impl<'a> Listed<'a> {
    pub(crate) fn new(folder: &'a Path, commit: &'a str, filter: &'a Filter) -> Listed<'a> {
        Listed {
            filter,
            folder,
            commit,
            selected: Listing::default(),
            files: 0,
            writer: None,
            started: false,
        }
    }

    /// Takes one page: keeps the selected files, writes every file to the cached copy.
    pub(crate) fn add(&mut self, page: Vec<TreeEntry>) {
        if !self.started {
            self.started = true;
            self.writer = tree::Writer::new()
                .map_err(|error| tracing::warn!("cannot buffer the tree listing: {error}"))
                .ok();
        }
        for entry in page.into_iter().filter(TreeEntry::is_file) {
            self.files += 1;
            let cached = listing_entry(&entry);
            if let Some(writer) = &mut self.writer
                && let Err(error) = writer.push(&entry.path, &cached)
            {
                tracing::warn!("cannot buffer the tree listing: {error}");
                self.writer = None;
            }
            if self.filter.matches(&entry.path) {
                self.selected.files.insert(entry.path, cached);
            }
        }
    }

    /// After the run verified the selected files: the cached listing takes its place.
    pub(crate) fn keep_cached(self) {
        if let Some(writer) = self.writer
            && let Err(error) = writer.finish(self.folder, self.commit)
        {
            tracing::warn!("{}", Escaped(&error.to_string()));
        }
    }
}

/// The cached-listing entry upstream builds from a `/tree` entry (`TreeCacheEntry`).
pub(crate) fn listing_entry(entry: &TreeEntry) -> Entry {
    Entry {
        size: entry.size,
        blob_id: entry.oid.clone(),
        lfs_sha256: entry.lfs.as_ref().map(|lfs| lfs.oid.clone()),
        lfs_size: entry.lfs.as_ref().map(|lfs| lfs.size),
        xet_hash: entry.xet_hash.clone(),
    }
}
