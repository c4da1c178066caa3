//! Workspace integration tests: one binary, one module per feature.

mod delete;
mod fixtures;
mod format;
mod oracle;
mod scan;
mod tidy;
mod urls;
