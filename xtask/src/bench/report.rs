//! The Markdown report: machine, versions, method, one table per scenario (wall time, CPU time,
//! the server's CPU time and requests, peak memory), the scaling and server tables, and the
//! targets of issue 12 against what was measured.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::mirror::MirrorRun;
use super::peers::{HF_HUB_2X, HF_HUB_WITH_HF_TRANSFER, HF_TRANSFER, Peers, Tool};
use super::scenarios::{RepoInfo, Rounds, Scenario};
use super::timing::Summary;

/// What the report says about the machine.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub kernel: String,
    pub load_before: String,
    pub load_after: String,
    pub date: String,
}

impl Machine {
    /// Reads `/proc` (Linux); unknown fields say so.
    pub fn probe(load_before: String) -> Machine {
        let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|line| line.strip_prefix("model name"))
            .and_then(|rest| rest.split_once(':'))
            .map_or_else(|| "unknown".to_owned(), |(_, name)| name.trim().to_owned());
        let meminfo = fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemTotal:"))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or_else(
                || "unknown".to_owned(),
                |kib| format!("{:.1} GiB", kib as f64 / f64::from(1 << 20)),
            );
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            memory,
            kernel: fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or_else(|_| "unknown".to_owned(), |s| s.trim().to_owned()),
            load_before,
            load_after: load_average(),
            date: command_output(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))
                .unwrap_or_else(|| "unknown".to_owned()),
        }
    }
}

/// The 1, 5 and 15 minute load averages.
pub fn load_average() -> String {
    fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".to_owned(),
        |text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

fn command_output(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// The versions of everything measured, asked from the tools themselves.
pub fn versions(peers: &Peers, root: &Path, smoke: bool) -> anyhow::Result<Vec<(String, String)>> {
    let commit = command_output(
        Command::new("git")
            .args(["describe", "--always", "--dirty", "--abbrev=12"])
            .current_dir(root),
    )
    .unwrap_or_else(|| "unknown".to_owned());
    let hfhub = command_output(Command::new(&peers.hfhub).arg("--version"))
        .unwrap_or_else(|| "unknown".to_owned());
    let rustc = command_output(Command::new("rustc").arg("--version"))
        .unwrap_or_else(|| "unknown".to_owned());
    let python = command_output(Command::new(peers.python.python()).arg("--version"))
        .unwrap_or_else(|| "unknown".to_owned());
    let curl = command_output(Command::new("curl").arg("--version"))
        .and_then(|text| text.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned());
    let lock =
        fs::read_to_string(root.join("bench-peers/hf-hub-bench/Cargo.lock")).unwrap_or_default();
    let hf_hub = lock
        .split("[[package]]")
        .find(|block| block.contains("name = \"hf-hub\""))
        .and_then(|block| block.lines().find_map(|l| l.strip_prefix("version = ")))
        .map_or_else(|| "unknown".to_owned(), |v| v.trim_matches('"').to_owned());
    Ok(vec![
        (
            "hfhub".to_owned(),
            format!(
                "{hfhub} (commit {commit}), {} build, {rustc}",
                if smoke { "debug" } else { "release" }
            ),
        ),
        (
            "huggingface_hub".to_owned(),
            format!("{} ({python})", peers.python.version_of("huggingface_hub")?),
        ),
        (
            "huggingface_hub + hf_transfer".to_owned(),
            format!(
                "{} + {}",
                peers.python_hf_transfer.version_of("huggingface_hub")?,
                peers.python_hf_transfer.version_of("hf_transfer")?
            ),
        ),
        (
            "hf-hub crate".to_owned(),
            format!("{hf_hub} (bench-peers/hf-hub-bench)"),
        ),
        ("curl".to_owned(), curl),
    ])
}

/// Everything the report is made of.
pub struct Inputs<'a> {
    pub command: &'a str,
    pub smoke: bool,
    /// `--only` or `--rounds`: not the whole benchmark.
    pub partial: bool,
    pub machine: &'a Machine,
    pub versions: &'a [(String, String)],
    pub rounds: Rounds,
    pub wide_rounds: Rounds,
    /// Where the scratch caches were, and its file system type.
    pub work: &'a Path,
    pub work_fs: &'a str,
    pub scenarios: &'a [Scenario],
    pub repo_info: Option<&'a RepoInfo>,
    /// Scenario 9.
    pub mirror: Option<&'a MirrorRun>,
    /// Seconds of one core SHA-256 of 1 GiB takes here (see [`super::floor`]), when scenario 1 ran.
    pub hash_per_gib: Option<f64>,
}

/// The line after which `docs/benchmarks.md` holds hand-written notes that a new run keeps.
pub const NOTES_MARKER: &str =
    "<!-- Notes: written by hand from profiles; `cargo xtask bench` keeps everything below. -->";

/// `rendered` followed by the notes of `previous` (the page being replaced), or by an empty
/// notes section when it has none.
pub fn with_notes(rendered: &str, previous: Option<&str>) -> String {
    let notes = previous
        .and_then(|text| text.split_once(NOTES_MARKER))
        .map_or("\n## Notes\n\n(none yet)\n", |(_, notes)| notes);
    format!("{rendered}{NOTES_MARKER}{notes}")
}

/// The whole Markdown page (without the notes).
pub fn render(inputs: &Inputs) -> String {
    let mut out = String::new();
    let machine = inputs.machine;
    let _ = writeln!(out, "# Benchmarks\n");
    if inputs.smoke {
        let _ = writeln!(
            out,
            "**Smoke run** (tiny sizes, one run, no warm-up, debug build, `hfhub serve` as the \
             only origin): checks that the benchmark works; the numbers mean nothing.\n"
        );
    }
    if inputs.partial {
        let _ = writeln!(
            out,
            "**Partial run** (some scenarios, or fewer rounds than the full benchmark): the \
             figures are real but fewer; the targets table covers only what ran.\n"
        );
    }
    let _ = writeln!(
        out,
        "Written by `{}` on {}; do not edit by hand, run the command again. Every tool runs \
         against servers on 127.0.0.1 (`hfhub serve`, and nginx where a title says so) in the \
         same run, interleaved.\n",
        inputs.command, machine.date
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "- CPU: {}, {} cores", machine.cpu, machine.cores);
    let _ = writeln!(out, "- Memory: {}", machine.memory);
    let _ = writeln!(out, "- Kernel: Linux {}", machine.kernel);
    let _ = writeln!(
        out,
        "- Scratch caches: `{}` ({})",
        inputs.work.display(),
        inputs.work_fs
    );
    let _ = writeln!(
        out,
        "- Load average (1, 5, 15 min): {} before, {} after{}\n",
        machine.load_before,
        machine.load_after,
        if busy(&machine.load_before) || busy(&machine.load_after) {
            " — the machine was not quiet (other processes were running), so expect noise"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "## Versions\n");
    let _ = writeln!(out, "| Tool | Version |\n| --- | --- |");
    for (tool, version) in inputs.versions {
        let _ = writeln!(out, "| {tool} | {version} |");
    }
    let _ = writeln!(out);
    write_method(&mut out, inputs);

    let _ = writeln!(out, "## Results\n");
    let _ = writeln!(
        out,
        "Medians over the measured rounds. Wall time from process start to exit; `x hfhub` is the \
         tool's median over hfhub's (above 1 hfhub is faster); CPU is the tool's user + system \
         time; server CPU and requests are what the origin spent and logged during the run; peak \
         RSS is the tool's `ru_maxrss`.\n"
    );
    for scenario in inputs.scenarios {
        write_scenario(&mut out, scenario);
    }
    write_scaling(&mut out, inputs.scenarios);
    write_server(&mut out, inputs.scenarios, inputs.repo_info);
    write_mirror(&mut out, inputs.mirror);
    write_targets(&mut out, inputs.scenarios, inputs.repo_info);
    if let Some(hash_per_gib) = inputs.hash_per_gib {
        write_floor(
            &mut out,
            inputs.scenarios,
            hash_per_gib,
            inputs.machine.cores,
        );
    }
    out
}

fn write_scenario(out: &mut String, scenario: &Scenario) {
    let _ = writeln!(out, "### {}\n", scenario.title);
    let hfhub = median_of(scenario, Tool::Hfhub);
    let _ = writeln!(
        out,
        "| Tool | Median | Min | Max | x hfhub | CPU | Server CPU | Requests | Peak RSS |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for row in &scenario.rows {
        let Some(summary) = Summary::of(&row.seconds) else {
            continue;
        };
        let ratio = hfhub.map_or_else(|| "-".to_owned(), |h| format!("{:.2}", summary.median / h));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {ratio} | {} | {} | {} | {} |",
            row.tool.label(),
            seconds(summary.median),
            seconds(summary.min),
            seconds(summary.max),
            median(&row.cpu).map_or_else(|| "-".to_owned(), seconds),
            median(&row.server_cpu).map_or_else(|| "-".to_owned(), seconds),
            median(&counts(&row.requests)).map_or_else(|| "-".to_owned(), |n| format!("{n:.0}")),
            median(&counts(&row.max_rss)).map_or_else(|| "-".to_owned(), mebibytes),
        );
    }
    let _ = writeln!(out);
}

/// How the cold snapshot's cost grows from scenario 2 to scenario 6.
fn write_scaling(out: &mut String, scenarios: &[Scenario]) {
    let (Some(small), Some(wide)) = (
        find(scenarios, "snapshot-cold"),
        find(scenarios, "snapshot-wide"),
    ) else {
        return;
    };
    let _ = writeln!(
        out,
        "### Scaling: {} files (scenario 2) against {} files (scenario 6), cold\n",
        small.files, wide.files
    );
    let _ = writeln!(
        out,
        "Time ratio is scenario 6's median wall time over scenario 2's. Per-file and per-request \
         figures are medians of each run's CPU time divided by its files or by the requests the \
         server logged.\n"
    );
    let _ = writeln!(
        out,
        "| Tool | Time ratio | Client CPU per file ({}) | Client CPU per file ({}) | Server CPU per request ({}) | Server CPU per request ({}) | Requests per file ({}) |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        small.files, wide.files, small.files, wide.files, wide.files
    );
    for row in &wide.rows {
        let Some(before) = small.row(row.tool) else {
            continue;
        };
        let ratio = match (median(&before.seconds), median(&row.seconds)) {
            (Some(a), Some(b)) => format!("{:.1}x", b / a),
            _ => "-".to_owned(),
        };
        let per_file = |scenario: &Scenario, row: &super::scenarios::Row| {
            cpu_per_file(scenario, row).map_or_else(|| "-".to_owned(), micro)
        };
        let per_request = |row: &super::scenarios::Row| {
            server_cpu_per_request(row).map_or_else(|| "-".to_owned(), micro)
        };
        let requests = median(&counts(&row.requests)).map_or_else(
            || "-".to_owned(),
            |n| format!("{:.2}", n / wide.files as f64),
        );
        let _ = writeln!(
            out,
            "| {} | {ratio} | {} | {} | {} | {} | {requests} |",
            row.tool.label(),
            per_file(small, before),
            per_file(wide, row),
            per_request(before),
            per_request(row),
        );
    }
    let _ = writeln!(out);
}

/// What the servers cost: CPU per GiB sent in scenario 1, and the repo-info answer.
fn write_server(out: &mut String, scenarios: &[Scenario], repo_info: Option<&RepoInfo>) {
    let _ = writeln!(out, "### 7. The servers' own cost\n");
    let _ = writeln!(
        out,
        "CPU time (user + system, from `/proc/<pid>/stat`, 10 ms resolution) the origin spent per \
         GiB it sent in scenario 1, median over the runs of each downloading tool.\n"
    );
    let large: Vec<&Scenario> = ["large-serve", "large-nginx"]
        .iter()
        .filter_map(|key| find(scenarios, key))
        .collect();
    let _ = write!(out, "| Tool |");
    for scenario in &large {
        let _ = write!(out, " {} CPU per GiB |", scenario.origin.label());
    }
    let _ = writeln!(out, "\n| --- |{}", " ---: |".repeat(large.len()));
    if let Some(first) = large.first() {
        for row in &first.rows {
            let _ = write!(out, "| {} |", row.tool.label());
            for scenario in &large {
                let cell = scenario
                    .row(row.tool)
                    .and_then(|row| server_cpu_per_gib(scenario, row))
                    .map_or_else(|| "-".to_owned(), seconds);
                let _ = write!(out, " {cell} |");
            }
            let _ = writeln!(out);
        }
    }
    let _ = writeln!(out);
    let Some(repo_info) = repo_info else {
        return;
    };
    let later = Summary::of(&repo_info.seconds);
    let per_answer = mean(&repo_info.server_cpu);
    let _ = writeln!(
        out,
        "`GET /api/models/bench/small/revision/main` ({} siblings) from `hfhub serve`, `curl`'s \
         `time_total`: first answer {}; later answers ({}): median {}, min {}, max {}; server \
         CPU per later answer (mean) {}.\n",
        repo_info.files,
        seconds(repo_info.first),
        repo_info.seconds.len(),
        later.map_or_else(|| "-".to_owned(), |s| seconds(s.median)),
        later.map_or_else(|| "-".to_owned(), |s| seconds(s.min)),
        later.map_or_else(|| "-".to_owned(), |s| seconds(s.max)),
        per_answer.map_or_else(|| "-".to_owned(), seconds),
    );
}

fn write_mirror(out: &mut String, mirror: Option<&MirrorRun>) {
    let Some(mirror) = mirror else {
        return;
    };
    let _ = writeln!(
        out,
        "### 9. A pull-through mirror, {} clients at once\n",
        mirror.clients
    );
    let _ = writeln!(
        out,
        "`hfhub serve --upstream <the bench's hfhub serve>` with an empty cache each round; {} \
         `hfhub download` processes ask it for the same {} file at the same moment. Wall time until \
         the last one has the verified file; upstream bytes from the mirror's `/metrics`; origin \
         requests from its log.\n",
        mirror.clients,
        super::scenarios::human_size(mirror.size)
    );
    let _ = writeln!(
        out,
        "| Round | Wall | Upstream bytes | x file size | Origin requests |\n| ---: | ---: | ---: | ---: | ---: |"
    );
    for (round, ((wall, bytes), requests)) in mirror
        .seconds
        .iter()
        .zip(&mirror.upstream_bytes)
        .zip(&mirror.origin_requests)
        .enumerate()
    {
        let _ = writeln!(
            out,
            "| {} | {} | {bytes} | {:.2} | {requests} |",
            round + 1,
            seconds(*wall),
            *bytes as f64 / mirror.size.max(1) as f64,
        );
    }
    let _ = writeln!(out);
}

fn busy(load: &str) -> bool {
    load.split_whitespace()
        .next()
        .and_then(|one| one.parse::<f64>().ok())
        .is_some_and(|one| one > 1.0)
}

fn write_method(out: &mut String, inputs: &Inputs) {
    let (rounds, wide_rounds) = (inputs.rounds, inputs.wide_rounds);
    let _ = writeln!(out, "## Method\n");
    let _ = writeln!(
        out,
        "- The data is generated (seeded random bytes) into a hub cache that `hfhub serve` serves \
         on 127.0.0.1: a repository with one LFS file (redirected to the server's second, \"CDN\", \
         listener as the Hub does), a repository of 2,000 small regular files, one of 20,000 \
         smaller ones in 100 folders, and a separate synthetic cache to scan. The servers run as \
         child processes on the same machine, so they compete with the tool measured for the same \
         cores; their CPU time during each run is reported beside the tool's."
    );
    let _ = writeln!(
        out,
        "- nginx (full run only; the smoke run keeps to `hfhub serve`) runs in the foreground \
         without a master process (one process serves, so its `/proc/<pid>/stat` is the whole \
         server) on two loopback ports with a generated configuration (`target/bench/nginx/`): \
         the Hub port answers the large file's resolve URL with the Hub's `302`, `X-Repo-Commit`, \
         `X-Linked-Etag`, `X-Linked-Size` and a `Location` on the CDN port, which sends the blob \
         with `sendfile`, honouring `Range`. It also serves scenario 8's listing from static \
         files: repo info (sha only), `/tree` pages of 1,000 entries linked by \
         `Link: <...>; rel=\"next\"`, and the one file selected. `hfhub serve` cannot serve a \
         1,000,000-entry repository cheaply (it would need a million files on disk), so the smoke \
         run's scenario 8 uses the small repository from `hfhub serve` instead."
    );
    let _ = writeln!(
        out,
        "- Each scenario runs every tool in turn, round after round, the order rotating each round: \
         {} warm-up round(s), discarded, then {} measured round(s) ({} and {} for scenario 6). \
         Median, minimum and maximum are over the measured rounds.",
        rounds.warmup, rounds.measured, wide_rounds.warmup, wide_rounds.measured
    );
    let _ = writeln!(
        out,
        "- Cold means a fresh, empty cache folder for every run, under `{}` ({}). The kernel's \
         page cache is not dropped (that needs root and disturbs the other tools), so the served \
         file is read from memory; `sync` runs before every run so that no tool pays for the \
         writeback of the previous one's files. `--tmpfs` puts the scratch caches on \
         `/dev/shm`, where there is no writeback at all.",
        inputs.work.display(),
        inputs.work_fs
    );
    let _ = writeln!(
        out,
        "- Every run's result is checked after the run, outside the timing: the printed path lies \
         in the cache given, and every file has the expected size and sha256 (LFS) or git blob \
         sha1 (regular files). Of the tools, only hfhub verifies the content hash itself, inside \
         every timed run; Python `huggingface_hub` (2.4 and 0.36), hf_transfer and the hf-hub \
         crate check at most the size. `curl -o /dev/null` is checked by the byte count only; it \
         is the ceiling of the transport, not a download a user keeps."
    );
    let _ = writeln!(
        out,
        "- CPU time and peak RSS of a tool come from `wait4`'s `rusage` (the process and the \
         children it waited for). The server's CPU time is read from `/proc/<pid>/stat` before \
         and 20 ms after each run; its requests are counted from its log (`hfhub serve` runs with \
         `RUST_LOG=warn,hub_server=info`, one line per request, which is its default verbosity; \
         nginx from its access log)."
    );
    let _ = writeln!(
        out,
        "- Progress bars are off for every tool; each run gets a scratch `HF_HOME` and no token. \
         Python runs include the interpreter's start-up and imports, as a user's command does."
    );
    let _ = writeln!(
        out,
        "- The hf-hub crate is driven through its own API (`download_file`, `snapshot_download`, \
         `local_files_only(true)` when `HF_HUB_OFFLINE=1`, since the crate does not read that \
         variable) by `bench-peers/hf-hub-bench`. Python with hf_transfer uses \
         `huggingface_hub=={HF_HUB_WITH_HF_TRANSFER}` (the newest release that still calls \
         hf_transfer; 1.0 removed it) with `hf_transfer=={HF_TRANSFER}` and \
         `HF_HUB_ENABLE_HF_TRANSFER=1`; `huggingface_hub=={HF_HUB_2X}` is the plain Python peer."
    );
    let _ = writeln!(
        out,
        "- Scenario 3 times a second call on a cache the same tool filled itself; scenario 4 times \
         `hfhub scan-cache` (which also prints the table) against Python's `scan_cache_dir` call \
         (which only builds the report); scenario 7 times repo-info answers with `curl`; \
         scenario 8 runs `hfhub download REPO --include PATH` (hfhub only: it measures hfhub's \
         memory on a huge listing).\n"
    );
}

/// One line of the targets table: what, what was measured, met or not.
type Target = (String, String, bool);

fn targets(scenarios: &[Scenario], repo_info: Option<&RepoInfo>) -> Vec<Target> {
    let mut lines: Vec<Target> = Vec::new();
    // hfhub's median time over `tool`'s.
    let share = |scenario: &Scenario, tool: Tool| {
        Some(median_of(scenario, Tool::Hfhub)? / median_of(scenario, tool)?)
    };
    let time_target =
        |lines: &mut Vec<Target>, scenario: &Scenario, name: &str, tool: Tool, at_most: f64| {
            if let Some(r) = share(scenario, tool) {
                lines.push((
                    format!("{name}: hfhub ≤ {at_most:.1}x the time of {}", tool.label()),
                    format!("{r:.2}x"),
                    r <= at_most,
                ));
            }
        };
    let large = scenario_1(scenarios);
    if let Some(large) = large {
        let name = format!("1 ({})", large.origin.label());
        time_target(&mut lines, large, &name, Tool::HfHubCrate, 1.0);
        time_target(&mut lines, large, &name, Tool::CurlFile, 0.9);
        if let Some(row) = large.row(Tool::Hfhub) {
            let peak = row.max_rss.iter().copied().max().unwrap_or(0);
            lines.push((
                format!("{name}: hfhub peak RSS < 64 MiB"),
                format!("{} (max over runs)", mebibytes(peak as f64)),
                peak < 64 << 20,
            ));
        }
    }
    let faster_than_python = |lines: &mut Vec<Target>, scenario: &Scenario, name: &str| {
        if let Some(r) = share(scenario, Tool::Python) {
            lines.push((
                format!("{name}: hfhub ≥ 10x faster than Python"),
                format!("{:.1}x faster", 1.0 / r),
                1.0 / r >= 10.0,
            ));
        }
    };
    if let Some(cold) = find(scenarios, "snapshot-cold") {
        time_target(&mut lines, cold, "2", Tool::HfHubCrate, 1.0);
        faster_than_python(&mut lines, cold, "2");
    }
    if let Some(online) = find(scenarios, "cached-online") {
        faster_than_python(&mut lines, online, "3 online");
        if let Some(r) = share(online, Tool::HfHubCrate) {
            lines.push((
                format!("3 online: hfhub ahead of {}", Tool::HfHubCrate.label()),
                format!("{r:.2}x its time"),
                r < 1.0,
            ));
        }
    }
    if let Some(offline) = find(scenarios, "cached-offline") {
        time_target(&mut lines, offline, "3 offline", Tool::HfHubCrate, 1.0);
        if let Some(median) = median_of(offline, Tool::Hfhub) {
            lines.push((
                "3 offline: hfhub < 15 ms".to_owned(),
                seconds(median),
                median < 0.015,
            ));
        }
    }
    if let Some(scan) = find(scenarios, "scan") {
        faster_than_python(&mut lines, scan, "4 scan");
    }
    if let Some(large) = find(scenarios, "large-serve")
        && let Some(per_gib) = large
            .row(Tool::Hfhub)
            .and_then(|row| server_cpu_per_gib(large, row))
    {
        lines.push((
            "7: `hfhub serve` ≤ 0.5 s of CPU per GiB sent (to hfhub)".to_owned(),
            format!("{} per GiB", seconds(per_gib)),
            per_gib <= 0.5,
        ));
    }
    if let Some(repo_info) = repo_info
        && let Some(later) = Summary::of(&repo_info.seconds)
    {
        lines.push((
            format!(
                "7: `hfhub serve` repo-info answer ({} files) < 10 ms",
                repo_info.files
            ),
            format!(
                "{} (median; first {})",
                seconds(later.median),
                seconds(repo_info.first)
            ),
            later.median < 0.010,
        ));
    }
    if let Some(listing) = find(scenarios, "listing")
        && let Some(row) = listing.row(Tool::Hfhub)
    {
        let peak = row.max_rss.iter().copied().max().unwrap_or(0);
        lines.push((
            format!(
                "8: listing of {} entries, hfhub peak RSS < 200 MB",
                listing.files
            ),
            format!("{:.0} MB (max over runs)", peak as f64 / 1e6),
            peak < 200_000_000,
        ));
    }
    if let (Some(small), Some(wide)) = (
        find(scenarios, "snapshot-cold"),
        find(scenarios, "snapshot-wide"),
    ) {
        scaling_targets(&mut lines, small, wide);
    }
    lines
}

/// The scaling targets: the time grows at most 1.2x as fast as the files (12x for 10x the files),
/// client CPU per file does not grow, server CPU per request stays flat (within 20 %), and hfhub
/// stays ahead of the hf-hub crate.
fn scaling_targets(lines: &mut Vec<Target>, small: &Scenario, wide: &Scenario) {
    let files = wide.files as f64 / small.files.max(1) as f64;
    let (Some(before), Some(after)) = (small.row(Tool::Hfhub), wide.row(Tool::Hfhub)) else {
        return;
    };
    let name = format!("6 scaling {} → {} files", small.files, wide.files);
    if let (Some(a), Some(b)) = (median(&before.seconds), median(&after.seconds)) {
        lines.push((
            format!("{name}: hfhub's time ≤ {:.0}x", 1.2 * files),
            format!("{:.1}x", b / a),
            b / a <= 1.2 * files,
        ));
    }
    if let (Some(a), Some(b)) = (cpu_per_file(small, before), cpu_per_file(wide, after)) {
        lines.push((
            format!("{name}: hfhub's CPU per file no higher"),
            format!("{} → {}", micro(a), micro(b)),
            b <= a,
        ));
    }
    if let (Some(a), Some(b)) = (
        server_cpu_per_request(before),
        server_cpu_per_request(after),
    ) {
        lines.push((
            format!("{name}: `hfhub serve` CPU per request flat (≤ 1.2x)"),
            format!("{} → {}", micro(a), micro(b)),
            b <= 1.2 * a,
        ));
    }
    if let Some(r) = median_of(wide, Tool::Hfhub)
        .zip(median_of(wide, Tool::HfHubCrate))
        .map(|(h, c)| h / c)
    {
        lines.push((
            format!("{name}: hfhub ahead of {}", Tool::HfHubCrate.label()),
            format!("{r:.2}x its time"),
            r < 1.0,
        ));
    }
}

fn write_targets(out: &mut String, scenarios: &[Scenario], repo_info: Option<&RepoInfo>) {
    let _ = writeln!(out, "## Against the targets of issue 12\n");
    let _ = writeln!(
        out,
        "Ratios compare medians. The notes below say why a target is missed.\n"
    );
    let _ = writeln!(out, "| Target | Measured | Met |\n| --- | --- | --- |");
    for (target, measured, met) in targets(scenarios, repo_info) {
        let met = if met { "yes" } else { "**no**" };
        let _ = writeln!(out, "| {target} | {measured} | {met} |");
    }
    let _ = writeln!(out);
}

/// A floor of hfhub's time in a scenario against a tool that does not hash: the tool's client CPU,
/// plus the hash of the bytes, plus the origin's CPU during the tool's runs, over every core with
/// nothing idle (medians, in seconds).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Floor {
    peer_seconds: f64,
    peer_cpu: f64,
    server_cpu: f64,
    hash: f64,
    seconds: f64,
}

fn floor(scenario: &Scenario, peer: Tool, hash_per_gib: f64, cores: usize) -> Option<Floor> {
    let row = scenario.row(peer)?;
    let peer_cpu = median(&row.cpu)?;
    let server_cpu = median(&row.server_cpu)?;
    let hash = hash_per_gib * scenario.bytes as f64 / f64::from(1 << 30);
    Some(Floor {
        peer_seconds: median(&row.seconds)?,
        peer_cpu,
        server_cpu,
        hash,
        seconds: (peer_cpu + hash + server_cpu) / cores.max(1) as f64,
    })
}

/// Scenario 1's floors against the tools its time targets compare hfhub with.
fn write_floor(out: &mut String, scenarios: &[Scenario], hash_per_gib: f64, cores: usize) {
    let Some(large) = scenario_1(scenarios) else {
        return;
    };
    let _ = writeln!(
        out,
        "### The hash's floor in scenario 1
"
    );
    let _ = writeln!(
        out,
        "hfhub verifies the SHA-256 of every byte, which the tools below do not; SHA-256 of 1 GiB \
         takes {} of one core here (`hub_cache::hash`, from memory, fastest of three passes). Doing \
         what the tool does plus the hash, with the origin's share, on {cores} cores kept fully \
         busy, hfhub could not finish sooner than:\n",
        seconds(hash_per_gib)
    );
    let _ = writeln!(
        out,
        "| Against | its CPU | hash | origin CPU | floor | its time | floor / its time | target |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (tool, target) in [(Tool::HfHubCrate, 1.0), (Tool::CurlFile, 0.9)] {
        if let Some(f) = floor(large, tool, hash_per_gib, cores) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {:.2}x | ≤ {target:.1}x |",
                tool.label(),
                seconds(f.peer_cpu),
                seconds(f.hash),
                seconds(f.server_cpu),
                seconds(f.seconds),
                seconds(f.peer_seconds),
                f.seconds / f.peer_seconds,
            );
        }
    }
    let _ = writeln!(out);
}

/// Scenario 1 as its targets read it: the nginx origin, else (a smoke run) `hfhub serve`.
fn scenario_1(scenarios: &[Scenario]) -> Option<&Scenario> {
    find(scenarios, "large-nginx").or_else(|| find(scenarios, "large-serve"))
}

fn find<'a>(scenarios: &'a [Scenario], key: &str) -> Option<&'a Scenario> {
    scenarios.iter().find(|s| s.key == key)
}

fn median(samples: &[f64]) -> Option<f64> {
    Summary::of(samples).map(|s| s.median)
}

fn mean(samples: &[f64]) -> Option<f64> {
    (!samples.is_empty()).then(|| samples.iter().sum::<f64>() / samples.len() as f64)
}

fn counts(values: &[u64]) -> Vec<f64> {
    values.iter().map(|&v| v as f64).collect()
}

/// Median of each run's client CPU over the scenario's files.
fn cpu_per_file(scenario: &Scenario, row: &super::scenarios::Row) -> Option<f64> {
    let files = scenario.files.max(1) as f64;
    median(&row.cpu.iter().map(|cpu| cpu / files).collect::<Vec<_>>())
}

/// Median of each run's server CPU over the requests it logged.
fn server_cpu_per_request(row: &super::scenarios::Row) -> Option<f64> {
    let per: Vec<f64> = row
        .server_cpu
        .iter()
        .zip(&row.requests)
        .filter(|(_, requests)| **requests > 0)
        .map(|(cpu, requests)| cpu / *requests as f64)
        .collect();
    median(&per)
}

/// Median of each run's server CPU over the GiB the scenario sends.
fn server_cpu_per_gib(scenario: &Scenario, row: &super::scenarios::Row) -> Option<f64> {
    if scenario.bytes == 0 {
        return None;
    }
    let gib = scenario.bytes as f64 / f64::from(1 << 30);
    median(
        &row.server_cpu
            .iter()
            .map(|cpu| cpu / gib)
            .collect::<Vec<_>>(),
    )
}

fn median_of(scenario: &Scenario, tool: Tool) -> Option<f64> {
    Summary::of(&scenario.row(tool)?.seconds).map(|s| s.median)
}

/// Seconds with three significant decimals, milliseconds below one second.
fn seconds(value: f64) -> String {
    if value < 1.0 {
        format!("{:.1} ms", value * 1000.0)
    } else {
        format!("{value:.2} s")
    }
}

fn mebibytes(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / f64::from(1 << 20))
}

/// Microseconds, for per-file and per-request CPU.
fn micro(value: f64) -> String {
    format!("{:.0} µs", value * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::origin::Kind;
    use crate::bench::scenarios::Row;

    fn row(tool: Tool, seconds: &[f64], max_rss: u64) -> Row {
        Row {
            tool,
            seconds: seconds.to_vec(),
            cpu: seconds.iter().map(|s| s / 2.0).collect(),
            server_cpu: seconds.iter().map(|s| s / 4.0).collect(),
            requests: vec![10; seconds.len()],
            max_rss: vec![max_rss; seconds.len()],
        }
    }

    fn scenario(
        key: &'static str,
        origin: Kind,
        files: usize,
        bytes: u64,
        rows: Vec<Row>,
    ) -> Scenario {
        Scenario {
            key,
            title: key.to_owned(),
            origin,
            files,
            bytes,
            rows,
        }
    }

    #[test]
    fn the_floor_adds_the_hash_to_the_tools_work_and_spreads_it_over_the_cores() {
        // hf-hub: median 1.2 s, so CPU 0.6 s and origin CPU 0.3 s (see `row`); 2 GiB hashed at
        // 0.5 s per GiB: (0.6 + 1.0 + 0.3) / 2 cores = 0.95 s.
        let large = scenario(
            "large-nginx",
            Kind::Nginx,
            1,
            2 << 30,
            vec![
                row(Tool::Hfhub, &[2.0], 8 << 20),
                row(Tool::HfHubCrate, &[1.1, 1.2, 1.3], 8 << 20),
            ],
        );
        let found = floor(&large, Tool::HfHubCrate, 0.5, 2).expect("figures");
        assert!((found.hash - 1.0).abs() < 1e-9, "{found:?}");
        assert!((found.seconds - 0.95).abs() < 1e-9, "{found:?}");
        assert!((found.peer_seconds - 1.2).abs() < 1e-9, "{found:?}");
        assert!(floor(&large, Tool::CurlFile, 0.5, 2).is_none());
        let mut out = String::new();
        write_floor(&mut out, std::slice::from_ref(&large), 0.5, 2);
        assert!(
            out.contains("| hf-hub crate (Rust) | 600.0 ms | 1.00 s | 300.0 ms | 950.0 ms | 1.20 s | 0.79x | ≤ 1.0x |"),
            "{out}"
        );
        let mut none = String::new();
        write_floor(&mut none, &[], 0.5, 2);
        assert!(none.is_empty());
    }

    #[test]
    fn a_new_run_keeps_the_hand_written_notes() {
        let first = with_notes("# Benchmarks\nold table\n", None);
        assert!(first.ends_with(&format!("{NOTES_MARKER}\n## Notes\n\n(none yet)\n")));
        let edited = first.replace("(none yet)", "the hash costs a core");
        let second = with_notes("# Benchmarks\nnew table\n", Some(&edited));
        assert_eq!(
            second,
            format!("# Benchmarks\nnew table\n{NOTES_MARKER}\n## Notes\n\nthe hash costs a core\n")
        );
    }

    #[test]
    fn targets_compare_medians_and_say_which_are_missed() {
        let large = scenario(
            "large-nginx",
            Kind::Nginx,
            1,
            1 << 30,
            vec![
                row(Tool::Hfhub, &[1.0, 1.2, 5.0], 30 << 20),
                row(Tool::HfHubCrate, &[1.1, 1.2, 1.3], 10 << 20),
                row(Tool::CurlFile, &[1.0, 1.0, 1.0], 10 << 20),
            ],
        );
        let serve = scenario(
            "large-serve",
            Kind::HfhubServe,
            1,
            2 << 30,
            // Server CPU: a quarter of the wall time, over 2 GiB.
            vec![row(Tool::Hfhub, &[2.0, 2.4, 8.0], 100 << 20)],
        );
        let offline = scenario(
            "cached-offline",
            Kind::HfhubServe,
            2000,
            0,
            vec![
                row(Tool::Hfhub, &[0.012], 8 << 20),
                row(Tool::HfHubCrate, &[0.010], 8 << 20),
                row(Tool::Python, &[0.9], 30 << 20),
            ],
        );
        let cold = scenario(
            "snapshot-cold",
            Kind::HfhubServe,
            2000,
            0,
            vec![
                row(Tool::Hfhub, &[1.0], 8 << 20),
                row(Tool::HfHubCrate, &[1.5], 8 << 20),
                row(Tool::Python, &[12.0], 8 << 20),
            ],
        );
        let mut wide_hfhub = row(Tool::Hfhub, &[13.0], 8 << 20);
        // CPU per file: 0.5 s / 2000 = 250 µs, then 6.5 s / 20000 = 325 µs; server CPU per
        // request: 0.25 s / 10 = 25 ms, then 2.9 s / 100 = 29 ms (flat within 20 %).
        wide_hfhub.server_cpu = vec![2.9];
        wide_hfhub.requests = vec![100];
        let wide = scenario(
            "snapshot-wide",
            Kind::HfhubServe,
            20_000,
            0,
            vec![wide_hfhub, row(Tool::HfHubCrate, &[12.0], 8 << 20)],
        );
        let listing = scenario(
            "listing",
            Kind::Nginx,
            1_000_000,
            0,
            vec![row(Tool::Hfhub, &[3.0, 3.0], 250_000_000)],
        );
        let repo_info = RepoInfo {
            files: 2000,
            first: 0.07,
            seconds: vec![0.008, 0.009, 0.030],
            server_cpu: vec![0.0, 0.01, 0.0],
        };
        let lines: Vec<(String, String, bool)> = targets(
            &[large, serve, offline, cold, wide, listing],
            Some(&repo_info),
        );
        let expected = [
            (
                "1 (nginx): hfhub ≤ 1.0x the time of hf-hub crate (Rust)",
                "1.00x",
                true,
            ),
            (
                "1 (nginx): hfhub ≤ 0.9x the time of curl -L -o file",
                "1.20x",
                false,
            ),
            (
                "1 (nginx): hfhub peak RSS < 64 MiB",
                "30.0 MiB (max over runs)",
                true,
            ),
            (
                "2: hfhub ≤ 1.0x the time of hf-hub crate (Rust)",
                "0.67x",
                true,
            ),
            ("2: hfhub ≥ 10x faster than Python", "12.0x faster", true),
            (
                "3 offline: hfhub ≤ 1.0x the time of hf-hub crate (Rust)",
                "1.20x",
                false,
            ),
            ("3 offline: hfhub < 15 ms", "12.0 ms", true),
            (
                "7: `hfhub serve` ≤ 0.5 s of CPU per GiB sent (to hfhub)",
                "300.0 ms per GiB",
                true,
            ),
            (
                "7: `hfhub serve` repo-info answer (2000 files) < 10 ms",
                "9.0 ms (median; first 70.0 ms)",
                true,
            ),
            (
                "8: listing of 1000000 entries, hfhub peak RSS < 200 MB",
                "250 MB (max over runs)",
                false,
            ),
            (
                "6 scaling 2000 → 20000 files: hfhub's time ≤ 12x",
                "13.0x",
                false,
            ),
            (
                "6 scaling 2000 → 20000 files: hfhub's CPU per file no higher",
                "250 µs → 325 µs",
                false,
            ),
            (
                "6 scaling 2000 → 20000 files: `hfhub serve` CPU per request flat (≤ 1.2x)",
                "25000 µs → 29000 µs",
                true,
            ),
            (
                "6 scaling 2000 → 20000 files: hfhub ahead of hf-hub crate (Rust)",
                "1.08x its time",
                false,
            ),
        ];
        let expected: Vec<(String, String, bool)> = expected
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), *c))
            .collect();
        assert_eq!(lines, expected);

        let mut out = String::new();
        write_targets(&mut out, &[], Some(&repo_info));
        assert!(
            out.contains("| 7: `hfhub serve` repo-info answer (2000 files) < 10 ms | 9.0 ms (median; first 70.0 ms) | yes |"),
            "{out}"
        );
    }
}
