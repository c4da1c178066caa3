//! nginx as a second origin (full run only): installed from the distribution's packages when
//! missing, run unprivileged in the foreground without a master process on two loopback ports
//! with a generated configuration in `target/bench/nginx/`:
//!
//! - the Hub port answers `/bench/large/resolve/main/model.safetensors` as the Hub does for an
//!   LFS file (`302`, `X-Repo-Commit`, `X-Linked-Etag`, `X-Linked-Size`, a `Location` on the CDN
//!   port), and serves the listing of `bench/listing` (repo info, `/tree` pages of 1,000 entries
//!   linked by `Link: <...>; rel="next"`, the one file it selects) from static files;
//! - the CDN port sends the blob with `sendfile`, honouring `Range`.

use std::fmt::Write as _;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::data::{Data, LARGE_FILE, LARGE_REPO, LISTING_REPO, Listing};
use super::origin::{Kind, Origin};

/// nginx as a child process, stopped on drop.
pub struct Nginx {
    child: Child,
    pub origin: Origin,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The nginx binary, installed from the distribution's packages when missing (see
/// [`hfhub_tests::nginx::ensure_installed`]). Fails when none can be had: the full benchmark needs it.
pub fn ensure_installed() -> anyhow::Result<PathBuf> {
    hfhub_tests::nginx::ensure_installed().context(
        "install nginx, or run `cargo xtask bench --smoke`, which needs only `hfhub serve`",
    )
}

fn free_port() -> anyhow::Result<u16> {
    hfhub_tests::nginx::free_port().context("cannot bind a loopback port")
}

impl Nginx {
    /// Writes the configuration under `dir` and starts nginx on it; returns once it accepts
    /// connections.
    pub fn start(nginx: &Path, dir: &Path, data: &Data) -> anyhow::Result<Nginx> {
        if dir.exists() {
            fs::remove_dir_all(dir)
                .with_context(|| format!("cannot remove `{}`", dir.display()))?;
        }
        fs::create_dir_all(dir.join("tmp"))
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let (hub_port, cdn_port) = (free_port()?, free_port()?);
        let config = render_config(dir, hub_port, cdn_port, data);
        let config_path = dir.join("nginx.conf");
        fs::write(&config_path, config)
            .with_context(|| format!("cannot write `{}`", config_path.display()))?;
        let access_log = dir.join("access.log");
        fs::write(&access_log, "")
            .with_context(|| format!("cannot create `{}`", access_log.display()))?;
        let output = fs::File::create(dir.join("stderr.log"))
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let mut child = hfhub_tests::nginx::command(nginx, dir, &config_path)
            .stdout(output.try_clone()?)
            .stderr(output)
            .spawn()
            .with_context(|| format!("cannot start `{}`", nginx.display()))?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", hub_port)).is_err()
            || TcpStream::connect(("127.0.0.1", cdn_port)).is_err()
        {
            if let Some(status) = child.try_wait()? {
                let log = fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
                let errors = fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                bail!("nginx exited ({status}):\n{log}\n{errors}");
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!("nginx did not listen on 127.0.0.1:{hub_port} within 10 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Nginx {
            origin: Origin {
                kind: Kind::Nginx,
                endpoint: format!("http://127.0.0.1:{hub_port}"),
                pid: child.id(),
                log: access_log,
            },
            child,
        })
    }
}

/// The path of the large file's blob in the served cache.
fn large_blob(data: &Data) -> PathBuf {
    data.served
        .join(format!("models--{}", LARGE_REPO.replace('/', "--")))
        .join("blobs")
        .join(&data.large.etag)
}

/// A double-quoted nginx string.
fn quoted(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

fn quoted_path(path: &Path) -> String {
    quoted(&path.display().to_string())
}

/// The whole `nginx.conf`.
fn render_config(dir: &Path, hub_port: u16, cdn_port: u16, data: &Data) -> String {
    let mut out = String::new();
    let hub = format!("http://127.0.0.1:{hub_port}");
    let large = &data.large;
    let _ = writeln!(
        out,
        "# Written by `cargo xtask bench`; see xtask/src/bench/nginx.rs."
    );
    let _ = writeln!(out, "daemon off;\nmaster_process off;\nworker_processes 1;");
    let _ = writeln!(out, "pid {};", quoted_path(&dir.join("nginx.pid")));
    let _ = writeln!(
        out,
        "error_log {} warn;",
        quoted_path(&dir.join("error.log"))
    );
    let _ = writeln!(out, "events {{ worker_connections 1024; }}\nhttp {{");
    let _ = writeln!(
        out,
        "  types {{ application/json json; }}\n  default_type application/octet-stream;"
    );
    let _ = writeln!(
        out,
        "  access_log {};",
        quoted_path(&dir.join("access.log"))
    );
    for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        let path = dir.join("tmp").join(temp);
        let _ = writeln!(out, "  {temp}_temp_path {};", quoted_path(&path));
    }
    let _ = writeln!(
        out,
        "  sendfile on;\n  tcp_nopush on;\n  tcp_nodelay on;\n  server_tokens off;\n  \
         keepalive_requests 1000000;"
    );
    if let Some(listing) = &data.listing {
        write_listing_maps(&mut out, &hub, listing);
    }
    let _ = writeln!(out, "  server {{\n    listen 127.0.0.1:{hub_port};");
    let _ = writeln!(
        out,
        "    location = /{LARGE_REPO}/resolve/main/{LARGE_FILE} {{\n      \
         add_header X-Repo-Commit {} always;\n      \
         add_header X-Linked-Etag {} always;\n      \
         add_header X-Linked-Size {} always;\n      \
         add_header ETag {} always;\n      \
         add_header Accept-Ranges bytes always;\n      \
         return 302 http://127.0.0.1:{cdn_port}/lfs/{};\n    }}",
        data.large_commit,
        quoted(&format!("\"{}\"", large.etag)),
        large.size,
        quoted(&format!("\"{}\"", large.etag)),
        large.etag
    );
    if let Some(listing) = &data.listing {
        write_listing_locations(&mut out, listing);
    }
    let _ = writeln!(out, "  }}");
    let _ = writeln!(out, "  server {{\n    listen 127.0.0.1:{cdn_port};");
    let _ = writeln!(
        out,
        "    location = /lfs/{} {{\n      alias {};\n      etag off;\n      \
         add_header ETag {} always;\n    }}",
        large.etag,
        quoted_path(&large_blob(data)),
        quoted(&format!("\"{}\"", large.etag)),
    );
    let _ = writeln!(out, "  }}\n}}");
    out
}

/// `$listing_page` (the page file a `cursor` asks for) and `$listing_next` (the `Link` header of
/// that page; empty on the last one, and nginx then sends no header).
fn write_listing_maps(out: &mut String, hub: &str, listing: &Listing) {
    let tree = format!(
        "{hub}/api/models/{LISTING_REPO}/tree/{}?recursive=true&expand=false",
        listing.commit
    );
    let cursor = |page: usize| {
        if page == 0 {
            "''".to_owned()
        } else {
            page.to_string()
        }
    };
    let _ = writeln!(out, "  map $arg_cursor $listing_page {{\n    default '';");
    for page in 0..listing.pages {
        let _ = writeln!(out, "    {} {};", cursor(page), Listing::page_name(page));
    }
    let _ = writeln!(
        out,
        "  }}\n  map $arg_cursor $listing_next {{\n    default '';"
    );
    for page in 0..listing.pages.saturating_sub(1) {
        let next = format!("<{tree}&cursor={}>; rel=\"next\"", page + 1);
        let _ = writeln!(out, "    {} {};", cursor(page), quoted(&next));
    }
    let _ = writeln!(out, "  }}");
}

fn write_listing_locations(out: &mut String, listing: &Listing) {
    let _ = writeln!(
        out,
        "    location = /api/models/{LISTING_REPO}/revision/main {{\n      \
         default_type application/json;\n      \
         return 200 {};\n    }}",
        quoted(&format!(
            "{{\"id\":\"{LISTING_REPO}\",\"sha\":\"{}\",\"siblings\":[]}}",
            listing.commit
        ))
    );
    let _ = writeln!(
        out,
        "    location = /api/models/{LISTING_REPO}/tree/{} {{\n      root {};\n      \
         add_header Link $listing_next always;\n      \
         try_files /$listing_page =404;\n    }}",
        listing.commit,
        quoted_path(&listing.dir)
    );
    let _ = writeln!(
        out,
        "    location = /{LISTING_REPO}/resolve/{}/{} {{\n      alias {};\n      etag off;\n      \
         add_header X-Repo-Commit {} always;\n      add_header ETag {} always;\n    }}",
        listing.commit,
        listing.file.path,
        quoted_path(&listing.dir.join("one-file")),
        listing.commit,
        quoted(&format!("\"{}\"", listing.file.etag))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::data::Expected;

    #[test]
    fn the_configuration_answers_as_the_hub_does() {
        let data = Data {
            served: PathBuf::from("/d/served"),
            scan_cache: PathBuf::from("/d/scan"),
            large: Expected {
                path: LARGE_FILE.to_owned(),
                size: 1234,
                etag: "a".repeat(64),
            },
            large_commit: "c".repeat(40),
            small: Vec::new(),
            wide: Vec::new(),
            listing: Some(Listing {
                dir: PathBuf::from("/d/listing"),
                commit: "d".repeat(40),
                entries: 2500,
                pages: 3,
                file: Expected {
                    path: "dir-0002/the-one-0002499.bin".to_owned(),
                    size: 4096,
                    etag: "e".repeat(40),
                },
            }),
            scan_repos: 0,
            scan_files: 0,
            scan_bytes: 0,
        };
        let config = render_config(Path::new("/n"), 8000, 8001, &data);
        let a = "a".repeat(64);
        for expected in [
            "master_process off;".to_owned(),
            "sendfile on;".to_owned(),
            format!("add_header X-Repo-Commit {} always;", "c".repeat(40)),
            format!("add_header X-Linked-Etag \"\\\"{a}\\\"\" always;"),
            "add_header X-Linked-Size 1234 always;".to_owned(),
            format!("return 302 http://127.0.0.1:8001/lfs/{a};"),
            format!("alias \"/d/served/models--bench--large/blobs/{a}\";"),
            "'' page-0000.json;".to_owned(),
            "2 page-0002.json;".to_owned(),
            format!(
                "1 \"<http://127.0.0.1:8000/api/models/bench/listing/tree/{}?recursive=true&expand=false&cursor=2>; rel=\\\"next\\\"\";",
                "d".repeat(40)
            ),
            format!(
                "location = /bench/listing/resolve/{}/dir-0002/the-one-0002499.bin {{",
                "d".repeat(40)
            ),
        ] {
            assert!(config.contains(&expected), "`{expected}` not in:\n{config}");
        }
        // The last page links nowhere.
        assert!(!config.contains("cursor=3"), "{config}");
        assert_eq!(config.matches('{').count(), config.matches('}').count());
    }
}
