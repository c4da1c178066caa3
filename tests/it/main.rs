//! Workspace integration tests: one binary, one module per feature.

mod assets;
mod boundary_cache;
mod cache_error;
mod cache_write;
mod delete;
mod downstream;
mod fixtures;
mod format;
mod locks;
mod lookup;
mod oracle;
mod reliability;
mod scan;
mod tidy;
mod tree_text;
mod urls;
