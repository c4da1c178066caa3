//! Limits a library user configures: HTTP/2 streams per connection, and a client that stops reading
//! a response loses its connection after the body timeout.

use std::time::Duration;

use hfhub_tests::synthetic::{seeded_bytes, write_model};
use hub_server::{Limits, Server};

use crate::support::*;

#[tokio::test]
async fn http2_streams_per_connection_are_capped() {
    let cache = cache();
    let limits = Limits {
        max_streams: 8,
        ..Limits::default()
    };
    let server = Server::builder(cache.path())
        .with_limits(limits)
        .start()
        .await
        .expect("start");
    let stream = tokio::net::TcpStream::connect(server.addr())
        .await
        .expect("connect");
    let (client, connection) = h2::client::handshake(stream).await.expect("h2 handshake");
    tokio::spawn(connection);
    let mut client = client.ready().await.expect("ready");
    // One request, so that the server's SETTINGS have arrived.
    let request = hyper::Request::get(format!(
        "{}/org/model/resolve/main/config.json",
        server.endpoint()
    ))
    .body(())
    .expect("request");
    let (response, _) = client.send_request(request, true).expect("send");
    let response = response.await.expect("response");
    assert_eq!(response.status(), 200);
    assert_eq!(client.current_max_send_streams(), 8);
    server.shutdown().await;
}

#[test]
fn a_client_that_stops_reading_loses_its_connection_after_the_body_timeout() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let content = seeded_bytes(3, 64 << 20);
    write_model(
        tmp.path(),
        "org/big",
        "big",
        "main",
        &[("weights.bin".to_owned(), content, true)],
    )
    .expect("model");
    let limits = Limits {
        body_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = Server::builder(tmp.path())
        .with_limits(limits)
        .start_blocking()
        .expect("start");
    let mut cdn = raw_cdn_get(
        server.addr(),
        "/org/big/resolve/main/weights.bin",
        Duration::from_secs(10),
    );
    // Read nothing for 4 s: the socket buffers fill long before 64 MiB, the body stalls.
    std::thread::sleep(Duration::from_secs(4));
    let received = read_until_closed(&mut cdn, Duration::from_secs(30)).len();
    assert!(
        received < 64 << 20,
        "the whole body came although the client stopped reading ({received} bytes)"
    );
    server.shutdown();
}
