//! The one cache-tree builder (`hfhub_tests::tree::Tree`): each line form writes what it says, a
//! pointer's target is upstream's, a content-addressed blob is named by its hash, and a listing
//! written back as a description gives the same listing.

use std::fs;

use hfhub_tests::hash;
use hfhub_tests::tree::{self, Tree};

#[test]
fn every_line_form_writes_what_it_says() {
    let mut tree = Tree::temp();
    let commit = "c".repeat(40);
    tree.with("weights", &b"\x00\x01weights"[..])
        .write(&format!(
            r"
        # a comment, then a blank line

        models--org--m/refs/main = {commit}
        models--org--m/blobs/{etag} (300 bytes)
        models--org--m/snapshots/{commit}/sub/dir/a.bin => {etag}
        models--org--m/snapshots/{commit}/config.json => git {{}}\n
        models--org--m/snapshots/{commit}/w.safetensors => lfs $weights
        models--org--m/snapshots/{commit}/alias -> sub
        models--org--m/snapshots/{commit}/inline.txt = tab\there \x41\\
        empty/
        touch empty
        ",
            etag = "e".repeat(40),
        ));
    let root = tree.root();
    let repo = root.join("models--org--m");
    assert_eq!(
        fs::read(repo.join("refs/main")).expect("ref"),
        commit.as_bytes()
    );
    let blob = fs::read(repo.join("blobs").join("e".repeat(40))).expect("blob");
    assert_eq!(blob.len(), 300);
    assert_eq!(blob[250..253], [250, 0, 1]);
    let snapshot = repo.join("snapshots").join(&commit);
    assert_eq!(
        fs::read_link(snapshot.join("sub/dir/a.bin")).expect("pointer"),
        std::path::Path::new(&format!("../../../../blobs/{}", "e".repeat(40)))
    );
    let config_etag = hash::git_sha1(b"{}\n");
    assert_eq!(
        fs::read_link(snapshot.join("config.json")).expect("pointer"),
        std::path::Path::new(&format!("../../blobs/{config_etag}"))
    );
    assert_eq!(
        fs::read(snapshot.join("config.json")).expect("read"),
        b"{}\n"
    );
    let weights_etag = hash::sha256(b"\x00\x01weights");
    assert_eq!(
        fs::read(repo.join("blobs").join(&weights_etag)).expect("lfs blob"),
        b"\x00\x01weights"
    );
    assert_eq!(
        fs::read_link(snapshot.join("alias")).expect("link"),
        std::path::Path::new("sub")
    );
    assert_eq!(
        fs::read(snapshot.join("inline.txt")).expect("read"),
        b"tab\there A\\"
    );
    assert!(root.join("empty").is_dir());
    // Files get distinct modification times, in line order.
    let modified =
        |path: &std::path::Path| fs::metadata(path).expect("stat").modified().expect("mtime");
    assert!(modified(&repo.join("refs/main")) < modified(&repo.join("blobs").join("e".repeat(40))));
}

#[test]
fn a_listing_written_back_lists_the_same() {
    let mut first = Tree::temp();
    first.write(&format!(
        "models--gpt2/blobs/{blob} (1234 bytes)\n\
         models--gpt2/snapshots/{commit}/nested/model.bin => {blob}\n\
         models--gpt2/refs/main = {commit}\n\
         datasets--org--empty/snapshots/\n",
        blob = "b".repeat(64),
        commit = "a".repeat(40)
    ));
    let listing = tree::listing(first.root(), |_| true);
    assert!(listing.len() > 5, "{listing:?}");
    let mut second = Tree::temp();
    second.write(&listing.join("\n"));
    assert_eq!(tree::listing(second.root(), |_| true), listing);
}

#[test]
fn a_line_it_cannot_read_is_an_error_naming_it() {
    let mut tree = Tree::temp();
    let error = tree
        .try_write("ok/\nwhat is this")
        .expect_err("not a line form");
    assert!(
        error.to_string().contains("tree line 2: `what is this`"),
        "{error}"
    );
    let error = tree.try_write("a = $missing").expect_err("no such bytes");
    assert!(
        error.to_string().contains("no bytes named `missing`"),
        "{error}"
    );
    let error = tree
        .try_write("models--x/blobs/y => git x")
        .expect_err("not a snapshot path");
    assert!(error.to_string().contains("a pointer is"), "{error}");
}
