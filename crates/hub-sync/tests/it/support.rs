//! Shared test support: an in-memory [`Remote`] that counts requests, and cache-tree helpers.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;

use hub_cache::Repo;
use hub_cache::hash::{HashKind, hash_bytes};
use hub_http::{DownloadRequest, Downloaded, Error, Progress, Resolved, TreeEntry};
use hub_sync::remote::{ProgressFn, Remote};

pub const MAIN: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

pub fn repo() -> Repo {
    Repo::model("org/fake").expect("valid id")
}

/// One file of the fake repository.
#[derive(Debug, Clone)]
pub struct FakeFile {
    pub content: Vec<u8>,
    pub lfs: bool,
}

impl FakeFile {
    pub fn etag(&self) -> String {
        hfhub_tests::hash::etag(&self.content, self.lfs)
    }
}

#[derive(Default)]
struct State {
    refs: HashMap<String, String>,
    commits: HashMap<String, BTreeMap<String, FakeFile>>,
    unreachable: bool,
    /// The next resolves answer 503.
    failing_resolves: u32,
    /// The next download stops (a dropped connection) after this many bytes of the file.
    cut_after: Option<u64>,
    /// Bytes served by download calls.
    bytes_served: u64,
}

/// An in-memory Hub with one repository. Every call is logged as `METHOD what`.
#[derive(Default)]
pub struct Fake {
    state: Mutex<State>,
    log: Mutex<Vec<String>>,
}

impl Fake {
    /// `main` → MAIN with a small file, an LFS file and a nested file; `v1` → OLD sharing the LFS blob.
    pub fn standard() -> Fake {
        let fake = Fake::default();
        let weights = FakeFile {
            content: (0..50_000u32).map(|i| (i * 7 % 251) as u8).collect(),
            lfs: true,
        };
        fake.add_commit(
            MAIN,
            &[
                (
                    "config.json",
                    FakeFile {
                        content: b"{\"v\": 2}\n".to_vec(),
                        lfs: false,
                    },
                ),
                ("model.bin", weights.clone()),
                (
                    "sub/dir/notes.txt",
                    FakeFile {
                        content: b"deep\n".to_vec(),
                        lfs: false,
                    },
                ),
            ],
        );
        fake.add_commit(
            OLD,
            &[
                (
                    "config.json",
                    FakeFile {
                        content: b"{\"v\": 1}\n".to_vec(),
                        lfs: false,
                    },
                ),
                ("model.bin", weights),
            ],
        );
        fake.set_ref("main", MAIN);
        fake.set_ref("v1", OLD);
        fake
    }

    pub fn add_commit(&self, commit: &str, files: &[(&str, FakeFile)]) {
        let files = files
            .iter()
            .map(|(path, file)| ((*path).to_owned(), file.clone()))
            .collect();
        self.lock().commits.insert(commit.to_owned(), files);
    }

    pub fn set_ref(&self, name: &str, commit: &str) {
        self.lock().refs.insert(name.to_owned(), commit.to_owned());
    }

    pub fn set_unreachable(&self, unreachable: bool) {
        self.lock().unreachable = unreachable;
    }

    pub fn fail_next_resolves(&self, count: u32) {
        self.lock().failing_resolves = count;
    }

    pub fn cut_next_download_after(&self, bytes: u64) {
        self.lock().cut_after = Some(bytes);
    }

    pub fn file(&self, commit: &str, path: &str) -> FakeFile {
        self.lock().commits[commit][path].clone()
    }

    pub fn bytes_served(&self) -> u64 {
        self.lock().bytes_served
    }

    /// Every call so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log lock").clone()
    }

    /// Calls so far whose method is `method` (`HEAD`, `INFO`, `TREE`, `GET`).
    pub fn count(&self, method: &str) -> usize {
        self.log()
            .iter()
            .filter(|l| l.split(' ').next() == Some(method))
            .count()
    }

    pub fn clear_log(&self) {
        self.log.lock().expect("log lock").clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fake state lock")
    }

    fn record(&self, entry: String) {
        self.log.lock().expect("log lock").push(entry);
    }

    fn connect_error(url: &str) -> Error {
        Error::Connect {
            url: url.to_owned(),
            source: "connection refused".into(),
        }
    }

    fn commit_of(&self, url: &str, revision: &str) -> Result<String, Error> {
        let state = self.lock();
        if state.unreachable {
            return Err(Fake::connect_error(url));
        }
        if state.commits.contains_key(revision) {
            return Ok(revision.to_owned());
        }
        state
            .refs
            .get(revision)
            .cloned()
            .ok_or_else(|| Error::RevisionNotFound {
                url: url.to_owned(),
                message: None,
            })
    }
}

impl Remote for Fake {
    async fn resolve(
        &self,
        _repo: &Repo,
        revision: &str,
        filename: &str,
    ) -> Result<Resolved, Error> {
        self.record(format!("HEAD {revision}/{filename}"));
        let url = format!("fake://{revision}/{filename}");
        {
            let mut state = self.lock();
            if state.failing_resolves > 0 {
                state.failing_resolves -= 1;
                return Err(Error::Status {
                    url,
                    status: 503,
                    message: None,
                    retry_after: None,
                });
            }
        }
        let commit = self.commit_of(&url, revision)?;
        let state = self.lock();
        let Some(file) = state.commits[&commit].get(filename) else {
            return Err(Error::EntryNotFound {
                url,
                commit: Some(commit),
                message: None,
            });
        };
        Ok(Resolved {
            commit: commit.clone(),
            etag: hub_cache::Etag::parse(&file.etag()).expect("fake etags are valid"),
            size: Some(file.content.len() as u64),
            location: format!("fake://{commit}/{filename}"),
        })
    }

    async fn commit(&self, _repo: &Repo, revision: &str) -> Result<String, Error> {
        self.record(format!("INFO {revision}"));
        self.commit_of(&format!("fake://info/{revision}"), revision)
    }

    async fn list_tree(&self, _repo: &Repo, commit: &str) -> Result<Vec<TreeEntry>, Error> {
        self.record(format!("TREE {commit}"));
        let commit = self.commit_of(&format!("fake://tree/{commit}"), commit)?;
        let state = self.lock();
        let entries = state.commits[&commit]
            .iter()
            .map(|(path, file)| {
                let mut value = serde_json::json!({
                    "type": "file",
                    "path": path,
                    "size": file.content.len(),
                    "oid": hash_bytes(HashKind::GitSha1, &file.content),
                });
                if file.lfs {
                    value["lfs"] =
                        serde_json::json!({"oid": file.etag(), "size": file.content.len()});
                }
                serde_json::from_value(value).expect("a tree entry")
            })
            .collect();
        Ok(entries)
    }

    fn resolve_url(&self, _repo: &Repo, revision: &str, filename: &str) -> String {
        format!("fake://{revision}/{filename}")
    }

    async fn download(
        &self,
        request: &DownloadRequest,
        file: File,
        on_progress: ProgressFn,
    ) -> Result<Downloaded, Error> {
        let url = request.location.clone();
        self.record(format!(
            "GET {} from {}",
            url.trim_start_matches("fake://"),
            request.resume_from
        ));
        let rest = url.trim_start_matches("fake://");
        let (revision, path) = rest.split_once('/').expect("fake url");
        let commit = self.commit_of(&url, revision)?;
        let (content, cut) = {
            let mut state = self.lock();
            let content = state.commits[&commit][path].content.clone();
            (content, state.cut_after.take())
        };
        let io = |source| Error::Io {
            url: url.clone(),
            source,
        };
        let start = request.resume_from.min(content.len() as u64);
        let end = cut.map_or(content.len() as u64, |c| c.min(content.len() as u64));
        file.set_len(start).map_err(io)?;
        if end > start {
            file.write_all_at(&content[start as usize..end as usize], start)
                .map_err(io)?;
        }
        self.lock().bytes_served += end.saturating_sub(start);
        on_progress(Progress {
            done: end,
            total: Some(content.len() as u64),
        });
        if cut.is_some() {
            return Err(Error::Transport {
                url,
                source: "connection reset".into(),
            });
        }
        // Verify the whole file, as hub-http does.
        let mut written = vec![0; content.len()];
        let len = file.metadata().map_err(io)?.len();
        if len != content.len() as u64 {
            return Err(Error::SizeMismatch {
                url,
                expected: content.len() as u64,
                actual: len,
            });
        }
        file.read_exact_at(&mut written, 0).map_err(io)?;
        let kind = request.etag.hash_kind().expect("fake etags are hashes");
        let actual = hash_bytes(kind, &written);
        if actual != request.etag.as_str() {
            return Err(Error::HashMismatch {
                url,
                kind,
                expected: request.etag.to_string(),
                actual,
            });
        }
        Ok(Downloaded {
            size: len,
            verified: Some(kind),
        })
    }
}

/// Every entry under `root` as `relative path -> description` (see [`hfhub_tests::tree::contents`]),
/// skipping paths for which `skip` is true.
pub use hfhub_tests::tree::contents as tree;
