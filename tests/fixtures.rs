//! Deterministic hub caches for tests and demos, written entry by entry through the one tree builder
//! ([`crate::tree::Tree`]), then stamped with fixed times and modes.
//!
//! The generator does not use `hub_cache`'s write side (only its vocabulary and constants), so a
//! fixture is an independent check of it: blobs are named by the real hash of their content (git
//! blob sha1 for regular files, sha256 for LFS files), snapshot pointers are relative symlinks as
//! upstream writes them, refs have no trailing newline, and every file and directory gets a fixed
//! access and modification time. Running [`generate_all`] twice gives byte-identical trees.
//!
//! Each fixture is a cache of its own under `<root>/<name>/`:
//!
//! ```text
//! <root>/
//! ├── big-mixed/                        the main demo cache (healthy, several repos)
//! │   ├── CACHEDIR.TAG
//! │   ├── .locks/models--gpt2/<etag>.lock
//! │   ├── models--gpt2/
//! │   │   ├── blobs/<sha1 or sha256>    plus one unreferenced blob and one <etag>.<8hex>.incomplete
//! │   │   ├── refs/main, refs/v1.0, refs/refs/pr/1
//! │   │   ├── snapshots/<commit>/onnx/decoder_model.onnx -> ../../../blobs/<sha256>
//! │   │   ├── .no_exist/<commit>/added_tokens.json
//! │   │   └── trees/<commit>.json
//! │   ├── models--acme-org--tiny-bert/  unicode paths, a branch, an empty snapshot dir
//! │   ├── datasets--wikitext/ ...       datasets and spaces, with and without an organisation
//! │   └── spaces--acme-org--demo-space/
//! ├── legacy-0.2x/                      as huggingface_hub 0.2x leaves a cache: no CACHEDIR.TAG, no trees/
//! ├── minimal/, empty/                  one repo with one file; a cache with nothing but its tag
//! └── corrupt-*/                        one healthy repo plus one entry scan_cache_dir rejects
//! ```
//!
//! What each fixture holds is returned alongside it ([`Fixture::repos`], [`Fixture::corruption`]) so
//! tests can compare a scan with what was written without hard-coding it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, FileTimes};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::hash::{git_sha1, sha1, sha256};
use crate::tree::{Tree, pointer_target};
use hub_cache::RepoType;
use hub_cache::layout::{CACHEDIR_TAG, CACHEDIR_TAG_NAME, LOCKS_DIR};

/// Name of the main demo fixture (healthy, several repos of every type).
pub const BIG_MIXED: &str = "big-mixed";
/// Name of the fixture laid out as huggingface_hub 0.2x leaves a cache.
pub const LEGACY_0X: &str = "legacy-0.2x";

/// The time every generated entry is stamped with unless it has a more specific one:
/// 2024-01-01T00:00:00Z.
pub const EPOCH_SECONDS: u64 = 1_704_067_200;

const DAY: u64 = 86_400;
const KIB: usize = 1024;

/// One generated cache directory.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// Directory name under the root, e.g. `big-mixed`, `corrupt-missing-blob`.
    pub name: String,
    /// The hub cache directory (`<root>/<name>`), to pass as `cache_dir`.
    pub cache_dir: PathBuf,
    /// Whether `scan_cache_dir` must report a warning on it.
    pub corrupt: bool,
    /// One line saying what the fixture is for.
    pub description: &'static str,
    /// The repos a scan reports (the corrupt entry of a corrupt fixture is not among them).
    pub repos: Vec<FixtureRepo>,
    /// The one broken entry of a corrupt fixture.
    pub corruption: Option<Corruption>,
    /// Every `*/blobs/*.incomplete` file (interrupted downloads).
    pub incomplete_files: Vec<PathBuf>,
}

/// A healthy repo folder of a fixture, as a scan must see it.
#[derive(Debug, Clone)]
pub struct FixtureRepo {
    /// Model, dataset or space.
    pub repo_type: RepoType,
    /// `gpt2`, `acme-org/tiny-bert`...
    pub repo_id: String,
    /// `<cache>/models--gpt2`...
    pub path: PathBuf,
    /// Every snapshot directory, in commit order.
    pub revisions: Vec<FixtureRevision>,
    /// Ref name (`main`, `v1.0`, `refs/pr/1`) to commit hash.
    pub refs: BTreeMap<String, String>,
    /// `(commit, repo path)` of each `.no_exist/<commit>/<path>` marker.
    pub no_exist: Vec<(String, String)>,
    /// Commits that have a `trees/<commit>.json` listing.
    pub trees: Vec<String>,
    /// Blob names present in `blobs/` that no snapshot points to.
    pub unreferenced_blobs: Vec<String>,
}

/// One `snapshots/<commit>/` directory.
#[derive(Debug, Clone)]
pub struct FixtureRevision {
    /// The 40-hex commit naming `snapshots/<commit>/`.
    pub commit: String,
    /// The refs whose content is this commit (empty for a detached revision).
    pub refs: Vec<String>,
    /// The files present in the snapshot (a snapshot can be partial, or empty).
    pub files: Vec<FixtureFile>,
    /// Files of the commit that are listed in its tree but were never downloaded.
    pub missing: Vec<String>,
}

/// One file of a commit.
#[derive(Debug, Clone)]
pub struct FixtureFile {
    /// Path in the repo, `/`-separated (`données/résumé.txt`).
    pub path: String,
    /// Blob name: git blob sha1 (40 hex), or sha256 (64 hex) for LFS files.
    pub etag: String,
    /// Stored through git-LFS on the Hub (so named by sha256 in the cache).
    pub lfs: bool,
    /// The file's bytes, as a download must return them.
    pub content: Vec<u8>,
}

impl FixtureFile {
    /// Size in bytes, as the blob's `st_size`.
    pub fn size(&self) -> u64 {
        self.content.len() as u64
    }
}

impl Fixture {
    /// The healthy repo with this id (`gpt2`, `acme-org/tiny-bert`).
    pub fn repo(&self, repo_id: &str) -> Option<&FixtureRepo> {
        self.repos.iter().find(|r| r.repo_id == repo_id)
    }
}

impl FixtureRepo {
    /// The folder name (`models--acme-org--tiny-bert`).
    pub fn folder_name(&self) -> String {
        folder_name(self.repo_type, &self.repo_id)
    }

    /// Distinct blobs referenced by any snapshot: what a scan counts as the repo's files.
    pub fn referenced_blobs(&self) -> BTreeMap<String, u64> {
        self.revisions
            .iter()
            .flat_map(|r| &r.files)
            .map(|f| (f.etag.clone(), f.size()))
            .collect()
    }

    /// The snapshot of one commit.
    pub fn revision(&self, commit: &str) -> Option<&FixtureRevision> {
        self.revisions.iter().find(|r| r.commit == commit)
    }
}

/// The cases of spec section 7.2: one corrupt entry makes `scan_cache_dir` skip it with a warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptionKind {
    /// A regular file at the top level of the cache.
    TopLevelFile,
    /// A directory whose name has no `--`.
    NameWithoutDashes,
    /// A `<prefix>--name` directory with an unknown plural type.
    UnknownType,
    /// A repo folder without `snapshots/`.
    MissingSnapshots,
    /// A repo folder whose `refs` is a file.
    RefsIsFile,
    /// A regular file directly in `snapshots/`.
    FileInSnapshots,
    /// A snapshot pointer whose blob was deleted.
    MissingBlob,
    /// A ref holding a commit that has no snapshot directory.
    RefToMissingCommit,
}

/// The broken entry of a corrupt fixture.
#[derive(Debug, Clone)]
pub struct Corruption {
    /// Which of the spec 7.2 cases it is.
    pub kind: CorruptionKind,
    /// The path the warning names, relative to the cache directory.
    pub path: PathBuf,
    /// For [`CorruptionKind::RefToMissingCommit`]: the dangling commit and the ref holding it.
    pub dangling_ref: Option<(String, String)>,
}

impl Corruption {
    /// The `CorruptedCacheException` message huggingface_hub 2.x gives, for a cache directory as
    /// Python sees it (`Path(cache_dir).resolve()`).
    pub fn message_2x(&self, cache_dir: &Path) -> String {
        let path = cache_dir.join(&self.path);
        let path = path.display();
        match self.kind {
            CorruptionKind::TopLevelFile => format!("Repo path is not a directory: {path}"),
            CorruptionKind::NameWithoutDashes => {
                format!("Repo path is not a valid HuggingFace cache directory: {path}")
            }
            CorruptionKind::UnknownType => {
                let name = self.path.to_string_lossy();
                let prefix = name.split("--").next().unwrap_or_default();
                format!(
                    "Repo type must be one of ['datasets', 'kernels', 'models', 'spaces'], \
                     found `{prefix}` ({path})."
                )
            }
            CorruptionKind::MissingSnapshots => {
                format!("Snapshots dir doesn't exist in cached repo: {path}")
            }
            CorruptionKind::RefsIsFile => format!("Refs directory cannot be a file: {path}"),
            CorruptionKind::FileInSnapshots => {
                format!("Snapshots folder corrupted. Found a file: {path}")
            }
            CorruptionKind::MissingBlob => format!("Blob missing (broken symlink): {path}"),
            CorruptionKind::RefToMissingCommit => {
                let (commit, name) = self.dangling_ref.clone().unwrap_or_default();
                format!(
                    "Reference(s) refer to missing commit hashes: {{'{commit}': {{'{name}'}}}} ({path})."
                )
            }
        }
    }
}

/// Names of every fixture, in generation order.
pub fn names() -> Vec<&'static str> {
    catalogue().iter().map(|spec| spec.name).collect()
}

/// Writes every fixture under `root` (each `root/<name>` is removed first) and describes them.
pub fn generate_all(root: &Path) -> io::Result<Vec<Fixture>> {
    catalogue()
        .iter()
        .map(|spec| write_fixture(root, spec))
        .collect()
}

/// Writes one fixture by name under `root` (`root/<name>` is removed first).
pub fn generate(root: &Path, name: &str) -> io::Result<Fixture> {
    let spec = catalogue()
        .into_iter()
        .find(|spec| spec.name == name)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no fixture named `{name}`"),
            )
        })?;
    write_fixture(root, &spec)
}

/// `models--org--name`, computed here rather than with `hub_cache` so fixtures check it.
pub fn folder_name(repo_type: RepoType, repo_id: &str) -> String {
    let mut name = repo_type.plural().to_owned();
    for part in repo_id.split('/') {
        name.push_str("--");
        name.push_str(part);
    }
    name
}

/// The text of the git-LFS pointer a repo stores in place of a large file.
pub fn lfs_pointer(content: &[u8]) -> String {
    format!(
        "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize {}\n",
        sha256(content),
        content.len()
    )
}

/// The `trees/<commit>.json` text huggingface_hub 2.x writes: `json.dump(data, indent=1)` with its
/// default ASCII escaping, files sorted by path, no trailing newline.
pub fn tree_json(files: &[FixtureFile]) -> String {
    let mut sorted: Vec<&FixtureFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut out = String::from("{\n \"format_version\": 1,\n \"files\": ");
    if sorted.is_empty() {
        out.push_str("{}");
    } else {
        out.push_str("{\n");
        for (index, file) in sorted.iter().enumerate() {
            let mut fields = vec![
                ("size", file.size().to_string()),
                ("blob_id", json_string(&git_sha1(&file_bytes_in_git(file)))),
            ];
            if file.lfs {
                fields.push(("lfs_sha256", json_string(&file.etag)));
                fields.push(("lfs_size", file.size().to_string()));
            }
            out.push_str("  ");
            out.push_str(&json_string(&file.path));
            out.push_str(": {\n");
            let rendered: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("   \"{key}\": {value}"))
                .collect();
            out.push_str(&rendered.join(",\n"));
            out.push_str("\n  }");
            if index + 1 < sorted.len() {
                out.push(',');
            }
            out.push('\n');
        }
        out.push_str(" }");
    }
    out.push_str("\n}");
    out
}

/// What git stores for a file: the content, or the LFS pointer text for LFS files.
fn file_bytes_in_git(file: &FixtureFile) -> Vec<u8> {
    if file.lfs {
        lfs_pointer(&file.content).into_bytes()
    } else {
        file.content.clone()
    }
}

/// A JSON string literal as Python's `json.dumps` writes it with `ensure_ascii=True`: serde_json's
/// literal (quotes, backslashes and control characters escaped as Python does) with every character
/// outside printable ASCII then written as `\uXXXX` UTF-16 units.
fn json_string(value: &str) -> String {
    let literal = serde_json::to_string(value).expect("a string serializes");
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            for unit in c.encode_utf16(&mut [0; 2]) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

/// A deterministic commit hash: sha1 of a label, 40 hex.
pub fn commit_hash(label: &str) -> String {
    sha1(label.as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Deterministic content.

/// splitmix64, seeded from a string with FNV-1a.
struct Prng(u64);

impl Prng {
    fn new(seed: &str) -> Prng {
        let mut state: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in seed.bytes() {
            state ^= u64::from(byte);
            state = state.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Prng(state)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

const WORDS: &[&str] = &[
    "hub",
    "cache",
    "blob",
    "tensor",
    "layer",
    "token",
    "weight",
    "commit",
    "snapshot",
    "revision",
    "model",
    "dataset",
    "space",
    "attention",
    "vocab",
    "merge",
    "données",
    "résumé",
    "ファイル",
];

/// Readable text of about `len` bytes, lines of words picked from a fixed vocabulary.
fn words(seed: &str, len: usize) -> Vec<u8> {
    let mut prng = Prng::new(seed);
    let mut out = String::new();
    let mut line = 0;
    while out.len() < len {
        let word = WORDS[(prng.next() % WORDS.len() as u64) as usize];
        out.push_str(word);
        line += 1;
        out.push(if line % 12 == 0 { '\n' } else { ' ' });
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.into_bytes()
}

// ---------------------------------------------------------------------------------------------
// Declarative description of the fixtures.

struct FixtureSpec {
    name: &'static str,
    description: &'static str,
    cachedir_tag: bool,
    repos: Vec<RepoSpec>,
    corruption: Option<CorruptionKind>,
}

struct RepoSpec {
    repo_type: RepoType,
    id: &'static str,
    commits: Vec<CommitSpec>,
    /// Ref name to commit index.
    refs: Vec<(&'static str, usize)>,
    /// (commit index, repo path).
    no_exist: Vec<(usize, &'static str)>,
    /// Commit indices with a `trees/<commit>.json`.
    trees: Vec<usize>,
    /// Blobs nobody points to.
    unreferenced: Vec<FileSpec>,
    /// An interrupted download: file, bytes written so far, 2.x naming (`.<8hex>.incomplete`).
    incomplete: Option<(FileSpec, usize, bool)>,
    /// Lock files in `.locks/<folder>/` for the blobs of this commit index.
    locks_for: Option<usize>,
}

impl RepoSpec {
    fn new(repo_type: RepoType, id: &'static str) -> RepoSpec {
        RepoSpec {
            repo_type,
            id,
            commits: Vec::new(),
            refs: Vec::new(),
            no_exist: Vec::new(),
            trees: Vec::new(),
            unreferenced: Vec::new(),
            incomplete: None,
            locks_for: None,
        }
    }

    fn commit(mut self, label: &'static str, files: Vec<FileSpec>) -> RepoSpec {
        self.commits.push(CommitSpec { label, files });
        self
    }

    fn reference(mut self, name: &'static str, commit: usize) -> RepoSpec {
        self.refs.push((name, commit));
        self
    }

    fn commit_hash(&self, index: usize) -> String {
        commit_hash(&format!(
            "{}:{}",
            folder_name(self.repo_type, self.id),
            self.commits[index].label
        ))
    }
}

struct CommitSpec {
    label: &'static str,
    files: Vec<FileSpec>,
}

#[derive(Clone)]
struct FileSpec {
    path: String,
    content: Vec<u8>,
    lfs: bool,
    /// Downloaded into the snapshot (otherwise only listed in the tree).
    cached: bool,
}

impl FileSpec {
    fn etag(&self) -> String {
        crate::hash::etag(&self.content, self.lfs)
    }

    fn not_cached(mut self) -> FileSpec {
        self.cached = false;
        self
    }
}

fn text(path: &str, content: &str) -> FileSpec {
    FileSpec {
        path: path.to_owned(),
        content: content.as_bytes().to_vec(),
        lfs: false,
        cached: true,
    }
}

fn prose(path: &str, seed: &str, len: usize) -> FileSpec {
    FileSpec {
        path: path.to_owned(),
        content: words(seed, len),
        lfs: false,
        cached: true,
    }
}

fn lfs(path: &str, seed: &str, len: usize) -> FileSpec {
    FileSpec {
        path: path.to_owned(),
        content: Prng::new(seed).bytes(len),
        lfs: true,
        cached: true,
    }
}

fn config(model_type: &str, version: u32) -> String {
    format!(
        "{{\n  \"model_type\": \"{model_type}\",\n  \"n_layer\": {},\n  \"vocab_size\": 50257,\n  \"_revision\": {version}\n}}\n",
        2 + version
    )
}

fn readme(title: &str, version: u32) -> String {
    format!(
        "---\nlicense: apache-2.0\n---\n# {title}\n\nDeterministic fixture, version {version}.\n"
    )
}

fn gpt2() -> RepoSpec {
    let readme_v1 = text("README.md", &readme("gpt2", 1));
    let readme_v2 = text("README.md", &readme("gpt2", 2));
    let config_v1 = text("config.json", &config("gpt2", 1));
    let weights_v1 = lfs("model.safetensors", "gpt2/model.safetensors/1", 512 * KIB);
    let weights_v2 = lfs("model.safetensors", "gpt2/model.safetensors/2", 1024 * KIB);
    let tokenizer = prose("tokenizer.json", "gpt2/tokenizer.json", 20 * KIB);
    let onnx = lfs(
        "onnx/decoder_model.onnx",
        "gpt2/onnx/decoder_model.onnx",
        256 * KIB,
    );
    let flax = lfs("flax_model.msgpack", "gpt2/flax_model.msgpack", 300 * KIB).not_cached();
    let mut spec = RepoSpec::new(RepoType::Model, "gpt2")
        // 0: detached (no ref points to it any more).
        .commit(
            "initial",
            vec![readme_v1, config_v1.clone(), weights_v1.clone()],
        )
        // 1: tag v1.0; shares config.json with 0.
        .commit(
            "v1.0",
            vec![
                readme_v2.clone(),
                config_v1,
                weights_v2.clone(),
                tokenizer.clone(),
            ],
        )
        // 2: main; shares README, weights and tokenizer with 1; flax weights never finished.
        .commit(
            "main",
            vec![
                readme_v2.clone(),
                text("config.json", &config("gpt2", 2)),
                weights_v2.clone(),
                tokenizer.clone(),
                onnx.clone(),
                flax.clone(),
            ],
        )
        // 3: refs/pr/1; only the two changed files were downloaded.
        .commit(
            "pr-1",
            vec![
                readme_v2.not_cached(),
                text("config.json", &config("gpt2", 3)),
                text(
                    "generation_config.json",
                    "{\n  \"do_sample\": true,\n  \"max_length\": 50\n}\n",
                ),
                weights_v2.not_cached(),
                tokenizer.not_cached(),
                onnx.not_cached(),
                flax.clone(),
            ],
        )
        .reference("main", 2)
        .reference("v1.0", 1)
        .reference("refs/pr/1", 3);
    spec.no_exist = vec![
        (2, "added_tokens.json"),
        (2, "onnx/decoder_with_past_model.onnx"),
    ];
    spec.trees = vec![1, 2];
    spec.unreferenced = vec![lfs(
        "pytorch_model.bin",
        "gpt2/pytorch_model.bin",
        200 * KIB,
    )];
    spec.incomplete = Some((flax, 100 * KIB, true));
    spec.locks_for = Some(2);
    spec
}

fn tiny_bert() -> RepoSpec {
    let config = text("config.json", &config("bert", 1));
    let vocab = prose("vocab.txt", "tiny-bert/vocab.txt", 4 * KIB);
    let japanese = lfs(
        "日本語/ファイル.bin",
        "tiny-bert/日本語/ファイル.bin",
        128 * KIB,
    );
    let mut spec = RepoSpec::new(RepoType::Model, "acme-org/tiny-bert")
        .commit(
            "main",
            vec![
                config.clone(),
                vocab.clone(),
                text(
                    "données/résumé.txt",
                    "Résumé des données : café, naïve, Ærøskøbing, 日本語.\n",
                ),
                japanese.clone(),
            ],
        )
        .commit(
            "dev",
            vec![
                config.clone(),
                vocab.clone(),
                text(
                    "données/résumé.txt",
                    "Résumé des données, deuxième version : œuvre, façade.\n",
                ),
                japanese.clone(),
                prose("nested/a/b/c/deep.txt", "tiny-bert/deep", 512),
            ],
        )
        // 2: a download that failed before writing any file: an empty snapshot dir.
        .commit(
            "failed",
            vec![
                config.not_cached(),
                vocab.not_cached(),
                japanese.not_cached(),
            ],
        )
        .reference("main", 0)
        .reference("dev", 1);
    spec.no_exist = vec![(1, "tokenizer.json")];
    spec.trees = vec![0];
    spec
}

fn wikitext() -> RepoSpec {
    let readme = text("README.md", &readme("wikitext", 1));
    let mut spec = RepoSpec::new(RepoType::Dataset, "wikitext")
        .commit(
            "main",
            vec![
                readme.clone(),
                lfs(
                    "wikitext-2-raw-v1/train-00000-of-00001.parquet",
                    "wikitext/train",
                    1536 * KIB,
                ),
                lfs(
                    "wikitext-2-raw-v1/test-00000-of-00001.parquet",
                    "wikitext/test",
                    150 * KIB,
                ),
            ],
        )
        .commit(
            "parquet-conversion",
            vec![lfs("default/test/0000.parquet", "wikitext/test", 150 * KIB)],
        )
        .reference("main", 0)
        .reference("refs/convert/parquet", 1);
    spec.trees = vec![0];
    spec
}

fn reviews() -> RepoSpec {
    let test_split = prose("data/test.csv", "reviews/test", 3 * KIB);
    let mut spec = RepoSpec::new(RepoType::Dataset, "acme-org/reviews")
        .commit(
            "first",
            vec![
                prose("data/train.csv", "reviews/train/1", 6 * KIB),
                test_split.clone(),
            ],
        )
        .commit(
            "second",
            vec![
                prose("data/train.csv", "reviews/train/2", 7 * KIB),
                test_split,
                text("README.md", &readme("reviews", 2)),
            ],
        )
        .reference("main", 1);
    spec.no_exist = vec![(1, "data/validation.csv")];
    spec
}

fn demo_space() -> RepoSpec {
    RepoSpec::new(RepoType::Space, "acme-org/demo-space")
        .commit(
            "main",
            vec![
                text(
                    "app.py",
                    "import gradio as gr\n\ngr.Interface(fn=str.upper, inputs=\"text\", outputs=\"text\").launch()\n",
                ),
                text("requirements.txt", "gradio\n"),
                text("README.md", &readme("demo space", 1)),
            ],
        )
        .reference("main", 0)
}

fn hello_space() -> RepoSpec {
    RepoSpec::new(RepoType::Space, "hello-world")
        .commit("main", vec![text("app.py", "print('hello world')\n")])
        .reference("main", 0)
}

fn healthy_small() -> RepoSpec {
    RepoSpec::new(RepoType::Model, "acme-org/healthy")
        .commit(
            "main",
            vec![
                text("config.json", &config("healthy", 1)),
                prose("sub/dir/notes.txt", "healthy/notes", 300),
            ],
        )
        .reference("main", 0)
}

/// The repo that is broken in a corrupt fixture (before breaking it).
fn victim() -> RepoSpec {
    RepoSpec::new(RepoType::Model, "acme-org/broken")
        .commit(
            "main",
            vec![
                text("config.json", &config("broken", 1)),
                text("data/file.txt", "soon gone\n"),
            ],
        )
        .reference("main", 0)
}

fn catalogue() -> Vec<FixtureSpec> {
    let corrupt = |name, description, kind| FixtureSpec {
        name,
        description,
        cachedir_tag: true,
        repos: vec![healthy_small()],
        corruption: Some(kind),
    };
    let mut legacy_gpt2 = gpt2();
    legacy_gpt2.trees.clear();
    if let Some(incomplete) = &mut legacy_gpt2.incomplete {
        incomplete.2 = false;
    }
    vec![
        FixtureSpec {
            name: BIG_MIXED,
            description: "healthy cache: models, datasets and spaces with and without an organisation, \
                          branches, tags, PR and convert refs, shared and unreferenced blobs, unicode paths, \
                          LFS files, .no_exist markers, trees/, .locks/, an empty snapshot, an interrupted download",
            cachedir_tag: true,
            repos: vec![
                gpt2(),
                tiny_bert(),
                wikitext(),
                reviews(),
                demo_space(),
                hello_space(),
            ],
            corruption: None,
        },
        FixtureSpec {
            name: LEGACY_0X,
            description: "healthy cache as huggingface_hub 0.2x leaves it: no CACHEDIR.TAG, no trees/, \
                          <etag>.incomplete without the random part",
            cachedir_tag: false,
            repos: vec![legacy_gpt2, reviews()],
            corruption: None,
        },
        FixtureSpec {
            name: "minimal",
            description: "healthy cache with one model, one commit, two files",
            cachedir_tag: true,
            repos: vec![healthy_small()],
            corruption: None,
        },
        FixtureSpec {
            name: "empty",
            description: "healthy cache with nothing but CACHEDIR.TAG and an empty .locks/",
            cachedir_tag: true,
            repos: Vec::new(),
            corruption: None,
        },
        corrupt(
            "corrupt-top-level-file",
            "a regular file at the top level of the cache",
            CorruptionKind::TopLevelFile,
        ),
        corrupt(
            "corrupt-name-without-dashes",
            "a top-level directory whose name has no `--`",
            CorruptionKind::NameWithoutDashes,
        ),
        corrupt(
            "corrupt-unknown-type",
            "a repo folder with an unknown type prefix",
            CorruptionKind::UnknownType,
        ),
        corrupt(
            "corrupt-missing-snapshots",
            "a repo folder without snapshots/",
            CorruptionKind::MissingSnapshots,
        ),
        corrupt(
            "corrupt-refs-is-file",
            "a repo folder whose refs is a file",
            CorruptionKind::RefsIsFile,
        ),
        corrupt(
            "corrupt-file-in-snapshots",
            "a regular file directly in snapshots/",
            CorruptionKind::FileInSnapshots,
        ),
        corrupt(
            "corrupt-missing-blob",
            "a snapshot pointer whose blob was deleted (broken symlink)",
            CorruptionKind::MissingBlob,
        ),
        corrupt(
            "corrupt-ref-to-missing-commit",
            "refs/main holds a commit with no snapshot directory",
            CorruptionKind::RefToMissingCommit,
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Writing.

/// Writes entries through the one tree builder ([`Tree`]) and collects the times to stamp once
/// everything is written (writing into a directory changes its modification time, so directories are
/// stamped last, deepest first). The stamping pass is why fixtures are not one text description:
/// each entry gets the time and mode upstream would leave, and the whole tree is compared byte for
/// byte across runs.
struct Writer {
    root: PathBuf,
    tree: Tree<'static>,
    times: BTreeMap<PathBuf, SystemTime>,
    /// Permission bits other than the defaults (0644 files, 0755 directories), so the umask of
    /// the machine does not leak into the fixture.
    modes: BTreeMap<PathBuf, u32>,
}

fn at(seconds_after_epoch: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECONDS + seconds_after_epoch)
}

impl Writer {
    /// `path` as a line of a tree description: relative to the root, UTF-8.
    fn relative<'p>(&self, path: &'p Path) -> io::Result<&'p str> {
        path.strip_prefix(&self.root)
            .ok()
            .and_then(Path::to_str)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("`{}` is not a UTF-8 path below the fixture", path.display()),
                )
            })
    }

    fn file(
        &mut self,
        path: &Path,
        content: &[u8],
        modified: Option<SystemTime>,
    ) -> io::Result<()> {
        let line = format!("{} = $content", self.relative(path)?);
        self.tree
            .with("content", content.to_vec())
            .try_write(&line)?;
        if let Some(time) = modified {
            self.times.insert(path.to_path_buf(), time);
        }
        Ok(())
    }

    fn symlink(&mut self, target: &str, link: &Path) -> io::Result<()> {
        let line = format!("{} -> {target}", self.relative(link)?);
        self.tree.try_write(&line)
    }

    fn dir(&mut self, path: &Path) -> io::Result<()> {
        let line = format!("{}/", self.relative(path)?);
        self.tree.try_write(&line)
    }

    /// Stamps every entry under the root (symlinks excepted: std cannot stamp a link itself, and
    /// readers follow them) with its recorded time, or the epoch.
    fn stamp(&self) -> io::Result<()> {
        self.stamp_dir(&self.root)
    }

    fn stamp_dir(&self, dir: &Path) -> io::Result<()> {
        let mut entries: Vec<PathBuf> = fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<io::Result<_>>()?;
        entries.sort();
        for path in entries {
            let kind = fs::symlink_metadata(&path)?.file_type();
            if kind.is_dir() {
                self.stamp_dir(&path)?;
            } else if kind.is_file() {
                self.stamp_one(&path)?;
            }
        }
        self.stamp_one(dir)
    }

    fn stamp_one(&self, path: &Path) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        let default_mode = if path.is_dir() { 0o755 } else { 0o644 };
        let mode = self.modes.get(path).copied().unwrap_or(default_mode);
        fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
        let modified = self.times.get(path).copied().unwrap_or_else(|| at(0));
        // Accessed half a day after the modification, so atime and mtime differ in scans.
        let accessed = modified + Duration::from_secs(DAY / 2);
        File::open(path)?.set_times(
            FileTimes::new()
                .set_modified(modified)
                .set_accessed(accessed),
        )
    }
}

fn write_fixture(root: &Path, spec: &FixtureSpec) -> io::Result<Fixture> {
    let cache_dir = root.join(spec.name);
    match fs::remove_dir_all(&cache_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    fs::create_dir_all(&cache_dir)?;
    let mut writer = Writer {
        root: cache_dir.clone(),
        tree: Tree::at(&cache_dir),
        times: BTreeMap::new(),
        modes: BTreeMap::new(),
    };
    if spec.cachedir_tag {
        writer.file(
            &cache_dir.join(CACHEDIR_TAG_NAME),
            CACHEDIR_TAG.as_bytes(),
            None,
        )?;
    }
    writer.dir(&cache_dir.join(LOCKS_DIR))?;

    let mut repos = Vec::new();
    let mut incomplete_files = Vec::new();
    for (repo_index, repo) in spec.repos.iter().enumerate() {
        let (written, incomplete) = write_repo(&mut writer, &cache_dir, repo_index as u64, repo)?;
        repos.push(written);
        incomplete_files.extend(incomplete);
    }

    let corruption = match spec.corruption {
        Some(kind) => Some(corrupt(&mut writer, &cache_dir, kind)?),
        None => None,
    };

    writer.stamp()?;
    Ok(Fixture {
        name: spec.name.to_owned(),
        cache_dir,
        corrupt: corruption.is_some(),
        description: spec.description,
        repos,
        corruption,
        incomplete_files,
    })
}

fn write_repo(
    writer: &mut Writer,
    cache_dir: &Path,
    repo_index: u64,
    spec: &RepoSpec,
) -> io::Result<(FixtureRepo, Vec<PathBuf>)> {
    let folder = folder_name(spec.repo_type, spec.id);
    let repo_dir = cache_dir.join(&folder);
    let blobs = repo_dir.join("blobs");
    writer.dir(&blobs)?;
    let repo_time = repo_index * 7 * DAY;

    let mut refs = BTreeMap::new();
    for (name, commit) in &spec.refs {
        let hash = spec.commit_hash(*commit);
        writer.file(&repo_dir.join("refs").join(name), hash.as_bytes(), None)?;
        refs.insert((*name).to_owned(), hash);
    }

    let mut revisions = Vec::new();
    let mut written_blobs = BTreeSet::new();
    for (commit_index, commit) in spec.commits.iter().enumerate() {
        let hash = spec.commit_hash(commit_index);
        let snapshot = repo_dir.join("snapshots").join(&hash);
        writer.dir(&snapshot)?;
        let commit_time = at(repo_time + commit_index as u64 * DAY);
        writer.times.insert(snapshot.clone(), commit_time);
        let mut files = Vec::new();
        let mut missing = Vec::new();
        for (file_index, file) in commit.files.iter().enumerate() {
            if !file.cached {
                missing.push(file.path.clone());
                continue;
            }
            let etag = file.etag();
            if written_blobs.insert(etag.clone()) {
                let modified = commit_time + Duration::from_secs(60 * file_index as u64);
                writer.file(&blobs.join(&etag), &file.content, Some(modified))?;
            }
            let link = file
                .path
                .split('/')
                .fold(snapshot.clone(), |path, part| path.join(part));
            writer.symlink(&pointer_target(&file.path, &etag), &link)?;
            files.push(FixtureFile {
                path: file.path.clone(),
                etag,
                lfs: file.lfs,
                content: file.content.clone(),
            });
        }
        revisions.push(FixtureRevision {
            refs: refs
                .iter()
                .filter(|(_, commit)| **commit == hash)
                .map(|(name, _)| name.clone())
                .collect(),
            commit: hash,
            files,
            missing,
        });
    }

    let mut no_exist = Vec::new();
    for (commit_index, path) in &spec.no_exist {
        let hash = spec.commit_hash(*commit_index);
        let marker = path
            .split('/')
            .fold(repo_dir.join(".no_exist").join(&hash), |p, part| {
                p.join(part)
            });
        writer.file(&marker, b"", None)?;
        no_exist.push((hash, (*path).to_owned()));
    }

    let mut trees = Vec::new();
    for commit_index in &spec.trees {
        let hash = spec.commit_hash(*commit_index);
        let listing: Vec<FixtureFile> = spec.commits[*commit_index]
            .files
            .iter()
            .map(|file| FixtureFile {
                path: file.path.clone(),
                etag: file.etag(),
                lfs: file.lfs,
                content: file.content.clone(),
            })
            .collect();
        let path = repo_dir.join("trees").join(format!("{hash}.json"));
        writer.file(&path, tree_json(&listing).as_bytes(), None)?;
        // Upstream writes listings through `mkstemp`, hence 0600.
        writer.modes.insert(path.clone(), 0o600);
        trees.push(hash);
    }

    let mut unreferenced_blobs = Vec::new();
    for file in &spec.unreferenced {
        let etag = file.etag();
        writer.file(&blobs.join(&etag), &file.content, Some(at(repo_time)))?;
        unreferenced_blobs.push(etag);
    }

    let mut incomplete = Vec::new();
    if let Some((file, written, random_suffix)) = &spec.incomplete {
        let etag = file.etag();
        let name = if *random_suffix {
            // 2.x names the temporary file `<etag>.<8 hex>.incomplete`.
            format!("{etag}.{}.incomplete", &commit_hash(&etag)[..8])
        } else {
            format!("{etag}.incomplete")
        };
        let path = blobs.join(name);
        writer.file(
            &path,
            &file.content[..*written],
            Some(at(repo_time + 6 * DAY)),
        )?;
        incomplete.push(path);
    }

    if let Some(commit_index) = spec.locks_for {
        let locks = cache_dir.join(LOCKS_DIR).join(&folder);
        for file in spec.commits[commit_index].files.iter().filter(|f| f.cached) {
            let lock = locks.join(format!("{}.lock", file.etag()));
            writer.file(&lock, b"", None)?;
            // filelock creates lock files 0664 (umask permitting).
            writer.modes.insert(lock, 0o664);
        }
    }

    Ok((
        FixtureRepo {
            repo_type: spec.repo_type,
            repo_id: spec.id.to_owned(),
            path: repo_dir,
            revisions,
            refs,
            no_exist,
            trees,
            unreferenced_blobs,
        },
        incomplete,
    ))
}

/// Writes the broken entry of a corrupt fixture.
fn corrupt(writer: &mut Writer, cache_dir: &Path, kind: CorruptionKind) -> io::Result<Corruption> {
    let simple = |path: &str| Corruption {
        kind,
        path: PathBuf::from(path),
        dangling_ref: None,
    };
    // Most cases break a copy of a small healthy repo.
    let mut victim_repo = || -> io::Result<FixtureRepo> {
        let (repo, _) = write_repo(writer, cache_dir, 9, &victim())?;
        Ok(repo)
    };
    let folder = folder_name(RepoType::Model, "acme-org/broken");
    Ok(match kind {
        CorruptionKind::TopLevelFile => {
            writer.file(&cache_dir.join("notes.txt"), b"not a repo\n", None)?;
            simple("notes.txt")
        }
        CorruptionKind::NameWithoutDashes => {
            writer.dir(&cache_dir.join("gpt2").join("snapshots"))?;
            simple("gpt2")
        }
        CorruptionKind::UnknownType => {
            let repo = victim_repo()?;
            let renamed = cache_dir.join("checkpoints--acme-org--broken");
            fs::rename(&repo.path, &renamed)?;
            simple("checkpoints--acme-org--broken")
        }
        CorruptionKind::MissingSnapshots => {
            let repo = victim_repo()?;
            fs::remove_dir_all(repo.path.join("snapshots"))?;
            simple(&format!("{folder}/snapshots"))
        }
        CorruptionKind::RefsIsFile => {
            let repo = victim_repo()?;
            fs::remove_dir_all(repo.path.join("refs"))?;
            writer.file(
                &repo.path.join("refs"),
                repo.revisions[0].commit.as_bytes(),
                None,
            )?;
            simple(&format!("{folder}/refs"))
        }
        CorruptionKind::FileInSnapshots => {
            let repo = victim_repo()?;
            writer.file(
                &repo.path.join("snapshots").join("README.md"),
                b"misplaced\n",
                None,
            )?;
            simple(&format!("{folder}/snapshots/README.md"))
        }
        CorruptionKind::MissingBlob => {
            let repo = victim_repo()?;
            let file = &repo.revisions[0].files[1];
            fs::remove_file(repo.path.join("blobs").join(&file.etag))?;
            writer
                .times
                .remove(&repo.path.join("blobs").join(&file.etag));
            simple(&format!("{folder}/blobs/{}", file.etag))
        }
        CorruptionKind::RefToMissingCommit => {
            let repo = victim_repo()?;
            let commit = repo.revisions[0].commit.clone();
            fs::remove_dir_all(repo.path.join("snapshots").join(&commit))?;
            writer
                .times
                .remove(&repo.path.join("snapshots").join(&commit));
            Corruption {
                kind,
                path: PathBuf::from(&folder),
                dangling_ref: Some((commit, "main".to_owned())),
            }
        }
    })
}
