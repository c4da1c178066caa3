//! `--max-cache-size`: least-recently-used eviction of whole revisions from a mirror's cache,
//! through hub-cache's delete plans (a blob goes only when no remaining revision of its repository
//! links it; nothing outside the cache, no symlink followed).
//!
//! Synchronous (run in a blocking task by the mirror, while no download is running).

use std::collections::HashMap;
use std::path::Path;

use hub_cache::scan::{Options, Report, scan_with};

/// What one eviction pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Evicted {
    /// `(repo folder, commit)` of each evicted revision, oldest first.
    pub revisions: Vec<(String, String)>,
    pub freed: u64,
}

/// Deletes the least recently used revisions of the cache at `root` until it holds at most
/// `max_size` bytes. `last_used` ranks revisions by `(repo folder, commit)` (a revision it does not
/// know is older than every known one, then ranked by its snapshot's modification time); `keep` is
/// never evicted.
pub(crate) fn evict(
    root: &Path,
    max_size: u64,
    last_used: &HashMap<(String, String), u64>,
    keep: &(String, String),
) -> Result<Evicted, String> {
    let mut evicted = Evicted::default();
    // Scanned again after each deletion: the next plan sees what the last one left.
    loop {
        let report = scan_with(root, &Options::default()).map_err(|e| e.to_string())?;
        if report.size_on_disk <= max_size {
            return Ok(evicted);
        }
        let oldest = report
            .repos
            .iter()
            .flat_map(|repo| {
                let folder = repo.repo.folder_name();
                repo.revisions.iter().map(move |revision| {
                    let key = (folder.clone(), revision.commit_hash.clone());
                    let rank = last_used.get(&key).copied();
                    ((rank, revision.last_modified), key, repo)
                })
            })
            .filter(|(_, key, _)| key != keep && !evicted.revisions.contains(key))
            .min_by(|a, b| a.0.cmp(&b.0));
        let Some((_, key, repo)) = oldest else {
            return Ok(evicted);
        };
        // A plan over this repository alone: the same commit in another repository stays.
        let alone = Report {
            repos: vec![repo.clone()],
            ..report.clone()
        };
        let plan = alone.delete_revisions(&[key.1.as_str()]);
        plan.execute().map_err(|e| e.to_string())?;
        evicted.freed += plan.expected_freed_size;
        evicted.revisions.push(key);
    }
}
