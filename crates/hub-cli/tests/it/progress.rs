//! Progress under a pseudo-terminal on a throttled link: the bar is redrawn at least once a second,
//! its byte count advances in many small steps (not once per MiB written), and a one-line summary
//! stays on stderr at the end.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use hfhub_tests::oracle::{HF_HUB_2X, Oracle};
use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::Server;

/// Bytes the proxy passes on from the server per step, and the pause after each step: about
/// 320 KB/s, so a 1.5 MB file takes about 5 s.
const STEP: usize = 16 * 1024;
const PAUSE: Duration = Duration::from_millis(50);

/// A TCP proxy on 127.0.0.1 that forwards to `upstream`, the answers throttled.
fn throttling_proxy(upstream: std::net::SocketAddr, stop: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    thread::spawn(move || {
        for client in listener.incoming() {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            let Ok(client) = client else { continue };
            let Ok(server) = TcpStream::connect(upstream) else {
                continue;
            };
            let (mut client_in, mut server_out) = (
                client.try_clone().expect("clone"),
                server.try_clone().expect("clone"),
            );
            thread::spawn(move || {
                let _ = std::io::copy(&mut client_in, &mut server_out);
            });
            let (mut server_in, mut client_out) = (server, client);
            thread::spawn(move || {
                let mut buffer = vec![0u8; STEP];
                loop {
                    match server_in.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if client_out.write_all(&buffer[..n]).is_err() {
                                break;
                            }
                            thread::sleep(PAUSE);
                        }
                    }
                }
                let _ = client_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    format!("http://{address}")
}

/// Runs argv under a pty (80x24); prints JSON: `{"reads": [[seconds, text], ...], "code": n}`.
const PTY_RECORDER: &str = r#"
import json, os, pty, select, sys, time
argv = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
start = time.time()
reads = []
while True:
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        reads.append([time.time() - start, chunk.decode("utf-8", "replace")])
    if time.time() - start > 120:
        os.kill(pid, 9)
        break
_, status = os.waitpid(pid, 0)
print(json.dumps({"reads": reads, "code": os.waitstatus_to_exitcode(status)}))
"#;

#[test]
fn the_bar_moves_every_second_on_a_slow_link_and_a_summary_line_stays() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let served = tmp.path().join("served");
    // Not LFS: served by the Hub origin itself, so all of it goes through the proxy.
    let size = 1_500_000;
    write_model(
        &served,
        "acme/slow",
        "slow-1",
        "main",
        &[("big.txt".to_owned(), seeded_bytes(42, size), false)],
    )
    .expect("repo");
    let server = Server::builder(&served).start_blocking().expect("server");
    let stop = Arc::new(AtomicBool::new(false));
    let endpoint = throttling_proxy(server.addr(), stop.clone());

    let home = tmp.path().join("home");
    let cache = tmp.path().join("hub");
    let argv = [
        "/usr/bin/env".to_owned(),
        "-u".to_owned(),
        "HF_HUB_DISABLE_PROGRESS_BARS".to_owned(),
        "-u".to_owned(),
        "NO_COLOR".to_owned(),
        format!("HF_HOME={}", home.display()),
        format!("HF_HUB_CACHE={}", cache.display()),
        format!("HF_ENDPOINT={endpoint}"),
        "HF_HUB_OFFLINE=0".to_owned(),
        "TERM=xterm-256color".to_owned(),
        env!("CARGO_BIN_EXE_hfhub").to_owned(),
        "download".to_owned(),
        "acme/slow".to_owned(),
        "big.txt".to_owned(),
    ];
    let python = Oracle::get(HF_HUB_2X).python();
    let output = Command::new(&python)
        .arg("-c")
        .arg(PTY_RECORDER)
        .arg(serde_json::to_string(&argv).expect("json"))
        .output()
        .expect("run the pty recorder");
    stop.store(true, Ordering::Relaxed);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(record["code"], 0, "{record}");
    let reads: Vec<(f64, String)> = record["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .map(|r| {
            (
                r[0].as_f64().expect("time"),
                r[1].as_str().expect("text").to_owned(),
            )
        })
        .collect();
    let text: String = reads.iter().map(|(_, t)| t.as_str()).collect();

    // Redraws: every read that shows the bar (`/1.43 MiB`); no gap over a second between two.
    let bar_times: Vec<f64> = reads
        .iter()
        .filter(|(_, t)| t.contains("/1.43 MiB"))
        .map(|(time, _)| *time)
        .collect();
    assert!(bar_times.len() >= 5, "the bar was drawn: {text:?}");
    let longest = bar_times
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(0.0, f64::max);
    let span = bar_times.last().expect("one") - bar_times[0];
    eprintln!(
        "progress: {} redraws over {span:.1}s, longest gap {longest:.2}s",
        bar_times.len()
    );
    assert!(span >= 2.0, "the throttled download took a while: {span}");
    assert!(longest <= 1.0, "a redraw at least once a second: {longest}");

    // Smooth: the byte count takes many values before the end, not one per MiB.
    let pieces: Vec<&str> = text.split("/1.43 MiB").collect();
    let mut positions: Vec<String> = pieces[..pieces.len() - 1]
        .iter()
        .filter_map(|before| before.rsplit(' ').nth(1).zip(before.rsplit(' ').next()))
        .map(|(number, unit)| format!("{number} {unit}"))
        .collect();
    positions.dedup();
    eprintln!("progress: {} distinct byte counts", positions.len());
    assert!(
        positions.len() >= 8,
        "the byte count advanced in small steps: {positions:?}"
    );

    // The summary line stays, then the path (stdout) ends the output.
    let plain = strip_csi(&text);
    let lines: Vec<&str> = plain
        .rsplit(['\n', '\r'])
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .take(2)
        .collect();
    let [path, summary] = lines.as_slice() else {
        panic!("two last lines: {text:?}");
    };
    assert!(
        summary.starts_with("Downloaded 1 file (1.5MB) in "),
        "summary line: {summary:?}"
    );
    assert!(
        Path::new(path).ends_with("big.txt") && Path::new(path).is_file(),
        "{path}"
    );
    assert!(path.starts_with(&*cache.canonicalize().expect("cache").to_string_lossy()));
}

/// `text` without its terminal control sequences (`ESC [` parameters and a final letter).
fn strip_csi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
