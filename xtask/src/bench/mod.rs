//! `cargo xtask bench [--smoke] [--tmpfs | --scratch DIR] [--only 1a,2,...] [--rounds N] [--serve]`:
//! hfhub against Python
//! `huggingface_hub`, Python with `hf_transfer`, the `hf-hub` crate and curl, on generated data
//! served on 127.0.0.1 by `hfhub serve` and (full run) nginx, every scenario timed for every tool
//! in the same run, with each tool's CPU time and peak memory and the server's CPU time.
//!
//! - `data`: the generated repositories, listing and synthetic cache (reused while unchanged);
//! - `peers`: installing the tools and their command lines;
//! - `origin`: a server as the scenarios sample it (CPU time, requests logged);
//! - `nginx`: nginx installed, configured as the Hub and its CDN, and run;
//! - `scenarios`: the runs, interleaved, each result checked; `mirror`: scenario 9, 8 clients of a
//!   pull-through mirror at once;
//! - `timing`: wall time, CPU time and peak memory of one child process, statistics;
//! - `report`: the Markdown page (`docs/benchmarks.md`, or `target/bench/smoke.md` for `--smoke`).

mod data;
mod floor;
mod mirror;
mod nginx;
mod origin;
mod peers;
mod report;
mod scenarios;
mod timing;

use std::fs;

use anyhow::Context;
use hfhub_tests::oracle::{target_dir, workspace_root};

use std::path::PathBuf;

use self::data::Sizes;
use self::origin::{Kind, Origin};
use self::scenarios::{Bench, Rounds};
use crate::serve::Server;

/// Sizes and rounds of the real benchmark (issues 7 and 12).
const FULL: (Sizes, Rounds) = (
    Sizes {
        large_file: 1 << 30,
        small_files: 2_000,
        scan_repos: 500,
        scan_files_per_repo: 200,
        wide_files: 20_000,
        listing_entries: 1_000_000,
    },
    Rounds {
        warmup: 1,
        measured: 5,
    },
);

/// Rounds of the 20,000-file scenario in the full run (Python needs minutes per run).
const FULL_WIDE_ROUNDS: Rounds = Rounds {
    warmup: 0,
    measured: 3,
};

/// Repo-info requests timed after the first.
const FULL_REPO_INFO: usize = 20;

/// Sizes of the smoke run: the large file stays above hf_transfer's 50 MB threshold and hfhub's
/// 64 MiB parallel-download threshold so both code paths run.
const SMOKE: (Sizes, Rounds) = (
    Sizes {
        large_file: 72 << 20,
        small_files: 50,
        scan_repos: 5,
        scan_files_per_repo: 40,
        wide_files: 200,
        listing_entries: 0,
    },
    Rounds {
        warmup: 0,
        measured: 1,
    },
);

/// The scenario numbers `--only` takes.
const SCENARIO_IDS: [&str; 9] = ["1a", "1b", "2", "3", "4", "6", "7", "8", "9"];

/// The command line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Options {
    smoke: bool,
    /// Where the scratch caches go (`--scratch DIR`, or `/dev/shm/hfhub-bench` for `--tmpfs`).
    scratch: Option<PathBuf>,
    /// `--only`: the scenarios to run (all when empty).
    only: Vec<String>,
    /// `--rounds N`: no warm-up and N measured rounds everywhere, instead of the defaults.
    rounds: Option<usize>,
    /// `--serve`: start the origins on the data, print where, and wait for stdin to close (for
    /// profiling a tool by hand against the same servers).
    serve: bool,
}

impl Options {
    fn wants(&self, id: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|only| only == id)
    }

    /// Whether this is not the whole benchmark (the report says so).
    fn partial(&self) -> bool {
        !self.only.is_empty() || self.rounds.is_some()
    }
}

fn parse(args: &[String]) -> Result<Options, crate::UsageError> {
    let mut options = Options::default();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--smoke" => options.smoke = true,
            "--tmpfs" => options.scratch = Some(PathBuf::from("/dev/shm/hfhub-bench")),
            "--scratch" => {
                let dir = args
                    .next()
                    .ok_or_else(|| crate::UsageError("`--scratch` needs a folder".to_owned()))?;
                options.scratch = Some(PathBuf::from(dir).join("hfhub-bench"));
            }
            "--only" => {
                let list = args.next().ok_or_else(|| {
                    crate::UsageError("`--only` needs a list of scenarios".to_owned())
                })?;
                for id in list.split(',') {
                    if !SCENARIO_IDS.contains(&id) {
                        return Err(crate::UsageError(format!(
                            "unknown scenario `{id}`; scenarios are {}",
                            SCENARIO_IDS.join(", ")
                        )));
                    }
                    options.only.push(id.to_owned());
                }
            }
            "--rounds" => {
                let rounds = args
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        crate::UsageError("`--rounds` needs a positive number".to_owned())
                    })?;
                options.rounds = Some(rounds);
            }
            "--serve" => options.serve = true,
            other => {
                return Err(crate::UsageError(format!(
                    "`bench` takes `--smoke`, `--tmpfs`, `--scratch DIR`, `--only LIST`, \
                     `--rounds N` and `--serve`, got `{other}`"
                )));
            }
        }
    }
    Ok(options)
}

/// The file system type of `dir` (`tmpfs`, `ext2/ext3`...), as `stat -f` names it.
fn file_system_of(dir: &std::path::Path) -> String {
    std::process::Command::new("stat")
        .args(["-f", "-c", "%T"])
        .arg(dir)
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map_or_else(
            || "unknown".to_owned(),
            |output| String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        )
}

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    let smoke = options.smoke;
    let (sizes, mut rounds) = if smoke { SMOKE } else { FULL };
    let mut wide_rounds = if smoke { rounds } else { FULL_WIDE_ROUNDS };
    if let Some(measured) = options.rounds {
        rounds = Rounds {
            warmup: 0,
            measured,
        };
        wide_rounds = rounds;
    }
    let root = workspace_root();
    let target = target_dir();
    let bench_dir = target.join("bench");
    let load_before = report::load_average();

    let peers = peers::install(&root, &target, smoke)?;
    // The smoke run (CI) keeps to `hfhub serve`, so CI needs no nginx.
    let nginx_binary = if smoke {
        None
    } else {
        Some(nginx::ensure_installed()?)
    };
    let data = data::ensure(
        &bench_dir.join(if smoke { "data-smoke" } else { "data-full" }),
        sizes,
    )?;
    // Scratch caches live in the system's temporary folder by default, like a user's home
    // directory: next to `target/`, where cargo keeps creating and deleting files, ext4 block
    // allocation made the same download up to twice as slow (see the notes in
    // docs/benchmarks.md). `--tmpfs` puts them in memory, so writeback does not blur the figures.
    let work = options
        .scratch
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("hfhub-bench"));
    if work.exists() {
        fs::remove_dir_all(&work).with_context(|| format!("cannot remove `{}`", work.display()))?;
    }
    fs::create_dir_all(&work).with_context(|| format!("cannot create `{}`", work.display()))?;
    let work_fs = file_system_of(&work);
    let log_path = bench_dir.join("server.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("cannot create `{}`", log_path.display()))?;
    // `info` logs one line per request, which the bench counts.
    let server = Server::start_with_log(
        &peers.hfhub,
        &data.served,
        log.into(),
        "warn,hub_server=info",
    )?;
    eprintln!(
        "xtask bench: serving {} at {}",
        data.served.display(),
        server.endpoint
    );
    let serve = Origin {
        kind: Kind::HfhubServe,
        endpoint: server.endpoint.clone(),
        pid: server.pid(),
        log: log_path.clone(),
    };
    let nginx = match &nginx_binary {
        Some(binary) => {
            let nginx = nginx::Nginx::start(binary, &bench_dir.join("nginx"), &data)?;
            eprintln!("xtask bench: nginx at {}", nginx.origin.endpoint);
            Some(nginx)
        }
        None => None,
    };

    if options.serve {
        return serve_until_stdin_closes(&serve, nginx.as_ref().map(|n| &n.origin), &data);
    }
    let bench = Bench {
        peers: &peers,
        data: &data,
        serve: &serve,
        nginx: nginx.as_ref().map(|n| &n.origin),
        work: &work,
        rounds,
        wide_rounds,
    };
    eprintln!(
        "xtask bench: scratch caches in {} ({work_fs})",
        work.display()
    );
    let mut results = Vec::new();
    if let Some(nginx) = bench.nginx
        && options.wants("1a")
    {
        eprintln!("xtask bench: scenario 1a, one large LFS file from nginx");
        results.push(scenarios::large_file(&bench, nginx)?);
    }
    if options.wants("1b") {
        eprintln!("xtask bench: scenario 1b, one large LFS file from hfhub serve");
        results.push(scenarios::large_file(&bench, &serve)?);
    }
    if options.wants("2") {
        eprintln!("xtask bench: scenario 2, cold snapshot");
        results.push(scenarios::snapshot_cold(&bench)?);
    }
    if options.wants("3") {
        eprintln!("xtask bench: scenario 3, cached snapshot");
        results.extend(scenarios::snapshot_cached(&bench)?);
    }
    if options.wants("4") {
        eprintln!("xtask bench: scenario 4, scan");
        results.push(scenarios::scan(&bench)?);
    }
    if options.wants("6") {
        eprintln!("xtask bench: scenario 6, cold snapshot of ten times the files");
        results.push(scenarios::snapshot_wide(&bench)?);
    }
    let repo_info = if options.wants("7") {
        eprintln!("xtask bench: scenario 7, repo-info latency");
        let count = options
            .rounds
            .unwrap_or(if smoke { 3 } else { FULL_REPO_INFO });
        Some(scenarios::repo_info(&bench, count)?)
    } else {
        None
    };
    if options.wants("8") {
        eprintln!("xtask bench: scenario 8, a huge listing filtered to one file");
        results.push(scenarios::listing(&bench)?);
    }
    let mirror = if options.wants("9") {
        eprintln!(
            "xtask bench: scenario 9, {} clients of one large file through a mirror",
            mirror::CLIENTS
        );
        Some(mirror::mirror(&bench)?)
    } else {
        None
    };
    drop(nginx);
    drop(server);
    // With the servers gone: the hash's cost, for scenario 1's floor (a smaller sample in a smoke
    // run, which runs a debug build).
    let hash_per_gib = (options.wants("1a") || options.wants("1b"))
        .then(|| floor::hash_seconds_per_gib(if smoke { 1.0 / 16.0 } else { 1.0 }));
    if let Some(seconds) = hash_per_gib {
        eprintln!("xtask bench: SHA-256 takes {seconds:.3} s of one core per GiB here");
    }
    fs::remove_dir_all(&work).with_context(|| format!("cannot remove `{}`", work.display()))?;

    let machine = report::Machine::probe(load_before);
    let versions = report::versions(&peers, &root, smoke)?;
    let command = format!("cargo xtask bench {}", args.join(" "));
    let text = report::render(&report::Inputs {
        command: command.trim_end(),
        smoke,
        partial: options.partial(),
        machine: &machine,
        versions: &versions,
        rounds,
        wide_rounds,
        work: &work,
        work_fs: &work_fs,
        scenarios: &results,
        repo_info: repo_info.as_ref(),
        mirror: mirror.as_ref(),
        hash_per_gib,
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

/// `--serve`: says where the origins are and what they serve, then waits until stdin closes.
fn serve_until_stdin_closes(
    serve: &Origin,
    nginx: Option<&Origin>,
    data: &data::Data,
) -> anyhow::Result<()> {
    println!(
        "hfhub serve: HF_ENDPOINT={} (pid {})",
        serve.endpoint, serve.pid
    );
    println!(
        "  repos: {} (1 file), {} ({} files), {} ({} files); scan cache: {}",
        data::LARGE_REPO,
        data::SMALL_REPO,
        data.small.len(),
        data::WIDE_REPO,
        data.wide.len(),
        data.scan_cache.display()
    );
    if let Some(nginx) = nginx {
        println!("nginx: HF_ENDPOINT={} (pid {})", nginx.endpoint, nginx.pid);
        print!("  repos: {} (302 to its CDN port)", data::LARGE_REPO);
        if let Some(listing) = &data.listing {
            print!(
                ", {} ({} entries; `--include {}`)",
                data::LISTING_REPO,
                listing.entries,
                listing.file.path
            );
        }
        println!();
    }
    println!("serving until stdin closes");
    std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink()).context("reading stdin")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_options() {
        let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(parse(&[]).expect("no options"), Options::default());
        let options = parse(&args(&["--smoke", "--tmpfs"])).expect("both");
        assert!(options.smoke);
        assert_eq!(options.scratch, Some(PathBuf::from("/dev/shm/hfhub-bench")));
        let options = parse(&args(&["--scratch", "/mnt/x"])).expect("scratch");
        assert_eq!(options.scratch, Some(PathBuf::from("/mnt/x/hfhub-bench")));
        assert!(parse(&args(&["--scratch"])).is_err());
        let options = parse(&args(&["--only", "1a,6,8", "--rounds", "2"])).expect("only");
        assert_eq!(options.only, ["1a", "6", "8"]);
        assert_eq!(options.rounds, Some(2));
        assert!(options.partial() && options.wants("6") && !options.wants("2"));
        assert!(!Options::default().partial() && Options::default().wants("2"));
        assert!(parse(&args(&["--only", "5"])).is_err());
        assert!(parse(&args(&["--rounds", "0"])).is_err());
        assert!(parse(&args(&["--fast"])).is_err());
    }
}
