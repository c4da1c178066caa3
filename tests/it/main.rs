//! Workspace integration tests: one binary, one module per feature.

mod fixtures;
mod oracle;
mod tidy;
mod urls;
