//! What scenario 1 cannot go below on this machine: hfhub verifies the file's SHA-256, which the
//! `hf-hub` crate and curl do not, so hfhub's time has a floor of the CPU work the other tool does,
//! plus the hash, plus the origin's share, spread over every core with nothing idle. This module
//! measures the hash's cost per GiB with the hasher hfhub downloads with (`hub_cache::hash`); the
//! report computes the floor from it (`report::floor`).

use std::time::Instant;

use hub_cache::hash::{HashKind, Hasher};

/// Bytes hashed from memory per measurement (a buffer hashed over and over: the figure is the
/// hash alone, no read or copy).
const BUFFER: usize = 16 << 20;

/// Seconds of one core that SHA-256 of 1 GiB takes with hfhub's hasher: the fastest of three
/// passes over `gib` GiB (the fastest, since the hash is pure CPU work and anything slower is
/// the machine's other load).
pub fn hash_seconds_per_gib(gib: f64) -> f64 {
    let buffer: Vec<u8> = (0..BUFFER).map(|i| (i * 31 % 251) as u8).collect();
    let bytes = (gib * f64::from(1 << 30)) as usize;
    let passes = bytes.div_ceil(BUFFER).max(1);
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let started = Instant::now();
        let mut hasher = Hasher::new(HashKind::Sha256, (passes * BUFFER) as u64);
        for _ in 0..passes {
            hasher.update(&buffer);
        }
        std::hint::black_box(hasher.finish());
        let elapsed = started.elapsed().as_secs_f64();
        best = best.min(elapsed / (passes * BUFFER) as f64 * f64::from(1 << 30));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashing_is_measured() {
        let per_gib = hash_seconds_per_gib(1.0 / 64.0);
        assert!(per_gib.is_finite() && per_gib > 0.0, "{per_gib}");
    }
}
