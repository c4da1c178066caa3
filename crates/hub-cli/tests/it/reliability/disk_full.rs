//! A file size limit hit mid-download (`RLIMIT_FSIZE`, set with `prlimit` on the child): a clean
//! error (not a death by `SIGXFSZ`), no half-written blob published, the cache still scans clean, and
//! the next run without the limit completes.

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::Server;

use super::*;

#[test]
fn a_file_size_limit_mid_download_is_a_clean_error_and_nothing_is_published() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    let sizes: &[usize] = if heavy() {
        &[3 << 20, 8 << 20, 64 << 20]
    } else {
        &[3 << 20, 8 << 20]
    };
    let files: Vec<(String, Vec<u8>, bool)> = sizes
        .iter()
        .enumerate()
        .map(|(i, &size)| {
            (
                format!("part-{i}.bin"),
                seeded_bytes(40 + i as u64, size),
                true,
            )
        })
        .chain([("config.json".to_owned(), b"{\"a\": 1}\n".to_vec(), false)])
        .collect();
    let repo = write_model(&served, "acme/limited", "limited-1", "main", &files).expect("repo");
    let server = Server::builder(&served).start_blocking().expect("server");
    let cache = tmp.path().join("hub");
    let home = tmp.path().join("home");
    let limit = 2 << 20;
    let hfhub_bin = env!("CARGO_BIN_EXE_hfhub");
    let mut trials = 0;
    for file in repo.files.iter().filter(|f| f.content.len() > limit) {
        // The environment `hfhub()` sets, but the program run through prlimit.
        let command = hfhub(&home, &cache, &server.endpoint());
        let mut limited = Command::new("prlimit");
        for (key, value) in command.get_envs() {
            match value {
                Some(value) => limited.env(key, value),
                None => limited.env_remove(key),
            };
        }
        let output = limited
            .arg(format!("--fsize={limit}"))
            .arg("--")
            .arg(hfhub_bin)
            .args(["download", "acme/limited", &file.path, "--quiet"])
            .stdin(Stdio::null())
            .output()
            .expect("run prlimit");
        trials += 1;
        let err = stderr(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "a clean failure, not a signal: {:?} {err}",
            output.status
        );
        assert!(
            err.starts_with("Error: ")
                && err.contains(&file.path)
                && err.contains("File too large"),
            "{err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        let blobs = cache.join("models--acme--limited/blobs");
        assert!(
            !blobs.join(&file.etag).exists(),
            "nothing half-written is published"
        );
        assert!(
            !cache
                .join("models--acme--limited/snapshots")
                .join(&repo.commit)
                .join(&file.path)
                .exists()
        );
        let report = hub_cache::scan(&cache).expect("scan");
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
    // Python scans the cache clean too.
    let oracle = Oracle::get(HF_HUB_2X);
    let warnings = oracle
        .eval(
            "import sys\nfrom huggingface_hub import scan_cache_dir\nprint(len(scan_cache_dir(sys.argv[1]).warnings))",
            &[cache.to_str().expect("utf-8 path")],
        );
    assert_eq!(warnings.trim(), "0");
    // Without the limit, the same downloads complete and verify.
    let output = hfhub(&home, &cache, &server.endpoint())
        .args(["download", "acme/limited", "--quiet"])
        .output()
        .expect("run");
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(temp_files(&cache), Vec::<PathBuf>::new());
    assert_eq!(verify_blobs(&cache), repo.files.len());
    eprintln!("disk full: {trials} downloads hit RLIMIT_FSIZE, 0 published, cache scans clean");
}
