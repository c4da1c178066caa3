//! Running `hfhub` and the oracle CLIs side by side on copies of the fixture caches.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hfhub_tests::oracle::Oracle;

/// `hfhub` with the environment the oracle CLIs get (HF_* cleared, offline, no telemetry).
pub fn hfhub(oracle: &Oracle) -> Command {
    with_oracle_env(Command::new(env!("CARGO_BIN_EXE_hfhub")), oracle)
}

/// `bin/<name>` of the oracle's virtualenv (`huggingface-cli`, `hf`) with its clean environment.
pub fn oracle_cli(oracle: &Oracle, name: &str) -> Command {
    with_oracle_env(Command::new(oracle.bin_dir().join(name)), oracle)
}

fn with_oracle_env(mut command: Command, oracle: &Oracle) -> Command {
    let template = oracle.command();
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .stdin(Stdio::null());
    command
}

/// Runs a command to completion, panicking if it cannot start.
pub fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every fixture cache written under `root`, as `(name, cache dir)`.
pub fn fixtures(root: &Path) -> Vec<(String, PathBuf)> {
    hfhub_tests::fixtures::generate_all(root)
        .expect("fixtures can be written to a temp dir")
        .into_iter()
        .map(|fixture| (fixture.name, fixture.cache_dir))
        .collect()
}

/// A sorted listing of a tree: `dir/`, `file (N bytes)`, `link -> target`.
pub fn tree(root: &Path) -> Vec<String> {
    hfhub_tests::tree::listing(root, |_| true)
}

/// Copies a tree, keeping symlinks as symlinks and file times.
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Runs `check` on every item on two threads (the oracle CLIs spend their time starting Python);
/// panics with every failure message.
pub fn check_all<T: Sync>(items: &[T], check: impl Fn(&T) + Sync) {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(index) else { break };
                    let result =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(item)));
                    if let Err(panic) = result {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_default();
                        failures.lock().expect("lock").push(message);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
