//! `hf-hub-bench file|snapshot ENDPOINT CACHE_DIR REPO_ID [FILENAME]`: the `hf-hub` crate's
//! `download_file` / `snapshot_download` into `CACHE_DIR` from the Hub at `ENDPOINT`; prints the
//! path, as `hfhub download` does. With `HF_HUB_OFFLINE=1` it passes `local_files_only(true)`, since
//! the crate does not read that variable itself.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("hf-hub-bench: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<std::path::PathBuf, String> {
    let offline = std::env::var("HF_HUB_OFFLINE").is_ok_and(|v| v == "1");
    let (mode, endpoint, cache_dir, repo_id, filename) = match args {
        [mode, endpoint, cache, repo] => (mode.as_str(), endpoint, cache, repo, None),
        [mode, endpoint, cache, repo, file] => (mode.as_str(), endpoint, cache, repo, Some(file)),
        _ => return Err("usage: hf-hub-bench file|snapshot ENDPOINT CACHE_DIR REPO_ID [FILENAME]".into()),
    };
    let client = hf_hub::HFClient::builder()
        .endpoint(endpoint.as_str())
        .cache_dir(cache_dir)
        .build()
        .map_err(|e| format!("client: {e}"))?;
    let (owner, name) = repo_id
        .split_once('/')
        .ok_or_else(|| format!("repo id `{repo_id}` must be owner/name"))?;
    let repo = client.model(owner, name);
    match (mode, filename) {
        ("file", Some(filename)) => repo
            .download_file()
            .filename(filename.as_str())
            .local_files_only(offline)
            .send()
            .await
            .map_err(|e| format!("download_file {repo_id} {filename}: {e}")),
        ("snapshot", None) => repo
            .snapshot_download()
            .local_files_only(offline)
            .send()
            .await
            .map_err(|e| format!("snapshot_download {repo_id}: {e}")),
        _ => Err(format!("bad arguments {args:?}")),
    }
}
