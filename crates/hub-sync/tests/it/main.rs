//! hub-sync integration tests: one binary, one module per feature. `fake` runs against an in-memory
//! remote, `server` against hub-server on 127.0.0.1, `oracle` against Python huggingface_hub 2.4.

mod blocking_disk;
mod failures;
mod fake;
mod listing;
mod oracle;
mod patterns;
mod server;
mod support;
