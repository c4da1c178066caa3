//! Token hygiene of the binary: with every log turned up (`RUST_LOG=trace`, `HF_DEBUG=1`), through
//! LFS redirects to the CDN origin, failed downloads and refused tokens, the token is never printed
//! and never sent to another origin.

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_cache::Repo;
use hub_server::fault::Fault;
use hub_server::{Origin, Server};

use super::*;

const TOKEN: &str = "hf_reliabilitySecretToken0123456789";
const WRONG: &str = "hf_wrongSecretToken9876543210";

#[test]
fn the_token_is_never_printed_nor_sent_to_another_origin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let files = vec![
        ("config.json".to_owned(), b"{}\n".to_vec(), false),
        ("weights.bin".to_owned(), seeded_bytes(3, 300_000), true),
    ];
    write_model(&served, "acme/open", "open-1", "main", &files).expect("repo");
    write_model(&served, "acme/gated", "gated-1", "main", &files).expect("repo");
    let server = Server::builder(&served)
        .with_token(TOKEN)
        .with_gated(Repo::model("acme/gated").expect("id"))
        .with_fault(Fault::status(500, None).path_contains("broken.bin"))
        .start_blocking()
        .expect("server");
    let home = tmp.path().join("home");
    // (arguments, token by flag?, expect success)
    let runs: Vec<(Vec<&str>, Option<&str>, bool)> = vec![
        (vec!["acme/open", "weights.bin"], None, true),
        (vec!["acme/open"], Some(TOKEN), true),
        (vec!["acme/gated", "weights.bin"], None, true),
        (vec!["acme/gated", "config.json"], Some(WRONG), false),
        (vec!["acme/open", "broken.bin"], None, false),
        (vec!["acme/missing", "config.json"], None, false),
    ];
    let mut printed = Vec::new();
    for (index, (args, flag, success)) in runs.iter().enumerate() {
        let cache = tmp.path().join(format!("hub-{index}"));
        let mut command = hfhub(&home, &cache, &server.endpoint());
        command
            .arg("download")
            .args(args)
            .env("HF_TOKEN", TOKEN)
            .env("HF_DEBUG", "1")
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1");
        if let Some(token) = flag {
            command.args(["--token", token]);
        }
        let output = command.output().expect("run");
        assert_eq!(
            output.status.success(),
            *success,
            "{args:?}: {}",
            stderr(&output)
        );
        let text = format!("{}{}", stdout(&output), stderr(&output));
        for secret in [TOKEN, WRONG, &TOKEN[3..20], &WRONG[3..20]] {
            assert!(!text.contains(secret), "{args:?} printed a token:\n{text}");
        }
        printed.push(text.len());
    }
    let records = server.request_log().records();
    let to_cdn: Vec<_> = records.iter().filter(|r| r.origin == Origin::Cdn).collect();
    assert!(!to_cdn.is_empty());
    assert!(to_cdn.iter().all(|r| !r.authorization), "{to_cdn:?}");
    assert!(
        records
            .iter()
            .filter(|r| r.origin == Origin::Hub)
            .all(|r| r.authorization),
        "the Hub gets the token on every request"
    );
    eprintln!(
        "token hygiene: {} runs, {} bytes of trace output checked, {} CDN requests without a token",
        runs.len(),
        printed.iter().sum::<usize>(),
        to_cdn.len()
    );
}
