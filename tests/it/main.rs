//! Workspace integration tests: one binary, one module per feature.

mod oracle;
mod tidy;
mod urls;
