//! A folder as sorted text lines, for tests that compare two trees (a cache filled by hfhub and one
//! filled by Python, two local folders): `dir/`, `file (N bytes)`, `link -> target`.

use std::path::Path;

/// Every entry below `root` that `keep` accepts (a refused folder is not entered), sorted; empty when
/// `root` does not exist. Panics on an unreadable entry (a test helper).
pub fn listing(root: &Path, keep: impl Fn(&walkdir::DirEntry) -> bool) -> Vec<String> {
    if !root.exists() {
        return Vec::new();
    }
    let mut lines: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_entry(keep)
        .map(|entry| {
            let entry = entry.expect("walkable tree");
            let relative = entry
                .path()
                .strip_prefix(root)
                .expect("below root")
                .display()
                .to_string();
            if entry.path_is_symlink() {
                let target = std::fs::read_link(entry.path()).expect("readable link");
                format!("{relative} -> {}", target.display())
            } else if entry.file_type().is_dir() {
                format!("{relative}/")
            } else {
                let size = entry.metadata().expect("metadata").len();
                format!("{relative} ({size} bytes)")
            }
        })
        .collect();
    lines.sort();
    lines
}
