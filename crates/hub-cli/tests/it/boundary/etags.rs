//! Class 8: verification that silently does not happen. An upper-case sha256 ETag (from the `HEAD`
//! or a listing's `lfs.oid`) is a hash like any other: wrong bytes are refused (exit 1, nothing
//! published), right bytes are published under the name Python 2.4 gives them (the ETag as sent).
//! An ETag that is not a hash is stated in a WARN naming the file, and the size is still checked.

use std::collections::BTreeMap;
use std::fs;

use hfhub_tests::hostile::verify_blobs;
use hfhub_tests::oracle::{HF_HUB_2X, Oracle};

use super::scripted::*;

const RIGHT: &[u8] = b"the weights the server means\n";
const WRONG: &[u8] = b"other bytes, the same length\n";

#[test]
fn upper_case_sha256_etags_are_verified_and_named_as_python_names_them() {
    assert_eq!(RIGHT.len(), WRONG.len());
    let upper = sha256(RIGHT).to_ascii_uppercase();
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());

    // Right bytes: published under the ETag as sent, as Python does.
    let server = start(
        vec![],
        BTreeMap::from([(
            "weights.bin".to_owned(),
            Served::with_etag(RIGHT, upper.clone()),
        )]),
    );
    let right = tmp.path().join("right");
    let output = download(&right, &server, &["weights.bin"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let blob = repo_dir(&right).join("blobs").join(&upper);
    assert_eq!(fs::read(&blob).expect("blob"), RIGHT);
    assert_eq!(verify_blobs(&right.join("hub")), 1);
    let python = tmp.path().join("python");
    let script = "import sys\nfrom huggingface_hub import hf_hub_download\n\
                  print(hf_hub_download('acme/evil', 'weights.bin'))";
    let ran = Oracle::get(HF_HUB_2X)
        .command()
        .env("HF_HOME", python.join("home"))
        .env("HF_HUB_CACHE", python.join("hub"))
        .env("HF_ENDPOINT", &server.base)
        .env("HF_HUB_OFFLINE", "0")
        .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        .env("HF_HUB_DISABLE_XET", "1")
        .env_remove("HF_TOKEN")
        .args(["-c", script])
        .output()
        .expect("run the oracle");
    assert!(ran.status.success(), "{}", stderr(&ran));
    let names = |root: &std::path::Path| -> Vec<String> {
        fs::read_dir(repo_dir(root).join("blobs"))
            .expect("blobs")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    assert_eq!(names(&right), names(&python), "the blob name Python uses");

    // Wrong bytes under the same upper-case ETag: refused, nothing published.
    let server = start(
        vec![],
        BTreeMap::from([(
            "weights.bin".to_owned(),
            Served::with_etag(WRONG, upper.clone()),
        )]),
    );
    let wrong = tmp.path().join("wrong");
    let output = download(&wrong, &server, &["weights.bin"])
        .output()
        .expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(
        message.contains("cannot download file `weights.bin`"),
        "{message}"
    );
    assert!(message.contains("sha256"), "{message}");
    assert!(!repo_dir(&wrong).join("blobs").join(&upper).exists());
    assert_eq!(verify_blobs(&wrong.join("hub")), 0);

    // The same from a listing's `lfs.oid`, in a snapshot.
    let server = start(
        vec![lfs_entry("weights.bin", &upper, WRONG.len() as u64)],
        BTreeMap::from([(
            "weights.bin".to_owned(),
            Served::with_etag(WRONG, upper.clone()),
        )]),
    );
    let listed = tmp.path().join("listed");
    let output = download(&listed, &server, &[]).output().expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains("sha256"), "{message}");
    assert_eq!(verify_blobs(&listed.join("hub")), 0);
    assert!(!repo_dir(&listed).join("blobs").join(&upper).exists());
    canary.assert_untouched();
}

#[test]
fn an_etag_that_is_not_a_hash_is_stated_and_the_size_still_checked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let canary = Canary::plant(tmp.path());
    let warning = "cannot verify `notes.txt`: the server's ETag is not a content hash";

    // One file: the HEAD's ETag is no hash; the bytes are kept, and the user is told.
    let server = start(
        vec![],
        BTreeMap::from([("notes.txt".to_owned(), Served::with_etag(RIGHT, "abc-123"))]),
    );
    let one = tmp.path().join("one");
    let output = download(&one, &server, &["notes.txt"])
        .output()
        .expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{message}");
    assert!(message.contains(warning), "{message}");
    assert_eq!(
        fs::read(repo_dir(&one).join("blobs/abc-123")).expect("blob"),
        RIGHT
    );

    // A snapshot whose listing gives no hash and a size the bytes do not have: refused.
    let server = start(
        vec![entry("notes.txt", "abc-123", 5)],
        BTreeMap::from([("notes.txt".to_owned(), Served::with_etag(RIGHT, "abc-123"))]),
    );
    let listed = tmp.path().join("listed");
    let output = download(&listed, &server, &[]).output().expect("run");
    let message = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{message}");
    assert!(message.contains(warning), "{message}");
    assert!(
        message.contains("cannot download file `notes.txt`"),
        "{message}"
    );
    assert!(message.contains(&RIGHT.len().to_string()), "{message}");
    assert!(!repo_dir(&listed).join("blobs/abc-123").exists());
    canary.assert_untouched();
}
