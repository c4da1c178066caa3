//! `cargo xtask bench [--smoke]`: hfhub against Python `huggingface_hub`, Python with
//! `hf_transfer`, the `hf-hub` crate and curl, on generated data served by `hfhub serve` on
//! 127.0.0.1, every scenario timed for every tool in the same run.
//!
//! - `data`: the generated repositories and the synthetic cache (reused while unchanged);
//! - `peers`: installing the tools and their command lines;
//! - `scenarios`: the runs, interleaved, each result checked;
//! - `timing`: wall time and peak memory of one child process, statistics;
//! - `report`: the Markdown page (`docs/benchmarks.md`, or `target/bench/smoke.md` for `--smoke`).

mod data;
mod peers;
mod report;
mod scenarios;
mod timing;

use std::fs;

use anyhow::Context;
use hfhub_tests::oracle::{target_dir, workspace_root};

use self::data::Sizes;
use self::scenarios::{Bench, Rounds};
use crate::serve::Server;

/// Sizes and rounds of the real benchmark (issue 7).
const FULL: (Sizes, Rounds) = (
    Sizes {
        large_file: 2 << 30,
        small_files: 2_000,
        scan_repos: 500,
        scan_files_per_repo: 200,
    },
    Rounds {
        warmup: 1,
        measured: 5,
    },
);

/// Sizes of the smoke run: the large file stays above hf_transfer's 50 MB threshold and hfhub's
/// 64 MiB parallel-download threshold so both code paths run.
const SMOKE: (Sizes, Rounds) = (
    Sizes {
        large_file: 72 << 20,
        small_files: 50,
        scan_repos: 5,
        scan_files_per_repo: 40,
    },
    Rounds {
        warmup: 0,
        measured: 1,
    },
);

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let smoke = match args {
        [] => false,
        [flag] if flag == "--smoke" => true,
        [other, ..] => {
            return Err(
                crate::UsageError(format!("`bench` takes only `--smoke`, got `{other}`")).into(),
            );
        }
    };
    let (sizes, rounds) = if smoke { SMOKE } else { FULL };
    let root = workspace_root();
    let target = target_dir();
    let bench_dir = target.join("bench");
    let load_before = report::load_average();

    let peers = peers::install(&root, &target, smoke)?;
    let data = data::ensure(
        &bench_dir.join(if smoke { "data-smoke" } else { "data-full" }),
        sizes,
    )?;
    // Scratch caches live in the system's temporary folder, like a user's home directory: next
    // to `target/`, where cargo keeps creating and deleting files, ext4 block allocation made the
    // same download up to twice as slow (see the notes in docs/benchmarks.md).
    let work = std::env::temp_dir().join("hfhub-bench");
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot remove `{}`", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("cannot create `{}`", work.display()))?;
    let log_path = bench_dir.join("server.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create `{}`", log_path.display()))?;
    let server = Server::start(&peers.hfhub, &data.served, log.into())?;
    eprintln!(
        "xtask bench: serving {} at {}",
        data.served.display(),
        server.endpoint
    );

    let bench = Bench {
        peers: &peers,
        data: &data,
        endpoint: &server.endpoint,
        work: &work,
        rounds,
    };
    eprintln!("xtask bench: scratch caches in {}", work.display());
    let mut results = Vec::new();
    eprintln!("xtask bench: scenario 1, one large LFS file");
    results.push(scenarios::large_file(&bench)?);
    eprintln!("xtask bench: scenario 2, cold snapshot");
    results.push(scenarios::snapshot_cold(&bench)?);
    eprintln!("xtask bench: scenario 3, cached snapshot");
    results.extend(scenarios::snapshot_cached(&bench)?);
    eprintln!("xtask bench: scenario 4, scan");
    results.push(scenarios::scan(&bench)?);
    drop(server);
    fs::remove_dir_all(&work).with_context(|| format!("cannot remove `{}`", work.display()))?;

    let machine = report::Machine::probe(load_before);
    let versions = report::versions(&peers, &root, smoke)?;
    let text = report::render(&report::Inputs {
        command: if smoke {
            "cargo xtask bench --smoke"
        } else {
            "cargo xtask bench"
        },
        smoke,
        machine: &machine,
        versions: &versions,
        rounds,
        work: &work,
        scenarios: &results,
    });
    let out = if smoke {
        bench_dir.join("smoke.md")
    } else {
        root.join("docs").join("benchmarks.md")
    };
    let previous = fs::read_to_string(&out).ok();
    let text = report::with_notes(&text, previous.as_deref());
    fs::write(&out, &text).with_context(|| format!("cannot write `{}`", out.display()))?;
    println!("{text}");
    eprintln!("xtask bench: wrote {}", out.display());
    Ok(())
}
