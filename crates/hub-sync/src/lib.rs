//! Orchestration of downloads: one file, a snapshot, `local_dir` mode, offline fallback.
//!
//! Filled by the hub-sync issue. Talks to the network only through a narrow trait that `hub-http`
//! implements.
