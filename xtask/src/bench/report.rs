//! The Markdown report: machine, versions, method, one table per scenario, peak memory, and the
//! issue's targets against what was measured.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::process::Command;

use super::peers::{HF_HUB_2X, HF_HUB_WITH_HF_TRANSFER, HF_TRANSFER, Peers, Tool};
use super::scenarios::{Rounds, Scenario};
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
    pub machine: &'a Machine,
    pub versions: &'a [(String, String)],
    pub rounds: Rounds,
    /// Where the scratch caches were.
    pub work: &'a Path,
    pub scenarios: &'a [Scenario],
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
            "**Smoke run** (tiny sizes, one run, no warm-up): checks that the benchmark works; \
             the numbers mean nothing.\n"
        );
    }
    let _ = writeln!(
        out,
        "Written by `{}` on {}; do not edit by hand, run the command again. Every tool runs \
         against `hfhub serve` on 127.0.0.1 in the same run, interleaved.\n",
        inputs.command, machine.date
    );
    let _ = writeln!(out, "## Machine\n");
    let _ = writeln!(out, "- CPU: {}, {} cores", machine.cpu, machine.cores);
    let _ = writeln!(out, "- Memory: {}", machine.memory);
    let _ = writeln!(out, "- Kernel: Linux {}", machine.kernel);
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
    write_method(&mut out, inputs.rounds, inputs.work);

    let _ = writeln!(out, "## Results\n");
    let _ = writeln!(
        out,
        "Wall time from process start to exit, in seconds. `x hfhub` is the tool's median over \
         hfhub's: above 1 hfhub is faster.\n"
    );
    for scenario in inputs.scenarios {
        let _ = writeln!(out, "### {}\n", scenario.title);
        let hfhub = median_of(scenario, Tool::Hfhub);
        let _ = writeln!(
            out,
            "| Tool | Median | Min | Max | x hfhub |\n| --- | ---: | ---: | ---: | ---: |"
        );
        for row in &scenario.rows {
            let Some(summary) = Summary::of(&row.seconds) else {
                continue;
            };
            let ratio =
                hfhub.map_or_else(|| "-".to_owned(), |h| format!("{:.2}", summary.median / h));
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {ratio} |",
                row.tool.label(),
                seconds(summary.median),
                seconds(summary.min),
                seconds(summary.max)
            );
        }
        let _ = writeln!(out);
    }
    if let Some(large) = inputs.scenarios.iter().find(|s| s.key == "large") {
        let _ = writeln!(out, "### 5. Peak resident memory in scenario 1\n");
        let _ = writeln!(
            out,
            "`ru_maxrss` of the process (and of any child it waited for), from `wait4`.\n"
        );
        let _ = writeln!(out, "| Tool | Median | Max |\n| --- | ---: | ---: |");
        for row in &large.rows {
            let rss: Vec<f64> = row.max_rss.iter().map(|&b| b as f64).collect();
            if let Some(summary) = Summary::of(&rss) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} |",
                    row.tool.label(),
                    mebibytes(summary.median),
                    mebibytes(summary.max)
                );
            }
        }
        let _ = writeln!(out);
    }
    write_targets(&mut out, inputs.scenarios);
    out
}

fn busy(load: &str) -> bool {
    load.split_whitespace()
        .next()
        .and_then(|one| one.parse::<f64>().ok())
        .is_some_and(|one| one > 1.0)
}

fn write_method(out: &mut String, rounds: Rounds, work: &Path) {
    let _ = writeln!(out, "## Method\n");
    let _ = writeln!(
        out,
        "- The data is generated (seeded random bytes) into a hub cache that `hfhub serve` serves \
         on 127.0.0.1: a repository with one LFS file (redirected to the server's second, \"CDN\", \
         listener as the Hub does), a repository of many small regular files, and a separate \
         synthetic cache to scan. The server runs as a child process on the same machine, so it \
         competes with the tool measured for the same cores."
    );
    let _ = writeln!(
        out,
        "- Each scenario runs every tool in turn, round after round, the order rotating each round: \
         {} warm-up round(s), discarded, then {} measured round(s). Median, minimum and maximum \
         are over the measured rounds.",
        rounds.warmup, rounds.measured
    );
    let _ = writeln!(
        out,
        "- Cold means a fresh, empty cache folder for every run, under `{}`. The kernel's page \
         cache is not dropped (that needs root and disturbs the other tools), so the served file \
         is read from memory; `sync` runs before every run so that no tool pays for the \
         writeback of the previous one's files.",
        work.display()
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
         (which only builds the report).\n"
    );
}

fn write_targets(out: &mut String, scenarios: &[Scenario]) {
    let find = |key: &str| scenarios.iter().find(|s| s.key == key);
    let ratio = |key: &str, tool: Tool| {
        let scenario = find(key)?;
        Some(median_of(scenario, tool)? / median_of(scenario, Tool::Hfhub)?)
    };
    let mut lines: Vec<(String, String, Option<bool>)> = Vec::new();
    if let Some(r) = ratio("large", Tool::CurlFile) {
        lines.push((
            "1: hfhub within 1.1x of `curl -o file`".to_owned(),
            format!("hfhub takes {:.2}x curl's time", 1.0 / r),
            Some(1.0 / r <= 1.1),
        ));
    }
    if let Some(r) = ratio("large", Tool::Python) {
        lines.push((
            "1: about 2x faster than Python".to_owned(),
            format!("{r:.2}x faster"),
            Some(r >= 1.9),
        ));
    }
    if let Some(r) = ratio("large", Tool::PythonHfTransfer) {
        lines.push((
            "1: faster than hf_transfer".to_owned(),
            format!("{r:.2}x faster"),
            Some(r > 1.0),
        ));
    }
    for (key, name) in [
        ("snapshot-cold", "2: cold snapshot"),
        ("cached-online", "3: cached snapshot, online"),
        ("cached-offline", "3: cached snapshot, offline"),
        ("scan", "4: scan"),
    ] {
        if let Some(r) = ratio(key, Tool::Python) {
            lines.push((
                format!("{name}: at least 10x faster than Python"),
                format!("{r:.1}x faster"),
                Some(r >= 10.0),
            ));
        }
        if key == "cached-offline"
            && let Some(median) = find(key).and_then(|s| median_of(s, Tool::Hfhub))
        {
            lines.push((
                "3: offline re-run under 20 ms".to_owned(),
                seconds(median),
                Some(median < 0.020),
            ));
        }
    }
    if let Some(row) = find("large").and_then(|s| s.row(Tool::Hfhub)) {
        let peak = row.max_rss.iter().copied().max().unwrap_or(0);
        lines.push((
            "5: hfhub peak memory under 64 MiB".to_owned(),
            format!("{} (max over runs)", mebibytes(peak as f64)),
            Some(peak < 64 << 20),
        ));
    }
    let _ = writeln!(out, "## Against the targets of issue 7\n");
    let _ = writeln!(
        out,
        "Ratios compare medians. The notes below say why a target is missed.\n"
    );
    let _ = writeln!(out, "| Target | Measured | Met |\n| --- | --- | --- |");
    for (target, measured, met) in lines {
        let met = match met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let _ = writeln!(out, "| {target} | {measured} | {met} |");
    }
    let _ = writeln!(out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::scenarios::Row;

    fn row(tool: Tool, seconds: &[f64], max_rss: u64) -> Row {
        Row {
            tool,
            seconds: seconds.to_vec(),
            max_rss: vec![max_rss; seconds.len()],
        }
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
        let large = Scenario {
            key: "large",
            title: "1. large".to_owned(),
            rows: vec![
                row(Tool::Hfhub, &[1.0, 1.2, 5.0], 30 << 20),
                row(Tool::Python, &[2.5, 2.4, 2.6], 70 << 20),
                row(Tool::PythonHfTransfer, &[0.9, 1.0, 1.0], 700 << 20),
                row(Tool::CurlFile, &[1.0, 1.0, 1.0], 10 << 20),
            ],
        };
        let offline = Scenario {
            key: "cached-offline",
            title: "3b. offline".to_owned(),
            rows: vec![
                row(Tool::Hfhub, &[0.030], 8 << 20),
                row(Tool::Python, &[0.9], 30 << 20),
            ],
        };
        let mut out = String::new();
        write_targets(&mut out, &[large, offline]);
        let lines: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("| 1:") || l.starts_with("| 3:") || l.starts_with("| 5:"))
            .collect();
        assert_eq!(
            lines,
            [
                "| 1: hfhub within 1.1x of `curl -o file` | hfhub takes 1.20x curl's time | **no** |",
                "| 1: about 2x faster than Python | 2.08x faster | yes |",
                "| 1: faster than hf_transfer | 0.83x faster | **no** |",
                "| 3: cached snapshot, offline: at least 10x faster than Python | 30.0x faster | yes |",
                "| 3: offline re-run under 20 ms | 30.0 ms | **no** |",
                "| 5: hfhub peak memory under 64 MiB | 30.0 MiB (max over runs) | yes |",
            ]
        );
    }
}
