//! The scenarios: each runs every tool in turn, round after round (the order rotating each
//! round), discards the warm-up rounds, and checks every run's result before counting it.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use hub_cache::hash::hash_reader;

use super::data::{Data, Expected, LARGE_FILE, LARGE_REPO, SMALL_REPO};
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
    /// Peak resident memory of each measured run, in bytes.
    pub max_rss: Vec<u64>,
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub key: &'static str,
    pub title: String,
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
    pub endpoint: &'a str,
    /// Scratch space, wiped by the caller before the run.
    pub work: &'a Path,
    pub rounds: Rounds,
}

impl Bench<'_> {
    fn setting<'s>(&'s self, hf_home: &'s Path, offline: bool) -> Setting<'s> {
        Setting {
            endpoint: self.endpoint,
            hf_home,
            offline,
        }
    }

    /// Runs `one(tool, round)` for every tool, round after round, rotating the order; keeps the
    /// measured rounds.
    fn interleave(
        &self,
        tools: &[Tool],
        mut one: impl FnMut(Tool, usize) -> anyhow::Result<Run>,
    ) -> anyhow::Result<Vec<Row>> {
        let mut rows: Vec<Row> = tools
            .iter()
            .map(|&tool| Row {
                tool,
                seconds: Vec::new(),
                max_rss: Vec::new(),
            })
            .collect();
        let total = self.rounds.warmup + self.rounds.measured;
        for round in 0..total {
            for offset in 0..tools.len() {
                let index = (round + offset) % tools.len();
                let tool = tools[index];
                // Start every run with no dirty pages left by the previous one: otherwise the
                // kernel's writeback of that tool's gigabytes throttles whichever tool comes next.
                settle()?;
                let run = one(tool, round)
                    .with_context(|| format!("{} (round {})", tool.label(), round + 1))?;
                eprintln!(
                    "xtask bench:   round {}/{total} {:<60} {:>9.3} s {:>7.1} MiB",
                    round + 1,
                    tool.label(),
                    run.wall.as_secs_f64(),
                    run.max_rss as f64 / f64::from(1 << 20)
                );
                if round >= self.rounds.warmup {
                    rows[index].seconds.push(run.wall.as_secs_f64());
                    rows[index].max_rss.push(run.max_rss);
                }
            }
        }
        Ok(rows)
    }

    /// A fresh, empty scratch folder.
    fn scratch(&self, name: &str) -> anyhow::Result<PathBuf> {
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

/// Scenario 1 (and 5, from the same runs): one large LFS file into a fresh cache per run.
pub fn large_file(bench: &Bench) -> anyhow::Result<Scenario> {
    let tools = [
        Tool::Hfhub,
        Tool::Python,
        Tool::PythonHfTransfer,
        Tool::HfHubCrate,
        Tool::CurlDevNull,
        Tool::CurlFile,
    ];
    let expected = &bench.data.large;
    let rows = bench.interleave(&tools, |tool, _round| {
        let scratch = bench.scratch("large")?;
        let cache = scratch.join("hub");
        let out_file = scratch.join(LARGE_FILE);
        let setting = bench.setting(&scratch, false);
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
        key: "large",
        title: format!("1. One {} LFS file, cold cache", human_size(expected.size)),
        rows,
    })
}

/// The tools of the snapshot scenarios.
const SNAPSHOT_TOOLS: [Tool; 3] = [Tool::Hfhub, Tool::Python, Tool::HfHubCrate];

/// Scenario 2: the many-small-files repository into a fresh cache per run.
pub fn snapshot_cold(bench: &Bench) -> anyhow::Result<Scenario> {
    // Each run gets its own folder, kept until the whole benchmark ends: removing thousands of
    // files between runs would leave ext4 scanning past freshly freed inodes (`recently_deleted`)
    // during the next run's file creations, slowing whichever tool comes next.
    let rows = bench.interleave(&SNAPSHOT_TOOLS, |tool, round| {
        let scratch = bench.scratch(&format!("snapshot-cold-{tool:?}-{round}"))?;
        let cache = scratch.join("hub");
        let setting = bench.setting(&scratch, false);
        let mut command = bench
            .peers
            .snapshot_command(tool, &setting, SMALL_REPO, &cache)?;
        let run = timing::measure(&mut command, &scratch.join("stderr.log"))?;
        check_snapshot(&printed_path(&run, &cache)?, &bench.data.small)?;
        Ok(run)
    })?;
    Ok(Scenario {
        key: "snapshot-cold",
        title: format!(
            "2. Snapshot of {} files of 1 to 16 KiB, cold cache",
            bench.data.small.len()
        ),
        rows,
    })
}

/// Scenario 3: the same snapshot again in a cache each tool filled itself, online then offline.
pub fn snapshot_cached(bench: &Bench) -> anyhow::Result<[Scenario; 2]> {
    let mut caches = Vec::new();
    for tool in SNAPSHOT_TOOLS {
        let scratch = bench.scratch(&format!("snapshot-cached-{tool:?}"))?;
        let cache = scratch.join("hub");
        let setting = bench.setting(&scratch, false);
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
        let rows = bench.interleave(&SNAPSHOT_TOOLS, |tool, _round| {
            let scratch = folder(tool);
            let cache = scratch.join("hub");
            let setting = bench.setting(&scratch, offline);
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
    let rows = bench.interleave(&[Tool::Hfhub, Tool::Python], |tool, _round| {
        let scratch = bench.scratch("scan")?;
        let setting = bench.setting(&scratch, true);
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
        rows,
    })
}

/// The path a tool printed, which must lie inside the cache it was given.
fn printed_path(run: &Run, cache: &Path) -> anyhow::Result<PathBuf> {
    let line = run.stdout.lines().last().unwrap_or_default().trim();
    let path = PathBuf::from(line);
    ensure!(
        path.starts_with(cache),
        "the printed path `{line}` is not inside `{}`",
        cache.display()
    );
    Ok(path)
}

/// Size and content hash of a downloaded file against the generated one.
fn check_file(path: &Path, expected: &Expected) -> anyhow::Result<()> {
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
