//! `cargo xtask demo [--out DIR]`: the README's main job, on the built-in default.
//!
//! 1. generates the fixture caches into `DIR/fixtures` (default `DIR` = `target/demo`);
//! 2. builds `hfhub` and starts `hfhub serve` over the `big-mixed` fixture on 127.0.0.1;
//! 3. runs `hfhub download` against it into a fresh cache `DIR/hub`, as a user would: a snapshot of
//!    every ref of every repo, and one single file;
//! 4. checks every downloaded file against the bytes the generator wrote, then reports on the new
//!    cache with `hfhub scan-cache` (0.2x view) and `hfhub cache ls` (2.x view), each under a
//!    heading. A fresh clone's demo prints no warning (`xtask/tests/cli.rs` checks it).
//!
//! Nothing leaves 127.0.0.1.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use hfhub_tests::fixtures::{BIG_MIXED, Fixture};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let work =
        crate::out_option(args)?.unwrap_or_else(|| hfhub_tests::oracle::target_dir().join("demo"));
    let fixtures_dir = work.join("fixtures");
    let all = crate::fixtures::regenerate(&fixtures_dir)?;
    let big = all
        .iter()
        .find(|f| f.name == BIG_MIXED)
        .context("the fixture set has no big-mixed cache")?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "generated {} fixture caches in {}",
        all.len(),
        fixtures_dir.display()
    )?;

    let hfhub = build_hfhub()?;
    let server = crate::serve::Server::start(&hfhub, &big.cache_dir, Stdio::inherit())?;
    let endpoint = server.endpoint.clone();
    writeln!(out, "serving {} at {endpoint}", big.cache_dir.display())?;

    let cache = work.join("hub");
    if cache.exists() {
        std::fs::remove_dir_all(&cache)
            .with_context(|| format!("removing `{}`", cache.display()))?;
    }
    let mut downloads = 0;
    for repo in &big.repos {
        for (revision, commit) in &repo.refs {
            let mut args = vec![
                repo.repo_id.clone(),
                "--revision".to_owned(),
                revision.clone(),
            ];
            if repo.repo_type.as_str() != "model" {
                args.extend(["--repo-type".to_owned(), repo.repo_type.as_str().to_owned()]);
            }
            let path = download(&hfhub, &endpoint, &cache, &args)?;
            check_snapshot(big, &repo.repo_id, commit, &path)?;
            writeln!(
                out,
                "hfhub download {} -> {}",
                args.join(" "),
                path.display()
            )?;
            downloads += 1;
        }
    }
    let single = [
        "gpt2".to_owned(),
        "config.json".to_owned(),
        "--revision".to_owned(),
        "v1.0".to_owned(),
    ];
    let path = download(&hfhub, &endpoint, &cache, &single)?;
    ensure!(path.is_file(), "`{}` is not a file", path.display());
    writeln!(
        out,
        "hfhub download {} -> {}",
        single.join(" "),
        path.display()
    )?;
    downloads += 1;
    writeln!(
        out,
        "{downloads} downloads, every file checked against the served bytes\n"
    )?;
    out.flush()?;
    drop(out);

    // The same cache seen by both generations of the Python CLI.
    for (heading, args) in [
        (SCAN_CACHE_HEADING, &["scan-cache", "--dir"][..]),
        (
            CACHE_LS_HEADING,
            &["cache", "ls", "--no-truncate", "--cache-dir"],
        ),
    ] {
        println!("{heading}");
        let status = Command::new(&hfhub)
            .args(args)
            .arg(&cache)
            .env("NO_COLOR", "1")
            .status()
            .with_context(|| format!("running hfhub {}", args.join(" ")))?;
        ensure!(
            status.success(),
            "hfhub {} failed ({status})",
            args.join(" ")
        );
        println!();
    }
    Ok(())
}

/// The headings of the two reports the demo ends with.
pub const SCAN_CACHE_HEADING: &str =
    "The new cache as 0.2x shows it (`hfhub scan-cache`, the `huggingface-cli scan-cache` view):";
pub const CACHE_LS_HEADING: &str =
    "The same cache as 2.x shows it (`hfhub cache ls`, the `hf cache ls` view):";

/// Builds the `hfhub` binary (debug profile, as the tests do) and returns its path; cargo's
/// progress shows on stderr (a first build takes a few minutes).
fn build_hfhub() -> anyhow::Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    eprintln!("xtask: building hfhub (the first build takes a few minutes)");
    let status = Command::new(cargo)
        .args(["build", "--package", "hub-cli", "--bin", "hfhub"])
        .current_dir(hfhub_tests::oracle::workspace_root())
        .status()
        .context("running cargo build")?;
    ensure!(status.success(), "building hfhub failed ({status})");
    Ok(hfhub_tests::oracle::target_dir()
        .join("debug")
        .join("hfhub"))
}

/// Runs `hfhub download ARGS` against the endpoint into `cache`; returns the one path it prints.
fn download(
    hfhub: &Path,
    endpoint: &str,
    cache: &Path,
    args: &[String],
) -> anyhow::Result<PathBuf> {
    let output = Command::new(hfhub)
        .arg("download")
        .args(args)
        .arg("--quiet")
        .env("HF_ENDPOINT", endpoint)
        .env("HF_HUB_CACHE", cache)
        .env_remove("HF_HUB_OFFLINE")
        .env_remove("HF_TOKEN")
        .stdin(Stdio::null())
        .output()
        .context("running hfhub download")?;
    if !output.status.success() {
        bail!(
            "hfhub download {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8(output.stdout).context("hfhub printed a non-UTF-8 path")?;
    let mut lines = stdout.lines();
    match (lines.next(), lines.next()) {
        (Some(path), None) => Ok(PathBuf::from(path)),
        _ => bail!(
            "hfhub download {} printed `{stdout}`, not one path",
            args.join(" ")
        ),
    }
}

/// Every file of the revision is in the snapshot folder with the generator's bytes.
fn check_snapshot(
    fixture: &Fixture,
    repo_id: &str,
    commit: &str,
    folder: &Path,
) -> anyhow::Result<()> {
    let revision = fixture
        .repo(repo_id)
        .and_then(|repo| repo.revision(commit))
        .with_context(|| format!("the fixture has no revision {commit} of {repo_id}"))?;
    ensure!(
        folder.ends_with(commit),
        "`{}` is not the snapshot of {commit}",
        folder.display()
    );
    for file in &revision.files {
        let path = folder.join(&file.path);
        let bytes =
            std::fs::read(&path).with_context(|| format!("reading `{}`", path.display()))?;
        ensure!(
            bytes == file.content,
            "`{}` differs from the served bytes",
            path.display()
        );
    }
    Ok(())
}
