//! The benchmark's data, generated once per size set and reused while its manifest matches:
//!
//! ```text
//! target/bench/data-<full|smoke>/
//! ├── manifest.tsv                  what was generated (written last: its presence means "ready")
//! ├── served/                       the hub cache `hfhub serve` serves
//! │   ├── models--bench--large/     one LFS file `model.safetensors` of random bytes (sha256 ETag)
//! │   ├── models--bench--small/     many regular files of 1 to 16 KiB (git blob sha1 ETags)
//! │   └── models--bench--wide/      ten times as many files of 100 to 1000 bytes in 100 folders
//! ├── scan/                         a synthetic cache of many repos for `scan-cache` / `scan_cache_dir`
//! └── listing/                      (full run only) the tree listing of `bench/listing`, nginx serves it
//!     ├── page-NNNN.json            one page of 1,000 entries each, as the Hub pages `/tree`
//!     └── one-file                  the content of the one entry `--include` selects
//! ```
//!
//! Everything is written through `hub_cache`'s write side (temp blob, publish, relative symlink,
//! atomic ref), so the trees are what a download leaves. Content comes from a seeded generator.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hub_cache::hash::{HashKind, Hasher, hash_bytes};
use hub_cache::write::{BlobOrigin, RepoWriter, Symlinks, WriteOptions};
use hub_cache::{Cache, CommitHash, Repo, RepoId, RepoType};

/// The repository holding the one large LFS file.
pub const LARGE_REPO: &str = "bench/large";
/// Its file name.
pub const LARGE_FILE: &str = "model.safetensors";
/// The repository of many small files.
pub const SMALL_REPO: &str = "bench/small";
/// The repository of ten times as many, smaller, files (the scaling scenario).
pub const WIDE_REPO: &str = "bench/wide";
/// The repository whose listing only (`listing/`) exists, served by nginx.
pub const LISTING_REPO: &str = "bench/listing";
/// Entries per listing page, as the Hub's `/tree` endpoint pages them.
pub const LISTING_PAGE: usize = 1000;

/// How much data to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub large_file: u64,
    pub small_files: usize,
    pub scan_repos: usize,
    pub scan_files_per_repo: usize,
    /// Files of `bench/wide`, in 100 folders.
    pub wide_files: usize,
    /// Entries of the listing of `bench/listing` (0: no listing is generated).
    pub listing_entries: usize,
}

impl Sizes {
    fn describe(&self) -> String {
        format!(
            "# hfhub bench data v2: large {} bytes, {} small files, {} wide files, \
             scan {} repos x {} files, listing {} entries",
            self.large_file,
            self.small_files,
            self.wide_files,
            self.scan_repos,
            self.scan_files_per_repo,
            self.listing_entries
        )
    }
}

/// One file a download must reproduce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Path in the repository.
    pub path: String,
    pub size: u64,
    /// The blob name: sha256 (LFS) or git blob sha1 of the content.
    pub etag: String,
}

impl Expected {
    pub fn hash_kind(&self) -> HashKind {
        HashKind::of_blob_name(&self.etag).expect("generated ETags are sha256 or git sha1")
    }
}

/// The generated data and what it holds.
#[derive(Debug, Clone)]
pub struct Data {
    /// The hub cache to serve.
    pub served: PathBuf,
    /// The synthetic cache to scan.
    pub scan_cache: PathBuf,
    pub large: Expected,
    /// The commit of `bench/large` (for the nginx origin's headers).
    pub large_commit: String,
    pub small: Vec<Expected>,
    pub wide: Vec<Expected>,
    /// The listing nginx serves, if generated.
    pub listing: Option<Listing>,
    pub scan_repos: usize,
    pub scan_files: usize,
    /// Sum of the scan cache's blob sizes.
    pub scan_bytes: u64,
}

/// The generated listing of `bench/listing`: pages of entries, and the one file `--include`
/// selects (the last entry of the last page), which nginx serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// `listing/`: `page-NNNN.json` and `one-file`.
    pub dir: PathBuf,
    pub commit: String,
    /// Entries in all (files and folders).
    pub entries: usize,
    pub pages: usize,
    /// The one file to fetch.
    pub file: Expected,
}

impl Listing {
    pub fn page_name(index: usize) -> String {
        format!("page-{index:04}.json")
    }
}

/// Reuses `dir` when its manifest describes `sizes`, otherwise wipes and regenerates it.
pub fn ensure(dir: &Path, sizes: Sizes) -> anyhow::Result<Data> {
    let manifest = dir.join("manifest.tsv");
    if let Ok(text) = fs::read_to_string(&manifest)
        && text.lines().next() == Some(sizes.describe().as_str())
    {
        eprintln!("xtask bench: reusing the data in {}", dir.display());
        return parse_manifest(dir, &text)
            .with_context(|| format!("reading `{}`", manifest.display()));
    }
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove `{}`", dir.display()))?;
    }
    eprintln!("xtask bench: generating the data in {}", dir.display());
    let data = generate(dir, sizes)?;
    fs::write(&manifest, render_manifest(&data, sizes))
        .with_context(|| format!("cannot write `{}`", manifest.display()))?;
    Ok(data)
}

fn generate(dir: &Path, sizes: Sizes) -> anyhow::Result<Data> {
    let served = dir.join("served");
    let scan_cache = dir.join("scan");
    for path in [&served, &scan_cache] {
        fs::create_dir_all(path).with_context(|| format!("cannot create `{}`", path.display()))?;
        Cache::new(path).ensure_cachedir_tag()?;
    }
    let served_cache = Cache::new(&served);
    let mut rng = fastrand::Rng::with_seed(0x6866_6875_6232);

    let writer = repo_writer(&served_cache, RepoType::Model, LARGE_REPO)?;
    let commit = commit_for(LARGE_REPO);
    let large = write_large_blob(&writer, sizes.large_file, &mut rng)?;
    writer.link_pointer(&commit, LARGE_FILE, &large.etag, BlobOrigin::Downloaded)?;
    writer.write_ref("main", &commit)?;
    let large = Expected {
        path: LARGE_FILE.to_owned(),
        ..large
    };

    let writer = repo_writer(&served_cache, RepoType::Model, SMALL_REPO)?;
    let commit = commit_for(SMALL_REPO);
    let mut small = Vec::with_capacity(sizes.small_files);
    for index in 0..sizes.small_files {
        let path = format!("part-{:02}/file-{index:05}.json", index / 100);
        let len = rng.usize(1024..=16 * 1024);
        let content = random_bytes(&mut rng, len);
        let etag = write_small_blob(&writer, &content, HashKind::GitSha1)?;
        writer.link_pointer(&commit, &path, &etag, BlobOrigin::Downloaded)?;
        small.push(Expected {
            path,
            size: content.len() as u64,
            etag,
        });
    }
    writer.write_ref("main", &commit)?;

    let writer = repo_writer(&served_cache, RepoType::Model, WIDE_REPO)?;
    let commit = commit_for(WIDE_REPO);
    let mut wide = Vec::with_capacity(sizes.wide_files);
    for index in 0..sizes.wide_files {
        let path = format!(
            "folder-{:02}/item-{index:05}.txt",
            index * 100 / sizes.wide_files
        );
        let len = rng.usize(100..=1000);
        let content = random_bytes(&mut rng, len);
        let etag = write_small_blob(&writer, &content, HashKind::GitSha1)?;
        writer.link_pointer(&commit, &path, &etag, BlobOrigin::Downloaded)?;
        wide.push(Expected {
            path,
            size: content.len() as u64,
            etag,
        });
    }
    writer.write_ref("main", &commit)?;

    let listing = if sizes.listing_entries > 0 {
        Some(write_listing(
            &dir.join("listing"),
            sizes.listing_entries,
            &mut rng,
        )?)
    } else {
        None
    };

    let scan = Cache::new(&scan_cache);
    let mut scan_bytes = 0;
    for repo_index in 0..sizes.scan_repos {
        let (repo_type, id) = if repo_index % 5 == 4 {
            (
                RepoType::Dataset,
                format!("scan-org/dataset-{repo_index:04}"),
            )
        } else {
            (RepoType::Model, format!("scan-org/model-{repo_index:04}"))
        };
        let writer = repo_writer(&scan, repo_type, &id)?;
        let commit = commit_for(&id);
        for file_index in 0..sizes.scan_files_per_repo {
            let (path, kind) = if file_index % 10 == 0 {
                (
                    format!("weights/shard-{file_index:04}.safetensors"),
                    HashKind::Sha256,
                )
            } else {
                (
                    format!("data/{:02}/item-{file_index:04}.json", file_index / 50),
                    HashKind::GitSha1,
                )
            };
            let len = rng.usize(16..=512);
            let content = random_bytes(&mut rng, len);
            let etag = write_small_blob(&writer, &content, kind)?;
            writer.link_pointer(&commit, &path, &etag, BlobOrigin::Downloaded)?;
            scan_bytes += content.len() as u64;
        }
        writer.write_ref("main", &commit)?;
    }

    Ok(Data {
        served,
        scan_cache,
        large,
        large_commit: commit_for(LARGE_REPO).to_string(),
        small,
        wide,
        listing,
        scan_repos: sizes.scan_repos,
        scan_files: sizes.scan_repos * sizes.scan_files_per_repo,
        scan_bytes,
    })
}

/// Writes the listing of `bench/listing`: `entries` entries (one folder entry per 1,000), in
/// pages of [`LISTING_PAGE`], the Hub's `/tree?recursive=true&expand=false` form. Only the last
/// file exists (`one-file`); the other entries carry made-up, well-formed oids.
fn write_listing(dir: &Path, entries: usize, rng: &mut fastrand::Rng) -> anyhow::Result<Listing> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let content = random_bytes(rng, 4096);
    let mut file = None;
    let mut page = String::new();
    let mut pages = 0;
    for index in 0..entries {
        let folder = index / 1000;
        let entry = if index % 1000 == 0 {
            format!(
                r#"{{"type":"directory","oid":"{index:040x}","size":0,"path":"dir-{folder:04}"}}"#
            )
        } else if index + 1 == entries {
            let path = format!("dir-{folder:04}/the-one-{index:07}.bin");
            let etag = hash_bytes(HashKind::GitSha1, &content);
            let entry = format!(
                r#"{{"type":"file","oid":"{etag}","size":{},"path":"{path}"}}"#,
                content.len()
            );
            file = Some(Expected {
                path,
                size: content.len() as u64,
                etag,
            });
            entry
        } else {
            format!(
                r#"{{"type":"file","oid":"{index:040x}","size":{},"path":"dir-{folder:04}/file-{index:07}.bin"}}"#,
                100 + index % 900
            )
        };
        page.push(if page.is_empty() { '[' } else { ',' });
        page.push_str(&entry);
        if (index + 1) % LISTING_PAGE == 0 || index + 1 == entries {
            page.push(']');
            let path = dir.join(Listing::page_name(pages));
            fs::write(&path, &page)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
            page.clear();
            pages += 1;
        }
    }
    let file = file.context("a listing has at least two entries")?;
    let path = dir.join("one-file");
    fs::write(&path, &content).with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(Listing {
        dir: dir.to_owned(),
        commit: commit_for(LISTING_REPO).to_string(),
        entries,
        pages,
        file,
    })
}

fn repo_writer(cache: &Cache, repo_type: RepoType, id: &str) -> anyhow::Result<RepoWriter> {
    let repo = Repo::new(repo_type, RepoId::new(id)?);
    Ok(cache.writer(
        &repo,
        WriteOptions::default().with_symlinks(Symlinks::Supported),
    ))
}

/// A commit hash derived from a label (the git sha1 of the label's bytes).
fn commit_for(label: &str) -> CommitHash {
    CommitHash::new(&hash_bytes(HashKind::GitSha1, label.as_bytes()))
        .expect("a git sha1 is 40 lowercase hex digits")
}

fn random_bytes(rng: &mut fastrand::Rng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill(&mut bytes);
    bytes
}

fn write_small_blob(writer: &RepoWriter, content: &[u8], kind: HashKind) -> anyhow::Result<String> {
    let etag = hash_bytes(kind, content);
    let mut blob = writer.create_incomplete_blob(&etag)?;
    blob.file
        .write_all(content)
        .with_context(|| format!("cannot write `{}`", blob.path.display()))?;
    drop(blob.file);
    writer.publish_blob(&blob.path, &etag)?;
    Ok(etag)
}

/// Streams `size` random bytes into a temporary blob while hashing them, then publishes it under
/// its sha256.
fn write_large_blob(
    writer: &RepoWriter,
    size: u64,
    rng: &mut fastrand::Rng,
) -> anyhow::Result<Expected> {
    const CHUNK: usize = 4 << 20;
    // The temporary name needs a well-formed ETag before the real one is known.
    let mut blob = writer.create_incomplete_blob(&"0".repeat(64))?;
    let mut hasher = Hasher::new(HashKind::Sha256, size);
    let mut buffer = vec![0; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).expect("a chunk fits in usize");
        rng.fill(&mut buffer[..n]);
        hasher.update(&buffer[..n]);
        blob.file
            .write_all(&buffer[..n])
            .with_context(|| format!("cannot write `{}`", blob.path.display()))?;
        left -= n as u64;
    }
    drop(blob.file);
    let etag = hasher.finish();
    writer.publish_blob(&blob.path, &etag)?;
    Ok(Expected {
        path: String::new(),
        size,
        etag,
    })
}

fn render_manifest(data: &Data, sizes: Sizes) -> String {
    let mut text = format!("{}\n", sizes.describe());
    text += &format!(
        "scan\t{}\t{}\t{}\n",
        data.scan_repos, data.scan_files, data.scan_bytes
    );
    if let Some(listing) = &data.listing {
        text += &format!(
            "listing\t{}\t{}\t{}\t{}\t{}\n",
            listing.entries, listing.pages, listing.file.path, listing.file.size, listing.file.etag
        );
    }
    for (kind, file) in std::iter::once(("large", &data.large))
        .chain(data.small.iter().map(|file| ("small", file)))
        .chain(data.wide.iter().map(|file| ("wide", file)))
    {
        text += &format!("{kind}\t{}\t{}\t{}\n", file.path, file.size, file.etag);
    }
    text
}

fn parse_manifest(dir: &Path, text: &str) -> anyhow::Result<Data> {
    let mut large = None;
    let mut small = Vec::new();
    let mut wide = Vec::new();
    let mut scan = None;
    let mut listing = None;
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields[..] {
            ["scan", repos, files, bytes] => {
                scan = Some((repos.parse()?, files.parse()?, bytes.parse()?));
            }
            ["listing", entries, pages, path, size, etag] => {
                listing = Some(Listing {
                    dir: dir.join("listing"),
                    commit: commit_for(LISTING_REPO).to_string(),
                    entries: entries.parse()?,
                    pages: pages.parse()?,
                    file: Expected {
                        path: path.to_owned(),
                        size: size.parse()?,
                        etag: etag.to_owned(),
                    },
                });
            }
            [kind @ ("large" | "small" | "wide"), path, size, etag] => {
                let file = Expected {
                    path: path.to_owned(),
                    size: size.parse()?,
                    etag: etag.to_owned(),
                };
                match kind {
                    "large" => large = Some(file),
                    "small" => small.push(file),
                    _ => wide.push(file),
                }
            }
            _ => bail!("unexpected line `{line}`"),
        }
    }
    let (scan_repos, scan_files, scan_bytes) = scan.context("no scan line")?;
    Ok(Data {
        served: dir.join("served"),
        scan_cache: dir.join("scan"),
        large: large.context("no large file line")?,
        large_commit: commit_for(LARGE_REPO).to_string(),
        small,
        wide,
        listing,
        scan_repos,
        scan_files,
        scan_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_data_round_trips_through_the_manifest_and_is_reused() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let sizes = Sizes {
            large_file: 3 << 20,
            small_files: 7,
            scan_repos: 5,
            scan_files_per_repo: 12,
            wide_files: 30,
            listing_entries: 2_345,
        };
        let data = ensure(dir.path(), sizes).expect("generates");
        let large_blob = data
            .served
            .join("models--bench--large/blobs")
            .join(&data.large.etag);
        let content = fs::read(&large_blob).expect("the large blob exists");
        assert_eq!(content.len() as u64, sizes.large_file);
        assert_eq!(hash_bytes(HashKind::Sha256, &content), data.large.etag);
        let pointer = data.served.join(format!(
            "models--bench--small/snapshots/{}/{}",
            commit_for(SMALL_REPO),
            data.small[6].path
        ));
        let content = fs::read(&pointer).expect("the pointer resolves");
        assert_eq!(hash_bytes(HashKind::GitSha1, &content), data.small[6].etag);
        assert_eq!(data.scan_files, 60);
        let wide = &data.wide[29];
        assert!(wide.path.starts_with("folder-96/"), "{}", wide.path);
        let content = fs::read(data.served.join(format!(
            "models--bench--wide/snapshots/{}/{}",
            commit_for(WIDE_REPO),
            wide.path
        )))
        .expect("the wide pointer resolves");
        assert!((100..=1000).contains(&content.len()));
        assert_eq!(hash_bytes(HashKind::GitSha1, &content), wide.etag);

        // The listing: three pages, valid JSON arrays, the one file's entry last with the hash of
        // `one-file`.
        let listing = data.listing.clone().expect("a listing");
        assert_eq!((listing.entries, listing.pages), (2_345, 3));
        let last = fs::read_to_string(listing.dir.join(Listing::page_name(2))).expect("page");
        let entry = format!(
            r#"{{"type":"file","oid":"{}","size":4096,"path":"{}"}}]"#,
            listing.file.etag, listing.file.path
        );
        assert!(last.ends_with(&entry), "{last}");
        assert_eq!(last.matches(r#""type":"#).count(), 345);
        let first = fs::read_to_string(listing.dir.join(Listing::page_name(0))).expect("page");
        assert!(first.starts_with(r#"[{"type":"directory""#), "{first}");
        assert_eq!(first.matches(r#""type":"#).count(), 1000);
        let one = fs::read(listing.dir.join("one-file")).expect("the one file");
        assert_eq!(hash_bytes(HashKind::GitSha1, &one), listing.file.etag);

        let again = ensure(dir.path(), sizes).expect("reuses");
        assert_eq!(again.large, data.large);
        assert_eq!(again.small, data.small);
        assert_eq!(again.wide, data.wide);
        assert_eq!(again.listing, data.listing);
        assert_eq!(again.scan_bytes, data.scan_bytes);
    }
}
