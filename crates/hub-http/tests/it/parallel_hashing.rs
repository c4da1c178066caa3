//! Parallel ranges hashed from memory as they arrive: cut connections resume inside their range
//! and the content still verifies; a corrupt byte in any range (in order or ahead of the hashed
//! prefix) fails verification, also when the bytes come in frames of odd sizes; a fast first
//! range takes the rest of the file alone.

use std::io::Write as _;
use std::net::TcpStream;
use std::time::Duration;

use hfhub_tests::hostile::{Hostile, Reply, Seen, answer};
use hub_cache::hash::{HashKind, hash_bytes};
use hub_http::{Client, Endpoint, Error, ParallelOptions};
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
        solo_speed: u64::MAX,
    }
}

/// Downloads `model.safetensors` with `options`; checks it verified and arrived whole.
async fn download_verified(
    env: &support::Env,
    options: ParallelOptions,
) -> hfhub_tests::fixtures::FixtureFile {
    let client = support::client(env).with_parallel(options).build().unwrap();
    let (_, expected) = gpt2_file(env, "model.safetensors");
    let request = request_for(&client, "model.safetensors").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob");
    let downloaded = client
        .download(&request, support::open_rw(&target), |_| {})
        .await
        .unwrap();
    assert_eq!(downloaded.verified, Some(HashKind::Sha256));
    assert_eq!(std::fs::read(&target).unwrap(), expected.content);
    expected.clone()
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
    let expected = download_verified(&env, parallel()).await;
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

#[tokio::test]
async fn a_fast_first_range_takes_the_rest_of_the_file_alone() {
    let env = serve(Setup::default()).await;
    let options = ParallelOptions {
        solo_speed: 0,
        ..parallel()
    };
    let expected = download_verified(&env, options).await;
    let ranges: Vec<_> = support::cdn_records(&env)
        .into_iter()
        .map(|r| r.range)
        .collect();
    let size = expected.size();
    assert_eq!(
        ranges,
        [
            Some("bytes=0-40959".to_owned()),
            Some(format!("bytes=40960-{}", size - 1))
        ],
        "the probe range, then the rest in one request"
    );
}

/// Sizes of the pieces the odd-frames server writes, in turn (each flushed and followed by a
/// pause, so that most arrive as frames of their own).
const PIECES: [usize; 6] = [1, 7, 4093, 13, 65_537, 3];

/// A server that answers `HEAD` with `content`'s size and sha256 and each ranged `GET` with the
/// range written in pieces of odd sizes.
fn odd_frames_server(content: Vec<u8>, etag: String) -> Hostile {
    Hostile::start(move |request: &Seen, _: &str| {
        let size = content.len();
        if request.method == "HEAD" {
            return Reply::Bytes(answer(
                "200 OK",
                &[
                    ("X-Repo-Commit", "c".repeat(40)),
                    ("ETag", format!("\"{etag}\"")),
                    ("Content-Length", size.to_string()),
                ],
                b"",
                true,
            ));
        }
        let range = request
            .headers
            .iter()
            .find(|(n, _)| n == "range")
            .and_then(|(_, r)| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
        let Some((from, last)) = range else {
            return Reply::Bytes(answer("416 Range Not Satisfiable", &[], b"", false));
        };
        let body = content[from..=last].to_vec();
        let head = answer(
            "206 Partial Content",
            &[
                ("Content-Length", body.len().to_string()),
                ("Content-Range", format!("bytes {from}-{last}/{size}")),
            ],
            b"",
            true,
        );
        Reply::Stream(Box::new(move |stream: &mut TcpStream| {
            let _ = stream.set_nodelay(true);
            if stream.write_all(&head).is_err() {
                return;
            }
            let mut sent = 0;
            for piece in PIECES.iter().cycle() {
                if sent == body.len() {
                    break;
                }
                let end = (sent + piece).min(body.len());
                if stream.write_all(&body[sent..end]).is_err() {
                    return;
                }
                sent = end;
                std::thread::sleep(Duration::from_millis(1));
            }
        }))
    })
}

/// Downloads the odd-frames server's file over three connections in ranges of 50,000 bytes.
async fn odd_frames_download(
    served: Vec<u8>,
    etag: String,
) -> (Result<hub_http::Downloaded, Error>, Vec<u8>) {
    let hostile = odd_frames_server(served, etag);
    let client = Client::builder()
        .with_endpoint(Endpoint::new(&hostile.base))
        .with_download_timeout(Duration::from_secs(10))
        .with_parallel(ParallelOptions {
            threshold: 1,
            chunk_size: 50_000,
            connections: 3,
            solo_speed: u64::MAX,
        })
        .build()
        .unwrap();
    let request = request_for(&client, "odd.bin").await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("blob");
    let result = client
        .download(&request, support::open_rw(&target), |_| {})
        .await;
    (result, std::fs::read(&target).unwrap())
}

#[tokio::test]
async fn frames_of_odd_sizes_verify_and_a_corrupt_byte_at_a_range_edge_fails() {
    let content: Vec<u8> = (0..333_333u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let etag = hash_bytes(HashKind::Sha256, &content);
    let (result, written) = odd_frames_download(content.clone(), etag.clone()).await;
    assert_eq!(result.unwrap().verified, Some(HashKind::Sha256));
    assert_eq!(written, content);
    // The last byte of one range, the first of the next (held ahead of the hashed prefix).
    for offset in [149_999, 150_000] {
        let mut corrupt = content.clone();
        corrupt[offset] ^= 0x20;
        let (result, _) = odd_frames_download(corrupt, etag.clone()).await;
        let error = result.unwrap_err();
        assert!(
            matches!(error, Error::HashMismatch { .. }),
            "{offset}: {error:?}"
        );
    }
}
