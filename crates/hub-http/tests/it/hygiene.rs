//! The token never shows in an error message, a `Debug` dump or a log line, even at TRACE level.

use std::io::Write;
use std::sync::{Arc, Mutex};

use hub_cache::{Repo, RepoId, RepoType};
use hub_server::fault::Fault;

use crate::download::request_for;
use crate::support::{self, Setup, TOKEN, serve};

#[derive(Clone, Default)]
pub(crate) struct Captured(pub(crate) Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A process-wide TRACE subscriber writing into a buffer. Global rather than scoped: a scoped
/// subscriber races with other tests over callsite interest and can miss events.
pub(crate) fn captured_logs() -> &'static Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED.get_or_init(|| {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this binary");
        captured
    })
}

#[tokio::test]
async fn the_token_is_never_printed() {
    let captured = captured_logs();

    let private = Repo::new(RepoType::Model, RepoId::new("gpt2").unwrap());
    let env = serve(Setup {
        gated: Some(private.clone()),
        faults: vec![Fault::status(503, None).first(1).method("GET")],
        ..Setup::default()
    })
    .await;
    let mut printed = String::new();
    // A wrong token, a missing file, a retried 503 and a successful download, all with a token set.
    let wrong = support::client(&env)
        .with_token(hub_http::Token::new("hf_wrong_secret_value"))
        .build()
        .unwrap();
    let error = wrong
        .resolve(&private, "main", "config.json")
        .await
        .unwrap_err();
    printed.push_str(&format!("{error}\n{error:?}\n"));
    let client = support::client(&env).build().unwrap();
    let error = client
        .resolve(&private, "main", "missing.txt")
        .await
        .unwrap_err();
    printed.push_str(&format!("{error}\n{error:?}\n"));
    let request = request_for(&client, "model.safetensors").await;
    printed.push_str(&format!("{request:?}\n"));
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.path().join("blob"))
        .unwrap();
    client.download(&request, file, |_| {}).await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retry"), "the retried 503 was logged: {logs}");
    for secret in [TOKEN, "hf_wrong_secret_value"] {
        assert!(!logs.contains(secret), "token in logs:\n{logs}");
        assert!(!printed.contains(secret), "token in errors:\n{printed}");
    }
}
