//! Workspace integration tests: one binary, one module per feature.

mod assets;
mod cache_write;
mod fixtures;
mod locks;
mod lookup;
mod oracle;
mod tidy;
mod urls;
