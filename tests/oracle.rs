//! The Python oracle: pinned `huggingface_hub` versions in virtualenvs created on demand under
//! `target/oracle/`, shared by concurrent test processes through a lock file.
//!
//! If a virtualenv cannot be created or the package cannot be installed, [`Oracle::get`] panics with
//! the pip output: an oracle test fails loudly, it is never skipped.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The 2.x release the cache behaviour is checked against.
pub const HF_HUB_2X: &str = "2.4.0";
/// The 0.2x release whose `huggingface-cli` output formats we reproduce.
pub const HF_HUB_0X: &str = "0.25.2";

/// A virtualenv with one pinned `huggingface_hub`.
#[derive(Debug, Clone)]
pub struct Oracle {
    venv: PathBuf,
    version: String,
}

/// The workspace's `target/` directory (respects `CARGO_TARGET_DIR`).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => workspace_root().join("target"),
    }
}

/// The workspace root, from this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lies inside the workspace")
        .to_path_buf()
}

impl Oracle {
    /// The virtualenv for `huggingface_hub=={version}`, created and installed if missing.
    ///
    /// Panics (failing the calling test) when Python, venv or pip fail.
    pub fn get(version: &str) -> Oracle {
        match Oracle::ensure(version) {
            Ok(oracle) => oracle,
            Err(message) => panic!(
                "the Python oracle huggingface_hub=={version} could not be installed; \
                 oracle tests never skip:\n{message}"
            ),
        }
    }

    /// Like [`Oracle::get`], returning the failure instead of panicking.
    pub fn ensure(version: &str) -> Result<Oracle, String> {
        let base = target_dir().join("oracle");
        fs::create_dir_all(&base).map_err(|e| format!("cannot create {}: {e}", base.display()))?;
        let venv = base.join(format!("huggingface_hub-{version}"));
        let oracle = Oracle {
            venv: venv.clone(),
            version: version.to_owned(),
        };
        let lock_path = base.join(format!("huggingface_hub-{version}.lock"));
        let lock = File::create(&lock_path)
            .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
        lock.lock()
            .map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        let ready = venv.join(".ready");
        if ready.exists() {
            return Ok(oracle);
        }
        let python = std::env::var("HFHUB_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let _ = fs::remove_dir_all(&venv);
        run(Command::new(&python).args(["-m", "venv"]).arg(&venv))?;
        run(Command::new(oracle.python()).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            &format!("huggingface_hub=={version}"),
        ]))?;
        let installed = oracle.run_script(
            "import huggingface_hub; print(huggingface_hub.__version__)",
            &[],
        )?;
        if installed.trim() != version {
            return Err(format!(
                "installed huggingface_hub is {installed:?}, wanted {version}"
            ));
        }
        File::create(&ready)
            .and_then(|mut f| f.write_all(version.as_bytes()))
            .map_err(|e| format!("cannot write {}: {e}", ready.display()))?;
        Ok(oracle)
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    /// The virtualenv's Python interpreter.
    pub fn python(&self) -> PathBuf {
        self.venv.join("bin").join("python")
    }

    /// The virtualenv's `bin/` directory (for `huggingface-cli` / `hf`).
    pub fn bin_dir(&self) -> PathBuf {
        self.venv.join("bin")
    }

    /// A `Command` running the virtualenv's Python with a clean Hugging Face environment: no
    /// inherited `HF_*` variables, telemetry and update checks off, offline unless the caller sets
    /// `HF_HUB_OFFLINE=0` and an `HF_ENDPOINT` on 127.0.0.1.
    pub fn command(&self) -> Command {
        let mut command = Command::new(self.python());
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("HF_")
                || key.starts_with("HUGGINGFACE")
                || key == "TRANSFORMERS_OFFLINE"
            {
                command.env_remove(&key);
            }
        }
        command
            .env("HF_HUB_OFFLINE", "1")
            .env("HF_HUB_DISABLE_TELEMETRY", "1")
            .env("HF_HUB_DISABLE_UPDATE_CHECK", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONDONTWRITEBYTECODE", "1");
        command
    }

    /// Runs a Python script (`-c`) with arguments; returns stdout, or an error with stderr.
    pub fn run_script(&self, script: &str, args: &[&str]) -> Result<String, String> {
        let output = self
            .command()
            .arg("-c")
            .arg(script)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.python().display()))?;
        if output.status.success() {
            String::from_utf8(output.stdout).map_err(|e| format!("non-UTF-8 output: {e}"))
        } else {
            Err(format!(
                "python exited with {}\nstdout:\n{}\nstderr:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }

    /// Like [`Oracle::run_script`], panicking on failure (for tests).
    pub fn eval(&self, script: &str, args: &[&str]) -> String {
        self.run_script(script, args)
            .unwrap_or_else(|e| panic!("oracle huggingface_hub=={} failed: {e}", self.version))
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot start {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} exited with {}\nstdout:\n{}\nstderr:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
