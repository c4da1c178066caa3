//! Parallel ranges hashed from memory as they arrive: cut connections resume inside their range
//! and the content still verifies; a corrupt byte in any range (in order or ahead of the hashed
//! prefix) fails verification.

use hub_cache::hash::HashKind;
use hub_http::{Error, ParallelOptions};
use hub_server::Origin;
use hub_server::fault::{Fault, FaultKind};

use crate::download::request_for;
use crate::support::{self, Setup, gpt2_file, serve};

/// Small ranges over four connections, so most bytes arrive ahead of the hashed prefix.
fn parallel() -> ParallelOptions {
    ParallelOptions {
        threshold: 64 * 1024,
        chunk_size: 40 * 1024,
        connections: 4,
    }
}

#[tokio::test]
async fn ranges_cut_mid_way_resume_and_verify() {
    let fault = Fault::new(FaultKind::DropAfter(15_000))
        .on(Origin::Cdn)
        .method("GET")
        .share(40, 7);
    let env = serve(Setup {
        faults: vec![fault],
        ..Setup::default()
    })
    .await;
    let client = support::client(&env)
        .with_parallel(parallel())
        .build()
        .unwrap();
    let (_, expected) = gpt2_file(&env, "model.safetensors");
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob");
    let downloaded = client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap();
    assert_eq!(downloaded.verified, Some(HashKind::Sha256));
    assert_eq!(std::fs::read(&target).unwrap(), expected.content);
    let cdn = support::cdn_records(&env);
    let chunks = expected.size().div_ceil(40 * 1024) as usize;
    assert!(
        cdn.len() > chunks,
        "some ranges were cut and resumed: {cdn:#?}"
    );
    let total: u64 = cdn.iter().map(|r| r.bytes_sent).sum();
    assert_eq!(total, expected.size(), "no byte was fetched twice");
}

#[tokio::test]
async fn a_corrupt_byte_in_any_range_fails_verification() {
    // The first range (hashed as it arrives), a later one (held until the prefix reaches it).
    for nth in [1, 5] {
        let fault = Fault::new(FaultKind::Corrupt { offset: 3000 })
            .on(Origin::Cdn)
            .method("GET")
            .nth(nth);
        let env = serve(Setup {
            faults: vec![fault],
            ..Setup::default()
        })
        .await;
        let client = support::client(&env)
            .with_parallel(parallel())
            .build()
            .unwrap();
        let request = request_for(&client, "model.safetensors").await;
        let dir = tempfile::tempdir().unwrap();
        let error = client
            .download(&request, support::open_rw(&dir.path().join("blob")), |_| {})
            .await
            .unwrap_err();
        assert!(
            matches!(error, Error::HashMismatch { .. }),
            "{nth}: {error:?}"
        );
    }
}
