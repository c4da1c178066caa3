//! The narrow view of the Hub that downloads need, implemented by [`hub_http::Client`] and by test fakes.

use std::fs::File;
use std::future::Future;
use std::sync::Arc;

use hub_cache::Repo;
use hub_http::{DownloadRequest, Downloaded, Error, Progress, Resolved, TreeEntry};

/// A progress callback handed to [`Remote::download`].
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// What hub-sync asks of a Hub: resolve one file, pin a revision, list a commit, fetch bytes.
///
/// Errors are [`hub_http::Error`] so callers classify them with its query methods
/// (`allows_cache_fallback`, `missing_entry_commit`...); a fake builds the same variants.
pub trait Remote: Send + Sync + 'static {
    /// The metadata request (`HEAD` on the resolve URL): commit, ETag, size and download location.
    fn resolve(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
    ) -> impl Future<Output = Result<Resolved, Error>> + Send;

    /// The commit a revision points to (repo info).
    fn commit(
        &self,
        repo: &Repo,
        revision: &str,
    ) -> impl Future<Output = Result<String, Error>> + Send;

    /// The recursive file listing at a commit.
    fn list_tree(
        &self,
        repo: &Repo,
        commit: &str,
    ) -> impl Future<Output = Result<Vec<TreeEntry>, Error>> + Send;

    /// [`Remote::list_tree`] page by page: `on_page` gets each page's entries as they arrive (by
    /// default, the whole listing as one page).
    fn list_tree_pages(
        &self,
        repo: &Repo,
        commit: &str,
        on_page: &mut (dyn FnMut(Vec<TreeEntry>) + Send),
    ) -> impl Future<Output = Result<(), Error>> + Send {
        async move {
            on_page(self.list_tree(repo, commit).await?);
            Ok(())
        }
    }

    /// The resolve URL of a file (a `GET` there follows the LFS redirect to the CDN).
    fn resolve_url(&self, repo: &Repo, revision: &str, filename: &str) -> String;

    /// Downloads `request` into `file` after its first `request.resume_from` bytes; the whole content
    /// (resumed prefix included) is verified against size and ETag before `Ok` is returned.
    fn download(
        &self,
        request: &DownloadRequest,
        file: File,
        on_progress: ProgressFn,
    ) -> impl Future<Output = Result<Downloaded, Error>> + Send;
}

impl Remote for hub_http::Client {
    async fn resolve(
        &self,
        repo: &Repo,
        revision: &str,
        filename: &str,
    ) -> Result<Resolved, Error> {
        hub_http::Client::resolve(self, repo, revision, filename).await
    }

    async fn commit(&self, repo: &Repo, revision: &str) -> Result<String, Error> {
        Ok(self.repo_info(repo, revision).await?.sha)
    }

    async fn list_tree(&self, repo: &Repo, commit: &str) -> Result<Vec<TreeEntry>, Error> {
        hub_http::Client::list_tree(self, repo, commit).await
    }

    async fn list_tree_pages(
        &self,
        repo: &Repo,
        commit: &str,
        on_page: &mut (dyn FnMut(Vec<TreeEntry>) + Send),
    ) -> Result<(), Error> {
        hub_http::Client::list_tree_pages(self, repo, commit, on_page).await
    }

    fn resolve_url(&self, repo: &Repo, revision: &str, filename: &str) -> String {
        self.endpoint().resolve_url(repo, revision, filename)
    }

    async fn download(
        &self,
        request: &DownloadRequest,
        file: File,
        on_progress: ProgressFn,
    ) -> Result<Downloaded, Error> {
        hub_http::Client::download(self, request, file, move |p| on_progress(p)).await
    }
}
