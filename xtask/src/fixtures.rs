//! `cargo xtask test-fixtures [--out DIR]`: wipes and regenerates the deterministic fixture caches
//! (default `target/fixtures/`) and prints the path of each.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use hfhub_tests::fixtures::{self, Fixture};

/// The default output directory: `<target>/fixtures`.
pub fn default_dir() -> PathBuf {
    hfhub_tests::oracle::target_dir().join("fixtures")
}

pub fn run(args: &[String]) -> anyhow::Result<Vec<Fixture>> {
    let out = crate::out_option(args)?.unwrap_or_else(default_dir);
    let all = regenerate(&out)?;
    let mut stdout = io::stdout().lock();
    for fixture in &all {
        let state = if fixture.corrupt {
            "corrupt"
        } else {
            "healthy"
        };
        writeln!(
            stdout,
            "{}\t{state}\t{}",
            fixture.cache_dir.display(),
            fixture.description
        )?;
    }
    Ok(all)
}

/// Wipes `out` and writes every fixture into it. Refuses to wipe a directory holding anything but
/// fixtures, so a mistyped `--out` cannot delete someone's files.
pub fn regenerate(out: &Path) -> anyhow::Result<Vec<Fixture>> {
    let names = fixtures::names();
    if out.exists() {
        let entries = fs::read_dir(out).with_context(|| format!("listing `{}`", out.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("listing `{}`", out.display()))?;
            let name = entry.file_name();
            if !names.iter().any(|n| name == **n) {
                bail!(
                    "refusing to wipe `{}`: `{}` is not a fixture",
                    out.display(),
                    entry.path().display()
                );
            }
            fs::remove_dir_all(entry.path())
                .with_context(|| format!("removing `{}`", entry.path().display()))?;
        }
    }
    fs::create_dir_all(out).with_context(|| format!("creating `{}`", out.display()))?;
    fixtures::generate_all(out)
        .with_context(|| format!("writing the fixtures into `{}`", out.display()))
}
