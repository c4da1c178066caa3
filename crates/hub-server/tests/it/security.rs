//! Nothing outside the cache directory, and nothing that is not a finished file, is ever served.

use std::os::unix::fs::symlink;

use hub_server::Server;

use crate::support::*;

#[tokio::test]
async fn paths_escaping_the_cache_are_refused() {
    let cache = cache();
    let outside = tempfile::tempdir().expect("temp dir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, b"TOP SECRET").expect("write secret");
    let snapshot = cache.path().join("models--org--model/snapshots").join(MAIN);
    // Symlinks leaving the cache, to a folder outside, and into another repository's blobs.
    symlink(&secret, snapshot.join("leak.txt")).expect("symlink");
    symlink(outside.path(), snapshot.join("escape")).expect("symlink");
    let gated_blob = format!("../../../models--org--gated/blobs/{}", git_sha1(CONFIG));
    symlink(gated_blob, snapshot.join("other-repo.json")).expect("symlink");
    // A ref pointing outside refs/.
    symlink(&secret, cache.path().join("models--org--model/refs/sneaky")).expect("symlink");
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    let attempts = [
        "/org/model/resolve/main/leak.txt".to_owned(),
        "/org/model/resolve/main/escape/secret.txt".to_owned(),
        "/org/model/resolve/main/other-repo.json".to_owned(),
        "/org/model/resolve/main/tmp.incomplete".to_owned(),
        "/org/model/resolve/sneaky/config.json".to_owned(),
        "/org/model/resolve/main/../../../../secret.txt".to_owned(),
        "/org/model/resolve/main/%2e%2e/%2e%2e/refs/main".to_owned(),
        "/org/model/resolve/main/..%2F..%2F..%2Frefs%2Fmain".to_owned(),
        "/org/model/resolve/main/nested%5C..%5C..%5Cconfig.json".to_owned(),
        "/org/model/resolve/main/config.json%00.txt".to_owned(),
        "/org/model/resolve/..%2F..%2Fmodels--org--gated%2Frefs%2Fmain/config.json".to_owned(),
        "/org/model/resolve/%2e%2e/config.json".to_owned(),
        format!("/org/model/resolve/main/{}", secret.display()),
        "/org/..%2F..%2F/resolve/main/config.json".to_owned(),
        "/api/models/org/model/tree/main/%2e%2e?recursive=true".to_owned(),
        "/api/models/org/model/tree/main/escape".to_owned(),
        "/api/models/org/model/revision/..%2F..%2Fmodels--org--gated%2Frefs%2Fmain".to_owned(),
        "/api/models/%2e%2e/revision/main".to_owned(),
    ];
    for path in &attempts {
        for method in ["HEAD", "GET"] {
            let got = fetch(method, &format!("{base}{path}"), &[]).await;
            assert!(
                got.status == 400 || got.status == 404,
                "{method} {path} answered {}",
                got.status
            );
            assert!(
                !got.body.windows(10).any(|w| w == b"TOP SECRET"),
                "{path} leaked"
            );
        }
    }
    // The CDN serves only signed links to 64-hex blobs of a repository folder: anything else is
    // refused before the path is even looked at.
    let cdn = server.cdn_endpoint();
    for path in [
        "/models--org--model/abc.0123abcd.incomplete?x-id=1",
        "/models--org--model/..%2F..%2Fsecret.txt?x-id=1",
        "/.locks/x.lock?x-id=1",
        "/../models--org--model/blobs?x-id=1",
    ] {
        let got = fetch("GET", &format!("{cdn}{path}"), &[]).await;
        assert!(
            got.status == 403 || got.status == 404,
            "{path}: {}",
            got.status
        );
    }
    // Listings skip all of it.
    let tree = fetch(
        "GET",
        &format!("{base}/api/models/org/model/tree/main?recursive=true"),
        &[],
    )
    .await;
    let text = String::from_utf8_lossy(&tree.body).into_owned();
    for hidden in [
        "leak.txt",
        "escape",
        "other-repo.json",
        "incomplete",
        "lock",
    ] {
        assert!(!text.contains(hidden), "{hidden} listed in {text}");
    }
    server.shutdown().await;
}

#[tokio::test]
async fn directory_symlinks_are_neither_listed_nor_followed() {
    let cache = cache();
    let outside = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(outside.path().join("etc/sub")).expect("outside folders");
    std::fs::write(outside.path().join("etc/passwd"), b"TOP SECRET").expect("outside file");
    std::fs::write(outside.path().join("etc/sub/shadow"), b"TOP SECRET").expect("outside file");
    let model = cache.path().join("models--org--model");
    let snapshot = model.join("snapshots").join(MAIN);
    // A folder symlink to the outside at the root and deeper down.
    symlink(outside.path(), snapshot.join("link")).expect("symlink");
    symlink(outside.path(), snapshot.join("nested/dir/link")).expect("symlink");
    // A repository whose blobs/ and one whose snapshots/ are themselves symlinks leading out.
    let (bad_blobs, bad_snapshots) = (
        cache.path().join("models--org--gated"),
        cache.path().join("models--org--private"),
    );
    let real_blobs = outside.path().join("blobs");
    std::fs::rename(bad_blobs.join("blobs"), &real_blobs).expect("move blobs out");
    symlink(&real_blobs, bad_blobs.join("blobs")).expect("symlink");
    let real_snapshots = outside.path().join("snapshots");
    std::fs::rename(bad_snapshots.join("snapshots"), &real_snapshots).expect("move snapshots");
    symlink(&real_snapshots, bad_snapshots.join("snapshots")).expect("symlink");
    let server = Server::builder(cache.path()).start().await.expect("start");
    let base = server.endpoint();
    for path in [
        "/api/models/org/model/tree/main/link",
        "/api/models/org/model/tree/main/link/etc",
        "/api/models/org/model/tree/main/link/etc/sub?recursive=true",
        "/api/models/org/model/tree/main/nested/dir/link/etc",
        "/org/model/resolve/main/link/etc/passwd",
        "/org/model/resolve/main/nested/dir/link/etc/sub/shadow",
        "/org/gated/resolve/main/config.json",
        "/api/models/org/private",
        "/org/private/resolve/main/config.json",
    ] {
        let got = fetch("GET", &format!("{base}{path}"), &[]).await;
        assert_eq!(got.status, 404, "{path}");
        assert!(
            !got.body.windows(10).any(|w| w == b"TOP SECRET"),
            "{path} leaked"
        );
    }
    // A snapshot whose blobs are outside lists no file.
    let got = fetch(
        "GET",
        &format!("{base}/api/models/org/gated/tree/main"),
        &[],
    )
    .await;
    assert_eq!((got.status, got.body.as_slice()), (200, b"[]".as_slice()));
    // The listings of the snapshot name none of it.
    for path in [
        "/api/models/org/model/tree/main?recursive=true",
        "/api/models/org/model/tree/main/nested/dir",
        "/api/models/org/model",
    ] {
        let got = fetch("GET", &format!("{base}{path}"), &[]).await;
        assert_eq!(got.status, 200, "{path}");
        let text = String::from_utf8_lossy(&got.body).into_owned();
        for hidden in ["link", "etc", "passwd", "shadow"] {
            assert!(!text.contains(hidden), "{path} lists {hidden}: {text}");
        }
    }
    server.shutdown().await;
}
