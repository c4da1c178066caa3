//! The tools measured, how each is installed, and the command line of each for a scenario.
//!
//! ```text
//! target/bench/
//! ├── venvs/<name>/            python3 -m venv + pip install of pinned versions (`.ready` lists them)
//! └── hf-hub-bench/<profile>/  bench-peers/hf-hub-bench built with its own lock file
//! ```
//!
//! A peer that cannot be installed is an error: the benchmark never drops a row.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};

/// `huggingface_hub` as of the 2.x line we match.
pub const HF_HUB_2X: &str = "2.4.0";
/// The newest `huggingface_hub` release that still downloads with `hf_transfer` (1.0 dropped it).
pub const HF_HUB_WITH_HF_TRANSFER: &str = "0.36.2";
/// The `hf_transfer` release measured.
pub const HF_TRANSFER: &str = "0.1.9";

/// Every tool a scenario may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    Hfhub,
    Python,
    PythonHfTransfer,
    HfHubCrate,
    CurlDevNull,
    CurlFile,
}

impl Tool {
    /// The row label in the report.
    pub fn label(self) -> String {
        match self {
            Tool::Hfhub => "hfhub".to_owned(),
            Tool::Python => format!("Python huggingface_hub {HF_HUB_2X}"),
            Tool::PythonHfTransfer => {
                format!(
                    "Python huggingface_hub {HF_HUB_WITH_HF_TRANSFER} + hf_transfer {HF_TRANSFER}"
                )
            }
            Tool::HfHubCrate => "hf-hub crate (Rust)".to_owned(),
            Tool::CurlDevNull => "curl -L -o /dev/null".to_owned(),
            Tool::CurlFile => "curl -L -o file".to_owned(),
        }
    }
}

/// A virtualenv with pinned packages.
#[derive(Debug, Clone)]
pub struct Venv {
    dir: PathBuf,
}

impl Venv {
    /// `venvs/<name>` with exactly `requirements` installed, created (or re-created when the
    /// pinned list changed) with `python3 -m venv` and pip.
    pub fn ensure(venvs: &Path, name: &str, requirements: &[String]) -> anyhow::Result<Venv> {
        let venv = Venv {
            dir: venvs.join(name),
        };
        let ready = venv.dir.join(".ready");
        let wanted = requirements.join("\n");
        if fs::read_to_string(&ready).is_ok_and(|text| text == wanted) {
            return Ok(venv);
        }
        eprintln!(
            "xtask bench: installing {} into {}",
            requirements.join(" "),
            venv.dir.display()
        );
        if venv.dir.exists() {
            fs::remove_dir_all(&venv.dir)
                .with_context(|| format!("cannot remove `{}`", venv.dir.display()))?;
        }
        let python = std::env::var("HFHUB_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        run_quiet(Command::new(&python).args(["-m", "venv"]).arg(&venv.dir))?;
        run_quiet(
            Command::new(venv.python())
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(requirements),
        )?;
        fs::write(&ready, wanted).with_context(|| format!("cannot write `{}`", ready.display()))?;
        Ok(venv)
    }

    pub fn python(&self) -> PathBuf {
        self.dir.join("bin").join("python")
    }

    /// The installed version of a distribution, asked from the venv itself.
    pub fn version_of(&self, distribution: &str) -> anyhow::Result<String> {
        let output = Command::new(self.python())
            .args([
                "-c",
                "import sys, importlib.metadata as m; print(m.version(sys.argv[1]))",
                distribution,
            ])
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {}", self.python().display()))?;
        if !output.status.success() {
            bail!(
                "cannot read the version of {distribution}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

/// Every installed tool, ready to run.
#[derive(Debug, Clone)]
pub struct Peers {
    pub hfhub: PathBuf,
    pub python: Venv,
    pub python_hf_transfer: Venv,
    pub hf_hub_bench: PathBuf,
}

/// Builds hfhub and the hf-hub bench binary (release, or debug for `--smoke`, which CI runs right
/// after the debug test build), and installs the two virtualenvs.
pub fn install(root: &Path, target: &Path, smoke: bool) -> anyhow::Result<Peers> {
    let profile = if smoke { "debug" } else { "release" };
    let mut args = vec!["build", "--locked", "-p", "hub-cli"];
    if !smoke {
        args.push("--release");
    }
    cargo(root, &args, None)?;
    let hfhub = target.join(profile).join("hfhub");

    let hf_hub_target = target.join("bench").join("hf-hub-bench");
    let manifest = root.join("bench-peers/hf-hub-bench/Cargo.toml");
    let manifest = manifest.to_str().context("non-UTF-8 workspace path")?;
    let mut args = vec!["build", "--locked", "--manifest-path", manifest];
    if !smoke {
        args.push("--release");
    }
    cargo(root, &args, Some(&hf_hub_target))?;
    let hf_hub_bench = hf_hub_target.join(profile).join("hf-hub-bench");

    let venvs = target.join("bench").join("venvs");
    let python = Venv::ensure(
        &venvs,
        &format!("huggingface_hub-{HF_HUB_2X}"),
        &[format!("huggingface_hub=={HF_HUB_2X}")],
    )?;
    let python_hf_transfer = Venv::ensure(
        &venvs,
        &format!("huggingface_hub-{HF_HUB_WITH_HF_TRANSFER}-hf_transfer-{HF_TRANSFER}"),
        &[
            format!("huggingface_hub=={HF_HUB_WITH_HF_TRANSFER}"),
            format!("hf_transfer=={HF_TRANSFER}"),
        ],
    )?;
    Ok(Peers {
        hfhub,
        python,
        python_hf_transfer,
        hf_hub_bench,
    })
}

fn cargo(root: &Path, args: &[&str], target_dir: Option<&Path>) -> anyhow::Result<()> {
    eprintln!("xtask bench: cargo {}", args.join(" "));
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command.args(args).current_dir(root);
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    let status = command
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

fn run_quiet(command: &mut Command) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot start {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{command:?} failed ({})\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

/// Python: one file into a cache; fails if `hf_transfer` was asked for but cannot be imported.
const PYTHON_FILE: &str = "\
import os, sys
if os.environ.get('HF_HUB_ENABLE_HF_TRANSFER') == '1':
    import hf_transfer
    from huggingface_hub import constants
    assert constants.HF_HUB_ENABLE_HF_TRANSFER
from huggingface_hub import hf_hub_download
print(hf_hub_download(sys.argv[1], sys.argv[2], cache_dir=sys.argv[3]))
";

/// Python: a whole repository into a cache.
const PYTHON_SNAPSHOT: &str = "\
import sys
from huggingface_hub import snapshot_download
print(snapshot_download(sys.argv[1], cache_dir=sys.argv[2]))
";

/// Python: `scan_cache_dir`, printing repos, files (over all revisions) and bytes on disk.
const PYTHON_SCAN: &str = "\
import sys
from huggingface_hub import scan_cache_dir
report = scan_cache_dir(sys.argv[1])
files = sum(len(rev.files) for repo in report.repos for rev in repo.revisions)
print(len(report.repos), files, report.size_on_disk)
";

/// Where and how a command runs.
#[derive(Debug, Clone)]
pub struct Setting<'a> {
    pub endpoint: &'a str,
    /// A scratch `HF_HOME` (no stored token, nothing written to the user's home).
    pub hf_home: &'a Path,
    pub offline: bool,
}

impl Peers {
    /// A command for a tool with a clean Hugging Face environment: inherited `HF_*` variables
    /// removed, progress bars, telemetry and update checks off.
    fn base(&self, program: &Path, setting: &Setting) -> Command {
        let mut command = Command::new(program);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("HF_") || key.starts_with("HUGGINGFACE") {
                command.env_remove(&key);
            }
        }
        command
            .env("HF_ENDPOINT", setting.endpoint)
            .env("HF_HOME", setting.hf_home)
            .env("HF_HUB_OFFLINE", if setting.offline { "1" } else { "0" })
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("RUST_LOG", "warn");
        command
    }

    /// Downloads one file of `repo_id` into `cache` (curl: to `out_file`, or `/dev/null`).
    pub fn file_command(
        &self,
        tool: Tool,
        setting: &Setting,
        repo_id: &str,
        filename: &str,
        cache: &Path,
        out_file: &Path,
    ) -> Command {
        match tool {
            Tool::Hfhub => {
                let mut command = self.base(&self.hfhub, setting);
                command
                    .args(["download", repo_id, filename, "--quiet", "--cache-dir"])
                    .arg(cache);
                command
            }
            Tool::Python | Tool::PythonHfTransfer => {
                let venv = if tool == Tool::Python {
                    &self.python
                } else {
                    &self.python_hf_transfer
                };
                let mut command = self.base(&venv.python(), setting);
                command
                    .args(["-c", PYTHON_FILE, repo_id, filename])
                    .arg(cache);
                if tool == Tool::PythonHfTransfer {
                    command.env("HF_HUB_ENABLE_HF_TRANSFER", "1");
                }
                command
            }
            Tool::HfHubCrate => {
                let mut command = self.base(&self.hf_hub_bench, setting);
                command
                    .args(["file", setting.endpoint])
                    .arg(cache)
                    .args([repo_id, filename]);
                command
            }
            Tool::CurlDevNull | Tool::CurlFile => {
                let mut command = self.base(Path::new("curl"), setting);
                let url = format!("{}/{repo_id}/resolve/main/{filename}", setting.endpoint);
                command.args(["-sS", "-f", "-L", "-w", "%{size_download}", "-o"]);
                if tool == Tool::CurlFile {
                    command.arg(out_file);
                } else {
                    command.arg("/dev/null");
                }
                command.arg(url);
                command
            }
        }
    }

    /// Downloads (or, offline, looks up) a snapshot of `repo_id` in `cache`; prints its folder.
    pub fn snapshot_command(
        &self,
        tool: Tool,
        setting: &Setting,
        repo_id: &str,
        cache: &Path,
    ) -> anyhow::Result<Command> {
        Ok(match tool {
            Tool::Hfhub => {
                let mut command = self.base(&self.hfhub, setting);
                command
                    .args(["download", repo_id, "--quiet", "--cache-dir"])
                    .arg(cache);
                command
            }
            Tool::Python => {
                let mut command = self.base(&self.python.python(), setting);
                command.args(["-c", PYTHON_SNAPSHOT, repo_id]).arg(cache);
                command
            }
            Tool::HfHubCrate => {
                let mut command = self.base(&self.hf_hub_bench, setting);
                command
                    .args(["snapshot", setting.endpoint])
                    .arg(cache)
                    .arg(repo_id);
                command
            }
            other => bail!("{} takes no part in the snapshot scenarios", other.label()),
        })
    }

    /// `hfhub download REPO --include PATTERN`: the listing of the whole repository, filtered to
    /// what the pattern matches (hfhub only: the scenario measures its memory on a huge listing).
    pub fn listing_command(
        &self,
        setting: &Setting,
        repo_id: &str,
        include: &str,
        cache: &Path,
    ) -> Command {
        let mut command = self.base(&self.hfhub, setting);
        command
            .args(["download", repo_id, "--quiet"])
            .arg(format!("--include={include}"))
            .arg("--cache-dir")
            .arg(cache);
        command
    }

    /// Scans a cache: `hfhub scan-cache --dir` or Python's `scan_cache_dir`.
    pub fn scan_command(
        &self,
        tool: Tool,
        setting: &Setting,
        cache: &Path,
    ) -> anyhow::Result<Command> {
        Ok(match tool {
            Tool::Hfhub => {
                let mut command = self.base(&self.hfhub, setting);
                command.args(["scan-cache", "--dir"]).arg(cache);
                command.env("NO_COLOR", "1");
                command
            }
            Tool::Python => {
                let mut command = self.base(&self.python.python(), setting);
                command.args(["-c", PYTHON_SCAN]).arg(cache);
                command
            }
            other => bail!("{} takes no part in the scan scenario", other.label()),
        })
    }
}
