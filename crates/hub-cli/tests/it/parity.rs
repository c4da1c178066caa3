//! `hfhub download` as a drop-in for `hf download` (huggingface_hub 2.4) and `huggingface-cli
//! download` (0.25.2): the same arguments against the same hub-server on 127.0.0.1 give the same
//! exit code, the same path on stdout and the same cache tree (or local folder); `--dry-run
//! --format json` prints what 2.4 prints, field by field.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use hfhub_tests::fixtures::{self, BIG_MIXED};
use hfhub_tests::oracle::{HF_HUB_0X, HF_HUB_2X, Oracle};
use hub_server::{BlockingServer, Server};

/// The three programs compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Hfhub,
    /// `hf` of 2.4.
    Hf,
    /// `huggingface-cli` of 0.25.2.
    HuggingfaceCli,
}

struct Bench {
    tmp: tempfile::TempDir,
    server: BlockingServer,
    hf: Oracle,
    legacy: Oracle,
}

impl Bench {
    fn new() -> Bench {
        let tmp = tempfile::tempdir().expect("tempdir");
        let fixture = fixtures::generate(&tmp.path().join("served"), BIG_MIXED).expect("fixture");
        let server = Server::builder(&fixture.cache_dir)
            .start_blocking()
            .expect("server");
        Bench {
            tmp,
            server,
            hf: Oracle::get(HF_HUB_2X),
            legacy: Oracle::get(HF_HUB_0X),
        }
    }

    /// `<cli> download ARGS` with a clean environment: its own cache under `case/`, the server
    /// as endpoint, `{local}` in an argument replaced by the program's own local folder.
    fn run(&self, cli: Program, case: &str, args: &[&str]) -> Run {
        let root = self.tmp.path().join(case).join(format!("{cli:?}"));
        let cache = root.join("hub");
        let local = root.join("local");
        let mut command = match cli {
            Program::Hfhub => {
                let mut command = Command::new(env!("CARGO_BIN_EXE_hfhub"));
                for var in hub_cache::env::ALL {
                    command.env_remove(var.name);
                }
                command.env_remove("RUST_LOG");
                command
            }
            Program::Hf => oracle_bin(&self.hf, "hf"),
            Program::HuggingfaceCli => oracle_bin(&self.legacy, "huggingface-cli"),
        };
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{local}", &local.to_string_lossy()))
            .collect();
        let output = command
            .env("HF_HUB_OFFLINE", "0")
            .env("HF_HOME", root.join("home"))
            .env("HF_HUB_CACHE", &cache)
            .env("HF_ENDPOINT", self.server.endpoint())
            .env("HF_HUB_DISABLE_XET", "1")
            .env("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            .env("NO_COLOR", "1")
            .arg("download")
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .expect("run the download");
        Run {
            cli,
            args,
            output,
            cache,
            local,
        }
    }
}

/// The virtualenv's `bin/<name>` with the oracle's clean environment.
fn oracle_bin(oracle: &Oracle, name: &str) -> Command {
    let template = oracle.command();
    let mut command = Command::new(oracle.bin_dir().join(name));
    for (key, value) in template.get_envs() {
        match value {
            Some(value) => command.env(key, value),
            None => command.env_remove(key),
        };
    }
    command
}

struct Run {
    cli: Program,
    args: Vec<String>,
    output: Output,
    cache: PathBuf,
    local: PathBuf,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    fn describe(&self) -> String {
        format!(
            "{:?} {:?}: exit {:?}\nstdout: {}\nstderr: {}",
            self.cli,
            self.args,
            self.output.status.code(),
            self.stdout(),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// The printed path: the one stdout line (hfhub, 0.25, 2.x `--quiet`), or the `path: ` line of
    /// 2.x's human result; relative to the cache or local folder it lies in.
    fn path(&self) -> String {
        let out = self.stdout();
        let json = serde_json::from_str::<serde_json::Value>(&out)
            .ok()
            .and_then(|v| v["path"].as_str().map(str::to_owned));
        let line = json.unwrap_or_else(|| {
            out.lines()
                .find_map(|l| l.trim().strip_prefix("path: "))
                .unwrap_or_else(|| out.trim_end_matches('\n'))
                .to_owned()
        });
        let path = Path::new(&line);
        for root in [&self.cache, &self.local] {
            if let Ok(root) = root.canonicalize()
                && let Ok(relative) = path.strip_prefix(&root)
            {
                return relative.display().to_string();
            }
        }
        panic!("{} printed a path outside its folders", self.describe());
    }
}

/// A sorted listing of a cache or local folder: files with their size, symlinks with their target;
/// lock files and `.cache/huggingface/` bookkeeping left out, and, to compare with 0.25, what 0.25
/// never writes (`CACHEDIR.TAG`, `trees/`).
fn tree(root: &Path, like_0x: bool) -> Vec<String> {
    hfhub_tests::tree::listing(root, |entry| {
        let name = entry.file_name().to_string_lossy();
        !(name == ".locks"
            || name == ".cache"
            || like_0x && (name == "CACHEDIR.TAG" || name == "trees"))
    })
}

/// Asserts two runs agree: exit code, printed path, cache tree and local folder.
fn assert_same(ours: &Run, theirs: &Run) {
    let context = format!("\n{}\n---\n{}", ours.describe(), theirs.describe());
    assert_eq!(
        ours.output.status.code(),
        theirs.output.status.code(),
        "exit codes{context}"
    );
    assert_eq!(Some(0), ours.output.status.code(), "{context}");
    assert_eq!(ours.path(), theirs.path(), "printed path{context}");
    let like_0x = theirs.cli == Program::HuggingfaceCli;
    assert!(
        tree(&ours.cache, like_0x).len() + tree(&ours.local, like_0x).len() > 0,
        "something was downloaded{context}"
    );
    assert_eq!(
        tree(&ours.cache, like_0x),
        tree(&theirs.cache, like_0x),
        "cache tree{context}"
    );
    assert_eq!(
        tree(&ours.local, like_0x),
        tree(&theirs.local, like_0x),
        "local folder{context}"
    );
}

/// Every flag and repository spelling of issue 14, each against the program(s) that accept it.
#[test]
fn hfhub_download_matches_hf_and_huggingface_cli() {
    let bench = Bench::new();
    use Program::{Hf, HuggingfaceCli};
    let both: &[Program] = &[Hf, HuggingfaceCli];
    let cases: Vec<(&[&str], &[Program])> = vec![
        // Spellings both generations accept.
        (&["gpt2", "config.json"], both),
        (&["gpt2", "config.json", "--revision", "v1.0"], both),
        (&["gpt2", "--include", "*.json"], both),
        (&["acme-org/reviews", "--repo-type", "dataset"], both),
        (&["acme-org/demo-space", "--repo-type", "space"], both),
        (&["gpt2", "config.json", "--force-download"], both),
        (&["gpt2", "config.json", "--quiet"], both),
        (&["gpt2", "README.md", "--local-dir", "{local}"], both),
        (
            &[
                "acme-org/tiny-bert",
                "--revision",
                "dev",
                "--local-dir",
                "{local}",
            ],
            both,
        ),
        // 2.x only: `--type`, `--no-force-download`, type prefixes, `hf://` URIs.
        (&["acme-org/reviews", "--type", "dataset"], &[Hf]),
        (&["gpt2", "config.json", "--no-force-download"], &[Hf]),
        (&["datasets/acme-org/reviews"], &[Hf]),
        (&["spaces/acme-org/demo-space"], &[Hf]),
        (&["models/acme-org/tiny-bert", "--revision", "dev"], &[Hf]),
        (&["datasets/acme-org/reviews", "README.md"], &[Hf]),
        (&["hf://datasets/acme-org/reviews"], &[Hf]),
        (&["hf://acme-org/tiny-bert@dev"], &[Hf]),
        (&["hf://acme-org/tiny-bert/config.json"], &[Hf]),
        (&["hf://datasets/acme-org/reviews/data/"], &[Hf]),
        (&["hf://spaces/acme-org/demo-space/app.py"], &[Hf]),
        (&["gpt2", "config.json", "--json"], &[Hf]),
        (&["gpt2", "--format", "quiet"], &[Hf]),
        // 0.25 only: deprecated flags, accepted and ignored.
        (
            &[
                "gpt2",
                "config.json",
                "--local-dir-use-symlinks",
                "False",
                "--resume-download",
            ],
            &[HuggingfaceCli],
        ),
        (
            &[
                "gpt2",
                "--local-dir",
                "{local}",
                "--local-dir-use-symlinks",
                "auto",
            ],
            &[HuggingfaceCli],
        ),
    ];
    for (index, (args, peers)) in cases.iter().enumerate() {
        let case = format!("case-{index}");
        let ours = bench.run(Program::Hfhub, &case, args);
        for peer in *peers {
            let theirs = bench.run(*peer, &case, args);
            assert_same(&ours, &theirs);
        }
        // `--json` prints 2.x's result object, with our path.
        if args.contains(&"--json") {
            let json: serde_json::Value =
                serde_json::from_str(&ours.stdout()).expect("--json prints JSON");
            assert!(json["path"].is_string(), "{}", ours.describe());
        }
    }
    eprintln!("parity: {} download cases compared", cases.len());
}

/// `--dry-run --format json` (and `--json`, and a single file) print what 2.4 prints, field by
/// field, on an empty cache and on a partly filled one; hfhub writes nothing.
#[test]
fn dry_run_json_matches_hf_field_by_field() {
    let bench = Bench::new();
    let dry_runs: &[&[&str]] = &[
        &["gpt2", "--dry-run", "--format", "json"],
        &["gpt2", "--revision", "v1.0", "--dry-run", "--json"],
        &["gpt2", "config.json", "--dry-run", "--json"],
        &[
            "acme-org/reviews",
            "--type",
            "dataset",
            "--include",
            "*.csv",
            "--dry-run",
            "--format",
            "json",
        ],
        &["hf://spaces/acme-org/demo-space", "--dry-run", "--json"],
        &["gpt2", "--dry-run", "--force-download", "--json"],
    ];
    let mut compared = 0;
    for (index, args) in dry_runs.iter().enumerate() {
        // Empty cache first, then with part of the repo already downloaded.
        for fill in [None, Some(&["gpt2", "config.json"][..])] {
            let case = format!("dry-{index}-{}", fill.is_some());
            if let Some(fill) = fill {
                for cli in [Program::Hfhub, Program::Hf] {
                    let run = bench.run(cli, &case, fill);
                    assert!(run.output.status.success(), "{}", run.describe());
                }
            }
            let before = tree(&bench.tmp.path().join(&case).join("Hfhub"), false);
            let ours = bench.run(Program::Hfhub, &case, args);
            let theirs = bench.run(Program::Hf, &case, args);
            let context = format!("\n{}\n---\n{}", ours.describe(), theirs.describe());
            assert_eq!(
                ours.output.status.code(),
                theirs.output.status.code(),
                "{context}"
            );
            let parse = |run: &Run| -> Vec<serde_json::Value> {
                serde_json::from_str(&run.stdout()).unwrap_or_else(|e| panic!("{e}{context}"))
            };
            let (ours_rows, theirs_rows) = (parse(&ours), parse(&theirs));
            assert_eq!(ours_rows.len(), theirs_rows.len(), "rows{context}");
            assert!(!ours_rows.is_empty(), "{context}");
            for (a, b) in ours_rows.iter().zip(&theirs_rows) {
                for field in ["file", "size"] {
                    assert_eq!(a[field], b[field], "field `{field}`{context}");
                }
                assert_eq!(
                    a.as_object().map(|o| o.len()),
                    b.as_object().map(|o| o.len()),
                    "same fields{context}"
                );
                compared += 1;
            }
            assert_eq!(ours.stdout(), theirs.stdout(), "byte for byte{context}");
            assert_eq!(
                tree(&bench.tmp.path().join(&case).join("Hfhub"), false),
                before,
                "a dry run wrote nothing{context}"
            );
        }
    }
    eprintln!("dry run: {compared} rows compared field by field");
}
