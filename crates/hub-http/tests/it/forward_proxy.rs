//! A small forward proxy on 127.0.0.1 for the tests: CONNECT tunnels and absolute-form requests,
//! optionally requiring `Proxy-Authorization`, or refusing CONNECT. It logs every request head it
//! reads (request line and headers, as a proxy's access log would), and it only ever connects to
//! loopback addresses.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use hfhub_tests::hostile::Seen;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Open,
    /// `Proxy-Authorization` must be this exact value (`Basic ...`).
    RequireAuth(String),
    /// Every CONNECT is answered 403.
    RefuseConnect,
}

pub struct ForwardProxy {
    /// `http://127.0.0.1:port`.
    pub url: String,
    log: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<AtomicUsize>,
}

impl ForwardProxy {
    pub async fn start(mode: Mode) -> ForwardProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (sink, count) = (log.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::Relaxed);
                let (sink, mode) = (sink.clone(), mode.clone());
                tokio::spawn(async move {
                    let Some((request, client)) = read_head(stream).await else {
                        return;
                    };
                    sink.lock().unwrap().push(request.clone());
                    serve(mode, request, client).await;
                });
            }
        });
        ForwardProxy {
            url,
            log,
            connections,
        }
    }

    /// Every request head the proxy read, one line each: `METHOD target` then `name: value`s.
    pub fn log_text(&self) -> String {
        let mut out = String::new();
        for seen in self.log.lock().unwrap().iter() {
            out.push_str(&format!("{} {}\n", seen.method, seen.path));
            for (name, value) in &seen.headers {
                out.push_str(&format!("  {name}: {value}\n"));
            }
        }
        out
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Reads a request line and headers (nothing more: a CONNECT client waits for the answer, and an
/// absolute-form request here has no body).
async fn read_head(stream: TcpStream) -> Option<(Seen, TcpStream)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.trim_end().split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let seen = Seen {
        method,
        path,
        headers,
    };
    Some((seen, reader.into_inner()))
}

fn header<'a>(request: &'a Seen, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn refuse(mut client: TcpStream, status: &str, extra: &str) {
    let answer =
        format!("HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = client.write_all(answer.as_bytes()).await;
    let _ = client.shutdown().await;
}

/// Connects to `host:port` if it is a loopback address.
async fn upstream(host: &str, port: u16) -> Option<TcpStream> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return None;
    }
    TcpStream::connect((host, port)).await.ok()
}

async fn serve(mode: Mode, request: Seen, mut client: TcpStream) {
    if let Mode::RequireAuth(expected) = &mode
        && header(&request, "proxy-authorization") != Some(expected.as_str())
    {
        return refuse(
            client,
            "407 Proxy Authentication Required",
            "Proxy-Authenticate: Basic realm=\"test\"\r\n",
        )
        .await;
    }
    if request.method == "CONNECT" {
        if mode == Mode::RefuseConnect {
            return refuse(client, "403 Forbidden", "").await;
        }
        let Some((host, port)) = request.path.rsplit_once(':') else {
            return refuse(client, "400 Bad Request", "").await;
        };
        let Some(mut target) = upstream(host, port.parse().unwrap_or(0)).await else {
            return refuse(client, "502 Bad Gateway", "").await;
        };
        if client
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
        return;
    }
    // Absolute form: `GET http://host:port/path HTTP/1.1`.
    let Ok(url) = url::Url::parse(&request.path) else {
        return refuse(client, "400 Bad Request", "").await;
    };
    let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
        return refuse(client, "400 Bad Request", "").await;
    };
    let Some(mut target) = upstream(host, port).await else {
        return refuse(client, "502 Bad Gateway", "").await;
    };
    let path = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    };
    let mut head = format!("{} {path} HTTP/1.1\r\n", request.method);
    for (name, value) in &request.headers {
        if !matches!(
            name.as_str(),
            "proxy-authorization" | "proxy-connection" | "connection"
        ) {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    if target.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut target).await;
}
