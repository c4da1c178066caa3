//! The scenarios: each runs every tool in turn, round after round (the order rotating each
//! round), discards the warm-up rounds, and checks every run's result before counting it. Around
//! every run the origin's CPU time and request count are sampled.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use hub_cache::hash::hash_reader;

use super::data::{Data, Expected, LARGE_FILE, LARGE_REPO, LISTING_REPO, SMALL_REPO, WIDE_REPO};
use super::origin::{Kind, Origin};
use super::peers::{Peers, Setting, Tool};
use super::timing::{self, Run};

/// How many rounds to run.
#[derive(Debug, Clone, Copy)]
pub struct Rounds {
    pub warmup: usize,
    pub measured: usize,
}

/// One tool's measurements in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub tool: Tool,
    pub seconds: Vec<f64>,
    /// User + system CPU seconds of each measured run.
    pub cpu: Vec<f64>,
    /// CPU seconds the origin used during each measured run.
    pub server_cpu: Vec<f64>,
    /// Requests the origin logged during each measured run.
    pub requests: Vec<u64>,
    /// Peak resident memory of each measured run, in bytes.
    pub max_rss: Vec<u64>,
}

impl Row {
    pub fn new(tool: Tool) -> Row {
        Row {
            tool,
            seconds: Vec::new(),
            cpu: Vec::new(),
            server_cpu: Vec::new(),
            requests: Vec::new(),
            max_rss: Vec::new(),
        }
    }
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub key: &'static str,
    pub title: String,
    /// Which server answered.
    pub origin: Kind,
    /// Files the scenario transfers or checks per run (for per-file figures), and bytes sent.
    pub files: usize,
    pub bytes: u64,
    pub rows: Vec<Row>,
}

impl Scenario {
    pub fn row(&self, tool: Tool) -> Option<&Row> {
        self.rows.iter().find(|row| row.tool == tool)
    }
}

/// Everything a scenario needs.
pub struct Bench<'a> {
    pub peers: &'a Peers,
    pub data: &'a Data,
    /// `hfhub serve`, the origin of every scenario but the nginx ones.
    pub serve: &'a Origin,
    /// nginx (full run only): the second origin of scenario 1, and the listing's.
    pub nginx: Option<&'a Origin>,
    /// Scratch space, wiped by the caller before the run.
    pub work: &'a Path,
    pub rounds: Rounds,
    /// Rounds of the 20,000-file scenario (Python takes minutes per run there).
    pub wide_rounds: Rounds,
}

impl Bench<'_> {
    fn setting<'s>(&'s self, origin: &'s Origin, hf_home: &'s Path, offline: bool) -> Setting<'s> {
        Setting {
            endpoint: &origin.endpoint,
            hf_home,
            offline,
        }
    }

    /// Runs `one(tool, round)` for every tool, round after round, rotating the order; keeps the
    /// measured rounds, with what `origin` did during each.
    fn interleave(
        &self,
        origin: &Origin,
        rounds: Rounds,
        tools: &[Tool],
        mut one: impl FnMut(Tool, usize) -> anyhow::Result<Run>,
    ) -> anyhow::Result<Vec<Row>> {
        let mut rows: Vec<Row> = tools.iter().map(|&tool| Row::new(tool)).collect();
        let total = rounds.warmup + rounds.measured;
        for round in 0..total {
            for offset in 0..tools.len() {
                let index = (round + offset) % tools.len();
                let tool = tools[index];
                // Start every run with no dirty pages left by the previous one: otherwise the
                // kernel's writeback of that tool's gigabytes throttles whichever tool comes next.
                settle()?;
                let mark = origin.mark()?;
                let run = one(tool, round)
                    .with_context(|| format!("{} (round {})", tool.label(), round + 1))?;
                let load = origin.since(mark)?;
                eprintln!(
                    "xtask bench:   round {}/{total} {:<56} {:>8.3} s  cpu {:>7.3} s  server {:>7.3} s {:>6} req {:>7.1} MiB",
                    round + 1,
                    tool.label(),
                    run.wall.as_secs_f64(),
                    run.cpu.as_secs_f64(),
                    load.cpu,
                    load.requests,
                    run.max_rss as f64 / f64::from(1 << 20)
                );
                if round >= rounds.warmup {
                    let row = &mut rows[index];
                    row.seconds.push(run.wall.as_secs_f64());
                    row.cpu.push(run.cpu.as_secs_f64());
                    row.server_cpu.push(load.cpu);
                    row.requests.push(load.requests);
                    row.max_rss.push(run.max_rss);
                }
            }
        }
        Ok(rows)
    }

    /// A fresh, empty scratch folder.
    pub(super) fn scratch(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.work.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove `{}`", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
        Ok(dir)
    }
}

/// `sync`: writes every dirty page back before the next run (outside the timing).
fn settle() -> anyhow::Result<()> {
    let status = Command::new("sync").status().context("cannot run `sync`")?;
    if !status.success() {
        bail!("`sync` failed ({status})");
    }
    Ok(())
}

/// Scenario 1 (and 5, from the same runs): one large LFS file into a fresh cache per run, from
/// `origin`.
pub fn large_file(bench: &Bench, origin: &Origin) -> anyhow::Result<Scenario> {
    let tools = [
        Tool::Hfhub,
        Tool::Python,
        Tool::PythonHfTransfer,
        Tool::HfHubCrate,
        Tool::CurlDevNull,
        Tool::CurlFile,
    ];
    let expected = &bench.data.large;
    let rows = bench.interleave(origin, bench.rounds, &tools, |tool, _round| {
        let scratch = bench.scratch("large")?;
        let cache = scratch.join("hub");
        let out_file = scratch.join(LARGE_FILE);
        let setting = bench.setting(origin, &scratch, false);
        let mut command = bench
            .peers
            .file_command(tool, &setting, LARGE_REPO, LARGE_FILE, &cache, &out_file);
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
        match tool {
            Tool::CurlDevNull => ensure!(
                run.stdout.trim() == expected.size.to_string(),
                "curl received {} bytes, expected {}",
                run.stdout.trim(),
                expected.size
            ),
            Tool::CurlFile => check_file(&out_file, expected)?,
            _ => check_file(&printed_path(&run, &cache)?, expected)?,
        }
        fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot remove `{}`", scratch.display()))?;
        Ok(run)
    })?;
    Ok(Scenario {
        key: match origin.kind {
            Kind::HfhubServe => "large-serve",
            Kind::Nginx => "large-nginx",
        },
        title: format!(
            "1{}. One {} LFS file, cold cache, origin {}",
            match origin.kind {
                Kind::Nginx => "a",
                Kind::HfhubServe => "b",
            },
            human_size(expected.size),
            origin.kind.label()
        ),
        origin: origin.kind,
        files: 1,
        bytes: expected.size,
        rows,
    })
}

/// The tools of the snapshot scenarios.
const SNAPSHOT_TOOLS: [Tool; 3] = [Tool::Hfhub, Tool::Python, Tool::HfHubCrate];

/// Scenario 2: the many-small-files repository into a fresh cache per run.
pub fn snapshot_cold(bench: &Bench) -> anyhow::Result<Scenario> {
    let files = &bench.data.small;
    let rows = snapshot_cold_rows(bench, bench.rounds, SMALL_REPO, files)?;
    Ok(Scenario {
        key: "snapshot-cold",
        title: format!(
            "2. Snapshot of {} files of 1 to 16 KiB, cold cache",
            files.len()
        ),
        origin: bench.serve.kind,
        files: files.len(),
        bytes: files.iter().map(|f| f.size).sum(),
        rows,
    })
}

/// Scenario 6: ten times the files (100 to 1000 bytes, 100 folders), cold: how the cost grows.
pub fn snapshot_wide(bench: &Bench) -> anyhow::Result<Scenario> {
    let files = &bench.data.wide;
    let rows = snapshot_cold_rows(bench, bench.wide_rounds, WIDE_REPO, files)?;
    Ok(Scenario {
        key: "snapshot-wide",
        title: format!(
            "6. Snapshot of {} files of 100 to 1000 bytes in 100 folders, cold cache",
            files.len()
        ),
        origin: bench.serve.kind,
        files: files.len(),
        bytes: files.iter().map(|f| f.size).sum(),
        rows,
    })
}

fn snapshot_cold_rows(
    bench: &Bench,
    rounds: Rounds,
    repo: &str,
    files: &[Expected],
) -> anyhow::Result<Vec<Row>> {
    // Each run gets its own folder, kept until the whole benchmark ends: removing thousands of
    // files between runs would leave ext4 scanning past freshly freed inodes (`recently_deleted`)
    // during the next run's file creations, slowing whichever tool comes next.
    let origin = bench.serve;
    bench.interleave(origin, rounds, &SNAPSHOT_TOOLS, |tool, round| {
        let scratch =
            bench.scratch(&format!("cold-{}-{tool:?}-{round}", repo.replace('/', "-")))?;
        let cache = scratch.join("hub");
        let setting = bench.setting(origin, &scratch, false);
        let mut command = bench.peers.snapshot_command(tool, &setting, repo, &cache)?;
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
        check_snapshot(&printed_path(&run, &cache)?, files)?;
        Ok(run)
    })
}

/// Scenario 3: the same snapshot again in a cache each tool filled itself, online then offline.
pub fn snapshot_cached(bench: &Bench) -> anyhow::Result<[Scenario; 2]> {
    let origin = bench.serve;
    let mut caches = Vec::new();
    for tool in SNAPSHOT_TOOLS {
        let scratch = bench.scratch(&format!("snapshot-cached-{tool:?}"))?;
        let cache = scratch.join("hub");
        let setting = bench.setting(origin, &scratch, false);
        let mut command = bench
            .peers
            .snapshot_command(tool, &setting, SMALL_REPO, &cache)?;
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))
            .with_context(|| format!("filling the cache with {}", tool.label()))?;
        check_snapshot(&printed_path(&run, &cache)?, &bench.data.small)?;
        caches.push((tool, scratch));
    }
    let folder = |tool: Tool| {
        caches
            .iter()
            .find(|(t, _)| *t == tool)
            .map(|(_, dir)| dir.clone())
            .expect("every snapshot tool has a cache")
    };
    let mut scenarios = Vec::new();
    for offline in [false, true] {
        let rows = bench.interleave(origin, bench.rounds, &SNAPSHOT_TOOLS, |tool, _round| {
            let scratch = folder(tool);
            let cache = scratch.join("hub");
            let setting = bench.setting(origin, &scratch, offline);
            let mut command = bench
                .peers
                .snapshot_command(tool, &setting, SMALL_REPO, &cache)?;
            let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
            check_snapshot(&printed_path(&run, &cache)?, &bench.data.small)?;
            Ok(run)
        })?;
        scenarios.push(Scenario {
            key: if offline {
                "cached-offline"
            } else {
                "cached-online"
            },
            title: format!(
                "3{}. The same snapshot again, everything cached, {}",
                if offline { "b" } else { "a" },
                if offline {
                    "offline (HF_HUB_OFFLINE=1)"
                } else {
                    "online"
                }
            ),
            origin: origin.kind,
            files: bench.data.small.len(),
            bytes: 0,
            rows,
        });
    }
    let [online, offline] = <[Scenario; 2]>::try_from(scenarios)
        .map_err(|_| anyhow::anyhow!("two snapshot scenarios expected"))?;
    Ok([online, offline])
}

/// Scenario 4: scanning the synthetic cache.
pub fn scan(bench: &Bench) -> anyhow::Result<Scenario> {
    let data = bench.data;
    let origin = bench.serve;
    let tools = [Tool::Hfhub, Tool::Python];
    let rows = bench.interleave(origin, bench.rounds, &tools, |tool, _round| {
        let scratch = bench.scratch("scan")?;
        let setting = bench.setting(origin, &scratch, true);
        let mut command = bench.peers.scan_command(tool, &setting, &data.scan_cache)?;
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
        match tool {
            Tool::Hfhub => {
                let summary = format!("Scanned {} repo(s)", data.scan_repos);
                ensure!(
                    run.stdout.contains(&summary),
                    "`{summary}` not in the output of hfhub scan-cache:\n{}",
                    run.stdout
                );
                let rows = run
                    .stdout
                    .lines()
                    .filter(|line| line.starts_with("scan-org/"))
                    .count();
                ensure!(
                    rows == data.scan_repos,
                    "hfhub scan-cache listed {rows} repos, expected {}",
                    data.scan_repos
                );
            }
            _ => {
                let expected = format!(
                    "{} {} {}",
                    data.scan_repos, data.scan_files, data.scan_bytes
                );
                ensure!(
                    run.stdout.trim() == expected,
                    "scan_cache_dir found `{}`, expected `{expected}`",
                    run.stdout.trim()
                );
            }
        }
        Ok(run)
    })?;
    Ok(Scenario {
        key: "scan",
        title: format!(
            "4. Scan of a cache of {} repos and {} files",
            data.scan_repos, data.scan_files
        ),
        origin: origin.kind,
        files: data.scan_files,
        bytes: 0,
        rows,
    })
}

/// Scenario 8: `hfhub download REPO --include ONE_FILE` on a repository with a huge listing
/// (nginx's `bench/listing` in the full run; `bench/small` from `hfhub serve` in the smoke run):
/// the whole listing is fetched, parsed, filtered and cached for the one file.
pub fn listing(bench: &Bench) -> anyhow::Result<Scenario> {
    let (origin, repo, file, entries) = match (bench.nginx, &bench.data.listing) {
        (Some(nginx), Some(listing)) => (nginx, LISTING_REPO, &listing.file, listing.entries),
        _ => {
            let file = bench
                .data
                .small
                .last()
                .context("the small repository has no file")?;
            (bench.serve, SMALL_REPO, file, bench.data.small.len())
        }
    };
    let rows = bench.interleave(origin, bench.rounds, &[Tool::Hfhub], |tool, round| {
        let scratch = bench.scratch(&format!("listing-{tool:?}-{round}"))?;
        let cache = scratch.join("hub");
        let setting = bench.setting(origin, &scratch, false);
        let mut command = bench
            .peers
            .listing_command(&setting, repo, &file.path, &cache);
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
        check_snapshot(&printed_path(&run, &cache)?, std::slice::from_ref(file))?;
        Ok(run)
    })?;
    Ok(Scenario {
        key: "listing",
        title: format!(
            "8. A listing of {entries} entries, `--include` selecting one file, origin {}",
            origin.kind.label()
        ),
        origin: origin.kind,
        files: entries,
        bytes: 0,
        rows,
    })
}

/// What one repo-info request cost `hfhub serve`.
#[derive(Debug, Clone)]
pub struct RepoInfo {
    /// Siblings in each answer.
    pub files: usize,
    /// `time_total` of the first answer (which may build a per-commit index), in seconds.
    pub first: f64,
    /// `time_total` of each later answer.
    pub seconds: Vec<f64>,
    /// The server's CPU seconds for each later answer.
    pub server_cpu: Vec<f64>,
}

/// Scenario 7: `GET /api/models/bench/small/revision/main` from `curl`, `count` times in a row;
/// each answer must list every file.
pub fn repo_info(bench: &Bench, count: usize) -> anyhow::Result<RepoInfo> {
    let origin = bench.serve;
    let scratch = bench.scratch("repo-info")?;
    let body = scratch.join("body.json");
    let url = format!("{}/api/models/{SMALL_REPO}/revision/main", origin.endpoint);
    let files = bench.data.small.len();
    let mut first = None;
    let mut seconds = Vec::new();
    let mut server_cpu = Vec::new();
    for _ in 0..=count {
        let mark = origin.mark()?;
        let run = timing::measure(
            Command::new("curl")
                .args(["-sS", "-f", "-w", "%{time_total}", "-o"])
                .arg(&body)
                .arg(&url),
            &scratch.join("stderr.log"),
        )?;
        let load = origin.since(mark)?;
        let latency: f64 = run
            .stdout
            .trim()
            .parse()
            .with_context(|| format!("curl printed `{}`, not a time", run.stdout))?;
        let text = fs::read_to_string(&body)
            .with_context(|| format!("cannot read `{}`", body.display()))?;
        let siblings = text.matches("\"rfilename\"").count();
        ensure!(
            siblings == files,
            "the repo info lists {siblings} files, expected {files}"
        );
        ensure!(
            load.requests == 1,
            "the server logged {} requests for one",
            load.requests
        );
        if first.is_none() {
            first = Some(latency);
        } else {
            seconds.push(latency);
            server_cpu.push(load.cpu);
        }
    }
    Ok(RepoInfo {
        files,
        first: first.unwrap_or_default(),
        seconds,
        server_cpu,
    })
}

/// The path a tool printed, which must lie inside the cache it was given.
fn printed_path(run: &Run, cache: &Path) -> anyhow::Result<PathBuf> {
    printed_in(&run.stdout, cache)
}

/// The last line of a tool's `stdout`, a path that must lie inside `cache`.
pub(super) fn printed_in(stdout: &str, cache: &Path) -> anyhow::Result<PathBuf> {
    let line = stdout.lines().last().unwrap_or_default().trim();
    let path = PathBuf::from(line);
    ensure!(
        path.starts_with(cache),
        "the printed path `{line}` is not inside `{}`",
        cache.display()
    );
    Ok(path)
}

/// Size and content hash of a downloaded file against the generated one.
pub(super) fn check_file(path: &Path, expected: &Expected) -> anyhow::Result<()> {
    let size = fs::metadata(path)
        .with_context(|| format!("cannot stat `{}`", path.display()))?
        .len();
    ensure!(
        size == expected.size,
        "`{}` has {size} bytes, expected {}",
        path.display(),
        expected.size
    );
    let file = File::open(path).with_context(|| format!("cannot open `{}`", path.display()))?;
    let hash = hash_reader(expected.hash_kind(), size, file)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    ensure!(
        hash == expected.etag,
        "`{}` hashes to {hash}, expected {}",
        path.display(),
        expected.etag
    );
    Ok(())
}

/// Every expected file in the snapshot folder, intact, and nothing else.
fn check_snapshot(dir: &Path, expected: &[Expected]) -> anyhow::Result<()> {
    for file in expected {
        check_file(&dir.join(&file.path), file)?;
    }
    let found = count_files(dir)?;
    ensure!(
        found == expected.len(),
        "`{}` holds {found} files, expected {}",
        dir.display(),
        expected.len()
    );
    Ok(())
}

fn count_files(dir: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("cannot list `{}`", dir.display()))? {
        let path = entry?.path();
        if fs::metadata(&path)?.is_dir() {
            count += count_files(&path)?;
        } else {
            count += 1;
        }
    }
    Ok(count)
}

/// `2.0 GiB`, `72.0 MiB`: binary units for the titles.
pub fn human_size(bytes: u64) -> String {
    let bytes = bytes as f64;
    if bytes >= f64::from(1 << 30) {
        format!("{:.1} GiB", bytes / f64::from(1 << 30))
    } else {
        format!("{:.1} MiB", bytes / f64::from(1 << 20))
    }
}
