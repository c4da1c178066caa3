//! `cargo xtask <task>`: project automation. Run `cargo xtask help` for the list.
//!
//! One module per task; every task returns `anyhow::Result`, and `main` turns it into an exit
//! code: 0 on success (a closed stdout pipe counts as success), 2 on a usage error, 1 otherwise.

mod bench;
mod demo;
mod fixtures;
mod fuzz;
mod serve;
mod test;

use std::fmt;
use std::io::{self, Write as _};
use std::process::ExitCode;

/// Every task with its one-line help, in the order `help` lists them.
const TASKS: &[(&str, &str)] = &[
    (
        "bench",
        "hfhub against Python huggingface_hub, hf_transfer, hf-hub and curl, from hfhub serve and nginx; writes docs/benchmarks.md [--smoke] [--tmpfs | --scratch DIR] [--only 1a,1b,2,3,4,6,7,8] [--rounds N] [--serve]",
    ),
    (
        "demo",
        "the main job: serve the generated fixtures on 127.0.0.1, download them with hfhub, scan the result [--out DIR]",
    ),
    (
        "test",
        "everything CI checks: fixtures, the Python oracle, formatting, clippy, every test",
    ),
    (
        "test-fixtures",
        "wipe and regenerate the deterministic fixture caches [--out DIR] (default target/fixtures)",
    ),
    (
        "fuzz",
        "a bounded cargo-fuzz run of every target in fuzz/ [--seconds N] (default 10)",
    ),
    ("help", "this text"),
];

/// A mistake in the command line: reported with exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; run `cargo xtask help`", self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            if error.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    match task {
        "bench" => bench::run(rest),
        "demo" => demo::run(rest),
        "fuzz" => fuzz::run(rest),
        "test" => test::run(rest),
        "test-fixtures" => fixtures::run(rest).map(|_| ()),
        "help" | "--help" | "-h" => help(),
        other => Err(UsageError(format!("unknown task `{other}`")).into()),
    }
}

fn help() -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "cargo xtask <task>\n\ntasks:")?;
    for (name, description) in TASKS {
        writeln!(out, "  {name:<14} {description}")?;
    }
    Ok(())
}

/// `--out DIR` (the only option any task takes); `None` when absent.
fn out_option(args: &[String]) -> anyhow::Result<Option<std::path::PathBuf>> {
    match args {
        [] => Ok(None),
        [flag, dir] if flag == "--out" => Ok(Some(dir.into())),
        [flag] if flag == "--out" => Err(UsageError("`--out` needs a directory".to_owned()).into()),
        [other, ..] => Err(UsageError(format!("unexpected argument `{other}`")).into()),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}
