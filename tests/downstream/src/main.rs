//! A downstream program using hfhub as a library, one expression per job: `MODE REPO ARG`, prints
//! the path it got (or `none`), or the error and exit 1. Every setting comes from the environment
//! (`HF_ENDPOINT`, `HF_TOKEN`, `HF_HUB_CACHE`, `HF_HUB_OFFLINE`, `HF_HUB_DISABLE_SYMLINKS`), read once.
//!
//! Modes: `file`, `snapshot` (ARG = include pattern), `dataset-file`, each async; the same with a
//! `blocking-` prefix; `cached` (hub-cache alone, no network crate); `blocking-in-runtime` (the
//! blocking API called from a worker and from `spawn_blocking` of a multi-threaded runtime).

use std::path::PathBuf;
use std::process::ExitCode;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

async fn run_async(mode: &str, repo: &str, arg: &str) -> Result<Option<PathBuf>> {
    Ok(Some(match mode {
        "file" => hub_sync::Hub::from_env()?.model(repo).get(arg).await?,
        "snapshot" => {
            hub_sync::Hub::from_env()?
                .model(repo)
                .snapshot()
                .include([arg])
                .download()
                .await?
        }
        "dataset-file" => hub_sync::Hub::from_env()?.dataset(repo).get(arg).await?,
        _ => return Err(format!("unknown mode `{mode}`").into()),
    }))
}

fn run_blocking(mode: &str, repo: &str, arg: &str) -> Result<Option<PathBuf>> {
    use hub_sync::blocking::Hub;
    Ok(match mode {
        "blocking-file" => Some(Hub::from_env()?.model(repo).get(arg)?),
        "blocking-snapshot" => Some(
            Hub::from_env()?
                .model(repo)
                .snapshot()
                .include([arg])
                .download()?,
        ),
        "blocking-dataset-file" => Some(Hub::from_env()?.dataset(repo).get(arg)?),
        // Offline inspection with hub-cache alone.
        "cached" => match hub_cache::Cache::from_process().model(repo).get(arg) {
            Ok(path) => Some(path),
            Err(error) if error.is_not_cached() => None,
            Err(error) => return Err(error.into()),
        },
        "blocking-in-runtime" => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            let (repo, arg) = (repo.to_owned(), arg.to_owned());
            let from_worker = {
                let (repo, arg) = (repo.clone(), arg.clone());
                runtime.block_on(async move {
                    tokio::spawn(async move { Hub::from_env()?.model(&repo).get(&arg) }).await
                })?
            }?;
            let from_blocking_task = runtime.block_on(async move {
                tokio::task::spawn_blocking(move || Hub::from_env()?.model(&repo).get(&arg)).await
            })??;
            if from_worker != from_blocking_task {
                return Err("the two calls returned different paths".into());
            }
            Some(from_blocking_task)
        }
        _ => return Err(format!("unknown mode `{mode}`").into()),
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, repo, arg] = args.as_slice() else {
        eprintln!("usage: hfhub-downstream MODE REPO ARG");
        return ExitCode::from(2);
    };
    let result = if mode.starts_with("blocking-") || mode == "cached" {
        run_blocking(mode, repo, arg)
    } else {
        tokio::runtime::Runtime::new()
            .map_err(Into::into)
            .and_then(|runtime| runtime.block_on(run_async(mode, repo, arg)))
    };
    match result {
        Ok(Some(path)) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("none");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::FAILURE
        }
    }
}
