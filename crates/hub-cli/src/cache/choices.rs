//! What `hfhub delete-cache` offers to choose from, shared by its checkbox TUI (`tui.rs`) and its
//! edit-a-file review (`delete_cache.rs`): repos grouped with their revisions, the texts shown for
//! them, and the line that sums up a selection.

use hub_cache::format::{Flavour, format_size, format_timesince_now};
use hub_cache::scan::{CachedRepo, CachedRevision, Report};

/// The value of the "None of the following" choice; uncommented in the file, it cancels everything.
pub const CANCEL_DELETION: &str = "CANCEL_DELETION";

/// A repo and its revisions in display order.
pub type Group<'a> = (&'a CachedRepo, Vec<&'a CachedRevision>);

/// `Model gpt2 (1.9M, used 3 years ago)`.
pub fn repo_title(repo: &CachedRepo) -> String {
    let kind = repo.repo.repo_type.as_str();
    let mut chars = kind.chars();
    let capitalised = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
        None => String::new(),
    };
    format!(
        "{capitalised} {} ({}, used {})",
        repo.repo.id.as_str(),
        format_size(repo.size_on_disk),
        format_timesince_now(repo.last_accessed, Flavour::V0x)
    )
}

/// Refs sorted and comma-joined, or `(detached)`.
pub fn refs_text(revision: &CachedRevision) -> String {
    if revision.refs.is_empty() {
        "(detached)".to_owned()
    } else {
        revision.refs.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// `{n} revisions selected counting for {size}.` or `Nothing will be deleted.`
pub fn expectation(report: &Report, selected: &[String]) -> String {
    if selected.iter().any(|h| h == CANCEL_DELETION) {
        return "Nothing will be deleted.".to_owned();
    }
    let plan = report.delete_revisions(selected);
    format!(
        "{} revisions selected counting for {}.",
        selected.len(),
        format_size(plan.expected_freed_size)
    )
}
