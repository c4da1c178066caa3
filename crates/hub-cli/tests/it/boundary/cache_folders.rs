//! `hfhub download` into a cache someone planted folder links in (class 7 at the depths stop 10's
//! tests did not reach): a link at `blobs/`, `snapshots/`, `snapshots/<commit>/`, a sub-folder of a
//! snapshot, `refs/`, `.no_exist/` or `.locks/<repo>/` is refused, never written through. The
//! canary outside the cache stays byte-identical; a refused pointer or blob folder fails the
//! download with a message naming the link and a non-zero exit.

use std::fs;
use std::os::unix::fs::symlink;

use hfhub_tests::hostile::Canary;

use super::local_dir::Setup;
use super::*;

const REPO: &str = "acme/tiny";
const FOLDER: &str = "models--acme--tiny";

#[test]
fn a_folder_link_planted_anywhere_in_a_repository_folder_is_never_written_through() {
    let setup = Setup::new();
    let commit = setup.repo.commit.clone();
    let server = setup.served();
    // (the planted folder below the repository folder, whether the download must fail)
    let snapshot = format!("snapshots/{commit}");
    let snapshot_sub = format!("snapshots/{commit}/sub");
    let no_exist = format!(".no_exist/{commit}");
    let cases: [(&str, bool); 8] = [
        ("blobs", true),
        ("snapshots", true),
        (&snapshot, true),
        (&snapshot_sub, true),
        ("refs", false),
        (".no_exist", false),
        (&no_exist, false),
        ("../.locks/models--acme--tiny", true),
    ];
    for (index, (planted, fails)) in cases.into_iter().enumerate() {
        let run = setup.path(&format!("run{index}"));
        let canary = Canary::plant(&run);
        let cache = run.join("hub");
        let link = cache.join(FOLDER).join(planted);
        fs::create_dir_all(link.parent().expect("parent")).expect("parents");
        symlink(canary.dir.join("sub"), &link).expect("plant");
        let output = hfhub(&run.join("home"), &cache, &server.endpoint())
            .args(["download", REPO])
            .output()
            .expect("run hfhub");
        let err = stderr(&output);
        canary.assert_untouched();
        if fails {
            assert_ne!(output.status.code(), Some(0), "{planted}: {err}");
            assert!(err.contains("symbolic link"), "{planted}: {err}");
        } else {
            // What was not refused was downloaded, and nothing of it lies outside the cache.
            assert_eq!(output.status.code(), Some(0), "{planted}: {err}");
            let printed = std::path::PathBuf::from(stdout(&output).trim());
            let real = fs::canonicalize(printed.join("sub/config.json")).expect("resolve");
            assert!(
                real.starts_with(fs::canonicalize(&cache).expect("cache")),
                "{planted}: {}",
                real.display()
            );
        }
        // The link itself is left as it was planted (refused, not replaced or followed).
        assert!(
            fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()),
            "{planted}"
        );
    }
}

#[test]
fn a_missing_file_is_not_marked_through_a_planted_link() {
    let setup = Setup::new();
    let server = setup.served();
    let cache = setup.path("hub");
    let link = cache
        .join(FOLDER)
        .join(".no_exist")
        .join(&setup.repo.commit)
        .join("sub");
    fs::create_dir_all(link.parent().expect("parent")).expect("parents");
    symlink(setup.canary.dir.join("sub"), &link).expect("plant");
    let output = hfhub(&setup.path("home"), &cache, &server.endpoint())
        .args(["download", REPO, "sub/missing.json"])
        .output()
        .expect("run hfhub");
    let err = stderr(&output);
    assert_ne!(output.status.code(), Some(0), "{err}");
    assert!(err.contains("sub/missing.json"), "{err}");
    setup.canary.assert_untouched();
}
