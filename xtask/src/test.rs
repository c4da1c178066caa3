//! `cargo xtask test`: the README's test command and the CI entry point (`.ci/run`): fixtures,
//! oracles, fmt, clippy, every test, then a bounded fuzz run (`cargo xtask fuzz`) and the benchmark
//! at tiny sizes (`cargo xtask bench --smoke`).

use std::process::Command;

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
    cargo(&["test", "--workspace", "--locked", "--no-fail-fast"])?;
    crate::fuzz::run(&[])?;
    // The benchmark at tiny sizes, so its code cannot rot (writes target/bench/smoke.md).
    eprintln!("xtask: cargo xtask bench --smoke");
    crate::bench::run(&["--smoke".to_owned()])?;
    Ok(())
}

fn cargo(args: &[&str]) -> anyhow::Result<()> {
    eprintln!("xtask: cargo {}", args.join(" "));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()))
        .args(args)
        .current_dir(workspace_root())
        .env("HFHUB_SLOW_TESTS", "1")
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed ({status})", args.join(" "));
    }
    Ok(())
}
