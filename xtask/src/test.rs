//! `cargo xtask test`: the README's test command and the CI entry point (`.ci/run`): fixtures,
//! oracles, fmt, clippy, the library docs (every public item documented, no broken link), the
//! library crates packaged as crates.io would take them, every test (doc tests included), then a bounded fuzz run (`cargo xtask fuzz`) and the benchmark
//! at tiny sizes (`cargo xtask bench --smoke`). libFuzzer's output is kept in log files; the last
//! line printed is the test totals (`tests: P passed, F failed`).

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle, workspace_root};

/// Regenerates the fixtures, installs the oracles, then runs every check and test.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(extra) = args.first() {
        return Err(crate::UsageError(format!("`test` takes no argument, got `{extra}`")).into());
    }
    crate::fixtures::run(&[])?;
    for version in [HF_HUB_2X, HF_HUB_0X] {
        eprintln!("xtask: preparing the Python oracle huggingface_hub=={version}");
        Oracle::ensure(version)
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("installing the Python oracle huggingface_hub=={version}"))?;
    }
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ])?;
    // Every public item of the library crates documented, every intra-doc link resolved (the
    // crates also `#![warn(missing_docs)]`, so clippy and builds show a gap as it appears).
    cargo_with_env(
        &[
            "doc",
            "--no-deps",
            "--locked",
            "-p",
            "hub-cache",
            "-p",
            "hub-http",
            "-p",
            "hub-sync",
        ],
        &[("RUSTDOCFLAGS", DOC_FLAGS)],
    )?;
    // The library crates package as crates.io would take them (packaged together, each dependent
    // resolves its siblings from the packages just made). Without verification: that is a second
    // build of every crate from its package (8 minutes here; it passed when added).
    cargo(&[
        "package",
        "-p",
        "hub-cache",
        "-p",
        "hub-http",
        "-p",
        "hub-sync",
        "-p",
        "hub-server",
        "--no-verify",
        "--allow-dirty",
        "--locked",
    ])?;
    // `cargo test --workspace` runs the doc tests of every library crate too (the crate examples,
    // hub-cache's README, hub-sync's example against a hub-server it starts).
    let (totals, tests_passed) =
        cargo_test(&["test", "--workspace", "--locked", "--no-fail-fast"])?;
    if !tests_passed {
        println!("{}", totals.line());
        bail!("cargo test failed: {} test(s) failed", totals.failed);
    }
    crate::fuzz::run(&[])?;
    // The benchmark at tiny sizes, so its code cannot rot (writes target/bench/smoke.md).
    eprintln!("xtask: cargo xtask bench --smoke");
    crate::bench::run(&["--smoke".to_owned()])?;
    eprintln!(
        "xtask: the smoke benchmark above only proves the benchmark still runs: at its tiny sizes \
         the figures (and the \"no\" cells) mean nothing; `cargo xtask bench` measures"
    );
    // The totals last, as the line a reader (or CI) looks for.
    println!("{}", totals.line());
    Ok(())
}

/// The sum of every `test result:` line of a `cargo test` run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
    binaries: u64,
}

impl Totals {
    /// Adds one `test result: ok. 3 passed; 0 failed; 0 ignored; ...` line; other lines are ignored.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        self.binaries += 1;
        for part in rest.split(['.', ';']) {
            let mut words = part.split_whitespace();
            if let (Some(count), Some(what)) = (words.next(), words.next())
                && let Ok(count) = count.parse::<u64>()
            {
                match what {
                    "passed" => self.passed += count,
                    "failed" => self.failed += count,
                    "ignored" => self.ignored += count,
                    _ => {}
                }
            }
        }
    }

    /// `tests: P passed, F failed` (the closing-line form CI reads), the binaries and ignored
    /// tests counted on the line before.
    fn line(&self) -> String {
        format!(
            "xtask: {} test binaries, {} ignored\ntests: {} passed, {} failed",
            self.binaries, self.ignored, self.passed, self.failed
        )
    }
}

/// `cargo test ...` with its stdout shown as it comes and its result lines added up; returns the
/// totals and whether cargo succeeded.
fn cargo_test(args: &[&str]) -> anyhow::Result<(Totals, bool)> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(args)
        .current_dir(workspace_root())
        .env("HFHUB_SLOW_TESTS", "1")
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    let mut totals = Totals::default();
    let stdout = child.stdout.take().context("cargo test's stdout")?;
    let mut out = std::io::stdout();
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        totals.add(&line);
        writeln!(out, "{line}").context("printing cargo test's output")?;
    }
    let status = child.wait().context("waiting for cargo test")?;
    Ok((totals, status.success()))
}

/// The `RUSTDOCFLAGS` of the documentation check.
const DOC_FLAGS: &str = "-D missing_docs -D rustdoc::broken_intra_doc_links";

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    cargo_with_env(args, &[])
}

/// `cargo ...` with extra environment variables, failing when cargo fails.
fn cargo_with_env(args: &[&str], vars: &[(&str, &str)]) -> anyhow::Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(args)
        .current_dir(workspace_root())
        .env("HFHUB_SLOW_TESTS", "1")
        .envs(vars.iter().copied())
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Totals;

    #[test]
    fn totals_add_up_cargo_test_result_lines() {
        let mut totals = Totals::default();
        for line in [
            "running 3 tests",
            "test result: ok. 3 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 10 passed; 2 failed; 0 ignored; 0 measured; 5 filtered out; finished in 1.2s",
            "test something ... ok",
        ] {
            totals.add(line);
        }
        assert_eq!(
            totals,
            Totals {
                passed: 13,
                failed: 2,
                ignored: 1,
                binaries: 2
            }
        );
        assert_eq!(
            totals.line(),
            "xtask: 2 test binaries, 1 ignored\ntests: 13 passed, 2 failed"
        );
    }
}
