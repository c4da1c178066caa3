//! Signed CDN links: the Hub listener redirects an LFS download to
//! `/<repo folder>/<sha256>?x-id=<n>&expires=<unix seconds>&signature=<hex>` on the CDN listener,
//! where `signature` is HMAC-SHA256 over the repository folder, the blob, the expiry and the link
//! number, under a key only the servers know. The CDN listener answers nothing else: an unsigned,
//! forged or expired link gets `403` before the blob is even looked up, so it tells nothing about
//! which blobs exist.
//!
//! The key is random per process unless given ([`CdnKey::from_secret`]), so several servers behind
//! one name can share it and honour each other's links.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// The secret CDN links are signed with. Its `Debug` form never shows it.
#[derive(Clone)]
pub struct CdnKey([u8; 32]);

impl fmt::Debug for CdnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CdnKey(..)")
    }
}

impl CdnKey {
    /// A fresh key from the operating system's random source.
    pub fn random() -> Result<CdnKey, std::io::Error> {
        let mut key = [0u8; 32];
        getrandom::getrandom(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(CdnKey(key))
    }

    /// A key derived from a shared secret (any length; servers given the same secret accept each
    /// other's links).
    pub fn from_secret(secret: &[u8]) -> CdnKey {
        let mut hasher = Sha256::new();
        hasher.update(b"hfhub cdn key\0");
        hasher.update(secret);
        CdnKey(hasher.finalize().into())
    }

    fn mac(&self, folder: &str, sha256: &str, expires: u64, id: u64) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(format!("{folder}\n{sha256}\n{expires}\n{id}").as_bytes());
        mac
    }

    /// The query string of a link to `sha256` of the repository `folder`, valid for `lifetime`.
    pub(crate) fn sign(&self, folder: &str, sha256: &str, id: u64, lifetime: Duration) -> String {
        let expires = unix_now().saturating_add(lifetime.as_secs().max(1));
        let signature = self
            .mac(folder, sha256, expires, id)
            .finalize()
            .into_bytes();
        let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
        format!("x-id={id}&expires={expires}&signature={hex}")
    }

    /// Checks a link's query; the link number on success (faults may track it).
    pub(crate) fn verify(&self, folder: &str, sha256: &str, query: &str) -> Result<u64, Refusal> {
        let value = |key: &str| {
            query.split('&').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                (name == key).then_some(value)
            })
        };
        let number = |key: &str| value(key).and_then(|v| v.parse::<u64>().ok());
        let (Some(id), Some(expires), Some(signature)) = (
            number("x-id"),
            number("expires"),
            value("signature").and_then(unhex),
        ) else {
            return Err(Refusal::Unsigned);
        };
        self.mac(folder, sha256, expires, id)
            .verify_slice(&signature)
            .map_err(|_| Refusal::BadSignature)?;
        if unix_now() > expires {
            return Err(Refusal::Expired);
        }
        Ok(id)
    }
}

/// Why a CDN link is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    Unsigned,
    BadSignature,
    Expired,
}

impl Refusal {
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::Unsigned => "Request is not signed",
            Refusal::BadSignature => "Request signature does not match",
            Refusal::Expired => "Request has expired",
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// 64 lower-case hex digits to 32 bytes.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() != 64 {
        return None;
    }
    (0..32)
        .map(|i| u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn links_verify_only_unchanged() {
        let key = CdnKey::from_secret(b"shared");
        let query = key.sign("models--org--m", SHA, 7, Duration::from_secs(60));
        assert_eq!(key.verify("models--org--m", SHA, &query), Ok(7));
        // Another key, another repository, another link number, a longer expiry: all refused.
        let other = CdnKey::from_secret(b"other");
        assert_eq!(
            other.verify("models--org--m", SHA, &query),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            key.verify("models--org--x", SHA, &query),
            Err(Refusal::BadSignature)
        );
        let renumbered = query.replacen("x-id=7", "x-id=8", 1);
        assert_eq!(
            key.verify("models--org--m", SHA, &renumbered),
            Err(Refusal::BadSignature)
        );
        let expires: u64 = query
            .split('&')
            .find_map(|p| p.strip_prefix("expires="))
            .and_then(|v| v.parse().ok())
            .expect("expires");
        let extended = query.replacen(
            &format!("expires={expires}"),
            &format!("expires={}", expires + 3600),
            1,
        );
        assert_eq!(
            key.verify("models--org--m", SHA, &extended),
            Err(Refusal::BadSignature)
        );
        assert_eq!(
            key.verify("models--org--m", SHA, "x-id=1"),
            Err(Refusal::Unsigned)
        );
        // The same secret gives the same key: another server accepts the link.
        assert_eq!(
            CdnKey::from_secret(b"shared").verify("models--org--m", SHA, &query),
            Ok(7)
        );
    }

    #[test]
    fn expired_links_are_refused() {
        let key = CdnKey::random().expect("random key");
        let expires = unix_now() - 1;
        let signature = key.mac("f", SHA, expires, 1).finalize().into_bytes();
        let hex: String = signature.iter().map(|b| format!("{b:02x}")).collect();
        let query = format!("x-id=1&expires={expires}&signature={hex}");
        assert_eq!(key.verify("f", SHA, &query), Err(Refusal::Expired));
    }
}
