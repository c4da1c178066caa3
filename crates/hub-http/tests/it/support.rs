//! A server over a fresh copy of the `big-mixed` fixture, and a client pointed at it.

use std::time::Duration;

use hfhub_tests::fixtures::{self, BIG_MIXED, Fixture, FixtureFile};
use hub_cache::{Repo, RepoId, RepoType};
use hub_http::{Client, ClientBuilder, Endpoint, ParallelOptions, RetryPolicy, Token};
use hub_server::fault::{CdnLinks, Fault};
use hub_server::{Origin, RequestRecord, RunningServer, Server};

pub const TOKEN: &str = "hf_test_token_secret";

pub struct Env {
    pub fixture: Fixture,
    pub server: RunningServer,
    _dir: tempfile::TempDir,
}

pub struct Setup {
    pub faults: Vec<Fault>,
    pub cdn_links: CdnLinks,
    pub page_size: Option<usize>,
    pub gated: Option<Repo>,
}

impl Default for Setup {
    fn default() -> Setup {
        Setup {
            faults: Vec::new(),
            cdn_links: CdnLinks::Reusable,
            page_size: None,
            gated: None,
        }
    }
}

pub async fn serve(setup: Setup) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixtures::generate(dir.path(), BIG_MIXED).unwrap();
    let mut builder = Server::builder(&fixture.cache_dir)
        .with_token(TOKEN)
        .with_cdn_links(setup.cdn_links);
    for fault in setup.faults {
        builder = builder.with_fault(fault);
    }
    if let Some(size) = setup.page_size {
        builder = builder.with_page_size(size);
    }
    if let Some(repo) = setup.gated {
        builder = builder.with_gated(repo);
    }
    let server = builder.start().await.unwrap();
    Env {
        fixture,
        server,
        _dir: dir,
    }
}

/// A client with fast retries, small parallel chunks, and the token.
pub fn client(env: &Env) -> ClientBuilder {
    Client::builder()
        .with_endpoint(Endpoint::new(env.server.endpoint()))
        .with_token(Token::new(TOKEN))
        .with_download_timeout(Duration::from_secs(5))
        .with_etag_timeout(Duration::from_secs(5))
        .with_retry(RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            max_retry_after: Duration::from_secs(5),
        })
        .with_parallel(ParallelOptions::default())
}

pub fn repo(repo_type: RepoType, id: &str) -> Repo {
    Repo::new(repo_type, RepoId::new(id).unwrap())
}

pub fn gpt2() -> Repo {
    repo(RepoType::Model, "gpt2")
}

/// The file `path` as served at the commit `main` points to in `gpt2`.
pub fn gpt2_file<'a>(env: &'a Env, path: &str) -> (&'a str, &'a FixtureFile) {
    let repo = env.fixture.repo("gpt2").unwrap();
    let commit = &repo.refs["main"];
    let revision = repo.revision(commit).unwrap();
    let file = revision.files.iter().find(|f| f.path == path).unwrap();
    (commit.as_str(), file)
}

/// The requests the CDN listener answered, in order.
pub fn cdn_records(env: &Env) -> Vec<RequestRecord> {
    env.server
        .request_log()
        .records()
        .into_iter()
        .filter(|r| r.origin == Origin::Cdn)
        .collect()
}

/// `path` opened for reading and writing, created if missing, kept as it is otherwise.
pub fn open_rw(path: &std::path::Path) -> std::fs::File {
    std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .unwrap()
}
