//! HTTPS: a mirror behind TLS with its own CA is reachable once that CA is trusted (by the API or
//! by each of the four variables), and refused with an error naming the host, why, and the
//! variables (no request reaching the server) while it is not; over HTTP/2, one connection
//! carries a whole snapshot.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Empty;
use hub_cache::env::Env;
use hub_http::{Client, ClientBuilder, Endpoint, Error, Token};
use hyper::Request;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::support::{self, Setup, TOKEN, gpt2, gpt2_file, serve};

/// A server certificate for `127.0.0.1` and `localhost` signed by a fresh CA, offering `alpn`;
/// returns the acceptor and the CA in PEM.
fn acceptor(alpn: &[&[u8]]) -> (TlsAcceptor, String) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    (TlsAcceptor::from(Arc::new(config)), ca.pem())
}

/// Starts a TLS front (HTTP/1.1) forwarding every connection's bytes to `backend`; returns its
/// `https://` endpoint and the CA in PEM. With `h2`, see [`h2_front`] instead.
pub async fn tls_front(backend: std::net::SocketAddr, h2: bool) -> (String, String) {
    if h2 {
        let (endpoint, ca, _) = h2_front(backend).await;
        return (endpoint, ca);
    }
    let (acceptor, ca_pem) = acceptor(&[]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (format!("https://127.0.0.1:{}", address.port()), ca_pem)
}

/// What the h2 front saw: TCP connections accepted, and the HTTP version of each request.
#[derive(Default)]
pub struct FrontLog {
    pub connections: AtomicUsize,
    pub versions: Mutex<Vec<hyper::Version>>,
}

/// A TLS front that speaks only HTTP/2 (ALPN `h2`) and forwards each request to `backend` over
/// HTTP/1.1; returns its endpoint, the CA in PEM, and its log.
pub async fn h2_front(backend: std::net::SocketAddr) -> (String, String, Arc<FrontLog>) {
    let (acceptor, ca_pem) = acceptor(&[b"h2"]);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let log = Arc::new(FrontLog::default());
    let front_log = log.clone();
    let upstream: HyperClient<HttpConnector, Empty<Bytes>> =
        HyperClient::builder(TokioExecutor::new()).build(HttpConnector::new());
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            front_log.connections.fetch_add(1, Ordering::Relaxed);
            let (acceptor, log, upstream) = (acceptor.clone(), front_log.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(socket).await else {
                    return;
                };
                let service = service_fn(move |request: Request<Incoming>| {
                    let (log, upstream) = (log.clone(), upstream.clone());
                    async move {
                        log.versions.lock().unwrap().push(request.version());
                        let path = request
                            .uri()
                            .path_and_query()
                            .map_or("/".to_owned(), |p| p.to_string());
                        let mut forward = Request::builder()
                            .method(request.method().clone())
                            .uri(format!("http://{backend}{path}"));
                        for (name, value) in request.headers() {
                            forward = forward.header(name, value);
                        }
                        let forward = forward.body(Empty::<Bytes>::new()).unwrap();
                        upstream.request(forward).await
                    }
                });
                let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://127.0.0.1:{}", address.port()), ca_pem, log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_works_with_a_trusted_ca_and_fails_cleanly_without() {
    let env = serve(Setup::default()).await;
    let (endpoint, ca_pem) = tls_front(env.server.addr(), false).await;

    let untrusted = Client::builder()
        .with_endpoint(Endpoint::new(endpoint.clone()))
        .build()
        .unwrap();
    let error = untrusted
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::Connect { .. } | Error::Transport { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains(&endpoint), "{error}");
    assert!(
        env.server.request_log().records().is_empty(),
        "nothing reached the server"
    );

    let client = support::client(&env)
        .with_endpoint(Endpoint::new(endpoint.clone()))
        .with_token(Token::new(TOKEN))
        .with_root_certificates_pem(ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let (commit, config) = gpt2_file(&env, "config.json");
    let resolved = client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap();
    assert_eq!(resolved.commit, commit);
    assert!(
        resolved.location.starts_with(&endpoint),
        "{}",
        resolved.location
    );
    let request = hub_http::DownloadRequest {
        resolve_url: client
            .endpoint()
            .resolve_url(&gpt2(), "main", "config.json"),
        location: resolved.location,
        expected_size: resolved.size,
        etag: resolved.etag,
        resume_from: 0,
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    client.download(&request, file, |_| {}).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), config.content);
    let records = env.server.request_log().records();
    assert!(
        records.iter().all(|r| r.authorization),
        "the token went over TLS to the Hub: {records:#?}"
    );
}

#[tokio::test]
async fn a_private_ca_is_trusted_through_each_variable() {
    let env = serve(Setup::default()).await;
    let (endpoint, ca_pem) = tls_front(env.server.addr(), false).await;
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.pem");
    std::fs::write(&bundle, &ca_pem).unwrap();
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::write(certs.join("private-ca.pem"), &ca_pem).unwrap();
    let (commit, _) = gpt2_file(&env, "config.json");
    let client_with = |pairs: Vec<(&str, &str)>| {
        ClientBuilder::from_env(&Env::from_pairs(pairs))
            .unwrap()
            .build()
            .unwrap()
    };
    for var in hub_http::CA_VARIABLES {
        let path = if var.name == "SSL_CERT_DIR" {
            certs.to_str().unwrap()
        } else {
            bundle.to_str().unwrap()
        };
        let client = client_with(vec![("HF_ENDPOINT", &endpoint), (var.name, path)]);
        let resolved = client
            .resolve(&gpt2(), "main", "config.json")
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", var.name));
        assert_eq!(resolved.commit, commit, "{}", var.name);
        assert_eq!(
            client.describe_network().ca_sources,
            vec![format!("{}={path}", var.name)]
        );
    }
    let served = env.server.request_log().records().len();
    // An empty variable never turns verification off.
    let client = client_with(vec![("HF_ENDPOINT", &endpoint), ("CURL_CA_BUNDLE", "")]);
    let error = client
        .resolve(&gpt2(), "main", "config.json")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error:?}");
    assert!(
        !error.is_retryable(),
        "an untrusted certificate is not retried"
    );
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(current) = cause {
        message.push_str(&format!(": {current}"));
        cause = current.source();
    }
    for needle in [
        "`127.0.0.1`",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "UnknownIssuer",
    ] {
        assert!(message.contains(needle), "{needle} in {message}");
    }
    assert_eq!(env.server.request_log().records().len(), served);
}

#[tokio::test]
async fn http2_over_tls_carries_a_snapshot_on_one_connection() {
    let env = serve(Setup::default()).await;
    let (endpoint, ca_pem, front) = h2_front(env.server.addr()).await;
    let client = support::client(&env)
        .with_endpoint(Endpoint::new(endpoint.clone()))
        .with_root_certificates_pem(ca_pem.as_bytes())
        .unwrap()
        .build()
        .unwrap();
    let repo = env.fixture.repo("gpt2").unwrap();
    let commit = &repo.refs["main"];
    let listed = client.list_tree(&gpt2(), commit).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut downloaded = 0;
    for entry in listed.iter().filter(|e| e.is_file() && e.lfs.is_none()) {
        let (_, expected) = gpt2_file(&env, &entry.path);
        let resolved = client.resolve(&gpt2(), commit, &entry.path).await.unwrap();
        let request = hub_http::DownloadRequest {
            resolve_url: client.endpoint().resolve_url(&gpt2(), commit, &entry.path),
            location: resolved.location,
            expected_size: resolved.size,
            etag: resolved.etag,
            resume_from: 0,
        };
        let target = dir.path().join(entry.path.replace('/', "_"));
        client
            .download(&request, support::open_rw(&target), |_| {})
            .await
            .unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), expected.content);
        downloaded += 1;
    }
    assert!(downloaded >= 2, "{listed:?}");
    let versions = front.versions.lock().unwrap().clone();
    assert!(
        versions.len() > 2 * downloaded,
        "a listing, then a HEAD and a GET per file: {versions:?}"
    );
    assert!(
        versions.iter().all(|v| *v == hyper::Version::HTTP_2),
        "{versions:?}"
    );
    assert_eq!(
        front.connections.load(Ordering::Relaxed),
        1,
        "{} requests over one connection",
        versions.len()
    );
}
