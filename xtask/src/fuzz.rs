//! `cargo xtask fuzz [--seconds N]`: a bounded cargo-fuzz run of every target in `fuzz/`.
//!
//! Installs cargo-fuzz into `target/tools/` when it is not on the machine, builds the targets
//! (cargo-fuzz needs nightly features; `RUSTC_BOOTSTRAP=1` enables them on the stable toolchain),
//! then runs each for N seconds (default 10) from a fixed seed, with its corpus under
//! `target/fuzz-corpus/` so the tree stays clean. A crash fails the task and leaves its input in
//! `fuzz/artifacts/`. libFuzzer's output goes to `target/fuzz-logs/<target>.log`; one line per
//! target is printed. `cargo xtask test` runs it; longer runs are in docs/reliability.md.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail, ensure};
use hfhub_tests::oracle::{target_dir, workspace_root};

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let seconds: u64 = match args {
        [] => 10,
        [flag, n] if flag == "--seconds" => n
            .parse()
            .map_err(|_| crate::UsageError(format!("`--seconds` needs a number, got `{n}`")))?,
        [other, ..] => {
            return Err(crate::UsageError(format!("unexpected argument `{other}`")).into());
        }
    };
    let cargo_fuzz = ensure_cargo_fuzz()?;
    let fuzz_dir = workspace_root().join("fuzz");
    let targets = String::from_utf8(
        fuzz_command(&cargo_fuzz, &fuzz_dir)
            .arg("list")
            .output()
            .context("running cargo fuzz list")?
            .stdout,
    )
    .context("cargo fuzz list printed non-UTF-8")?;
    let targets: Vec<&str> = targets
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .collect();
    ensure!(
        !targets.is_empty(),
        "cargo fuzz list found no target in `{}`",
        fuzz_dir.display()
    );
    eprintln!("xtask: building fuzz targets {}", targets.join(", "));
    let lock = fuzz_dir.join("Cargo.lock");
    let locked = std::fs::read(&lock).with_context(|| format!("reading `{}`", lock.display()))?;
    let status = fuzz_command(&cargo_fuzz, &fuzz_dir)
        .args(["build", "-O"])
        .status()
        .context("running cargo fuzz build")?;
    ensure!(status.success(), "cargo fuzz build failed ({status})");
    // The committed lock must be the one the build resolves (a workspace crate that gains a
    // dependency changes it): a stale lock is an error here, not a dirty tree after CI.
    let resolved = std::fs::read(&lock).with_context(|| format!("reading `{}`", lock.display()))?;
    ensure!(
        resolved == locked,
        "`fuzz/Cargo.lock` was stale: the fuzz build updated it; commit the updated file"
    );
    let logs = target_dir().join("fuzz-logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating `{}`", logs.display()))?;
    for target in targets {
        let corpus = target_dir().join("fuzz-corpus").join(target);
        std::fs::create_dir_all(&corpus)
            .with_context(|| format!("creating `{}`", corpus.display()))?;
        // libFuzzer's progress lines (thousands of them) go to a log; one line here per target.
        let log_path = logs.join(format!("{target}.log"));
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("creating `{}`", log_path.display()))?;
        let status = fuzz_command(&cargo_fuzz, &fuzz_dir)
            .args(["run", "-O", target])
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-seed=1",
                "-print_final_stats=1",
            ])
            .stdout(log.try_clone().context("duplicating the log handle")?)
            .stderr(log)
            .status()
            .with_context(|| format!("running cargo fuzz run {target}"))?;
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        eprintln!(
            "xtask: fuzz {target}: {seconds} s, {}, {} (log: {})",
            stat(&text, "stat::number_of_executed_units")
                .map_or_else(|| "runs unknown".to_owned(), |runs| format!("{runs} runs")),
            if status.success() {
                "no crash"
            } else {
                "FAILED"
            },
            log_path.display()
        );
        if !status.success() {
            bail!(
                "fuzz target `{target}` failed ({status}); the crashing input is in fuzz/artifacts/{target}/, the output in `{}`",
                log_path.display()
            );
        }
    }
    Ok(())
}

/// The value of a `-print_final_stats=1` line (`stat::name: value`) in libFuzzer's output.
fn stat<'a>(output: &'a str, name: &str) -> Option<&'a str> {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// `cargo-fuzz` from the PATH, else installed once into `target/tools/`.
fn ensure_cargo_fuzz() -> anyhow::Result<PathBuf> {
    if Command::new("cargo-fuzz")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("cargo-fuzz"));
    }
    let root = target_dir().join("tools");
    let installed = root.join("bin").join("cargo-fuzz");
    if !installed.exists() {
        eprintln!("xtask: installing cargo-fuzz into {}", root.display());
        let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
            .args(["install", "cargo-fuzz", "--locked", "--root"])
            .arg(&root)
            .status()
            .context("running cargo install cargo-fuzz")?;
        ensure!(status.success(), "installing cargo-fuzz failed ({status})");
    }
    Ok(installed)
}

fn fuzz_command(cargo_fuzz: &Path, fuzz_dir: &Path) -> Command {
    let mut command = Command::new(cargo_fuzz);
    // cargo-fuzz is called as `cargo-fuzz fuzz <subcommand>` when run directly.
    command
        .arg("fuzz")
        .current_dir(fuzz_dir)
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir().join("fuzz"));
    command
}
