//! HTTPS: a mirror behind TLS with its own CA is reachable once that CA is trusted, and refused
//! (with a clear error, no request reaching the server) while it is not.

use std::sync::Arc;

use hub_http::{Client, Endpoint, Error, Token};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::support::{self, Setup, TOKEN, gpt2, gpt2_file, serve};

/// Starts a TLS front (cert for `127.0.0.1` and `localhost`, signed by a fresh CA) forwarding every
/// connection to `backend`; returns its `https://` endpoint and the CA in PEM.
async fn tls_front(backend: std::net::SocketAddr) -> (String, String) {
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
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
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
    (format!("https://127.0.0.1:{}", address.port()), ca.pem())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_works_with_a_trusted_ca_and_fails_cleanly_without() {
    let env = serve(Setup::default()).await;
    let (endpoint, ca_pem) = tls_front(env.server.addr()).await;

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
