//! `cargo xtask <task>`: project automation. Run `cargo xtask help` for the list.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

const HELP: &str = "\
cargo xtask <task>

tasks:
  test     everything CI checks: the Python oracle, formatting, clippy, every test
  help     this text
";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => bail!("unknown task `{other}`; run `cargo xtask help`"),
    }
}

/// The README's test command: installs the oracles, then runs every check and test.
fn test() -> anyhow::Result<()> {
    for version in [hfhub_tests::oracle::HF_HUB_2X] {
        eprintln!("xtask: preparing the Python oracle huggingface_hub=={version}");
        hfhub_tests::oracle::Oracle::ensure(&version.to_string())
            .map_err(|e| anyhow::anyhow!(e))
            .with_context(|| format!("installing the Python oracle huggingface_hub=={version}"))?;
    }
    cargo(&["fmt", "--all", "--", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"])?;
    cargo(&["test", "--workspace", "--locked", "--no-fail-fast"])?;
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

/// The workspace root, found from this crate's manifest directory.
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}
