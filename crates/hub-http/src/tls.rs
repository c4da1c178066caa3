//! Which certificates are trusted: the webpki roots always; the CA files and folders the
//! environment names (`SSL_CERT_FILE`, `SSL_CERT_DIR`, `REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`,
//! as OpenSSL, curl, requests and httpx read them) or, when none is set, the system's store; and
//! certificates a caller adds. An empty variable counts as unset (never as "do not verify").

use std::path::PathBuf;
use std::sync::Arc;

use hub_cache::env::{CURL_CA_BUNDLE, Env, REQUESTS_CA_BUNDLE, SSL_CERT_DIR, SSL_CERT_FILE, Var};

use crate::error::Error;

/// The variables that name CA certificates, in the order they are described.
pub const CA_VARIABLES: [Var; 4] = [
    SSL_CERT_FILE,
    SSL_CERT_DIR,
    REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE,
];

/// CA files and folders named by the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct CaSources {
    /// `(variable, file)`.
    pub(crate) files: Vec<(&'static str, PathBuf)>,
    /// `(variable, folder)`; `SSL_CERT_DIR` is a `:`-separated list.
    pub(crate) dirs: Vec<(&'static str, PathBuf)>,
}

impl CaSources {
    pub(crate) fn from_env(env: &Env) -> CaSources {
        let mut sources = CaSources::default();
        for var in CA_VARIABLES {
            let Some(value) = env.get(var).map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            if var.name == SSL_CERT_DIR.name {
                for dir in value.split(':').filter(|d| !d.is_empty()) {
                    sources.dirs.push((var.name, PathBuf::from(dir)));
                }
            } else {
                sources.files.push((var.name, PathBuf::from(value)));
            }
        }
        sources
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.files.is_empty() && self.dirs.is_empty()
    }

    /// `VAR=path` for each source.
    pub(crate) fn describe(&self) -> Vec<String> {
        self.files
            .iter()
            .chain(&self.dirs)
            .map(|(var, path)| format!("{var}={}", path.display()))
            .collect()
    }
}

/// The TLS settings: trusted roots as above, the ring provider, HTTP/2 and HTTP/1.1 by ALPN
/// (hyper-rustls sets ALPN). Without `load` (an offline client, which never opens a socket) the
/// system's store and the CA files are not read: loading them is most of an offline run's time.
pub(crate) fn config(
    sources: &CaSources,
    extra: &[Vec<u8>],
    load: bool,
) -> Result<rustls::ClientConfig, Error> {
    let setup = |reason: String| Error::Setup { reason };
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let certs = if !load {
        Vec::new()
    } else if sources.is_empty() {
        rustls_native_certs::load_native_certs().certs
    } else {
        let mut certs = Vec::new();
        for (var, file) in &sources.files {
            let loaded = rustls_native_certs::load_certs_from_paths(Some(file), None);
            if loaded.certs.is_empty() {
                tracing::warn!(
                    "{var}: no certificate could be read from `{}`",
                    file.display()
                );
            }
            certs.extend(loaded.certs);
        }
        for (var, dir) in &sources.dirs {
            let loaded = rustls_native_certs::load_certs_from_paths(None, Some(dir));
            if loaded.certs.is_empty() {
                tracing::warn!(
                    "{var}: no certificate could be read from `{}`",
                    dir.display()
                );
            }
            certs.extend(loaded.certs);
        }
        certs
    };
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    tracing::debug!(added, "root certificates");
    for der in extra {
        roots
            .add(rustls::pki_types::CertificateDer::from(der.clone()))
            .map_err(|e| setup(format!("invalid root certificate: {e}")))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
